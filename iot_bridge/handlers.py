"""What happens after sensor events are stored (planogram, alerts, labels: not built yet).

The writer calls :func:`handle_batch` inside the transaction that stored the events, so a
handler's writes commit (or roll back) together with them and before the broker gets its acks.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from iot_bridge.payloads import SensorReading


def handle_batch(session: Session, events: Sequence[SensorReading]) -> None:
    """Hook for the newly stored (not duplicate) events of one batch; a no-op for now."""
    return None
