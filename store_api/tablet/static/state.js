// What the screens share: who this tablet is, the last known stock per product (kept current
// by the stream), and the shop's words for locations and refusals.
import { enc, get } from "./api.js";
import { emit, on } from "./bus.js";
import { _, ngettext } from "./i18n.js";

export const me = { name: "", role: "", tablet_id: null };
const stock = new Map(); // sku -> {sku, available, locations: [{location, on_hand, reserved, available}], stale, at}

export function locationName(location) {
  const names = {
    floor: _("On the floor"),
    backroom: _("In the stockroom"),
    warehouse: _("Warehouse"),
  };
  return names[location] || location;
}

export function stockOf(sku) {
  return stock.get(sku) || null;
}

export function rememberStock(levels, stale = false, at = null) {
  for (const level of levels) {
    stock.set(level.sku, { ...level, stale, at });
    emit("stock", level.sku);
  }
}

export async function loadStock(skus) {
  const wanted = [...new Set(skus)].slice(0, 100);
  if (!wanted.length) return;
  const query = wanted.map((sku) => `sku=${enc(sku)}`).join("&");
  const { data, stale, at } = await get(`/stock?${query}`);
  rememberStock(data.items, stale, at);
}

// stock.changed carries the locations that moved, with their new levels.
on("event:stock.changed", (event) => {
  const payload = event.payload || {};
  const known = stock.get(payload.sku);
  if (!known) return;
  const locations = known.locations.map((level) => {
    const moved = (payload.locations || []).find((l) => l.location === level.location);
    return moved
      ? { location: level.location, on_hand: moved.on_hand, reserved: moved.reserved, available: moved.available_after }
      : level;
  });
  const sum = (field) => locations.reduce((total, level) => total + level[field], 0);
  stock.set(payload.sku, {
    ...known,
    locations,
    on_hand: sum("on_hand"),
    reserved: sum("reserved"),
    available: typeof payload.available_after === "number" ? payload.available_after : sum("available"),
    stale: false,
  });
  emit("stock", payload.sku);
});

// A refusal, in the seller's words, from the API's error code and details.
export function refusal(error) {
  if (!error) return "";
  const details = error.errors || {};
  switch (error.code) {
    case "insufficient_stock":
      return details.available > 0
        ? ngettext(
            "Not enough stock: only {n} unit left at one location.",
            "Not enough stock: only {n} units left at one location.",
            details.available,
          )
        : _("Not enough stock: none left.");
    case "reservation_expired":
      return _("The hold had expired.");
    case "reservation_not_active":
      return _("The hold was already closed (sold or released).");
    case "reservation_not_found":
      return _("This hold no longer exists.");
    case "hold_refused":
      return _("Its hold was refused.");
    case "stale_count":
      return _("The stock moved since you read it: count again.");
    case "below_reserved":
      return _("Units are held: the stock cannot go below what is reserved.");
    case "product_not_found":
      return _("Unknown product.");
    case "product_inactive":
      return _("This product is no longer sold.");
    case "alert_not_found":
      return _("This alert no longer exists.");
    case "unknown_location":
      return _("Unknown location.");
    case "idempotency_key_reused":
      return _("This action was already sent with other details.");
    case "forbidden":
      return _("This tablet may not do that.");
    case "validation_error":
      return _("Check what you typed: {fields}.", { fields: Object.keys(details).join(", ") });
    default:
      return _("Refused by the server ({code}).", { code: error.code || error.status });
  }
}

// Product names for lists that carry only SKUs (older servers' holds, discrepancies).
const names = new Map();
export async function productName(sku) {
  if (!names.has(sku)) {
    try {
      names.set(sku, (await get(`/products/${enc(sku)}`)).data.name);
    } catch {
      return sku;
    }
  }
  return names.get(sku);
}

export async function loadMe() {
  try {
    const { data } = await get("/me");
    Object.assign(me, data);
  } catch (error) {
    if (error.status === 401) throw error;
  }
  emit("me", me);
}
