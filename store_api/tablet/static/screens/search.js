// Screen 2: search as you type (the forgiving search of /products?q=), a barcode typed or
// scanned (/products?gtin=), results with photo, price, colour and stock per location.
import { ApiError, enc, get } from "../api.js";
import { money } from "../format.js";
import { h, mount } from "../h.js";
import { _, ngettext } from "../i18n.js";
import { canScan, looksLikeBarcode, scanBarcode } from "../scan.js";
import { loadStock } from "../state.js";
import { errorBox, photo, staleNote, stockBadges } from "../ui.js";

const DEBOUNCE_MS = 180;
let gtinSupported = true;
let suggestSupported = true;

export function resultRow(product) {
  return h(
    "a",
    { class: "result", href: `#/product/${enc(product.sku)}`, dataset: { sku: product.sku } },
    photo(product),
    h("div", { class: "result-main" },
      h("span", { class: "name" }, product.name),
      h("span", { class: "meta" }, [product.brand, product.colour].filter(Boolean).join(" · ")),
      stockBadges(product.sku)),
    h("span", { class: "price" }, money(product.price)),
  );
}

async function findProducts(text, filter) {
  const clean = text.trim();
  if (filter) return get(`/products?${filter.kind}=${enc(filter.value)}&page_size=30`);
  if (looksLikeBarcode(clean) && gtinSupported) {
    try {
      const found = await get(`/products?gtin=${enc(clean.replace(/\s/g, ""))}&page_size=5`);
      if (found.data.items.length) return found;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 422)) throw error;
      gtinSupported = false; // this server has no barcode filter yet: search the text
    }
  }
  return get(`/products?q=${enc(clean)}&page_size=30`);
}

async function suggestions(text) {
  if (!suggestSupported || text.trim().length < 2) return null;
  try {
    return (await get(`/products/suggest?q=${enc(text.trim())}`)).data;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) suggestSupported = false;
    return null;
  }
}

export async function show(main, route) {
  const input = h("input", {
    id: "search",
    type: "search",
    enterkeyhint: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: _("Product, brand, model or barcode"),
    "aria-label": _("Search products"),
    value: route.query.get("q") || "",
  });
  const chips = h("div", { class: "chips", "aria-label": _("Suggestions") });
  const results = h("div", { class: "results", "aria-live": "polite" });
  let filter = route.query.get("category")
    ? { kind: "category", value: route.query.get("category") }
    : route.query.get("brand")
      ? { kind: "brand", value: route.query.get("brand") }
      : null;
  let sequence = 0;
  let timer = null;

  async function run() {
    const mine = ++sequence;
    const text = input.value;
    const params = new URLSearchParams();
    if (text) params.set("q", text);
    if (filter) params.set(filter.kind, filter.value);
    history.replaceState(null, "", `#/search${params.size ? "?" + params : ""}`);
    if (!text.trim() && !filter) {
      await browse(mine);
      return;
    }
    try {
      const [found, suggested] = await Promise.all([findProducts(text, filter), filter ? null : suggestions(text)]);
      if (mine !== sequence) return;
      const items = found.data.items;
      renderChips(suggested);
      await loadStock(items.map((p) => p.sku)).catch(() => {});
      if (mine !== sequence) return;
      mount(
        results,
        h("p", { class: "count" },
          ngettext("{n} product", "{n} products", found.data.total),
          filter ? h("button", { class: "chip active", type: "button", onclick: () => { filter = null; run(); } }, filter.value, " ✕") : null,
          found.stale ? staleNote(found.at) : null),
        items.length
          ? items.map(resultRow)
          : h("p", { class: "empty" }, suggested?.correction
              ? h("button", { class: "link", type: "button", onclick: () => { input.value = suggested.correction; run(); } },
                  _("Did you mean “{text}”?", { text: suggested.correction }))
              : _("Nothing found. Try another word, a brand or a model number.")),
      );
    } catch (error) {
      if (mine === sequence) mount(results, errorBox(error.status ? _("The search failed.") : _("No network and nothing kept for this search.")));
    }
  }

  function renderChips(suggested) {
    if (!suggested) return mount(chips);
    mount(
      chips,
      (suggested.categories || []).slice(0, 4).map((c) =>
        h("button", { class: "chip", type: "button", onclick: () => { filter = { kind: "category", value: c.name }; input.value = ""; run(); } }, `${c.name} (${c.count})`)),
      (suggested.brands || []).slice(0, 4).map((b) =>
        h("button", { class: "chip", type: "button", onclick: () => { filter = { kind: "brand", value: b.name }; input.value = ""; run(); } }, `${b.name} (${b.count})`)),
    );
  }

  async function browse(mine) {
    mount(chips);
    try {
      const { data, stale, at } = await get("/categories");
      if (mine !== sequence) return;
      mount(
        results,
        h("h2", { class: "section" }, _("Categories"), stale ? staleNote(at) : null),
        h("div", { class: "categories" },
          data.map((c) =>
            h("button", { class: "category", type: "button", onclick: () => { filter = { kind: "category", value: c.category }; run(); } },
              h("span", {}, c.category), h("small", {}, ngettext("{n} product", "{n} products", c.products))))),
      );
    } catch {
      mount(results, h("p", { class: "empty" }, _("Type a product, a brand or a barcode.")));
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (input.value) filter = null;
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(timer);
      run();
    }
  });
  const scan = canScan()
    ? h("button", {
        class: "btn secondary scan-btn",
        type: "button",
        "aria-label": _("Scan a barcode"),
        onclick: async () => {
          const code = await scanBarcode();
          if (code) {
            input.value = code;
            filter = null;
            run();
          }
        },
      }, _("Scan"))
    : null;
  mount(main, h("section", { class: "search" }, h("div", { class: "searchbar" }, input, scan), chips, results));
  run();
  if (!route.query.get("q")) input.focus();
  return () => clearTimeout(timer);
}
