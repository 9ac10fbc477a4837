"""MQTT ingest: the must-show crash run, then the bridge's sustained rate vs a bare subscriber.

1. 20,000 sensor events published at QoS 1 while the bridge (``python -m iot_bridge``) is
   killed with SIGKILL twice and the broker is restarted once: stored / lost / duplicates.
2. Sustained ingest: the same 20,000 events are queued on the broker for two persistent
   sessions, a bare paho subscriber (auto-ack, counts only) and the bridge (validates, commits
   in batches, acks after commit). Each then drains its queue alone; the rates are compared.
   Target: bridge >= 0.7 x bare subscriber.

Run with ``make bench`` (or ``python -m bench.mqtt_ingest --events 20000 --backend sqlite``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.stock_http import RESULTS, database
from store_api import create_app, db
from store_api.cli import upgrade_database
from store_api.sensors.models import SensorEvent
from tests.mqtt_servers import (
    Broker,
    Publisher,
    Subscriber,
    crash_scenario,
    event_payload,
    mosquitto_server,
    start_bridge,
    terminate,
    wait_for,
)


def migrate(url: str) -> None:
    app = create_app({"DATABASE_URL": url})
    upgrade_database(app)
    db.engine_for(app).dispose()


def sustained(url: str, broker: Broker, workdir: Path, total: int) -> dict[str, float]:
    store = "store-2"
    topic = f"comptoir/v1/{store}/#"
    engine = db.make_engine(url)

    def stored() -> int:
        with engine.connect() as conn:
            query = select(func.count()).select_from(SensorEvent).where(SensorEvent.store == store)
            return int(conn.scalar(query) or 0)

    # Register both persistent sessions, then go offline: the broker queues for both.
    bare = Subscriber(broker, topic, client_id="bench-bare", clean_start=False, keep=False)
    time.sleep(0.3)
    bare.close()
    status = Subscriber(broker, f"comptoir/v1/{store}/dev/comptoir-bridge-{store}/status")
    bridge = start_bridge(url, broker, workdir / "bridge-sustained.log", store)
    wait_for(lambda: any(b'"online"' in m[1] for m in status.messages), 30, "bridge online")
    terminate(bridge)
    status.close()

    publisher = Publisher(broker, client_id="bench-publisher-2")
    for i in range(total):
        publisher.publish(
            f"comptoir/v1/{store}/shelf/S{i % 8}/{i % 4}/evt/weight",
            event_payload(f"tp-{i % 8}", i // 8 + 1),
        )
    publisher.wait_acked(total, timeout=120)
    publisher.close()

    bare = Subscriber(broker, topic, client_id="bench-bare", clean_start=False, keep=False)
    wait_for(lambda: bare.count >= total, 120, "bare subscriber drained")
    bare_seconds = bare.last_at - bare.first_at
    bare.close()

    bridge = start_bridge(url, broker, workdir / "bridge-sustained.log", store)
    # (time, stored) every 10 ms. The count moves only when a batch commits, so the rate is
    # taken between the first commit and the last-but-one: the last batch is the stream's
    # tail, which waits out COMPTOIR_MQTT_BATCH_SECONDS for messages that never come.
    samples: list[tuple[float, int]] = []
    try:
        deadline = time.monotonic() + 240
        while not samples or samples[-1][1] < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bridge stored {samples[-1][1] if samples else 0} of {total}")
            count = stored()
            if count and (not samples or count != samples[-1][1]):
                samples.append((time.monotonic(), count))
            time.sleep(0.01)
    finally:
        terminate(bridge)
        engine.dispose()
    first_at, first_count = samples[0]
    last_at, last_count = samples[-2 if len(samples) > 2 else -1]
    bare_rate = (total - 1) / bare_seconds
    bridge_rate = (last_count - first_count) / (last_at - first_at)
    return {
        "events": total,
        "bare_subscriber_events_per_s": round(bare_rate),
        "bridge_stored_events_per_s": round(bridge_rate),
        "ratio": round(bridge_rate / bare_rate, 2),
        "bridge_commits_seen": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=2000, help="publish rate in the crash run")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--skip-crash-run", action="store_true", help="only the sustained rate")
    args = parser.parse_args()
    results: dict[str, object] = {"backend": args.backend}
    with (
        tempfile.TemporaryDirectory(prefix="comptoir-bench-mqtt-") as tmp,
        database(args.backend, Path(tmp)) as url,
        mosquitto_server(Path(tmp)) as broker,
    ):
        migrate(url)
        if not args.skip_crash_run:
            started = time.monotonic()
            crash = crash_scenario(url, broker, Path(tmp), total=args.events, rate=args.rate)
            crash["seconds"] = round(time.monotonic() - started, 1)  # type: ignore[assignment]
            results["crash_run"] = crash
            print(
                f"crash run ({args.backend}): {crash['published']} published at QoS 1, bridge "
                f"SIGKILLed twice, broker restarted once -> stored {crash['stored']}, "
                f"lost {crash['lost']}, duplicates {crash['duplicates']}",
                flush=True,
            )
        rates = sustained(url, broker, Path(tmp), args.events)
        results["sustained"] = rates
        verdict = "ok" if rates["ratio"] >= 0.7 else "BELOW TARGET"
        print(
            f"sustained ingest ({args.backend}, QoS 1, {rates['events']} events): bridge "
            f"{rates['bridge_stored_events_per_s']:.0f} stored/s vs bare paho subscriber "
            f"{rates['bare_subscriber_events_per_s']:.0f} received/s -> ratio "
            f"{rates['ratio']:.2f} (target >= 0.7: {verdict})",
            flush=True,
        )
    if args.skip_crash_run:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"mqtt_ingest_{args.backend}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
