// The tablet's service worker (scope /tablet/). Precaches the app shell, its modules, icons
// and texts of this build, so the app opens without the network; replays the queue of taps
// when the browser says the network is back (Background Sync). API answers are not cached
// here: the page keeps the last known data itself, per screen, marked as not current.
import { flush } from "/tablet/v/__VERSION__/queue.js";

const VERSION = "__VERSION__";
const PRECACHE = ["__PRECACHE__"];
const CACHE = `comptoir-tablet-${VERSION}`;
const SHELL = "/tablet/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([SHELL, ...PRECACHE]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("comptoir-tablet-") && n !== CACHE).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

async function fromCacheFirst(request, key = request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  return fetch(request);
}

async function fromNetworkFirst(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const hit = await caches.match(request, { ignoreSearch: true });
    if (hit) return hit;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === SHELL) {
    event.respondWith(fromCacheFirst(request, SHELL));
  } else if (url.pathname.startsWith(`/tablet/v/${VERSION}/`) || url.pathname.startsWith("/tablet/i18n/")) {
    event.respondWith(fromCacheFirst(request));
  } else if (url.pathname.startsWith("/tablet/")) {
    event.respondWith(fromNetworkFirst(request));
  }
});

async function replay() {
  await flush();
  const pages = await self.clients.matchAll({ type: "window" });
  for (const page of pages) page.postMessage({ type: "queue-replayed" });
}

self.addEventListener("sync", (event) => {
  if (event.tag === "comptoir-queue") event.waitUntil(replay());
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "replay") event.waitUntil(replay());
});
