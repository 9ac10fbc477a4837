// Screen 7: receive a supplier delivery line by line (scan or search), one stock adjustment
// (reason "delivery") per line, each queued with its own Idempotency-Key.
import { enc, get } from "../api.js";
import { on } from "../bus.js";
import { money } from "../format.js";
import { h, mount } from "../h.js";
import { _ } from "../i18n.js";
import { items, submit } from "../queue.js";
import { locationName, refusal } from "../state.js";
import { canScan, looksLikeBarcode, scanBarcode } from "../scan.js";
import { errorBox, field, photo } from "../ui.js";

export async function show(main) {
  let chosen = null;
  const reference = h("input", { id: "delivery-ref", maxlength: "200", autocomplete: "off", placeholder: _("e.g. BL-2231"), value: sessionStorage.getItem("delivery-ref") || "" });
  reference.addEventListener("change", () => sessionStorage.setItem("delivery-ref", reference.value));
  const find = h("input", { id: "delivery-find", type: "search", autocomplete: "off", spellcheck: "false", placeholder: _("Product, model or barcode"), "aria-label": _("Find the product delivered") });
  const found = h("ul", { class: "pick-list" });
  const picked = h("div", { class: "picked" });
  const quantity = h("input", { id: "delivery-qty", type: "number", inputmode: "numeric", min: "1", max: "100000", step: "1", value: "1" });
  const where = h("select", { id: "delivery-location" },
    ["backroom", "warehouse", "floor"].map((l) => h("option", { value: l }, locationName(l))));
  const message = h("div", { "aria-live": "polite" });
  const add = h("button", { class: "btn primary big", type: "submit", id: "delivery-add", disabled: true }, _("Receive this line"));
  const lines = h("ul", { class: "delivery-lines", id: "delivery-lines" });
  let timer = null;

  function pick(product) {
    chosen = product;
    add.disabled = false;
    mount(found);
    find.value = "";
    mount(picked, photo(product), h("div", {}, h("strong", {}, product.name), h("span", { class: "muted" }, ` ${product.sku} · ${money(product.price)}`)));
    quantity.focus();
    quantity.select();
  }

  async function search() {
    const text = find.value.trim();
    if (!text) return mount(found);
    const path = looksLikeBarcode(text) ? `/products?gtin=${enc(text.replace(/\s/g, ""))}&page_size=5` : `/products?q=${enc(text)}&page_size=8`;
    try {
      let { data } = await get(path).catch(() => get(`/products?q=${enc(text)}&page_size=8`));
      if (!data.items.length && path.includes("gtin")) data = (await get(`/products?q=${enc(text)}&page_size=8`)).data;
      if (data.items.length === 1 && looksLikeBarcode(text)) return pick(data.items[0]);
      mount(found, data.items.map((p) => h("li", {}, h("button", { class: "pick", type: "button", onclick: () => pick(p) }, photo(p), h("span", {}, p.name), h("small", { class: "muted" }, p.sku)))));
    } catch {
      mount(found, h("li", {}, errorBox(_("No network and nothing kept for this search."))));
    }
  }
  find.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });

  async function renderLines() {
    const today = new Date().toDateString();
    const received = (await items()).filter((i) => i.kind === "adjust" && new Date(i.created_at).toDateString() === today).reverse();
    mount(lines, received.length
      ? received.map((i) => h("li", { class: `line ${i.state}`, dataset: { state: i.state, sku: i.body.sku } },
          h("span", {}, `${i.body.delta} × ${i.label.name}`),
          h("span", { class: "muted" }, ` ${locationName(i.body.location)}${i.body.reference ? " · " + i.body.reference : ""}`),
          h("span", { class: `pill ${i.state === "done" ? "ok" : i.state === "pending" ? "warn" : "danger"}` },
            i.state === "done" ? _("Received") : i.state === "pending" ? _("Waiting for the network") : _("Refused: {reason}", { reason: refusal(i.error) }))))
      : h("li", { class: "empty" }, _("No line received today.")));
  }

  const form = h("form", { class: "card delivery-form", novalidate: true },
    field(_("Delivery note"), reference),
    h("span", { class: "label" }, _("Product delivered")),
    h("div", { class: "searchbar" }, find, canScan()
      ? h("button", { class: "btn secondary", type: "button", onclick: async () => { const code = await scanBarcode(); if (code) { find.value = code; search(); } } }, _("Scan"))
      : null),
    found, picked,
    h("div", { class: "two" }, field(_("Quantity received"), quantity), field(_("Put in"), where)),
    add, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const delta = Number(quantity.value);
    if (!chosen) return mount(message, errorBox(_("Choose the product first.")));
    if (!Number.isInteger(delta) || delta < 1 || delta > 100000) return mount(message, errorBox(_("Type a whole number of units.")));
    add.disabled = true;
    const body = { sku: chosen.sku, location: where.value, delta, reason: "delivery" };
    if (reference.value.trim()) body.reference = reference.value.trim().slice(0, 200);
    const item = await submit({ kind: "adjust", method: "POST", path: "/stock/adjustments", body, label: { sku: chosen.sku, name: chosen.name, quantity: delta } });
    mount(message, item.state === "refused" ? errorBox(refusal(item.error)) : null);
    chosen = null;
    mount(picked);
    quantity.value = "1";
    find.focus();
    renderLines();
  });

  mount(main, h("section", { class: "delivery" }, h("h1", {}, _("Delivery")), form, h("h2", { class: "section" }, _("Received today")), lines));
  renderLines();
  find.focus();
  const off = on("queue", renderLines);
  return () => {
    clearTimeout(timer);
    off();
  };
}
