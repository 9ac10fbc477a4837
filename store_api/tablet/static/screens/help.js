// Screen 5: customers waiting for help, live. Each alert says where ("Client à aider,
// rayon B"), the product looked at, its stock and three suggestions; "J'y vais" takes it and
// the other tablets see it gone at once. Escalated alerts (nobody went) stand out.
import { enc, get } from "../api.js";
import { loadAlerts, alertsStale, forget, openAlerts } from "../alerts.js";
import { on } from "../bus.js";
import { duration, money } from "../format.js";
import { h, mount } from "../h.js";
import { _ } from "../i18n.js";
import { submit } from "../queue.js";
import { loadStock, me, productName, refusal } from "../state.js";
import { staleNote, stockBadges, toast } from "../ui.js";

const suggestionsCache = new Map(); // sku -> items

export function alertTitle(alert) {
  return _("Customer needs help, aisle {shelf}", { shelf: alert.shelf || alert.zone });
}

async function suggestionsFor(alert) {
  if (alert.suggestions?.length) return alert.suggestions;
  if (!alert.sku) return [];
  if (!suggestionsCache.has(alert.sku)) {
    try {
      const { data } = await get(`/products/${enc(alert.sku)}/recommendations?kind=complements&limit=3`);
      suggestionsCache.set(alert.sku, data.items);
    } catch {
      return [];
    }
  }
  return suggestionsCache.get(alert.sku);
}

async function go(alert, button) {
  button.disabled = true;
  const item = await submit({
    kind: "ack",
    method: "POST",
    path: `/alerts/${alert.id}/ack`,
    body: {},
    label: { text: alertTitle(alert), alert_id: alert.id },
  });
  if (item.state === "done") {
    const by = item.result.acknowledged_by;
    forget(alert.id);
    if (by && by !== me.name) toast(_("Already taken by {name}.", { name: by }), "warn");
    else toast(_("It's yours: aisle {shelf}.", { shelf: alert.shelf || alert.zone }));
  } else if (item.state === "pending") {
    forget(alert.id);
    toast(_("No network: “I'm going” is queued and will be sent as soon as possible."), "warn");
  } else {
    button.disabled = false;
    toast(refusal(item.error), "error");
  }
}

function card(alert) {
  const waited = (Date.now() - Date.parse(alert.raised_at)) / 1000 + (alert.dwell_s || 0);
  const suggestions = h("ul", { class: "help-suggestions" });
  suggestionsFor(alert).then((items) =>
    mount(suggestions, items.slice(0, 3).map((s) =>
      h("li", {}, h("a", { href: `#/product/${enc(s.sku)}` }, s.name), " ", h("span", { class: "muted" }, money(s.price)), s.reason ? h("span", { class: "reason" }, s.reason) : null))));
  const button = h("button", { class: "btn primary big", type: "button", dataset: { ack: String(alert.id) } }, _("I'm going"));
  button.addEventListener("click", () => go(alert, button));
  const known = alert.product_name || alert.product?.name;
  const looked = h("p", { class: "looked" }, known ? _("In front of: {product}", { product: known }) : null);
  if (!known && alert.sku) {
    productName(alert.sku).then((name) => mount(looked, _("In front of: {product}", { product: name })));
  }
  return h("li", { class: `alert-card${alert.status === "escalated" ? " escalated" : ""}`, dataset: { alert: String(alert.id) } },
    h("div", { class: "alert-main" },
      h("h2", {}, alertTitle(alert)),
      looked,
      h("p", { class: "muted" },
        _("Waiting for {time}", { time: duration(waited) }),
        alert.status === "escalated" ? h("span", { class: "pill danger" }, _("Nobody went yet")) : null),
      alert.sku ? h("div", {}, h("a", { href: `#/product/${enc(alert.sku)}`, class: "link" }, _("See the product")), stockBadges(alert.sku)) : null,
      suggestions),
    button);
}

export async function show(main) {
  const list = h("ul", { class: "alert-list", id: "alerts" });
  const note = h("span", {});
  function render() {
    const alerts = openAlerts();
    const { stale, at } = alertsStale();
    mount(note, stale ? staleNote(at) : null);
    mount(list, alerts.length ? alerts.map(card) : h("li", { class: "empty" }, _("Nobody is waiting for help right now.")));
    loadStock(alerts.map((a) => a.sku).filter(Boolean)).catch(() => {});
  }
  mount(main, h("section", { class: "help" }, h("h1", {}, _("Help needed"), " ", note), list));
  render();
  loadAlerts().then(render).catch(render);
  const timer = setInterval(render, 30_000);
  const offs = [on("alerts", render)];
  return () => {
    clearInterval(timer);
    offs.forEach((off) => off());
  };
}
