"""One invocation's operational events (domain/operational_events.py), put on the bus together when it ends.

Facts are added where they happen (a 410, the breaker's writes, a delivery's last failed attempt once recorded), from
any of the invocation's threads; `publish` sends them all with as few PutEvents calls as there are tens of them. A
failure to publish is logged with what it lost and counted (`OperationalEventsFailed`); it never fails nor repeats
the deliveries: the facts are already recorded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from oms_webhooks.adapters.event_bus import PUT_EVENTS_SIZE, EventBus
from oms_webhooks.domain.operational_events import OperationalEvent, about_operational_hook

logger = Logger(child=True)


@dataclass(frozen=True)
class Published:
    sent: int = 0
    failed: int = 0


class OperationalOutbox:
    def __init__(self) -> None:
        self._events: list[OperationalEvent] = []
        self._lock = threading.Lock()

    def add(self, event: OperationalEvent) -> None:
        """Kept for `publish`, unless it is about a hook that receives operational events itself: those are never
        emitted, so an operational delivery that fails cannot cause another operational event."""
        if about_operational_hook(event):
            return
        with self._lock:
            self._events.append(event)

    def publish(self, bus: EventBus | None) -> Published:
        """Never raises. Without a bus (EVENT_BUS_NAME unset) the events are only logged."""
        with self._lock:
            events, self._events = self._events, []
        if not events:
            return Published()
        for event in events:
            logger.info(
                "Operational event",
                extra={"operational_event": event.event_type, "owner": event.owner, "hook_id": event.hook_id},
            )
        if bus is None:
            return Published()
        failed: list[tuple[OperationalEvent, str]] = []
        for start in range(0, len(events), PUT_EVENTS_SIZE):
            chunk = events[start : start + PUT_EVENTS_SIZE]
            try:
                errors = bus.put([event.entry(bus.name) for event in chunk])
            except Exception as fault:
                logger.exception("PutEvents failed", extra={"entries": len(chunk)})
                failed += [(event, type(fault).__name__) for event in chunk]
                continue
            failed += [(event, error) for event, error in zip(chunk, errors, strict=False) if error]
        if failed:
            logger.error(
                "Operational events not put on the bus",
                extra={
                    "failed": [
                        {"operational_event": e.event_type, "owner": e.owner, "hook_id": e.hook_id, "error": why}
                        for e, why in failed
                    ]
                },
            )
        return Published(len(events) - len(failed), len(failed))
