// The tablet app: boot, the routes (#/search, #/product/<sku>, #/holds, #/help, #/tasks,
// #/delivery, #pair=<code>), the header (who, live/reconnecting/offline, language) and tabs.
import { forgetKey, loadKey } from "./api.js";
import { loadAlerts, openAlerts } from "./alerts.js";
import { emit, on } from "./bus.js";
import { h, mount } from "./h.js";
import { _, chosenLocale, currentLocale, loadLocale, ngettext } from "./i18n.js";
import { reconnectNow, liveStatus, startLive, stopLive } from "./live.js";
import { flush, pending } from "./queue.js";
import * as delivery from "./screens/delivery.js";
import * as help from "./screens/help.js";
import * as holds from "./screens/holds.js";
import * as pair from "./screens/pair.js";
import * as product from "./screens/product.js";
import * as search from "./screens/search.js";
import * as tasks from "./screens/tasks.js";
import { unlockSound } from "./sound.js";
import { loadMe, me } from "./state.js";

const SCREENS = { search, product, holds, help, tasks, delivery, pair };
const TABS = [
  ["search", () => _("Search")],
  ["holds", () => _("Holds")],
  ["help", () => _("Help")],
  ["tasks", () => _("Tasks")],
  ["delivery", () => _("Delivery")],
];
const main = document.getElementById("main");
let cleanup = null;
let waiting = 0;
let loggedOut = false;

const app = {
  signed: false,
  async signedIn() {
    loggedOut = false;
    app.signed = true;
    if (parse().name === "pair") history.replaceState(null, "", "#/search");
    renderChrome();
    // The screen first; who we are, the stream and the alerts right after (a revoked key
    // answers 401 to any of them and logs the tablet out).
    const shown = render();
    loadMe().then(renderChrome, () => logOut());
    setTimeout(() => {
      if (!app.signed) return;
      startLive();
      flush();
      loadAlerts().catch(() => {});
    }, 0);
    await shown;
  },
};

function parse() {
  const hash = location.hash.replace(/^#/, "");
  if (hash.startsWith("pair=")) return { name: "pair", code: hash.slice(5).replace(/\D/g, ""), args: [], query: new URLSearchParams() };
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = SCREENS[parts[0]] ? parts[0] : "search";
  return { name, args: parts.slice(1), query: new URLSearchParams(query) };
}

async function render() {
  const route = parse();
  if (cleanup) cleanup();
  cleanup = null;
  if (!app.signed && route.name !== "pair") {
    route.name = "pair";
    route.loggedOut = loggedOut;
  }
  document.body.dataset.screen = route.name;
  renderTabs(route.name);
  window.scrollTo(0, 0);
  const done = await SCREENS[route.name].show(main, route, app);
  cleanup = typeof done === "function" ? done : null;
  main.dataset.ready = route.name;
  emit("rendered", route.name);
}

function renderTabs(current) {
  const tabs = document.getElementById("tabs");
  if (!app.signed) return mount(tabs);
  const open = openAlerts().length;
  mount(tabs, TABS.map(([name, label]) =>
    h("a", { href: `#/${name}`, class: `tab tab-${name}`, "aria-current": name === current ? "page" : null },
      h("span", { class: "tab-icon", "aria-hidden": "true" }),
      h("span", {}, label()),
      name === "help" && open
        ? h("span", { class: "count" }, String(open), h("span", { class: "sr-only" }, " ", ngettext("{n} waiting", "{n} waiting", open)))
        : null)));
}

function renderStatus() {
  const node = document.getElementById("status");
  const state = navigator.onLine ? liveStatus() : "offline";
  const text = { live: _("Live"), reconnecting: _("Reconnecting…"), offline: _("Offline") }[state];
  node.className = `status ${state}`;
  node.dataset.state = state;
  mount(node, h("span", { class: "dot", "aria-hidden": "true" }), text,
    waiting ? h("span", { class: "waiting" }, ngettext("{n} waiting", "{n} waiting", waiting)) : null);
}

function renderChrome() {
  document.title = _("Comptoir — Tablet");
  document.getElementById("who").textContent = app.signed ? me.name : "";
  const lang = document.getElementById("lang");
  const other = currentLocale() === "fr" ? "en" : "fr";
  lang.textContent = other.toUpperCase();
  // The accessible name holds the visible text (EN / FR).
  lang.setAttribute("aria-label", other === "en" ? "EN — English" : "FR — Français");
  lang.lang = other;
  document.querySelector(".brand").textContent = "Comptoir";
  renderStatus();
}

let counting = null;
function countWaiting() {
  // Many queue events come in a burst (a replay): count once for all of them.
  counting ??= new Promise((resolve) => setTimeout(resolve, 100)).then(async () => {
    counting = null;
    waiting = (await pending()).filter((item) => item.kind !== "feedback").length;
    renderStatus();
  });
}

async function logOut() {
  app.signed = false;
  loggedOut = true;
  stopLive();
  await forgetKey();
  renderChrome();
  await render();
}

async function boot() {
  await loadLocale(chosenLocale());
  unlockSound();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/tablet/sw.js", { scope: "/tablet/", type: "module" }).catch(() => {});
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data?.type === "queue-replayed") emit("queue", null);
    });
  }
  document.getElementById("lang").addEventListener("click", async () => {
    await loadLocale(currentLocale() === "fr" ? "en" : "fr");
    renderChrome();
    await render();
  });
  on("status", renderStatus);
  on("queue", countWaiting);
  on("alerts", () => renderTabs(parse().name));
  on("unauthorized", () => app.signed && logOut());
  on("connected", () => {
    flush();
    loadAlerts().catch(() => {});
  });
  addEventListener("online", () => {
    renderStatus();
    flush();
    reconnectNow();
  });
  addEventListener("offline", () => {
    renderStatus();
    reconnectNow();
  });
  addEventListener("hashchange", () => render());
  setInterval(async () => {
    if (app.signed && (await pending()).length) {
      flush();
      navigator.serviceWorker?.ready.then((r) => r.sync?.register("comptoir-queue")).catch(() => {});
    }
  }, 10_000);
  renderChrome();
  countWaiting();
  const route = parse();
  if (route.name === "pair" && route.code) {
    // A new pairing code wins over an old key (the owner re-pairs this tablet).
    await render();
  } else if (await loadKey()) {
    await app.signedIn();
  } else {
    await render();
  }
}

boot();
