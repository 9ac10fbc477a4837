// Screen 4: my holds: active ones with the time left (extend, sold at the till, release),
// taps waiting for the network, and holds refused or expired, each with why.
import { ApiError, get } from "../api.js";
import { on } from "../bus.js";
import { duration, time } from "../format.js";
import { h, mount } from "../h.js";
import { _ } from "../i18n.js";
import { dismiss, items, submit } from "../queue.js";
import { locationName, me, productName, refusal } from "../state.js";
import { field, sheet, staleNote, toast } from "../ui.js";

let mineSupported = true;

async function myHolds(status) {
  if (mineSupported) {
    try {
      return await get(`/reservations?mine=true&status=${status}&page_size=100`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 422)) throw error;
      mineSupported = false;
    }
  }
  const found = await get(`/reservations?status=${status}&page_size=100`);
  // A server without ?mine= nor /me: the store's holds, all tablets together.
  if (!me.name) return found;
  return { ...found, data: { ...found.data, items: found.data.items.filter((r) => r.created_by === me.name) } };
}

async function named(holds) {
  return Promise.all(holds.map(async (hold) => (hold.product_name ? hold : { ...hold, product_name: await productName(hold.sku) })));
}

const KIND_LABELS = {
  hold: () => _("Hold"),
  commit: () => _("Sold at the till"),
  release: () => _("Release"),
  extend: () => _("Extend"),
  ack: () => _("I'm going"),
  adjust: () => _("Delivery"),
  count: () => _("Count"),
};

function describe(item) {
  const label = item.label || {};
  const what = (KIND_LABELS[item.kind] || (() => item.kind))();
  const detail = [label.quantity ? `${label.quantity} ×` : "", label.name || label.sku || "", label.note ? `« ${label.note} »` : "", label.text || ""]
    .filter(Boolean).join(" ");
  return `${what} — ${detail}`;
}

async function act(kind, method, path, body, label, ref) {
  const item = await submit({ kind, method, path, body, label, ref });
  if (item.state === "done") toast(_("Done."));
  else if (item.state === "pending") toast(_("No network: queued, it will be sent as soon as possible."), "warn");
  else toast(_("Refused: {reason}", { reason: refusal(item.error) }), "error");
  return item;
}

function commitSheet(hold, ref) {
  const ticket = h("input", { id: "ticket", maxlength: "255", autocomplete: "off", inputmode: "text", placeholder: _("e.g. ticket 2231") });
  const go = h("button", { class: "btn primary big", type: "submit", id: "commit-confirm" }, _("Confirm the sale"));
  const form = h("form", {},
    h("p", {}, `${hold.quantity} × ${hold.product_name || hold.sku}`),
    field(_("Till ticket"), ticket, _("The reference printed on the receipt")),
    go);
  const opened = sheet(_("Sold at the till"), form);
  ticket.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    go.disabled = true;
    const body = ticket.value.trim() ? { reference: ticket.value.trim() } : {};
    const path = ref ? "/reservations/{ref}/commit" : `/reservations/${hold.id}/commit`;
    await act("commit", "POST", path, body, { sku: hold.sku, name: hold.product_name || hold.sku, quantity: hold.quantity, text: body.reference || "" }, ref);
    opened.close();
  });
}

function releaseSheet(hold, ref) {
  const go = h("button", { class: "btn danger big", type: "button", id: "release-confirm" }, _("Release the units"));
  const opened = sheet(_("Release this hold?"),
    h("p", {}, _("{quantity} × {name} will be available again at once.", { quantity: hold.quantity, name: hold.product_name || hold.sku })),
    go);
  go.addEventListener("click", async () => {
    go.disabled = true;
    const path = ref ? "/reservations/{ref}" : `/reservations/${hold.id}`;
    await act("release", "DELETE", path, undefined, { sku: hold.sku, name: hold.product_name || hold.sku, quantity: hold.quantity }, ref);
    opened.close();
  });
}

function holdCard(hold, { ref = null, queued = false } = {}) {
  const left = (Date.parse(hold.expires_at) - Date.now()) / 1000;
  return h("li", { class: `hold-card${queued ? " queued" : ""}`, dataset: { hold: hold.id || `local-${ref}`, sku: hold.sku } },
    h("div", { class: "hold-main" },
      h("a", { class: "name", href: `#/product/${encodeURIComponent(hold.sku)}` }, `${hold.quantity} × ${hold.product_name || hold.sku}`),
      h("span", { class: "meta" }, [hold.location ? locationName(hold.location) : _("location chosen on sending"), hold.note ? `« ${hold.note} »` : null].filter(Boolean).join(" · ")),
      queued
        ? h("span", { class: "pill warn" }, _("Waiting for the network"))
        : h("span", { class: `time-left${left < 3600 ? " soon" : ""}` }, _("{left} left (until {time})", { left: duration(left), time: time(hold.expires_at) }))),
    h("div", { class: "actions" },
      queued ? null : h("button", { class: "btn secondary", type: "button", onclick: () => act("extend", "POST", `/reservations/${hold.id}/extend`, {}, { sku: hold.sku, name: hold.product_name || hold.sku, quantity: hold.quantity }) }, _("Extend")),
      h("button", { class: "btn primary", type: "button", onclick: () => commitSheet(hold, ref) }, _("Sold")),
      h("button", { class: "btn secondary", type: "button", onclick: () => releaseSheet(hold, ref) }, _("Release"))));
}

export async function show(main) {
  const active = h("ul", { class: "hold-list", id: "active-holds" });
  const waiting = h("div", { id: "waiting" });
  const refused = h("div", { id: "refused" });
  const closed = h("div", { id: "expired" });
  const note = h("span", {});

  async function renderQueue() {
    const all = await items();
    const pendingHolds = all.filter((i) => i.kind === "hold" && i.state === "pending");
    const others = all.filter((i) => i.state === "pending" && i.kind !== "hold" && i.kind !== "feedback");
    const no = all.filter((i) => i.state === "refused" && i.kind !== "feedback");
    mount(waiting,
      pendingHolds.length || others.length
        ? [h("h2", { class: "section" }, _("Waiting to be sent")),
           h("ul", { class: "hold-list" },
             pendingHolds.map((i) => holdCard({ ...i.body, product_name: i.label.name, expires_at: new Date(Date.now() + 3600e3).toISOString() }, { ref: i.id, queued: true })),
             others.map((i) => h("li", { class: "queued-line" }, describe(i), " ", h("span", { class: "pill warn" }, _("Waiting for the network")))))]
        : null);
    mount(refused,
      no.length
        ? [h("h2", { class: "section" }, _("Refused")),
           h("ul", { class: "hold-list" }, no.map((i) =>
             h("li", { class: "refused-line", dataset: { queueId: String(i.id) } },
               h("div", {}, h("strong", {}, describe(i)), h("p", { class: "reason" }, refusal(i.error))),
               h("button", { class: "btn secondary", type: "button", onclick: () => dismiss(i.id) }, _("Seen")))))]
        : null);
  }

  async function renderHolds() {
    try {
      const found = await myHolds("active");
      mount(note, found.stale ? staleNote(found.at) : null);
      const list = await named(found.data.items.sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at)));
      mount(active, list.length ? list.map((hold) => holdCard(hold)) : h("li", { class: "empty" }, _("No active hold. Holds made on this tablet show here.")));
    } catch {
      mount(active, h("li", { class: "empty" }, _("No network and no holds kept on this tablet.")));
    }
    try {
      const expired = await myHolds("expired");
      const today = new Date().toDateString();
      const recent = await named(expired.data.items).then((all) => all.filter((r) => new Date(r.closed_at || r.expires_at).toDateString() === today));
      mount(closed, recent.length
        ? [h("h2", { class: "section" }, _("Expired today")),
           h("ul", { class: "hold-list" }, recent.map((r) =>
             h("li", { class: "expired-line" }, `${r.quantity} × ${r.product_name || r.sku}`, " — ",
               _("expired at {time}: the units were released", { time: time(r.expires_at) }))))]
        : null);
    } catch {
      mount(closed);
    }
  }

  mount(main, h("section", { class: "holds" },
    h("h1", {}, _("My holds"), " ", note),
    refused, waiting, active, closed));
  await Promise.all([renderQueue(), renderHolds()]);
  const mine = (event) => (event.payload?.created_by === me.name) && renderHolds();
  const timer = setInterval(renderHolds, 60_000);
  const offs = [
    on("queue", renderQueue),
    on("hold:done", renderHolds),
    on("commit:done", renderHolds),
    on("release:done", renderHolds),
    on("extend:done", renderHolds),
    on("event:reservation.created", mine),
    on("event:reservation.committed", mine),
    on("event:reservation.released", mine),
    on("event:reservation.expired", mine),
    on("event:reservation.extended", mine),
    on("connected", renderHolds),
  ];
  return () => {
    clearInterval(timer);
    offs.forEach((off) => off());
  };
}
