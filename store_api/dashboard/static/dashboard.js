// Draws the dashboard's charts from the JSON each report embeds next to its canvas
// (<script type="application/json" id="data-...">). No inline script: the page's CSP allows
// only files served by the back office.
(function () {
  'use strict';
  if (!window.Chart) return;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#334155';
  // Numbers on axes and in tooltips the way the page's language writes them (1 400,5 in French).
  var locale = document.documentElement.lang === 'en' ? 'en-GB' : 'fr-FR';
  var colon = locale === 'fr-FR' ? '\u00a0: ' : ': ';
  Chart.defaults.locale = locale;

  var format = function (value, unit) {
    var n = typeof value === 'number' ? value : Number(value);
    if (isNaN(n)) return String(value);
    return n.toLocaleString(locale, { maximumFractionDigits: 1 }) + (unit || '');
  };

  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute('data-chart'));
    if (!source) return;
    var config = JSON.parse(source.textContent);
    var units = config.units || {};
    delete config.units;
    var horizontal = config.options.indexAxis === 'y';
    var valueAxis = horizontal ? 'x' : 'y';
    Object.keys(units).forEach(function (axis) {
      var scale = config.options.scales[axis];
      if (scale) {
        scale.ticks = scale.ticks || {};
        scale.ticks.callback = function (value) {
          return format(value, units[axis]);
        };
      }
    });
    config.options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          var axis = item.dataset.yAxisID || item.dataset.xAxisID || valueAxis;
          return item.dataset.label + colon + format(item.raw, units[axis]);
        }
      }
    };
    new Chart(canvas, config);
  });
})();
