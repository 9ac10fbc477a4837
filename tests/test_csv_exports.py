"""CSV exports stay text in a spreadsheet, however the spreadsheet splits the line.

The review's search term ``lave;=cmd|' /c calc'!a0;`` had its start escaped only, so French
Excel (which splits on ``;``) saw a cell ``=cmd|' /c calc'!a0``.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api.keys.models import Role
from store_api.spreadsheet import csv_text
from tests.conftest import Keys
from tests.fixtures.browsing import Shopper, post
from tests.fixtures.clock import FrozenClock

ATTACK = "lave;=cmd|' /c calc'!a0;"
SEPARATORS = (",", ";", "\t")


def cells_a_spreadsheet_could_see(line: str) -> list[str]:
    """Every cell of ``line`` under each separator a spreadsheet may use (quotes ignored)."""
    cells: list[str] = []
    for separator in SEPARATORS:
        cells += re.split(f"[{re.escape(separator)}\r\n]", line)
    return cells


def formulas(text: str) -> list[str]:
    starts = (cell.lstrip(" ")[:1] for cell in cells_a_spreadsheet_could_see(text))
    return [start for start in starts if start and start in "=+-@"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+33 6 12", "'+33 6 12"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t'=1"),
        ("\rx", "'\rx"),
        (ATTACK, "lave;'=cmd|' /c calc'!a0;"),
        ("a,=1+1", "a,'=1+1"),
        ("a\t+1", "a\t'+1"),
        ("a;  @x", "a;  '@x"),
        ("a\n=1", "a\n'=1"),
        ("lave-linge 8 kg", "lave-linge 8 kg"),
        ("prix = 499 €", "prix = 499 €"),
        ("", ""),
    ],
)
def test_every_place_a_cell_may_start_is_escaped(text: str, expected: str) -> None:
    escaped = csv_text(text)

    assert escaped == expected
    assert formulas(escaped) == []


def _search(client: FlaskClient, clock: FrozenClock, term: str) -> None:
    shopper = Shopper(at=clock())
    shopper.search(term, 0)
    response = post(client, shopper)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rejected"] == []


def test_the_search_report_csv_carries_no_formula_under_any_separator(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    _search(client, clock, ATTACK)
    day = clock().date().isoformat()

    response = client.get(
        f"/api/v1/analytics/reports/site-search?from={day}&to={day}&format=csv",
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    (term,) = [row[0] for row in rows[1:]]
    assert "=cmd" in term  # the term is all there, as text
    assert formulas(body) == [], body


def test_the_dashboard_csv_carries_no_formula_under_any_separator(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    _search(client, clock, ATTACK)
    day = clock().date().isoformat()
    login = client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.get_data(as_text=True))
    form = {"key": keys[Role.OWNER], "next": "/dashboard/"}
    if token:
        form["csrf_token"] = token.group(1)
    client.post("/dashboard/login", data=form)

    response = client.get(f"/dashboard/reports/site-search.csv?from={day}&to={day}")

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert "=cmd" in body
    assert formulas(body) == [], body
