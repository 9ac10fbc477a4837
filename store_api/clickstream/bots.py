"""Robots by user agent: their events are counted per day, never stored.

A plain list of substrings (case-insensitive) catches crawlers, headless browsers, audit tools
and HTTP libraries; it is no defence against a robot that lies, which is fine for audience
measurement. ``navigator.webdriver`` is deliberately not used: the tracker does not read it.
An empty user agent is a robot too (every browser sends one).
"""

from __future__ import annotations

import re

BOT_MARKERS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "scrapy",
    "headlesschrome",
    "phantomjs",
    "lighthouse",
    "pagespeed",
    "pingdom",
    "uptime",
    "monitor",
    "preview",
    "facebookexternalhit",
    "embedly",
    "curl",
    "wget",
    "httpie",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "java/",
    "okhttp",
    "apache-httpclient",
    "node-fetch",
    "axios",
    "libwww",
    "feedfetcher",
    "mediapartners",
)

_BOT = re.compile("|".join(re.escape(marker) for marker in BOT_MARKERS), re.IGNORECASE)


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or _BOT.search(user_agent) is not None
