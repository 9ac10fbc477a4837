// The app's texts. Msgids are English; `make translations` extracts every _("...") and
// ngettext("...", "...", n) of these modules into the tablet's gettext catalogue, and
// /tablet/i18n/<locale>.json serves the translations (cached by the service worker).
export const LOCALES = ["fr", "en"];
let locale = "fr";
let messages = {};

export function currentLocale() {
  return locale;
}

export function chosenLocale() {
  const saved = globalThis.localStorage?.getItem("comptoir_lang");
  return LOCALES.includes(saved) ? saved : "fr";
}

export async function loadLocale(wanted) {
  const next = LOCALES.includes(wanted) ? wanted : "fr";
  let loaded = {};
  try {
    const response = await fetch(`/tablet/i18n/${next}.json`);
    if (response.ok) loaded = (await response.json()).messages || {};
  } catch {
    // Offline and not cached yet: the English msgids stand in.
  }
  locale = next;
  messages = loaded;
  globalThis.localStorage?.setItem("comptoir_lang", next);
  if (globalThis.document) document.documentElement.lang = next;
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function _(msgid, params) {
  const found = messages[msgid];
  return fill(typeof found === "string" ? found : msgid, params);
}

const rules = new Map();

export function ngettext(singular, plural, n, params) {
  if (!rules.has(locale)) rules.set(locale, new Intl.PluralRules(locale));
  const one = rules.get(locale).select(n) === "one";
  const found = messages[singular];
  let text;
  if (Array.isArray(found)) text = one ? found[0] : found[found.length - 1];
  else text = one ? singular : plural;
  return fill(text, { n, ...params });
}
