"""What the clickstream keeps of a request, as pure functions: nothing that identifies a person.

* The visitor is an HMAC of ``site|ip|user agent`` under the day's random salt; the salt is
  deleted after 48 hours, so nobody (us included) can recompute it or link two days.
* Of the user agent only the device class and the browser family are kept.
* Pages keep their path and ``utm_*`` parameters; other query parameters (tokens, e-mail
  addresses in links from newsletters) and fragments are dropped.
* Search terms lose e-mail addresses and phone numbers, even if the tracker already did it.
* A visit's source comes from ``utm_*`` or the referrer's host, never the full referrer URL.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

VISITOR_HEX = 32  # 128 bits
MAX_PATH = 512
MAX_TERM = 200
MAX_ATTRIBUTION = 120

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 8 to 15 digits, optionally with an international prefix and the usual separators: French
# (06 12 34 56 78, 06.12.34.56.78), international (+33 6 12 34 56 78) and bare numbers.
# A 13-digit EAN searched for is scrubbed too: a lost search term is cheaper than a kept number.
_PHONE = re.compile(r"(?:\+|\b00)?\d(?:[\s.\-/()]*\d){7,14}\b")
_SPACES = re.compile(r"\s+")


def visitor_hash(salt: bytes, site: str, ip: str, user_agent: str) -> str:
    """The day's visitor: first 128 bits of HMAC-SHA256(salt, site|ip|ua), as hex."""
    message = f"{site}|{ip}|{user_agent}".encode("utf-8", "surrogatepass")
    return hmac.new(salt, message, hashlib.sha256).hexdigest()[:VISITOR_HEX]


# --- user agent ------------------------------------------------------------------------

_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|Nexus (?:7|9|10)\b", re.IGNORECASE)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Windows Phone|Opera Mini|BlackBerry", re.IGNORECASE)
# Order matters: Edge, Opera and Samsung Internet also say "Chrome" and "Safari".
_BROWSERS = (
    ("edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("opera", re.compile(r"OPR/|OPT/|Opera|OPiOS/")),
    ("samsung", re.compile(r"SamsungBrowser/")),
    ("firefox", re.compile(r"Firefox/|FxiOS/")),
    ("chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("safari", re.compile(r"Version/[\d.]+.*Safari/|Safari/.*Version/")),
)
BROWSERS = ("chrome", "firefox", "safari", "edge", "samsung", "opera", "other")
DEVICES = ("desktop", "mobile", "tablet")


def device_class(user_agent: str) -> str:
    """desktop, mobile or tablet. Android without "Mobile" is a tablet (Google's rule)."""
    if _TABLET.search(user_agent):
        return "tablet"
    if "Android" in user_agent:
        return "mobile" if "Mobile" in user_agent else "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def browser_family(user_agent: str) -> str:
    """chrome, firefox, safari, edge, samsung, opera or other; never a version."""
    for family, pattern in _BROWSERS:
        if pattern.search(user_agent):
            return family
    return "other"


# --- pages, referrers, search terms ----------------------------------------------------


def scrub_emails(text: str) -> str:
    return _EMAIL.sub(EMAIL_MARK, text)


def scrub_contacts(text: str) -> str:
    """E-mail addresses and phone numbers replaced by a mark."""
    return _PHONE.sub(PHONE_MARK, scrub_emails(text))


def clean_search_term(term: str) -> str:
    """Lower-cased, spaces collapsed, contacts scrubbed, at most 200 characters."""
    cleaned = scrub_contacts(_SPACES.sub(" ", term).strip().lower())
    return cleaned[:MAX_TERM]


def utm_parameters(url: str) -> dict[str, str]:
    """The ``utm_*`` parameters of a URL (first value of each, lower-case names)."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
        key = name.lower()
        if key.startswith("utm_") and key not in found:
            found[key] = scrub_contacts(value.strip())[:MAX_ATTRIBUTION]
    return found


@functools.lru_cache(maxsize=4096)
def page_path(url: str) -> str:
    """Path plus ``utm_*`` parameters; other parameters, fragment, host and scheme dropped.

    E-mail addresses are scrubbed from the path too (account pages, unsubscribe links).
    """
    parts = urlsplit(url)
    path = scrub_emails(parts.path or "/")
    utm = utm_parameters(url)
    kept = f"{path}?{urlencode(utm)}" if utm else path
    return kept[:MAX_PATH]


def host_of(url: str | None) -> str | None:
    """The lower-case host of an absolute http(s) URL, without "www."; None otherwise."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return host.removeprefix("www.")


# --- attribution -----------------------------------------------------------------------

_SEARCH_ENGINES = {
    "google": re.compile(r"(?:^|\.)google\.[a-z.]+$"),
    "bing": re.compile(r"(?:^|\.)bing\.com$"),
    "duckduckgo": re.compile(r"(?:^|\.)duckduckgo\.com$"),
    "qwant": re.compile(r"(?:^|\.)qwant\.com$"),
    "ecosia": re.compile(r"(?:^|\.)ecosia\.org$"),
    "yahoo": re.compile(r"(?:^|\.)yahoo\.[a-z.]+$"),
    "brave": re.compile(r"^search\.brave\.com$"),
}
_SOCIAL = {
    "facebook": ("facebook.com", "fb.com", "fb.me", "messenger.com"),
    "instagram": ("instagram.com",),
    "twitter": ("twitter.com", "x.com", "t.co"),
    "linkedin": ("linkedin.com", "lnkd.in"),
    "pinterest": ("pinterest.com", "pinterest.fr", "pin.it"),
    "youtube": ("youtube.com", "youtu.be"),
    "tiktok": ("tiktok.com",),
    "reddit": ("reddit.com",),
    "snapchat": ("snapchat.com",),
    "whatsapp": ("whatsapp.com", "wa.me"),
}
_SOCIAL_HOSTS = {host: name for name, hosts in _SOCIAL.items() for host in hosts}


@dataclass(frozen=True)
class Attribution:
    """Where a visit came from. ``internal``: from the shop's own pages (no new source)."""

    source: str
    medium: str | None = None
    campaign: str | None = None
    referrer_host: str | None = None
    internal: bool = False


DIRECT = Attribution("direct")


def _social(host: str) -> str | None:
    labels = host.split(".")
    for i in range(len(labels) - 1):
        name = _SOCIAL_HOSTS.get(".".join(labels[i:]))
        if name:
            return name
    return None


def attribute(
    page: str, referrer: str | None, shop_hosts: frozenset[str] = frozenset()
) -> Attribution:
    """Source, medium and campaign of a visit from its first page and referrer.

    ``utm_*`` wins; else the referrer's host: a search engine is (engine, organic), a social
    network (network, social), another site (host, referral); the shop's own host is internal;
    no referrer is direct.
    """
    utm = utm_parameters(page)
    ref_host = host_of(referrer)
    own = {h.removeprefix("www.") for h in shop_hosts}
    page_host = host_of(page)
    if page_host:
        own.add(page_host)
    external = ref_host if ref_host and ref_host not in own else None
    if utm.get("utm_source"):
        return Attribution(
            utm["utm_source"].lower(),
            (utm.get("utm_medium") or "").lower() or None,
            utm.get("utm_campaign") or None,
            external,
        )
    if ref_host is None:
        return DIRECT
    if external is None:
        return Attribution("direct", internal=True)
    for engine, pattern in _SEARCH_ENGINES.items():
        if pattern.search(external):
            return Attribution(engine, "organic", None, external)
    social = _social(external)
    if social:
        return Attribution(social, "social", None, external)
    return Attribution(external[:MAX_ATTRIBUTION], "referral", None, external)
