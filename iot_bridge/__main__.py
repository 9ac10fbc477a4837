"""``python -m iot_bridge``: run the MQTT bridge until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from iot_bridge.bridge import Bridge
from iot_bridge.settings import load


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load()
    bridge = Bridge(settings)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        # Not in the handler itself: it may have interrupted paho holding one of its locks.
        threading.Thread(target=bridge.stop, name="comptoir-stop").start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.getLogger("iot_bridge").info(
        "bridge for store %s on %s:%d", settings.store_id, settings.host, settings.port
    )
    bridge.run()
    return 1 if bridge.failed else 0


if __name__ == "__main__":
    sys.exit(main())
