// Screen 3: a product: photo, description, attributes, live stock per location, the holds in
// progress, "Réserver" in one tap, and suggestions with their reasons (accepting one adds it
// to the hold, credited to the suggestion in the owner's report).
import { ApiError, enc, get } from "../api.js";
import { on } from "../bus.js";
import { money, time } from "../format.js";
import { h, mount } from "../h.js";
import { _, ngettext } from "../i18n.js";
import { submit } from "../queue.js";
import { loadStock, locationName, refusal, rememberStock, stockOf } from "../state.js";
import { errorBox, field, loading, photo, sheet, staleNote, stockBadges, toast } from "../ui.js";

const STORE_LOCATIONS = ["floor", "backroom"];

// The catalogue's attribute keys, in words (others are shown as they are).
const ATTRIBUTES = {
  classe_energie: () => _("Energy class"),
  type: () => _("Type"),
  puissance_w: () => _("Power (W)"),
  volume_l: () => _("Volume (l)"),
  capacite_kg: () => _("Capacity (kg)"),
  capacite_l: () => _("Capacity (l)"),
  compatible_avec: () => _("Fits"),
  technologie: () => _("Technology"),
  no_frost: () => _("No frost"),
  niveau_sonore_db: () => _("Noise (dB)"),
  essorage_tr_min: () => _("Spin (rpm)"),
  chargement: () => _("Loading"),
  marques: () => _("Brands"),
  modeles: () => _("Models"),
  nettoyage: () => _("Cleaning"),
  couverts: () => _("Place settings"),
  installation: () => _("Installation"),
  largeur_cm: () => _("Width (cm)"),
  diagonale_pouces: () => _("Screen size (inches)"),
  resolution: () => _("Resolution"),
  frequence_hz: () => _("Refresh rate (Hz)"),
  reservoir_l: () => _("Tank (l)"),
  pression_bar: () => _("Pressure (bar)"),
  sans_fil: () => _("Cordless"),
  autonomie_min: () => _("Battery life (min)"),
  duree_ans: () => _("Duration (years)"),
};

function attributeRows(attributes) {
  return Object.entries(attributes || {}).map(([name, value]) =>
    h("div", { class: "attr" },
      h("dt", {}, ATTRIBUTES[name] ? ATTRIBUTES[name]() : name.replace(/_/g, " ")),
      h("dd", {}, Array.isArray(value) ? value.join(", ") : typeof value === "boolean" ? (value ? _("yes") : _("no")) : String(value))));
}

// Seconds until the evening of `days` days from now (the hold then lasts the whole day).
function untilEvening(days) {
  const end = new Date();
  end.setDate(end.getDate() + days);
  end.setHours(23, 59, 0, 0);
  return Math.max(60, Math.round((end.getTime() - Date.now()) / 1000));
}

function feedback(events) {
  // Shown and accepted suggestions feed the owner's report; queued like any tap.
  if (!events.length) return;
  submit({ kind: "feedback", method: "POST", path: "/recommendations/events", body: { events }, label: {} }).catch(() => {});
}

// The "Réserver" sheet. `suggestion`: {recommendation_id, context_sku} when the product was
// suggested. Resolves when the seller is done.
export function reserveSheet(product, suggestion = null) {
  const level = stockOf(product.sku);
  let quantity = 1;
  const qty = h("output", { class: "qty", id: "hold-qty", "aria-live": "polite" }, "1");
  const setQty = (next) => {
    quantity = Math.max(1, Math.min(99, next));
    qty.value = String(quantity);
    qty.textContent = String(quantity);
  };
  const note = h("input", { id: "hold-note", maxlength: "200", autocomplete: "off", placeholder: _("Customer's name, delivery…") });
  const where = h("select", { id: "hold-location" },
    h("option", { value: "" }, _("Automatic (floor first)")),
    (level?.locations || []).map((place) =>
      h("option", { value: place.location }, `${locationName(place.location)} — ${ngettext("{n} available", "{n} available", place.available)}`)));
  const until = h("select", { id: "hold-until" },
    h("option", { value: "" }, _("Until tonight")),
    h("option", { value: "1" }, _("Until tomorrow evening")),
    h("option", { value: "3" }, _("For 3 days")));
  const confirm = h("button", { class: "btn primary big", type: "submit", id: "hold-confirm" }, _("Reserve"));
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "reserve-form" },
    h("div", { class: "sheet-product" }, photo(product), h("div", {}, h("strong", {}, product.name), h("span", { class: "price" }, money(product.price)))),
    h("div", { class: "field" }, h("span", { class: "label" }, _("Quantity")),
      h("div", { class: "stepper" },
        h("button", { class: "btn secondary", type: "button", "aria-label": _("One less"), onclick: () => setQty(quantity - 1) }, "−"),
        qty,
        h("button", { class: "btn secondary", type: "button", "aria-label": _("One more"), onclick: () => setQty(quantity + 1) }, "+"))),
    field(_("Note"), note, _("Up to 200 characters")),
    // The customer picker (reminders: customers on holds) goes here.
    h("div", { class: "customer-slot", dataset: { slot: "customer" } }),
    h("div", { class: "two" }, field(_("Take from"), where), field(_("How long"), until)),
    confirm,
    result);
  const opened = sheet(_("Reserve"), form);
  return new Promise((resolve) => {
    opened.dialog.addEventListener("close", () => resolve(null));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      confirm.disabled = true;
      const body = { sku: product.sku, quantity };
      if (note.value.trim()) body.note = note.value.trim().slice(0, 200);
      if (where.value) body.location = where.value;
      if (until.value) body.ttl_seconds = untilEvening(Number(until.value));
      if (suggestion) body.recommendation_id = suggestion.recommendation_id;
      const item = await submit({
        kind: "hold",
        method: "POST",
        path: "/reservations",
        body,
        label: { sku: product.sku, name: product.name, quantity, note: body.note || "" },
      });
      if (item.state === "done") {
        toast(_("Reserved: {quantity} × {name} ({where})", { quantity, name: product.name, where: locationName(item.result.location) }));
        opened.close();
        resolve(item);
      } else if (item.state === "pending") {
        toast(_("No network: the hold is queued and will be sent as soon as possible."), "warn");
        opened.close();
        resolve(item);
      } else {
        confirm.disabled = false;
        mount(result, errorBox(_("Refused: {reason}", { reason: refusal(item.error) })));
        if (item.error?.code === "insufficient_stock") loadStock([product.sku]).catch(() => {});
      }
    });
  });
}

function holdRow(hold) {
  return h("li", { class: "hold-line" },
    h("strong", {}, `${hold.quantity} ×`), " ",
    locationName(hold.location), " · ",
    hold.note ? h("em", {}, hold.note) : _("no note"), " · ",
    _("until {time}", { time: time(hold.expires_at) }), " · ",
    h("span", { class: "muted" }, hold.created_by));
}

function suggestionCard(item, answer, product, onAccept) {
  return h("li", { class: "suggestion", dataset: { sku: item.sku } },
    h("a", { class: "suggestion-main", href: `#/product/${enc(item.sku)}` },
      h("span", { class: "name" }, item.name),
      h("span", { class: "reason" }, item.reason),
      h("span", { class: "meta" }, money(item.price), " · ",
        item.available_here ? _("on the floor") : ngettext("{n} available", "{n} available", item.available))),
    h("button", {
      class: "btn secondary",
      type: "button",
      onclick: () => onAccept(item, answer),
    }, _("Add to the hold")));
}

export async function show(main, route) {
  const sku = route.args[0];
  mount(main, loading());
  let product;
  let stale = false;
  let at = null;
  try {
    const found = await get(`/products/${enc(sku)}`);
    product = found.data;
    stale = found.stale;
    at = found.at;
    const level = await get(`/stock/${enc(sku)}`);
    rememberStock([level.data], level.stale, level.at);
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404
      ? _("This product does not exist (or no longer).")
      : _("No network and this product was never opened on this tablet.");
    mount(main, h("section", { class: "product" }, errorBox(text), h("a", { class: "btn secondary", href: "#/search" }, _("Back to search"))));
    return undefined;
  }

  const holds = h("ul", { class: "holds-here" });
  const suggestions = h("div", { class: "suggestions" });

  async function loadHolds() {
    try {
      const { data, stale: old } = await get(`/reservations?sku=${enc(sku)}&status=active&page_size=50`);
      mount(holds, data.items.length ? data.items.map(holdRow) : h("li", { class: "muted" }, _("No hold in progress.")), old ? staleNote() : null);
    } catch {
      mount(holds, h("li", { class: "muted" }, _("Holds unknown (no network).")));
    }
  }

  async function accept(item, answer) {
    feedback([{ event: "reco_accepted", recommendation_id: answer.recommendation_id, suggested_sku: item.sku, context_sku: sku, kind: answer.kind, occurred_at: new Date().toISOString() }]);
    try {
      const other = await get(`/products/${enc(item.sku)}`);
      const level = await get(`/stock/${enc(item.sku)}`);
      rememberStock([level.data], level.stale, level.at);
      await reserveSheet(other.data, { recommendation_id: answer.recommendation_id, context_sku: sku });
    } catch {
      toast(_("No network: open the suggestion again later."), "warn");
    }
  }

  async function loadSuggestions() {
    const level = stockOf(sku);
    const inStore = (level?.locations || []).filter((l) => STORE_LOCATIONS.includes(l.location)).reduce((n, l) => n + l.available, 0);
    const kinds = [["complements", _("Goes well with it")]];
    if (inStore === 0) kinds.unshift(["alternatives", _("In stock instead")]);
    const blocks = [];
    const shown = [];
    for (const [kind, title] of kinds) {
      try {
        const { data } = await get(`/products/${enc(sku)}/recommendations?kind=${kind}&limit=4`);
        if (!data.items.length) continue;
        blocks.push(h("h2", { class: "section" }, title), h("ul", { class: "suggestion-list", dataset: { kind } }, data.items.map((item) => suggestionCard(item, data, product, accept))));
        for (const item of data.items) shown.push({ event: "reco_shown", recommendation_id: data.recommendation_id, suggested_sku: item.sku, context_sku: sku, kind, occurred_at: new Date().toISOString() });
      } catch {
        // Suggestions are a bonus: without the network the product screen stands alone.
      }
    }
    mount(suggestions, blocks);
    feedback(shown);
  }

  const reserve = h("button", { class: "btn primary big reserve", type: "button", id: "reserve", onclick: async () => { await reserveSheet(product); loadHolds(); } }, _("Reserve"));
  mount(
    main,
    h("section", { class: "product" },
      h("div", { class: "product-head" },
        photo(product, "large"),
        h("div", { class: "product-title" },
          h("h1", {}, product.name),
          h("p", { class: "meta" }, [product.brand, product.category, product.colour].filter(Boolean).join(" · ")),
          h("p", { class: "price big" }, money(product.price)),
          h("p", { class: "sku muted" }, product.sku, stale ? staleNote(at) : null),
          product.active === false ? errorBox(_("This product is no longer sold.")) : null)),
      h("div", { class: "stock-block" }, h("h2", { class: "section" }, _("Stock")), stockBadges(sku, { big: true }), reserve),
      h("div", { class: "columns" },
        h("div", {},
          h("h2", { class: "section" }, _("Holds in progress")), holds,
          product.description ? [h("h2", { class: "section" }, _("Description")), h("p", { class: "description" }, product.description)] : null,
          Object.keys(product.attributes || {}).length ? [h("h2", { class: "section" }, _("Characteristics")), h("dl", { class: "attrs" }, attributeRows(product.attributes))] : null),
        suggestions)),
  );
  loadHolds();
  loadSuggestions();
  const offs = [
    on("event:reservation.created", (e) => e.sku === sku && loadHolds()),
    on("event:reservation.committed", (e) => e.sku === sku && loadHolds()),
    on("event:reservation.released", (e) => e.sku === sku && loadHolds()),
    on("event:reservation.expired", (e) => e.sku === sku && loadHolds()),
    on("connected", () => {
      loadStock([sku]).catch(() => {});
      loadHolds();
    }),
  ];
  return () => offs.forEach((off) => off());
}
