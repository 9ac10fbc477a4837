"""``flask --app store_api reminders deliver``: the reminder worker (``make run`` starts one)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from store_api import db
from store_api.reminders.delivery import DeliveryPolicy
from store_api.reminders.transport import HttpSmsProvider, Mailer, SmtpSettings
from store_api.reminders.worker import ReminderWorker

reminders_cli = AppGroup("reminders", help="Customer reminders.")


def signing_key(app: Flask) -> str:
    """The key that signs unsubscribe links: SECRET_KEY, else the instance's own key."""
    from store_api.instance import secret_key

    return secret_key(app)


def recommender_dir(app: Flask) -> Path:
    configured: str = app.config.get("RECOMMENDER_DIR") or ""
    return Path(configured) if configured else Path(app.instance_path) / "recommender"


def delivery_policy(app: Flask) -> DeliveryPolicy:
    return DeliveryPolicy.from_config(
        app.config, signing_key=signing_key(app), recommender_dir=recommender_dir(app)
    )


def build_worker(app: Flask, *, report: click.echo = click.echo) -> ReminderWorker:  # type: ignore[valid-type]
    config = app.config
    sender = str(config["MAIL_FROM"])
    smtp_url = str(config["SMTP_URL"])
    mailers = None
    if smtp_url:
        settings = SmtpSettings.from_url(smtp_url, float(config["SMTP_TIMEOUT_SECONDS"]))

        def mailers() -> Mailer:
            return Mailer(settings, sender)

    sms = None
    if config["SMS_URL"]:
        sms = HttpSmsProvider(
            str(config["SMS_URL"]),
            str(config["SMS_TOKEN"]),
            str(config["SMS_SENDER"]),
            float(config["SMTP_TIMEOUT_SECONDS"]),
        )
    return ReminderWorker(
        lambda: db.new_session(app),
        delivery_policy(app),
        app.extensions["comptoir_clock"],
        mailers=mailers,
        sms=sms,
        batch=int(config["REMINDER_BATCH"]),
        concurrency=int(config["REMINDER_CONCURRENCY"]),
        poll_seconds=float(config["REMINDER_POLL_SECONDS"]),
        report=report,
    )


@reminders_cli.command("deliver")
@click.option("--once", is_flag=True, help="Plan and send what is due now, then exit.")
def deliver(once: bool) -> None:
    """Plan reminders from the shop's events and send the due ones until stopped.

    SIGTERM/Ctrl-C finish the batch in flight. Several workers may run at once.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        worker = build_worker(app)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    if not app.config["SMTP_URL"]:
        click.echo("COMPTOIR_SMTP_URL is not set: e-mail reminders wait until it is.", err=True)
    if not once:
        click.echo(f"Reminder worker {worker.worker_id} started.")
    try:
        totals = worker.run(once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Reminder worker {worker.worker_id} stopped: {totals}.")
