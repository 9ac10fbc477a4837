// "Copy" buttons next to a secret shown once (a new API key, a webhook's signing secret).
// The button stays hidden where the clipboard is not available (plain http, old browsers).
(function () {
  'use strict';
  if (!navigator.clipboard) return;
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute('data-copied');
      });
    });
  });
})();
