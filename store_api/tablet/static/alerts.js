// Customers waiting for help: kept current by the stream on every screen, with a ring for
// each new or escalated alert.
import { get } from "./api.js";
import { emit, on } from "./bus.js";
import { ring } from "./sound.js";

const open = new Map(); // id -> alert as GET /alerts gives it (plus what the event told)
let stale = false;
let staleAt = null;

export function openAlerts() {
  return [...open.values()].sort((a, b) => Date.parse(a.raised_at) - Date.parse(b.raised_at));
}

export function alertsStale() {
  return { stale, at: staleAt };
}

export async function loadAlerts() {
  const [opened, escalated] = await Promise.all([get("/alerts?status=open"), get("/alerts?status=escalated")]);
  const fresh = new Map();
  for (const alert of [...opened.data, ...escalated.data]) fresh.set(alert.id, { ...(open.get(alert.id) || {}), ...alert });
  open.clear();
  for (const [id, alert] of fresh) open.set(id, alert);
  stale = opened.stale || escalated.stale;
  staleAt = opened.at;
  emit("alerts", null);
}

function fromEvent(event) {
  const payload = event.payload || {};
  return { ...payload, id: payload.alert_id ?? payload.id };
}

on("event:help.requested", (event) => {
  const alert = fromEvent(event);
  const known = open.get(alert.id) || {};
  open.set(alert.id, {
    ...known,
    ...alert,
    product_name: alert.product_name || alert.product?.name || known.product_name,
  });
  ring();
  emit("alerts", alert.id);
});

on("event:help.escalated", (event) => {
  const alert = fromEvent(event);
  open.set(alert.id, { ...(open.get(alert.id) || {}), ...alert, status: "escalated" });
  ring();
  emit("alerts", alert.id);
});

on("event:help.acknowledged", (event) => {
  const alert = fromEvent(event);
  const known = open.get(alert.id);
  open.delete(alert.id);
  emit("alerts", alert.id);
  emit("alert-taken", { ...(known || {}), ...alert });
});

export function forget(id) {
  open.delete(id);
  emit("alerts", id);
}
