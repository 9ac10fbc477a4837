"""``python -m iot_bridge``: run the MQTT bridge until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from iot_bridge.settings import load

DESCRIPTION = """\
Run Comptoir's MQTT bridge: store every shelf sensor event of one store exactly once in the
database, dead-letter what cannot be stored, ask sellers for help, compare shelves with the
stock ledger. Configured by the environment (docs/iot.md, "Running the bridge")."""

EPILOG = """\
environment:
  COMPTOIR_DATABASE_URL            the API's database (default: instance/comptoir.db)
  COMPTOIR_MQTT_URL                mqtt://user:password@host:port, the bridge's own login
                                   (default mqtt://bridge:bridge-demo@127.0.0.1:1883)
  COMPTOIR_STORE_ID                the store (default store-1)
  COMPTOIR_MQTT_CLIENT_ID          its status name (default comptoir-bridge-{store})
  COMPTOIR_BRIDGE_DB_RETRY_SECONDS how long an unavailable database is retried (300)
  COMPTOIR_MQTT_RECEIVE_MAXIMUM, COMPTOIR_MQTT_BATCH_SIZE, COMPTOIR_MQTT_BATCH_SECONDS,
  COMPTOIR_BRIDGE_TIMER_SECONDS, COMPTOIR_SENSORS_AUTO_REGISTER, COMPTOIR_SQLITE_BUSY_TIMEOUT_MS

exit codes:
  0   stopped (SIGTERM, Ctrl-C)
  1   the writer process died (unacked messages come back at the next start)
  2   bad arguments or settings
  75  the database stayed unavailable for COMPTOIR_BRIDGE_DB_RETRY_SECONDS"""


def parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m iot_bridge",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    cli.parse_args(argv)  # --help and unknown arguments exit here, before anything connects
    try:
        settings = load()
    except ValueError as exc:
        cli.error(str(exc))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from iot_bridge.bridge import Bridge  # paho and the database layer: only for a real run

    bridge = Bridge(settings)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        # Not in the handler itself: it may have interrupted paho holding one of its locks.
        threading.Thread(target=bridge.stop, name="comptoir-stop").start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.getLogger("iot_bridge").info(
        "bridge for store %s on %s:%d as %s",
        settings.store_id,
        settings.host,
        settings.port,
        settings.username,
    )
    bridge.run()
    return bridge.exit_code


if __name__ == "__main__":
    sys.exit(main())
