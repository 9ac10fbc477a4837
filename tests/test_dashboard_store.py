"""The dashboard's "In store" page: footfall vs store sales, help alerts, shelf vs system,
device health; the data is made through the sensors, the bridge's handlers and the API."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from iot_bridge import handlers, payloads, topics
from store_api import db
from store_api.keys.models import Role
from store_api.sensors import service as sensors
from store_api.shelves import service as shelves
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

STORE = "store-1"
# The test clock starts at 09:30 UTC on Friday 27 November 2026 (10:30 in Paris).
H9 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
TABLES = ["footfall", "footfall-hours", "alerts", "alert-zones", "discrepancies", "devices"]


def login(client: FlaskClient, keys: Keys) -> None:
    response = client.post("/dashboard/login", data={"key": keys[Role.OWNER]})
    assert response.status_code == 303


def embedded(page: str) -> dict[str, Any]:
    """The chart configs embedded in a page, by chart id."""
    found = re.findall(r'<script type="application/json" id="data-([^"]+)">(.*?)</script>', page)
    return {chart_id: json.loads(body) for chart_id, body in found}


def series(chart: dict[str, Any]) -> dict[str, list[Any]]:
    return {dataset["label"]: dataset["data"] for dataset in chart["data"]["datasets"]}


def section(page: str, slug: str) -> str:
    """The HTML of one section of the page."""
    start = page.index(f'id="{slug}">')
    return page[start : page.index("</section>", start)]


def plain(page: str) -> str:
    """French typography uses no-break spaces (before ':' and '%', in 1 234): read them plain."""
    return html.unescape(page).replace("\u00a0", " ").replace("\u202f", " ")


def csv_rows(client: FlaskClient, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


seqs = iter(range(1, 100_000))


def sensor_messages(app: Flask, messages: list[tuple[str, bytes]]) -> None:
    """Store device messages as the bridge does (registers devices, keeps their state)."""
    session = db.new_session(app)
    with db.write(session):
        sensors.store_batch(
            session, STORE, [sensors.InboundMessage(t, raw, H9) for t, raw in messages], now=H9
        )
    session.close()


def door(direction: str, count: int, at: dt.datetime) -> tuple[str, bytes]:
    seq = next(seqs)
    raw = payloads.dump(
        "footfall",
        event_id=f"d-{seq}",
        device_id="door-1",
        seq=seq,
        ts=at,
        direction=direction,
        count=count,
    )
    return f"comptoir/v1/{STORE}/door/main/-/evt/footfall", raw


def status(device: str, state: str, battery: float) -> tuple[str, bytes]:
    raw = payloads.dump(
        "status",
        event_id=f"s-{next(seqs)}",
        device_id=device,
        seq=next(seqs),
        ts=H9,
        state=state,
        battery=battery,
    )
    return f"comptoir/v1/{STORE}/dev/{device}/status", raw


def sell(client: FlaskClient, keys: Keys, sku: str, quantity: int) -> None:
    """A seller holds units at the counter and the customer pays: a store sale."""
    held = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": quantity},
        headers=keys.headers(Role.SELLER),
    )
    assert held.status_code == 201, held.get_json()
    done = client.post(
        f"/api/v1/reservations/{held.get_json()['id']}/commit",
        json={},
        headers=keys.headers(Role.SELLER),
    )
    assert done.status_code == 200, done.get_json()


# --- the page and its login ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard/store", "/dashboard/store/footfall.csv"])
def test_the_store_page_needs_the_owner_login(client: FlaskClient, keys: Keys, path: str) -> None:
    anonymous = client.get(path)
    seller = client.post("/dashboard/login", data={"key": keys[Role.SELLER]})
    still_anonymous = client.get(path)

    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == f"/dashboard/login?next={path}"
    assert seller.status_code == 403
    assert still_anonymous.status_code == 302


def test_both_pages_link_to_each_other_with_the_period(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    overview = client.get("/dashboard/?from=2026-11-01&to=2026-11-20").get_data(as_text=True)
    response = client.get("/dashboard/store?from=2026-11-01&to=2026-11-20")
    page = response.get_data(as_text=True)

    assert '<a href="/dashboard/store?from=2026-11-01&amp;to=2026-11-20">En magasin</a>' in overview
    assert (
        '<a href="/dashboard/store?from=2026-11-01&amp;to=2026-11-20" aria-current="page">'
        "En magasin</a>"
    ) in page
    assert '<a href="/dashboard/?from=2026-11-01&amp;to=2026-11-20">Site web</a>' in page
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_an_empty_period_says_so_in_every_dated_section(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    page = client.get("/dashboard/store?from=2020-01-01&to=2020-01-31").get_data(as_text=True)

    assert page.count("Aucune donnée sur cette période") == 3
    assert "Aucun capteur ne s'est encore manifesté" in html.unescape(page)
    assert embedded(page) == {}
    assert 'value="2020-01-01"' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "« Du » doit être une date écrite AAAA-MM-JJ"),
        ("to=yesterday", "« Au » doit être une date écrite AAAA-MM-JJ"),
        ("from=2026-11-20&to=2026-11-01", "La période finit avant de commencer"),
        ("from=2020-01-01&to=2026-11-27", "Une période compte au plus 400 jours."),
    ],
)
def test_bad_dates_are_a_422_page(
    client: FlaskClient, keys: Keys, query: str, message: str
) -> None:
    login(client, keys)

    for path in ("/dashboard/store", "/dashboard/store/alerts.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422, path
        assert response.mimetype == "text/html"
        assert message in plain(response.get_data(as_text=True))


def test_an_unknown_table_is_a_404_page(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    response = client.get("/dashboard/store/nope.csv")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("slug", TABLES)
def test_each_table_downloads_as_csv(client: FlaskClient, keys: Keys, slug: str) -> None:
    login(client, keys)

    response = client.get(f"/dashboard/store/{slug}.csv?from=2026-11-01&to=2026-11-27")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    name = (
        "store-devices_2026-11-27" if slug == "devices" else f"store-{slug}_2026-11-01_2026-11-27"
    )
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}.csv"'
    assert response.get_data(as_text=True).splitlines()[0].count(",") >= 4


# --- 1. footfall next to the store's sales ---------------------------------------------------


def test_footfall_next_to_store_sales_gives_the_store_conversion(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    sensor_messages(
        app,
        [
            door("in", 30, H9 + dt.timedelta(minutes=5)),  # 10:05 in Paris
            door("in", 9, H9 + dt.timedelta(minutes=40)),
            door("out", 38, H9 + dt.timedelta(minutes=50)),
            # 00:30 in Paris: the 27th's first visitor, at the hour of the day 0.
            door("in", 1, dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)),
            # 23:30 on the 26th in Paris: five visitors who bought nothing.
            door("in", 5, dt.datetime(2026, 11, 26, 22, 30, tzinfo=dt.UTC)),
        ],
    )
    add_product(app, "PE-1", {"floor": 10})
    for quantity in (1, 1, 2, 1):  # 4 store sales at 10:30 in Paris, 5 units
        sell(client, keys, "PE-1", quantity)
    # A sale on the 20th, when no door counter counted: no conversion that day.
    clock.current = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    sell(client, keys, "PE-1", 1)
    clock.current = H9 + dt.timedelta(hours=1)
    login(client, keys)

    page = client.get("/dashboard/store").get_data(as_text=True)

    charts = embedded(page)
    days = charts["footfall-0"]
    assert days["data"]["labels"][-2:] == ["jeu. 26 nov.", "ven. 27 nov."]
    assert len(days["data"]["labels"]) == 30  # the last 30 days, 29 Oct - 27 Nov
    per_day = series(days)
    assert per_day["Entrées"][-2:] == [5, 40]
    assert per_day["Ventes en magasin"][-2:] == [0, 4]
    assert per_day["Conversion"][-2:] == [0.0, 10.0]  # 4 sales / 40 visitors
    assert per_day["Ventes en magasin"][-8] == 1 and per_day["Conversion"][-8] is None  # the 20th
    hours = charts["footfall-1"]
    assert hours["data"]["labels"][0] == "00:00" and hours["data"]["labels"][-1] == "23:00"
    by_hour = dict(zip(hours["data"]["labels"], series(hours)["Entrées"], strict=True))
    assert (by_hour["00:00"], by_hour["10:00"], by_hour["23:00"]) == (1, 39, 5)
    assert series(hours)["Ventes en magasin"][10] == 4
    text = plain(page)
    assert "5 ventes en magasin (6 unités)." in text
    assert "Les 2 jours où les compteurs de porte ont compté : 45 entrées, 4 ventes" in text
    assert "conversion 8,9 %" in text  # 4 / 45; the sale of the 20th is left out
    table = section(page, "footfall")
    assert '<td class="num">10,0 %</td>' in table
    english = plain(client.get("/dashboard/store?lang=en").get_data(as_text=True))
    assert "On the 2 days the door counters counted: 45 visitors in, 4 store sales" in english
    assert "conversion 8.9 %" in english

    rows = csv_rows(client, "/dashboard/store/footfall.csv?from=2026-11-26&to=2026-11-27")
    assert rows == [
        {
            "day": "2026-11-26",
            "visitors_in": "5",
            "visitors_out": "0",
            "sales": "0",
            "units_sold": "0",
            "conversion": "0.0",
        },
        {
            "day": "2026-11-27",
            "visitors_in": "40",
            "visitors_out": "38",
            "sales": "4",
            "units_sold": "5",
            "conversion": "0.1",
        },
    ]
    by_hour_csv = csv_rows(client, "/dashboard/store/footfall-hours.csv?from=2026-11-27")
    assert [r["hour"] for r in by_hour_csv] == [f"{h:02d}:00" for h in range(24)]
    assert (by_hour_csv[10]["visitors_in"], by_hour_csv[10]["sales"]) == ("39", "4")


# --- 2. help alerts --------------------------------------------------------------------------


def plant_zones(app: Flask, clock: FrozenClock) -> None:
    add_product(app, "PE-KET-1", {"floor": 3})
    add_product(app, "PE-TOA-1", {"floor": 3})
    session = db.new_session(app)
    with db.write(session):
        for zone, lane, sku in (("A1", "1", "PE-KET-1"), ("B2", "2", "PE-TOA-1")):
            shelves.put_lane(
                session,
                STORE,
                zone[0],
                lane,
                {"sku": sku, "unit_weight_g": 1000, "capacity": 4, "units_on_shelf": 3},
                clock(),
            )
            shelves.put_zone(session, STORE, zone, zone[0], lane, dwell_threshold_s=30)
    session.close()


def linger(app: Flask, zone: str, since: dt.datetime) -> int:
    """A customer arrives in ``zone`` and stays 30 s: the zone asks for help (alert id)."""
    topic = topics.parse(f"comptoir/v1/{STORE}/zone/{zone}/-/evt/presence")
    readings = [(False, since), (True, since), (True, since + dt.timedelta(seconds=30))]
    events = []
    for occupied, at in readings:
        seq = next(seqs)
        raw = payloads.dump(
            "presence",
            event_id=f"z-{seq}",
            device_id=f"zone-{zone.lower()}",
            seq=seq,
            ts=at,
            occupied=occupied,
        )
        events.append(payloads.parse(topic, raw))
    session = db.new_session(app)
    with db.write(session):
        out = handlers.handle_batch(session, events)
    session.close()
    [notice] = [json.loads(m.payload) for m in out if m.topic.endswith("/staff/all/notify")]
    alert_id: int = notice["alert_id"]
    return alert_id


def test_help_alerts_show_time_to_acknowledge_escalations_and_unanswered_by_day_and_zone(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    runner: FlaskCliRunner,
    clock: FrozenClock,
) -> None:
    plant_zones(app, clock)
    t0 = clock()

    def ack(alert_id: int, at: dt.datetime) -> None:
        clock.current = at
        response = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=keys.headers(Role.SELLER))
        assert response.status_code == 200, response.get_json()

    def escalate(at: dt.datetime) -> None:
        clock.current = at
        assert runner.invoke(args=["alerts", "escalate"]).exit_code == 0

    raised = t0 + dt.timedelta(seconds=30)
    a1 = linger(app, "A1", t0)  # nobody goes: escalated, never acknowledged
    b1 = linger(app, "B2", t0)
    ack(b1, raised + dt.timedelta(seconds=30))
    escalate(raised + dt.timedelta(seconds=121))
    a2 = linger(app, "A1", t0 + dt.timedelta(minutes=10))
    ack(a2, raised + dt.timedelta(minutes=10, seconds=90))
    b2 = linger(app, "B2", t0 + dt.timedelta(minutes=20))
    escalate(raised + dt.timedelta(minutes=20, seconds=121))
    ack(b2, raised + dt.timedelta(minutes=20, seconds=200))  # late, after the escalation
    assert a1 not in (a2, b1, b2)
    login(client, keys)

    page = client.get("/dashboard/store?from=2026-11-21&to=2026-11-27").get_data(as_text=True)

    charts = embedded(page)
    per_day = series(charts["alerts-0"])
    assert charts["alerts-0"]["data"]["labels"][-1] == "ven. 27 nov."
    assert per_day["Prises en charge à temps"][-1] == 2
    assert per_day["Prises en charge après relance"][-1] == 1
    assert per_day["Jamais prises en charge"][-1] == 1
    # Waits of 30, 90 and 200 s: the median is 90 s; the 90th percentile 90 + 0.8 * 110.
    median, p90 = "Délai médian de prise en charge", "90 % en moins de"
    assert (per_day[median][-1], per_day[p90][-1]) == (90.0, 178.0)
    assert per_day[median][0] is None  # no alert on the 21st
    zones = charts["alerts-1"]
    assert zones["data"]["labels"] == ["A1", "B2"]
    assert series(zones)[median] == [90.0, 115.0]
    assert series(zones)["Alertes"] == [2, 2]
    assert (
        "Alertes : 4 ; prise en charge en 90 s (médiane), 90 % en moins de 178 s ; relancées : 2 ; "
        "jamais prises en charge : 1."
    ) in plain(page)

    assert csv_rows(client, "/dashboard/store/alert-zones.csv?from=2026-11-27") == [
        {
            "zone": "A1",
            "alerts": "2",
            "acknowledged": "1",
            "escalated": "1",
            "not_acknowledged": "1",
            "median_s": "90.0",
            "p90_s": "90.0",
        },
        {
            "zone": "B2",
            "alerts": "2",
            "acknowledged": "2",
            "escalated": "1",
            "not_acknowledged": "0",
            "median_s": "115.0",
            "p90_s": "183.0",
        },
    ]
    [day] = csv_rows(client, "/dashboard/store/alerts.csv?from=2026-11-27")
    assert (day["day"], day["alerts"], day["median_s"]) == ("2026-11-27", "4", "90.0")


# --- 3. shelf vs system ----------------------------------------------------------------------

KETTLE, TOASTER = "PE-KET-1", "PE-TOA-1"
H10 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
SETTINGS = shelves.DiscrepancySettings(window_s=7200, tolerance_units=1, settle_s=300)


def scale(app: Flask, lane: str, units: int, at: dt.datetime) -> None:
    seq = next(seqs)
    topic = topics.parse(f"comptoir/v1/{STORE}/shelf/A/{lane}/evt/weight")
    raw = payloads.dump(
        "weight", event_id=f"w-{seq}", device_id="shelf-a", seq=seq, ts=at, grams=units * 1000.0
    )
    session = db.new_session(app)
    with db.write(session):
        handlers.handle_batch(session, [payloads.parse(topic, raw)])
    session.close()


def evaluate(app: Flask, at: dt.datetime) -> list[int]:
    session = db.new_session(app)
    with db.write(session):
        raised = [d.id for d in shelves.evaluate_discrepancies(session, STORE, at, SETTINGS)]
    session.close()
    return raised


def test_discrepancies_list_open_ones_first_and_missing_units_per_day(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    clock.current = H10 - dt.timedelta(hours=3)  # the lanes are counted at 07:00
    add_product(app, KETTLE, {"floor": 10}, name="Bouilloire <script>alert(1)</script>")
    add_product(app, TOASTER, {"floor": 10})
    session = db.new_session(app)
    with db.write(session):
        for sku, lane in ((KETTLE, "1"), (TOASTER, "2")):
            lane_data = {"sku": sku, "unit_weight_g": 1000, "capacity": 10, "units_on_shelf": 10}
            shelves.put_lane(session, STORE, "A", lane, lane_data, clock())
    session.close()
    # 10:00-12:00 UTC: 5 kettles leave the shelf, 1 is sold: 4 missing.
    scale(app, "1", 5, H10 + dt.timedelta(minutes=30))
    clock.current = H10 + dt.timedelta(minutes=40)
    sell(client, keys, KETTLE, 1)
    [kettle] = evaluate(app, H10 + dt.timedelta(hours=2, minutes=5))
    # 12:00-14:00 UTC: 3 toasters sold that never left the shelf: a surplus, then resolved.
    clock.current = H10 + dt.timedelta(hours=2, minutes=20)
    sell(client, keys, TOASTER, 3)
    [toaster] = evaluate(app, H10 + dt.timedelta(hours=4, minutes=5))
    resolved = client.post(
        f"/api/v1/discrepancies/{toaster}/resolve",
        json={"note": "=sold from the display"},
        headers=keys.headers(Role.OWNER),
    )
    assert resolved.status_code == 200, resolved.get_json()
    login(client, keys)

    page = client.get("/dashboard/store").get_data(as_text=True)
    later = client.get("/dashboard/store?from=2026-11-28&to=2026-11-30").get_data(as_text=True)

    table = section(page, "discrepancies")
    assert table.index(KETTLE) < table.index(TOASTER)  # open first, though its window is older
    assert "Bouilloire &lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "<script>alert" not in page
    assert '<tr class="flag">' in table and table.count('<tr class="flag">') == 1
    assert "27/11/2026 11:00 → 13:00" in table  # the window in Paris time
    assert f"/dashboard/store/discrepancies/{kettle}?next=" in table  # open: a resolve link
    assert "Ouverts : 1, résolus : 1 ; unités manquantes : 4, en trop : 3." in plain(page)
    chart = embedded(page)["discrepancies-0"]
    assert chart["data"]["labels"][-1] == "ven. 27 nov."
    missing, surplus = series(chart)["Unités manquantes"], series(chart)["Unités en trop"]
    assert (missing[-1], surplus[-1]) == (4, 3)
    assert "Aucune donnée sur cette période" in section(later, "discrepancies")
    assert "1 écart antérieur au 28 novembre 2026 encore ouvert." in plain(later)
    assert "POST /api" not in page  # resolved from the page, not with curl

    rows = csv_rows(client, "/dashboard/store/discrepancies.csv?from=2026-11-27")
    assert [(r["id"], r["status"], r["kind"], r["units"]) for r in rows] == [
        (str(kettle), "open", "missing", "4"),
        (str(toaster), "resolved", "surplus", "3"),
    ]
    assert rows[0]["window_start"] == "2026-11-27T11:00:00+01:00"
    assert (rows[0]["taken"], rows[0]["put_back"], rows[0]["accounted"]) == ("5", "0", "1")
    assert rows[1]["note"] == "'=sold from the display"  # stays text in a spreadsheet
    assert rows[1]["resolved_by"] == "test owner"


# --- 4. device health ------------------------------------------------------------------------


def test_devices_show_their_current_state_whatever_the_period(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    sensor_messages(
        app,
        [
            status("shelf-1", "online", 81.5),
            status("zone-1", "online", 12.0),
            status("door-1", "offline", 64.0),
        ],
    )
    login(client, keys)

    page = client.get("/dashboard/store?from=2020-01-01&to=2020-01-31").get_data(as_text=True)

    devices = section(page, "devices")
    assert "Aucun capteur" not in devices
    assert devices.count('<tr class="flag">') == 2  # offline door, low zone battery
    assert "Capteurs : 3 ; hors ligne : 1 ; batterie sous 20 % : 1." in plain(devices)
    assert "27/11/2026 10:00" in devices  # last seen, Paris time
    assert ">capteur</td>" in devices and ">non</td>" in devices  # words in French
    rows = csv_rows(client, "/dashboard/store/devices.csv?from=nonsense")
    assert [(r["device_id"], r["online"], r["battery"]) for r in rows] == [
        ("door-1", "false", "64.0"),
        ("shelf-1", "true", "81.5"),
        ("zone-1", "true", "12.0"),
    ]
    assert rows[0]["last_seen"] == "2026-11-27T10:00:00+01:00"


# --- the service's read functions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([90.0], 0.9, 90.0),
        ([200.0, 30.0, 90.0], 0.5, 90.0),
        ([30.0, 90.0, 200.0], 0.9, 178.0),
        ([30.0, 200.0], 0.5, 115.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    found = shelves.percentile(values, q)

    assert found == (None if expected is None else pytest.approx(expected))


def test_local_days_follow_the_clock_changes() -> None:
    paris = ZoneInfo("Europe/Paris")
    autumn = dt.date(2026, 10, 25)  # clocks go back: a 25-hour day

    start, end = shelves.local_bounds(autumn, autumn, paris)

    assert start == dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=25)
