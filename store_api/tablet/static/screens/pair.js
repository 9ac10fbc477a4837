// Screen 1: pairing. The owner shows a 6-digit code (or its QR code, which opens
// /tablet/#pair=<code>); the tablet trades it for its own seller key, kept in IndexedDB.
import { ApiError, Offline, request, saveKey } from "../api.js";
import { h, mount } from "../h.js";
import { _, ngettext } from "../i18n.js";
import { pending } from "../queue.js";
import { errorBox, field } from "../ui.js";

function deviceSummary() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? "Android" : /iPad|iPhone|Mac/.test(ua) ? "iPadOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  const browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrom/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "";
  return [browser, os].filter(Boolean).join(" / ").slice(0, 120) || "Tablette";
}

export async function show(main, route, app) {
  const code = h("input", {
    id: "pair-code",
    class: "code-input",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    maxlength: "6",
    pattern: "[0-9]{6}",
    required: true,
    value: route.code || "",
    "aria-describedby": "pair-help",
  });
  const message = h("div", { "aria-live": "polite" });
  const submit = h("button", { class: "btn primary big", type: "submit" }, _("Pair this tablet"));
  const keyInput = h("input", { id: "pair-key", type: "password", autocomplete: "off", spellcheck: "false" });
  const waiting = (await pending()).length;

  async function pair(event) {
    event.preventDefault();
    const value = code.value.replace(/\D/g, "");
    if (value.length !== 6) {
      mount(message, errorBox(_("The code has 6 digits.")));
      return;
    }
    submit.disabled = true;
    mount(message, h("p", {}, _("Pairing…")));
    try {
      const { data } = await request("POST", "/tablets/pair", { body: { code: value, device: deviceSummary() }, auth: false });
      await saveKey(data.key);
      await app.signedIn();
    } catch (error) {
      submit.disabled = false;
      if (error instanceof Offline) mount(message, errorBox(_("No network: pairing needs the shop's Wi-Fi.")));
      else if (error instanceof ApiError && error.status === 429) mount(message, errorBox(_("Too many attempts: wait a few minutes and ask the owner for a new code.")));
      else mount(message, errorBox(_("This code is wrong or expired: ask the owner for a new one.")));
    }
  }

  async function useKey(event) {
    event.preventDefault();
    const value = keyInput.value.trim();
    if (!value) return;
    await saveKey(value);
    try {
      await request("GET", "/ping");
      await app.signedIn();
    } catch (error) {
      mount(message, errorBox(error instanceof Offline ? _("No network.") : _("This key is not valid.")));
    }
  }

  mount(
    main,
    h("section", { class: "pair" },
      route.loggedOut
        ? h("div", { class: "logged-out", role: "alert" },
            h("h1", {}, _("This tablet was logged out")),
            h("p", {}, _("Its key was revoked or has expired. Ask the owner to pair it again.")),
            waiting
              ? h("p", { class: "kept" }, ngettext(
                  "{n} action is waiting: it is kept and will be sent once the tablet is paired again.",
                  "{n} actions are waiting: they are kept and will be sent once the tablet is paired again.",
                  waiting))
              : null)
        : h("h1", {}, _("Pair this tablet")),
      h("form", { class: "card", onsubmit: pair },
        h("p", { id: "pair-help" }, _("On the owner's computer: Dashboard › Tablets › Pair a tablet. Type the code shown there, or scan its QR code with this tablet.")),
        field(_("Pairing code"), code),
        submit,
        message),
      h("details", { class: "card" },
        h("summary", {}, _("I have a seller key")),
        h("form", { onsubmit: useKey },
          field(_("Seller key"), keyInput, _("Created with: flask --app store_api keys create --role seller")),
          h("button", { class: "btn secondary", type: "submit", id: "pair-key-use" }, _("Use this key"))))),
  );
  if (route.code && route.code.length === 6) submit.click();
  else code.focus();
}
