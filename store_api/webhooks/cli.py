"""``flask --app store_api webhooks deliver``: the delivery worker (``make run`` starts one)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from store_api import db
from store_api.instance import secret_key
from store_api.webhooks.secret_box import SecretBox
from store_api.webhooks.service import DeliveryPolicy
from store_api.webhooks.worker import DeliveryWorker

webhooks_cli = AppGroup("webhooks", help="Webhook delivery.")


@webhooks_cli.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Requests in flight at once (default: COMPTOIR_WEBHOOK_CONCURRENCY).",
)
def deliver(once: bool, concurrency: int | None) -> None:
    """Send webhook deliveries until stopped (SIGTERM/Ctrl-C finish the requests in flight).

    Several workers may run at once, on one machine or several: each delivery is leased to one
    of them, and events of one product still go out in order.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = DeliveryWorker(
        lambda: db.new_session(app),
        DeliveryPolicy.from_config(app.config),
        app.extensions["comptoir_clock"],
        secret_box=SecretBox(secret_key(app)),
        concurrency=concurrency,
        report=click.echo,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        worker.stop(signal.Signals(signum).name)  # no output here: a handler must not write

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    if not once:
        click.echo(f"Webhook worker {worker.worker_id} started ({worker.concurrency} at once).")
    try:
        totals = worker.run(once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Webhook worker {worker.worker_id} stopped: {totals}.")
