// The public API, /api/v1, with the tablet's seller key in the Authorization header (never
// in a URL). GETs keep their last answer in IndexedDB: offline, the screen shows it, marked
// as not current.
import { emit } from "./bus.js";
import { cache, kv } from "./db.js";
import { currentLocale } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "http_" + status;
    this.errors = (body && body.errors) || {};
    this.retryAfter = 0;
  }
}

// The network is not there (or the server is down): try again later.
export class Offline extends Error {}

let key = null;

export async function loadKey() {
  key = (await kv.get("key")) || null;
  return key;
}

export async function saveKey(value) {
  key = value;
  await kv.set("key", value);
}

export async function forgetKey() {
  key = null;
  await kv.delete("key");
  await kv.delete("me");
}

export function hasKey() {
  return key !== null;
}

export async function request(method, path, { body, idempotencyKey, auth = true } = {}) {
  if (auth && !key) await loadKey();
  if (auth && !key) throw new ApiError(401, { code: "unauthorized", message: "No key" });
  const headers = { Accept: "application/json", "Accept-Language": currentLocale() };
  if (auth) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    emit("network", "down");
    throw new Offline(String(error));
  }
  emit("network", "up");
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status >= 500 && (!data || !data.code)) {
      // A proxy or a restarting server: not an answer about the request itself.
      throw new Offline(`HTTP ${response.status}`);
    }
    const error = new ApiError(response.status, data);
    error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
    if (response.status === 401 && auth) emit("unauthorized", error);
    throw error;
  }
  return { data, status: response.status, replayed: response.headers.get("Idempotent-Replayed") === "true" };
}

// GET with the last known answer as a fallback: {data, stale, at}.
export async function get(path) {
  try {
    const { data } = await request("GET", path);
    const at = new Date().toISOString();
    cache.set(path, { data, at }).catch(() => {});
    return { data, stale: false, at };
  } catch (error) {
    const transient = error instanceof Offline || (error instanceof ApiError && error.status >= 500);
    if (!transient) throw error;
    const kept = await cache.get(path);
    if (!kept) throw error;
    return { data: kept.data, stale: true, at: kept.at };
  }
}

export const enc = encodeURIComponent;
