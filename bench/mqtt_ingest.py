"""MQTT ingest: the must-show crash run, then the bridge's sustained rate vs a bare subscriber.

1. 20,000 sensor events published at QoS 1 while the bridge (``python -m iot_bridge``) is
   killed with SIGKILL twice and the broker is restarted once: stored / lost / duplicates.
2. Sustained ingest: the same 20,000 events are queued on the broker for two persistent
   sessions, a bare paho subscriber (QoS 1, auto-ack, counts only, the bridge's Receive
   Maximum) and the bridge (validates, commits in batches, acks after commit). Each then
   drains its queue alone; the rates over the same middle of the stream are compared.
   Target: bridge >= 0.7 x bare subscriber.
   Repeated ``--runs`` times (the median ratio is the verdict): one run on a shared machine
   says little.

Run with ``make bench`` (or ``python -m bench.mqtt_ingest --events 20000 --backend sqlite``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.stock_http import RESULTS, database
from iot_bridge.settings import load as load_settings
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
    start_bridge_online,
    terminate,
)


def migrate(url: str) -> None:
    app = create_app({"DATABASE_URL": url})
    upgrade_database(app)
    db.engine_for(app).dispose()


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children so far (Linux /proc; 0 elsewhere)."""
    try:
        pids = [pid]
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as file:
                pids += [int(child) for child in file.read().split()]
        total = 0
        for each in pids:
            with open(f"/proc/{each}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return 0.0


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sustained(url: str, broker: Broker, workdir: Path, total: int, run: int = 0) -> dict[str, Any]:
    """One measurement; each run has its own store, sessions and devices (no duplicates)."""
    store = f"store-{run + 2}"
    topic = f"comptoir/v1/{store}/#"
    engine = db.make_engine(url)
    # Both get the bridge's Receive Maximum: the same window from the broker.
    receive_maximum = load_settings().receive_maximum

    def stored() -> int:
        with engine.connect() as conn:
            query = select(func.count()).select_from(SensorEvent).where(SensorEvent.store == store)
            return int(conn.scalar(query) or 0)

    # Register both persistent sessions, then go offline: the broker queues for both.
    # The broker names a session after its login: the second connection needs the same one.
    bare_user = broker.watcher()
    bare = Subscriber(
        broker,
        topic,
        clean_start=False,
        keep=False,
        receive_maximum=receive_maximum,
        user=bare_user,
    )
    bare.wait_subscribed()
    bare.close()
    bridge = start_bridge_online(url, broker, workdir / "bridge-sustained.log", store)
    terminate(bridge)

    publisher = Publisher(broker, client_id=f"bench-publisher-{run + 2}")
    for i in range(total):
        publisher.publish(
            f"comptoir/v1/{store}/shelf/S{i % 8}/{i % 4}/evt/weight",
            event_payload(f"tp{run}-{i % 8}", i // 8 + 1),
        )
    publisher.wait_acked(total, timeout=120)
    publisher.close()

    cpu_before = _own_cpu_seconds()
    bare = Subscriber(
        broker,
        topic,
        clean_start=False,
        keep=False,
        receive_maximum=receive_maximum,
        user=bare_user,
    )
    # (time, received) every 10 ms.
    bare_samples: list[tuple[float, int, float]] = []
    deadline = time.monotonic() + 120
    while bare.count < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"bare subscriber received {bare.count} of {total}")
        bare_samples.append((time.monotonic(), bare.count, 0.0))
        time.sleep(0.01)
    bare_samples.append((time.monotonic(), bare.count, 0.0))
    bare_cpu = _own_cpu_seconds() - cpu_before
    bare.close()

    bridge = start_bridge(url, broker, workdir / "bridge-sustained.log", store)
    # (time, stored, CPU the bridge had used) every 10 ms; the count moves when a batch commits.
    samples: list[tuple[float, int, float]] = []
    try:
        deadline = time.monotonic() + 240
        while not samples or samples[-1][1] < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bridge stored {samples[-1][1] if samples else 0} of {total}")
            count = stored()
            if count and (not samples or count != samples[-1][1]):
                samples.append((time.monotonic(), count, _cpu_seconds(bridge.pid)))
            time.sleep(0.01)
    finally:
        terminate(bridge)
        engine.dispose()
    # Both rates are taken over the same middle of the stream. At the start the broker fills
    # the bridge's window (Receive Maximum) while its first batches commit, and at the end the
    # bridge commits what it received earlier: commits then run ahead of (or behind) receiving.
    # In between, with the window full, stored/s is what the bridge sustains.
    settings = load_settings()
    edge = settings.receive_maximum + settings.batch_size
    low, high = (edge, total - edge) if total > 3 * edge else (1, total)
    bare_rate, _ = _rate(bare_samples, low, high)
    bridge_rate, bridge_cpu = _rate(samples, low, high)
    return {
        "events": total,
        "measured_between": [low, high],
        "bare_subscriber_events_per_s": round(bare_rate),
        "bridge_stored_events_per_s": round(bridge_rate),
        "ratio": round(bridge_rate / bare_rate, 2),
        "bridge_commits_seen": len(samples),
        # Less noisy than rates on a shared machine: CPU per event, whoever else runs.
        "bare_cpu_us_per_event": round(bare_cpu / total * 1e6, 1),
        "bridge_cpu_us_per_event": round(bridge_cpu * 1e6, 1),
    }


def _rate(samples: list[tuple[float, int, float]], low: int, high: int) -> tuple[float, float]:
    """Events per second between the first samples at ``low`` and ``high`` events, and the CPU
    seconds used per event meanwhile."""
    start_at, start_count, start_cpu = next(x for x in samples if x[1] >= low)
    end_at, end_count, end_cpu = next(x for x in samples if x[1] >= high)
    events = max(1, end_count - start_count)
    return events / max(end_at - start_at, 1e-6), (end_cpu - start_cpu) / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=2000, help="publish rate in the crash run")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--skip-crash-run", action="store_true", help="only the sustained rate")
    parser.add_argument(
        "--runs", type=int, default=3, help="sustained measurements (the machine is noisy)"
    )
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
        runs = []
        for run in range(args.runs):
            rates = sustained(url, broker, Path(tmp), args.events, run)
            runs.append(rates)
            print(
                f"sustained ingest ({args.backend}, QoS 1, {rates['events']} events, run "
                f"{run + 1}/{args.runs}): bridge {rates['bridge_stored_events_per_s']:.0f} "
                f"stored/s vs bare paho subscriber {rates['bare_subscriber_events_per_s']:.0f} "
                f"received/s -> ratio {rates['ratio']:.2f}; CPU per event: bridge and writer "
                f"{rates['bridge_cpu_us_per_event']:.0f} us, bare subscriber "
                f"{rates['bare_cpu_us_per_event']:.0f} us",
                flush=True,
            )
        median = statistics.median(r["ratio"] for r in runs)
        results["sustained"] = runs
        results["median_ratio"] = median
        verdict = "ok" if median >= 0.7 else "BELOW TARGET"
        print(
            f"sustained ingest ({args.backend}): median ratio {median:.2f} over {args.runs} "
            f"run(s) (target >= 0.7: {verdict})",
            flush=True,
        )
    if args.skip_crash_run:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"mqtt_ingest_{args.backend}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
