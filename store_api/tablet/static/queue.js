// Every write the seller taps goes through this queue (Workbox-style background sync): it is
// stored in IndexedDB with its own Idempotency-Key first, then sent. Offline, it waits and is
// replayed in order when the network comes back; the server answers a replay with the
// original answer, so a tap is applied exactly once however often it is sent.
//
// States: pending (not answered yet), done (2xx), refused (4xx: the answer says why; a hold
// refused for stock stays refused). 401 stops the replay and keeps everything: the tablet is
// logged out, nothing is lost. Network errors, 429 and 5xx leave the tap pending.
import { ApiError, Offline, request } from "./api.js";
import { emit } from "./bus.js";
import { queue as store } from "./db.js";

const KEEP_DONE_MS = 24 * 3600 * 1000;
let chain = Promise.resolve();

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// op: {kind, method, path, body?, label, ref?} where path may contain "{ref}": the id the
// server gave to the earlier queued hold `ref` (a commit of a hold made offline).
export async function submit(op) {
  const item = {
    ...op,
    key: newKey(),
    state: "pending",
    created_at: new Date().toISOString(),
    tries: 0,
  };
  item.id = await store.add(item);
  emit("queue", item);
  await flush();
  return (await store.get(item.id)) || item;
}

export async function items() {
  const all = await store.all();
  return all.sort((a, b) => a.id - b.id);
}

export async function pending() {
  return (await store.pending()).sort((a, b) => a.id - b.id);
}

export async function dismiss(id) {
  await store.delete(id);
  emit("queue", null);
}

// One flush at a time in this page, and across the page and the service worker.
export function flush() {
  chain = chain.then(() => withLock(replay)).catch(() => {});
  return chain;
}

function withLock(work) {
  if (globalThis.navigator?.locks) return navigator.locks.request("comptoir-queue", work);
  return work();
}

let lastPrune = 0;

async function prune() {
  // Done taps are kept a day (the delivery screen lists the day's lines), then forgotten.
  const now = Date.now();
  if (now - lastPrune < 3600 * 1000) return;
  lastPrune = now;
  for (const item of await items()) {
    if (item.state === "done" && now - Date.parse(item.answered_at || item.created_at) > KEEP_DONE_MS) {
      await store.delete(item.id);
    }
  }
}

async function replay() {
  await prune();
  const waiting = await pending();
  const byId = new Map(waiting.map((item) => [item.id, item]));
  for (const item of waiting) {
    let path = item.path;
    if (item.ref !== undefined && item.ref !== null) {
      const earlier = byId.get(item.ref) || (await store.get(item.ref));
      if (!earlier || earlier.state === "refused") {
        await settle(item, "refused", null, { status: 409, code: "hold_refused", message: "", errors: {} });
        continue;
      }
      if (earlier.state !== "done") break; // keeps the order: the hold goes first
      path = path.replace("{ref}", earlier.result.id);
    }
    item.tries += 1;
    try {
      const answer = await request(item.method, path, { body: item.body, idempotencyKey: item.key });
      await settle(item, "done", answer.data, null, answer.replayed);
    } catch (error) {
      if (error instanceof Offline) {
        await store.put(item);
        emit("queue", item);
        return false;
      }
      if (error instanceof ApiError) {
        if (error.status === 401 || error.status === 429 || error.status >= 500) {
          await store.put(item);
          emit("queue", item);
          return false;
        }
        await settle(item, "refused", null, {
          status: error.status,
          code: error.code,
          message: error.message,
          errors: error.errors,
        });
        continue;
      }
      throw error;
    }
  }
  return true;
}

async function settle(item, state, result, error, replayed = false) {
  item.state = state;
  item.result = result;
  item.error = error;
  item.replayed = replayed;
  item.answered_at = new Date().toISOString();
  await store.put(item);
  emit("queue", item);
  emit(`${item.kind}:${state}`, item);
}
