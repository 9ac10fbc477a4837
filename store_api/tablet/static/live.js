// The live event stream: /api/v1/events/stream read with fetch + ReadableStream (EventSource
// cannot send the Authorization header, and the key never goes in a URL). After a drop it
// reconnects with backoff and resumes with Last-Event-ID, so no event is missed.
import { ApiError, loadKey } from "./api.js";
import { emit } from "./bus.js";

const TYPES = ["stock.*", "reservation.*", "help.*", "shelf.*", "product.*"];
const SILENCE_MS = 40_000; // the server sends a keepalive every 15 s
const MAX_BACKOFF_MS = 30_000;

let status = "offline";
let lastId = null;
let controller = null;
let running = false;
let wake = null;

export function liveStatus() {
  return status;
}

function setStatus(next) {
  if (next === status) return;
  status = next;
  emit("status", next);
}

function sleep(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

export function stopLive() {
  running = false;
  controller?.abort();
  wake?.();
  setStatus("offline");
}

// Drop the current connection now (the network went away) and try again at once.
export function reconnectNow() {
  controller?.abort();
  wake?.();
}

export function startLive() {
  if (running) return;
  running = true;
  loop();
}

async function loop() {
  let failures = 0;
  while (running) {
    if (!navigator.onLine) {
      setStatus("offline");
      await sleep(MAX_BACKOFF_MS);
      continue;
    }
    if (failures > 0) setStatus("reconnecting");
    let delay = 0;
    const started = Date.now();
    try {
      await connect();
      // Ended by the server (its time limit, a restart): at once, unless it keeps ending early.
      failures = Date.now() - started > 5000 ? 0 : failures + 1;
      delay = failures ? 1000 * failures : 0;
    } catch (error) {
      if (!running) break;
      if (error instanceof ApiError && error.status === 401) {
        running = false;
        setStatus("offline");
        emit("unauthorized", error);
        break;
      }
      failures += 1;
      const retryAfter = error instanceof ApiError ? error.retryAfter * 1000 : 0;
      const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 6));
      delay = Math.max(retryAfter, backoff * (0.5 + Math.random() / 2));
      setStatus(navigator.onLine ? "reconnecting" : "offline");
    }
    if (running && delay) await sleep(delay);
  }
}

async function connect() {
  const key = await loadKey();
  if (!key) throw new ApiError(401, { code: "unauthorized" });
  controller = new AbortController();
  const headers = { Authorization: `Bearer ${key}`, Accept: "text/event-stream" };
  if (lastId !== null) headers["Last-Event-ID"] = String(lastId);
  const query = TYPES.map((type) => `type=${encodeURIComponent(type)}`).join("&");
  const response = await fetch(`/api/v1/events/stream?${query}`, {
    headers,
    cache: "no-store",
    credentials: "omit",
    signal: controller.signal,
  });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const error = new ApiError(response.status, body);
    error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
    throw error;
  }
  setStatus("live");
  emit("connected", { resumed: lastId !== null });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        dispatch(block);
      }
    }
  } finally {
    clearTimeout(watchdog);
  }
  if (!running) return;
  // The server ended the stream (its time limit or a restart): reconnect and resume.
  setStatus("reconnecting");
}

function dispatch(block) {
  let id = null;
  let type = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (id !== null) lastId = Number(id);
  if (!data.length) return;
  let event;
  try {
    event = JSON.parse(data.join("\n"));
  } catch {
    return;
  }
  emit("event", event);
  emit(`event:${type}`, event);
}
