// Numbers, prices and dates the way the shop reads them: fr-FR by default (1 400,00 €).
import { _, currentLocale } from "./i18n.js";

const tag = () => (currentLocale() === "en" ? "en-GB" : "fr-FR");
const formats = new Map(); // building an Intl formatter is slow: one per locale and kind

function formatter(kind, make) {
  const key = `${tag()}:${kind}`;
  if (!formats.has(key)) formats.set(key, make(tag()));
  return formats.get(key);
}

export function money(value) {
  const amount = Number(value);
  if (!Number.isFinite(amount)) return "";
  return formatter("money", (t) => new Intl.NumberFormat(t, { style: "currency", currency: "EUR" })).format(amount);
}

export function number(value) {
  return formatter("number", (t) => new Intl.NumberFormat(t)).format(value);
}

export function date(value) {
  return new Intl.DateTimeFormat(tag(), { dateStyle: "long" }).format(new Date(value));
}

export function time(value) {
  return formatter("time", (t) => new Intl.DateTimeFormat(t, { hour: "2-digit", minute: "2-digit" })).format(
    new Date(value),
  );
}

export function dateTime(value) {
  const when = new Date(value);
  const today = new Date();
  if (when.toDateString() === today.toDateString()) return _("today at {time}", { time: time(when) });
  return new Intl.DateTimeFormat(tag(), { dateStyle: "medium", timeStyle: "short" }).format(when);
}

// "3 h 12 min", "45 min", "moins d'une minute"
export function duration(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return _("less than a minute");
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return _("{days} days", { days: Math.floor(hours / 24) });
  if (hours === 0) return _("{minutes} min", { minutes });
  return _("{hours} h {minutes} min", { hours, minutes: String(minutes % 60).padStart(2, "0") });
}

export function ago(value) {
  const seconds = Math.max(0, (Date.now() - new Date(value).getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(tag(), { numeric: "auto" });
  if (seconds < 60) return rtf.format(-Math.round(seconds), "second");
  if (seconds < 3600) return rtf.format(-Math.round(seconds / 60), "minute");
  if (seconds < 86400) return rtf.format(-Math.round(seconds / 3600), "hour");
  return rtf.format(-Math.round(seconds / 86400), "day");
}
