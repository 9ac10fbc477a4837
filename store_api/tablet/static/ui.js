// Pieces every screen uses: stock badges that follow the stream, photos, sheets, notices.
import { on } from "./bus.js";
import { time } from "./format.js";
import { h, mount } from "./h.js";
import { _ } from "./i18n.js";
import { locationName, stockOf } from "./state.js";

// Badges re-render themselves when the product's stock changes.
on("stock", (sku) => {
  for (const node of document.querySelectorAll("[data-stock-sku]")) {
    if (node.dataset.stockSku === sku) fillBadges(node);
  }
});

export function stockBadges(sku, { big = false } = {}) {
  const node = h("div", { class: big ? "badges big" : "badges", dataset: { stockSku: sku } });
  fillBadges(node);
  return node;
}

function fillBadges(node) {
  const level = stockOf(node.dataset.stockSku);
  if (!level) {
    mount(node, h("span", { class: "badge unknown" }, _("Stock unknown")));
    return;
  }
  const total = level.available;
  mount(
    node,
    level.locations.map((place) =>
      h(
        "span",
        {
          class: `badge ${place.available > 0 ? "yes" : "no"}`,
          dataset: { location: place.location, available: String(place.available) },
        },
        h("span", { class: "where" }, locationName(place.location)),
        h("strong", {}, String(place.available)),
      ),
    ),
    total === 0 ? h("span", { class: "badge out", dataset: { out: "1" } }, _("Out of stock")) : null,
    level.stale ? staleNote(level.at) : null,
  );
}

export function staleNote(at) {
  return h(
    "span",
    { class: "stale", title: at ? _("Last update at {time}", { time: time(at) }) : "" },
    at ? _("not current (as of {time})", { time: time(at) }) : _("not current"),
  );
}

// Photo URLs on reserved example domains never load: show the placeholder at once.
const NEVER = /\.(example|invalid|test|localhost)$/i;

export function photo(product, size = "small") {
  const placeholder = () =>
    h("div", { class: `photo ${size} none`, "aria-hidden": "true" }, (product.category || product.name || "?").slice(0, 1));
  let url = null;
  try {
    url = product.image_url ? new URL(product.image_url) : null;
  } catch {
    url = null;
  }
  if (!url || NEVER.test(url.hostname) || !/^https?:$/.test(url.protocol)) return placeholder();
  const img = h("img", { class: `photo ${size}`, src: url.href, alt: "", loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(placeholder()), { once: true });
  return img;
}

// A modal sheet from the bottom (a <dialog>): returns {dialog, close}.
export function sheet(title, ...content) {
  const close = h("button", { class: "icon-btn", type: "button", "aria-label": _("Close") }, "✕");
  const dialog = h(
    "dialog",
    { class: "sheet", "aria-label": title },
    h("div", { class: "sheet-head" }, h("h2", {}, title), close),
    h("div", { class: "sheet-body" }, ...content),
  );
  const done = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
  };
  close.addEventListener("click", done);
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    done();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: done };
}

let toastTimer = null;
export function toast(text, kind = "ok") {
  let node = document.getElementById("toast");
  if (!node) {
    node = h("div", { id: "toast", class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(node);
  }
  node.className = `toast ${kind} show`;
  node.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("show"), 4000);
}

export function errorBox(text) {
  return h("p", { class: "error", role: "alert" }, text);
}

export function loading() {
  return h("p", { class: "loading" }, _("Loading…"));
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input, hint ? h("span", { class: "hint" }, hint) : null);
}
