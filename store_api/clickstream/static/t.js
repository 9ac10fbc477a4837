// Comptoir tracker, served at /t.js (docs/dashboard.md). The webshop includes it with one tag:
//   <script src="https://backoffice.example/t.js" defer></script>
// Cookieless by construction: it writes nothing in the browser (no cookie, no web storage),
// keeps its batch in memory only, and sends nothing under GPC, DNT or window.comptoirOptOut.
// Full-line comments and indentation are stripped when served (store_api/clickstream/tracker.py),
// so write no multi-line string literals here.
(function (w, d, n, l) {
  'use strict';
  var me = d.currentScript;
  var attr = function (k) {
    return me ? me.getAttribute('data-' + k) : null;
  };
  var url;
  var currency = attr('currency') || 'EUR';
  var buf = [];
  var timer = 0;
  var product = null;
  // Dwell: milliseconds the product page was visible and focused, not sent yet.
  var eng = 0;
  var since = 0;
  var depth = 0;
  var now = function () {
    return Date.now();
  };
  // Every entry point is wrapped: a tracker bug must never break the shop's page.
  var safe = function (f) {
    return function () {
      try {
        return f.apply(this, arguments);
      } catch (e) {}
    };
  };
  var off = function () {
    return w.comptoirOptOut === true || n.globalPrivacyControl === true || n.doNotTrack === '1';
  };
  var uid = function () {
    var c = w.crypto;
    var r = new Uint8Array(16);
    var h = '';
    var i;
    if (c && c.randomUUID) return c.randomUUID();
    if (c && c.getRandomValues) c.getRandomValues(r);
    else for (i = 0; i < 16; i++) r[i] = Math.random() * 256;
    for (i = 0; i < 16; i++) h += (r[i] + 256).toString(16).slice(1);
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  };
  // The URL without its query string (utm_* parameters kept: they name the campaign) or fragment.
  var clean = function (u) {
    var x = new URL(u, l.href);
    var q = [];
    x.searchParams.forEach(function (v, k) {
      if (/^utm_/.test(k)) q.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return x.origin + x.pathname + (q.length ? '?' + q.join('&') : '');
  };
  // People type their email or phone number in search boxes: never send them.
  var scrub = function (s) {
    return String(s)
      .replace(/[^\s@]+@[^\s@]+/g, ' ')
      .replace(/\+?\d[\d\s().\/-]{5,}\d/g, function (m) {
        return m.replace(/\D/g, '').length >= 8 ? ' ' : m;
      })
      .replace(/\s+/g, ' ')
      .trim();
  };
  var send = function (hiding) {
    clearTimeout(timer);
    timer = 0;
    if (off()) buf = [];
    while (buf.length && url) {
      var body = JSON.stringify({ events: buf.splice(0, 20) });
      // text/plain keeps both requests "simple": no CORS preflight.
      if (!(hiding && n.sendBeacon && n.sendBeacon(url, new Blob([body], { type: 'text/plain' })))) {
        fetch(url, {
          method: 'POST',
          body: body,
          keepalive: true,
          credentials: 'omit',
          headers: { 'Content-Type': 'text/plain' }
        }).catch(function () {});
      }
    }
  };
  var event = function (name, params, referrer) {
    if (off() || !name) return;
    var p = {};
    var k;
    for (k in params || {}) p[k] = params[k];
    if (name === 'search' && p.search_term != null) p.search_term = scrub(p.search_term);
    if (p.value != null && !p.currency) p.currency = currency;
    var e = { event_id: uid(), name: String(name), ts: now(), page: clean(l.href), params: p };
    if (referrer) e.referrer = clean(referrer);
    buf.push(e);
    if (buf.length >= 20) send(false);
    else if (!timer) timer = setTimeout(safe(send), 5000);
  };
  var active = function () {
    return d.visibilityState === 'visible' && d.hasFocus();
  };
  // On every focus or visibility change: bank the time since the page became active.
  var tick = function () {
    var t = now();
    if (since) eng += t - since;
    since = active() ? t : 0;
  };
  var scrolled = function () {
    var s = d.documentElement.scrollHeight;
    var p = s ? Math.round(((w.scrollY + w.innerHeight) / s) * 100) : 100;
    depth = Math.max(depth, Math.min(p, 100));
  };
  var hide = function () {
    tick();
    if (product && eng > 0) {
      event('engagement', { engaged_ms: eng, scroll_depth: depth, items: [product] });
      eng = 0;
    }
    send(true);
  };
  var api = function (cmd, a, b) {
    if (cmd === 'event') event(a, b);
    else if (cmd === 'product' && a) {
      product = a;
      event('view_item', a.price != null ? { value: a.price, items: [a] } : { items: [a] });
    }
  };
  var boot = function () {
    var q = (w.comptoir && w.comptoir.q) || [];
    var i;
    url = attr('endpoint') || new URL(me.src).origin + '/api/v1/collect';
    w.comptoir = safe(api);
    // Tells the shop's scripts (and tests) that calls now go straight to the tracker.
    w.comptoir.ready = true;
    since = active() ? now() : 0;
    scrolled();
    event('page_view', {}, d.referrer);
    for (i = 0; i < q.length; i++) w.comptoir.apply(w, q[i]);
    d.addEventListener(
      'visibilitychange',
      safe(function () {
        if (d.visibilityState === 'hidden') hide();
        else tick();
      })
    );
    w.addEventListener('pagehide', safe(hide));
    w.addEventListener('focus', safe(tick));
    w.addEventListener('blur', safe(tick));
    w.addEventListener('scroll', safe(scrolled), { passive: true });
  };
  safe(boot)();
})(window, document, navigator, location);
