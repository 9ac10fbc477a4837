"""The pure parts of reminders: quiet hours, French dates, SMTP URLs, the SMS gateway client,
and the worker command's refusal of a bad configuration."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskCliRunner

from store_api.reminders import french
from store_api.reminders.delivery import QuietHours, read_unsubscribe_token, unsubscribe_token
from store_api.reminders.transport import HttpSmsProvider, SendError, SmtpSettings
from tests.fixtures.webhook_receiver import Receiver

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("19:59", False), ("20:00", True), ("23:30", True), ("03:00", True), ("08:59", True),
     ("09:00", False), ("12:00", False)],
)  # fmt: skip
def test_quiet_hours_cross_midnight(local: str, quiet: bool) -> None:
    hours = QuietHours.parse("20:00-09:00")

    assert hours is not None
    assert hours.contains(dt.time.fromisoformat(local)) is quiet


def test_quiet_hours_end_at_the_next_morning() -> None:
    hours = QuietHours.parse("20:00-09:00")
    evening = dt.datetime(2026, 11, 27, 21, 15, tzinfo=PARIS)
    night = dt.datetime(2026, 11, 28, 2, 0, tzinfo=PARIS)

    assert hours is not None
    assert hours.next_end(evening) == dt.datetime(2026, 11, 28, 9, 0, tzinfo=PARIS)
    assert hours.next_end(night) == dt.datetime(2026, 11, 28, 9, 0, tzinfo=PARIS)


@pytest.mark.parametrize("text", ["off", "", "none"])
def test_quiet_hours_can_be_off(text: str) -> None:
    assert QuietHours.parse(text) is None


def test_quiet_hours_that_cannot_be_read_are_refused() -> None:
    with pytest.raises(ValueError, match="20:00-09:00"):
        QuietHours.parse("8pm to 9am")


def test_french_dates_for_customers() -> None:
    expiry = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)

    assert french.moment(expiry, PARIS) == "lundi 30 novembre 2026 à 10 h 30"
    assert french.day(dt.date(2026, 12, 1), year=False) == "mardi 1er décembre"
    assert french.day(dt.date(2026, 8, 15), weekday=False) == "15 août 2026"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None, None)),
        ("smtp+starttls://a%40x.fr:p%3As@x.fr", ("x.fr", 587, "starttls", "a@x.fr", "p:s")),
        ("smtps://u:p@smtp.x.fr", ("smtp.x.fr", 465, "ssl", "u", "p")),
    ],
)  # fmt: skip
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    s = SmtpSettings.from_url(url, 5.0)

    assert (s.host, s.port, s.security, s.username, s.password) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_an_smtp_url_that_cannot_work_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="COMPTOIR_SMTP_URL"):
        SmtpSettings.from_url(url, 5.0)


def test_the_worker_refuses_to_start_with_a_bad_smtp_url(runner: FlaskCliRunner) -> None:
    runner.app.config["SMTP_URL"] = "http://mail.example"

    result = runner.invoke(args=["reminders", "deliver", "--once"])

    assert result.exit_code == 1
    assert "COMPTOIR_SMTP_URL must look like" in result.output


def test_the_worker_runs_once_and_says_what_it_did(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["reminders", "deliver", "--once"])

    assert result.exit_code == 0, result.output
    assert "COMPTOIR_SMTP_URL is not set" in result.output
    assert "0 planned, 0 sent, 0 to retry, 0 failed" in result.output


def test_unsubscribe_tokens_are_signed() -> None:
    import uuid

    customer = uuid.uuid4()
    token = unsubscribe_token("k" * 40, customer)

    assert read_unsubscribe_token("k" * 40, token) == customer
    assert read_unsubscribe_token("other-key" * 5, token) is None
    assert read_unsubscribe_token("k" * 40, token[:-2] + "xx") is None


def test_the_sms_gateway_gets_json_a_token_and_an_idempotency_key() -> None:
    with Receiver(lambda _message, _nth: 202) as gateway:
        HttpSmsProvider(gateway.url, "s3cret", "Comptoir", 5.0).send(
            "+33612345678", "Comptoir : votre lave-linge est prêt.", "reminder.42@comptoir"
        )
        [receipt] = gateway.snapshot()

    assert receipt.headers["authorization"] == "Bearer s3cret"
    assert receipt.headers["idempotency-key"] == "reminder.42@comptoir"
    assert json.loads(receipt.body) == {
        "from": "Comptoir",
        "to": "+33612345678",
        "text": "Comptoir : votre lave-linge est prêt.",
        "reference": "reminder.42@comptoir",
    }


@pytest.mark.parametrize(("status", "permanent"), [(503, False), (429, False), (400, True)])
def test_sms_gateway_errors_say_whether_to_retry(status: int, permanent: bool) -> None:
    with Receiver(lambda _message, _nth: status) as gateway, pytest.raises(SendError) as raised:
        HttpSmsProvider(gateway.url, "", "Comptoir", 5.0).send("+33612345678", "x", "r-1")

    assert raised.value.permanent is permanent
    assert str(status) in raised.value.message


def test_an_unreachable_sms_gateway_is_retried() -> None:
    with pytest.raises(SendError) as raised:
        HttpSmsProvider("http://127.0.0.1:9/", "", "Comptoir", 2.0).send("+33612345678", "x", "r")

    assert raised.value.permanent is False
