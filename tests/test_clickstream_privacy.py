"""The pure functions that decide what the clickstream keeps of a request."""

from __future__ import annotations

import datetime as dt

import pytest

from store_api.clickstream import bots, privacy
from store_api.clickstream.privacy import Attribution
from store_api.clickstream.service import months_before

CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
EDGE = CHROME_WIN + " Edg/131.0.2903.70"
OPERA = CHROME_WIN + " OPR/115.0.0.0"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
IPHONE_CHROME = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.7 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
)
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"


@pytest.mark.parametrize(
    ("ua", "device", "browser"),
    [
        (CHROME_WIN, "desktop", "chrome"),
        (EDGE, "desktop", "edge"),
        (OPERA, "desktop", "opera"),
        (FIREFOX, "desktop", "firefox"),
        (SAFARI_MAC, "desktop", "safari"),
        (IPHONE, "mobile", "safari"),
        (IPHONE_CHROME, "mobile", "chrome"),
        (IPAD, "tablet", "safari"),
        (ANDROID_PHONE, "mobile", "chrome"),
        (ANDROID_TABLET, "tablet", "chrome"),
        (SAMSUNG, "mobile", "samsung"),
        (FIREFOX_ANDROID, "mobile", "firefox"),
        ("Lynx/2.9.0", "desktop", "other"),
    ],
)
def test_only_the_device_class_and_browser_family_are_read(
    ua: str, device: str, browser: str
) -> None:
    assert (privacy.device_class(ua), privacy.browser_family(ua)) == (device, browser)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://shop.example/p/LL-1", "/p/LL-1"),
        ("https://shop.example/p/LL-1?colour=blanc#reviews", "/p/LL-1"),
        (
            "https://shop.example/?utm_source=nl&token=abc&utm_medium=email",
            "/?utm_source=nl&utm_medium=email",
        ),
        ("https://shop.example/?UTM_Campaign=Noel", "/?utm_campaign=Noel"),
        ("https://shop.example/?utm_content=jean%40example.org", "/?utm_content=%5Bemail%5D"),
        ("https://shop.example/compte/jean@example.org/commandes", "/compte/[email]/commandes"),
        ("https://shop.example", "/"),
        ("/panier?id=42", "/panier"),
        ("https://shop.example/" + "a" * 600, "/" + "a" * 511),
    ],
)
def test_pages_keep_their_path_and_utm_parameters_only(url: str, path: str) -> None:
    assert privacy.page_path(url) == path


@pytest.mark.parametrize(
    ("term", "cleaned"),
    [
        ("Lave-Linge  Bosch ", "lave-linge bosch"),
        ("jean.dupont+shop@example.org", "[email]"),
        ("appelez moi 06 12 34 56 78", "appelez moi [phone]"),
        ("06.12.34.56.78", "[phone]"),
        ("+33 6 12 34 56 78 svp", "[phone] svp"),
        ("0033612345678", "[phone]"),
        ("WW90T534DAW", "ww90t534daw"),
        ("lave-linge 8 kg 1400 tours", "lave-linge 8 kg 1400 tours"),
        ("LL-8KG 2024", "ll-8kg 2024"),
        ("x" * 300, "x" * 200),
    ],
)
def test_search_terms_lose_emails_and_phone_numbers(term: str, cleaned: str) -> None:
    assert privacy.clean_search_term(term) == cleaned


SHOP = "https://shop.example/p/LL-1"


@pytest.mark.parametrize(
    ("page", "referrer", "expected"),
    [
        (SHOP, None, Attribution("direct")),
        (SHOP, "", Attribution("direct")),
        (SHOP, "android-app://com.google.android.gm/", Attribution("direct")),
        (SHOP, "https://www.google.fr/", Attribution("google", "organic", None, "google.fr")),
        (SHOP, "https://www.google.co.uk/", Attribution("google", "organic", None, "google.co.uk")),
        (SHOP, "https://www.bing.com/search?q=x", Attribution("bing", "organic", None, "bing.com")),
        (
            SHOP,
            "https://duckduckgo.com/",
            Attribution("duckduckgo", "organic", None, "duckduckgo.com"),
        ),
        (SHOP, "https://www.qwant.com/", Attribution("qwant", "organic", None, "qwant.com")),
        (SHOP, "https://www.ecosia.org/", Attribution("ecosia", "organic", None, "ecosia.org")),
        (
            SHOP,
            "https://m.facebook.com/",
            Attribution("facebook", "social", None, "m.facebook.com"),
        ),
        (SHOP, "https://t.co/abc", Attribution("twitter", "social", None, "t.co")),
        (
            SHOP,
            "https://www.instagram.com/",
            Attribution("instagram", "social", None, "instagram.com"),
        ),
        (
            SHOP,
            "https://forum.example.net/t/1",
            Attribution("forum.example.net", "referral", None, "forum.example.net"),
        ),
        (SHOP, "https://shop.example/", Attribution("direct", internal=True)),
        (SHOP, "https://www.shop.example/c/x", Attribution("direct", internal=True)),
        (
            SHOP + "?utm_source=Newsletter&utm_medium=Email&utm_campaign=Noel-2026",
            "https://mail.example.com/",
            Attribution("newsletter", "email", "Noel-2026", "mail.example.com"),
        ),
        (SHOP + "?utm_source=flyer", None, Attribution("flyer")),
    ],
)
def test_a_visit_source_comes_from_utm_or_the_referrer_host(
    page: str, referrer: str | None, expected: Attribution
) -> None:
    assert privacy.attribute(page, referrer) == expected


def test_the_shops_configured_hosts_are_internal_too() -> None:
    found = privacy.attribute(
        SHOP, "https://checkout.shop.example/", frozenset({"checkout.shop.example"})
    )

    assert found == Attribution("direct", internal=True)


def test_the_visitor_hash_changes_with_the_salt_and_every_input() -> None:
    salt, other = b"a" * 32, b"b" * 32
    base = privacy.visitor_hash(salt, "store-1", "203.0.113.5", "UA")

    assert len(base) == 32 and int(base, 16) >= 0
    assert base == privacy.visitor_hash(salt, "store-1", "203.0.113.5", "UA")
    assert base not in {
        privacy.visitor_hash(other, "store-1", "203.0.113.5", "UA"),
        privacy.visitor_hash(salt, "store-2", "203.0.113.5", "UA"),
        privacy.visitor_hash(salt, "store-1", "203.0.113.6", "UA"),
        privacy.visitor_hash(salt, "store-1", "203.0.113.5", "UA2"),
    }


@pytest.mark.parametrize(
    ("ua", "bot"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
        ("Mozilla/5.0 (compatible; bingbot/2.0)", True),
        ("Mozilla/5.0 (compatible; Yahoo! Slurp)", True),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0)", True),
        ("Screaming Frog SEO Spider/20.0", True),
        ("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0.0.0 Safari/537.36", True),
        ("Mozilla/5.0 (Unknown; Linux x86_64) PhantomJS/2.1.1 Safari/538.1", True),
        ("Mozilla/5.0 Chrome-Lighthouse", True),
        ("curl/8.5.0", True),
        ("Wget/1.21.4", True),
        ("python-requests/2.32.3", True),
        ("Go-http-client/2.0", True),
        ("facebookexternalhit/1.1", True),
        ("", True),
        ("   ", True),
        (CHROME_WIN, False),
        (IPHONE, False),
        (SAMSUNG, False),
        (FIREFOX, False),
    ],
)
def test_robots_are_told_by_their_user_agent(ua: str, bot: bool) -> None:
    assert bots.is_bot(ua) is bot


@pytest.mark.parametrize(
    ("when", "months", "expected"),
    [
        (
            dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC),
            13,
            dt.datetime(2025, 10, 27, 9, 30, tzinfo=dt.UTC),
        ),
        (dt.datetime(2026, 11, 27, tzinfo=dt.UTC), 25, dt.datetime(2024, 10, 27, tzinfo=dt.UTC)),
        (dt.datetime(2026, 3, 31, tzinfo=dt.UTC), 13, dt.datetime(2025, 2, 28, tzinfo=dt.UTC)),
        (dt.datetime(2026, 1, 15, tzinfo=dt.UTC), 1, dt.datetime(2025, 12, 15, tzinfo=dt.UTC)),
    ],
)
def test_retention_counts_calendar_months(
    when: dt.datetime, months: int, expected: dt.datetime
) -> None:
    assert months_before(when, months) == expected
