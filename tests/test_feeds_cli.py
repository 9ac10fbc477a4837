"""``flask feeds pull``: files dropped in a supplier's inbox folder are read, applied when the
profile says so, and archived; the Procfile starts the puller with ``make run``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from seeds import supplier_feeds
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.suppliers import CSV_PROFILE, create_supplier, csv_text

ROOT = Path(__file__).resolve().parents[1]
ROW = ["DR1", supplier_feeds.gtin13(1), "Bosch", "WGG244", "Lave-linge hublot Bosch 9 kg",
       "LAVAGE FRONTAL", "Blanc", "412,50", "749,00", "3", "2"]  # fmt: skip


def _drop(app: Flask, code: str, name: str, data: bytes) -> Path:
    folder = Path(app.instance_path) / "inbox" / code
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    old = time.time() - 60  # settled: not being written any more
    os.utime(path, (old, old))
    return path


def _feeds(client: FlaskClient, keys: Keys, code: str) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/suppliers/{code}/feeds", headers=keys.headers(Role.OWNER))
    result: list[dict[str, object]] = response.get_json()
    return result


def test_pull_applies_a_clean_file_when_the_profile_says_so_and_archives_it(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping={**CSV_PROFILE, "auto_apply": True})
    dropped = _drop(app, "DISTRILEC", "export.csv", csv_text([ROW]))

    result = runner.invoke(args=["feeds", "pull"])

    assert result.exit_code == 0, result.output
    assert "DISTRILEC/export.csv" in result.output and "applied" in result.output
    assert not dropped.exists()
    assert [p.name.endswith("-export.csv") for p in (dropped.parent / "done").iterdir()] == [True]
    [record] = _feeds(client, keys, "DISTRILEC")
    assert (record["status"], record["source"]) == ("applied", "inbox")
    product = client.get("/api/v1/products/DISTRILEC-DR1", headers=keys.headers(Role.OWNER))
    assert product.status_code == 200


def test_pull_leaves_a_dry_run_to_review_and_refuses_an_unreadable_file(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)  # no auto_apply
    _drop(app, "DISTRILEC", "a-export.csv", csv_text([ROW]))
    _drop(app, "DISTRILEC", "b-cut.csv", csv_text([ROW])[:-30])
    _drop(app, "DISTRILEC", "c-copying.csv.part", b"ref;name\n")

    result = runner.invoke(args=["feeds", "pull"])

    assert result.exit_code == 0, result.output
    statuses = sorted((r["filename"], r["status"]) for r in _feeds(client, keys, "DISTRILEC"))
    assert statuses == [("a-export.csv", "dry_run"), ("b-cut.csv", "refused")]
    assert "Le fichier est tronqué" in result.output
    folder = Path(app.instance_path) / "inbox" / "DISTRILEC"
    assert [p.name for p in folder.iterdir() if p.is_file()] == ["c-copying.csv.part"]
    assert len(list((folder / "refused").iterdir())) == 1
    assert (
        client.get("/api/v1/products/DISTRILEC-DR1", headers=keys.headers(Role.OWNER)).status_code
        == 404
    )


def test_pull_refuses_a_file_over_the_limit_without_reading_it(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    app.config["FEEDS_MAX_BYTES"] = 1000
    create_supplier(client, keys, mapping=CSV_PROFILE)
    _drop(app, "DISTRILEC", "big.csv", b"x" * 5000)

    result = runner.invoke(args=["feeds", "pull"])

    [record] = _feeds(client, keys, "DISTRILEC")
    assert record["status"] == "refused"
    assert record["problem"]["code"] == "too_large"  # type: ignore[index]
    assert "limite" in result.output


def test_make_run_starts_the_puller() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()

    assert any(line.startswith("feeds:") and "feeds pull --every" in line for line in lines)
