"""Operational events: what the service tells an owner about its own hooks, as events of its own namespace.

A delivery given up after its last retry, a hook disabled (by a 410 Gone or by the breaker), a hook's circuit opened
or closed. Each is put on the EventBridge bus with Source `oms.webhooks` and the owner it is about in its detail; the
dispatcher delivers it, like any event, to that owner's hooks subscribed to its type, and operators can route it
with a rule of their own (README, "Operational events").

They never loop: nothing is emitted about a hook subscribed to an operational type, nor about one of its
deliveries (`about_operational_hook`), so a failing operational delivery cannot cause another operational event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from oms_webhooks.clock import iso, now

OPERATIONAL_SOURCE = "oms.webhooks"  # the Source of these events on the bus; OMS events have the stack's EventSource

DELIVERY_EXHAUSTED = "whisperer.delivery.exhausted"
HOOK_DISABLED = "whisperer.hook.disabled"
CIRCUIT_OPENED = "whisperer.hook.circuit_opened"
CIRCUIT_CLOSED = "whisperer.hook.circuit_closed"
OPERATIONAL_EVENT_TYPES: tuple[str, ...] = (DELIVERY_EXHAUSTED, HOOK_DISABLED, CIRCUIT_OPENED, CIRCUIT_CLOSED)
_OPERATIONAL = frozenset(OPERATIONAL_EVENT_TYPES)


def is_operational(event_type: str) -> bool:
    return event_type in _OPERATIONAL


class HookFacts(Protocol):
    """What an event names of its hook (a HookTarget, without importing the model here)."""

    id: int
    owner: str
    event_type: str
    target_url: str


class DeliveryFacts(Protocol):
    uuid: str
    event_type: str
    retry_count: int
    created_date: datetime

    @property
    def attempts(self) -> Any: ...


@dataclass(frozen=True)
class OperationalEvent:
    """One occurrence, about one owner's hook: its type, the owner (who alone receives it) and the payload."""

    event_type: str
    owner: str
    hook_id: int
    payload: dict[str, Any]

    def entry(self, bus_name: str) -> dict[str, Any]:
        """A PutEvents entry: the owner beside the payload in the detail, as the dispatcher reads it back."""
        return {
            "Source": OPERATIONAL_SOURCE,
            "DetailType": self.event_type,
            "Detail": json.dumps({"owner": self.owner, "payload": self.payload}, separators=(",", ":")),
            "EventBusName": bus_name,
        }


def about_operational_hook(event: OperationalEvent) -> bool:
    """True when the event is about a hook that receives operational events: such events are never emitted."""
    return is_operational(event.payload["hook"]["event_type"])


def delivery_exhausted(hook: HookFacts, delivery: DeliveryFacts, max_retries: int) -> OperationalEvent:
    """A scheduled attempt failed and the hook's countdown has no retry left: the delivery is `failed` for good."""
    last = delivery.attempts[-1] if delivery.attempts else None
    reason = f"the last of {max_retries} retries failed" if max_retries else "the attempt failed and max_retries is 0"
    return _event(
        DELIVERY_EXHAUSTED,
        hook,
        reason=reason,
        delivery={
            "uuid": delivery.uuid,
            "event_type": delivery.event_type,
            "retry_count": delivery.retry_count,
            "last_status_code": last.status_code if last else None,
            "last_error": last.error if last else None,
            "created_date": iso(delivery.created_date),
        },
    )


def hook_disabled(
    hook: HookFacts,
    cause: str,
    reason: str,
    disabled_at: datetime,
    delivery: DeliveryFacts | None = None,
    failures: int | None = None,
) -> OperationalEvent:
    """`cause` is `gone` (its subscriber answered 410 Gone, to `delivery`) or `failing` (every attempt failed for
    AutoDisableAfter: `failures` in a row). `reason` and `disabled_at` are the hook's, as its answers show them."""
    facts: dict[str, Any] = {"cause": cause, "reason": reason, "disabled_at": iso(disabled_at)}
    if failures is not None:
        facts["failures"] = failures
    if delivery is not None:
        last = delivery.attempts[-1] if delivery.attempts else None
        facts["delivery"] = {
            "uuid": delivery.uuid,
            "event_type": delivery.event_type,
            "retry_count": delivery.retry_count,
            "last_status_code": last.status_code if last else None,
            "last_error": last.error if last else None,
            "created_date": iso(delivery.created_date),
        }
    return _event(HOOK_DISABLED, hook, **facts)


def circuit_opened(hook: HookFacts, failures: int, since: datetime | None, next_probe_at: datetime) -> OperationalEvent:
    reason = f"{failures} consecutive failed attempts" + (f" since {iso(since)}" if since else "")
    return _event(
        CIRCUIT_OPENED,
        hook,
        reason=reason,
        failures=failures,
        failing_since=iso(since) if since else None,
        next_probe_at=iso(next_probe_at),
    )


def circuit_closed(hook: HookFacts, failures: int) -> OperationalEvent:
    """An attempt succeeded (its probe, or a manual retry): the deliveries it held are released."""
    return _event(
        CIRCUIT_CLOSED, hook, reason="an attempt succeeded; the deliveries it held are sent now", failures=failures
    )


def _event(event_type: str, hook: HookFacts, **facts: Any) -> OperationalEvent:
    payload = {
        "hook": {"id": hook.id, "event_type": hook.event_type, "target_url": hook.target_url},
        "occurred_at": iso(now()),
        **facts,
    }
    return OperationalEvent(event_type, hook.owner, hook.id, payload)


# --- the catalog's entries: a description, a JSON Schema and an example of each payload ---------------------------

_TEXT: dict[str, Any] = {"type": "string"}
_MOMENT: dict[str, Any] = {"type": "string", "format": "date-time"}
_HOOK = {
    "type": "object",
    "description": "The hook this event is about (one of the receiving owner's own).",
    "properties": {"id": {"type": "integer"}, "event_type": _TEXT, "target_url": _TEXT},
    "required": ["id", "event_type", "target_url"],
    "additionalProperties": True,
}
_DELIVERY = {
    "type": "object",
    "description": "The delivery concerned: its uuid (as in /whisperer/hook_events/), its attempts so far, the last "
    "attempt's status code (null: no answer) and error.",
    "properties": {
        "uuid": _TEXT,
        "event_type": _TEXT,
        "retry_count": {"type": "integer"},
        "last_status_code": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]},
        "created_date": _MOMENT,
    },
    "required": ["uuid", "event_type", "retry_count", "last_status_code", "last_error"],
    "additionalProperties": True,
}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"hook": _HOOK, "occurred_at": _MOMENT, "reason": _TEXT, **properties},
        "required": ["hook", "occurred_at", "reason", *required],
        "additionalProperties": True,
    }


_EXAMPLE_HOOK = {"id": 42, "event_type": "package.created", "target_url": "https://shop.example/webhooks"}
_EXAMPLE_DELIVERY = {
    "uuid": "6f1c2a9e0b7d4c3fa2e15b8d9c0a4e7f",
    "event_type": "package.created",
    "retry_count": 11,
    "last_status_code": 503,
    "last_error": "HTTP 503",
    "created_date": "2024-05-01T12:00:00.000000Z",
}

OPERATIONAL_CATALOG: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    DELIVERY_EXHAUSTED: (
        "A delivery to one of your hooks failed its last retry and is given up (status `failed`); recover it with "
        "`POST /whisperer/hooks/{id}/recover/`. Sent once per delivery given up.",
        _schema({"delivery": _DELIVERY}, ["delivery"]),
        {
            "hook": _EXAMPLE_HOOK,
            "occurred_at": "2024-05-02T09:30:00.000000Z",
            "reason": "the last of 10 retries failed",
            "delivery": _EXAMPLE_DELIVERY,
        },
    ),
    HOOK_DISABLED: (
        "The service turned one of your hooks off: its endpoint answered 410 Gone (`cause` `gone`, with the delivery), "
        'or every attempt failed for AutoDisableAfter (`cause` `failing`). `PATCH {"is_active": true}` turns it back '
        "on.",
        _schema(
            {
                "cause": {"type": "string", "enum": ["gone", "failing"]},
                "disabled_at": _MOMENT,
                "failures": {"type": "integer"},
                "delivery": _DELIVERY,
            },
            ["cause", "disabled_at"],
        ),
        {
            "hook": _EXAMPLE_HOOK,
            "occurred_at": "2024-05-06T12:00:00.000000Z",
            "cause": "failing",
            "reason": "every attempt failed for 5 days: 212 consecutive failed attempts since "
            "2024-05-01T12:00:00.000000Z (the limit is 5 days and at least 20 attempts)",
            "disabled_at": "2024-05-06T12:00:00.000000Z",
            "failures": 212,
        },
    ),
    CIRCUIT_OPENED: (
        "One of your hooks failed so many attempts in a row that its circuit opened: its deliveries wait (status "
        "`deferred`) and one probe at a time is attempted, from `next_probe_at` on.",
        _schema(
            {"failures": {"type": "integer"}, "failing_since": {"type": ["string", "null"]}, "next_probe_at": _MOMENT},
            ["failures", "next_probe_at"],
        ),
        {
            "hook": _EXAMPLE_HOOK,
            "occurred_at": "2024-05-01T12:01:05.000000Z",
            "reason": "5 consecutive failed attempts since 2024-05-01T12:00:00.000000Z",
            "failures": 5,
            "failing_since": "2024-05-01T12:00:00.000000Z",
            "next_probe_at": "2024-05-01T12:01:35.000000Z",
        },
    ),
    CIRCUIT_CLOSED: (
        "An attempt to one of your hooks succeeded while its circuit was open: the circuit closed and the deliveries "
        "it held are sent now.",
        _schema({"failures": {"type": "integer"}}, ["failures"]),
        {
            "hook": _EXAMPLE_HOOK,
            "occurred_at": "2024-05-01T12:20:00.000000Z",
            "reason": "an attempt succeeded; the deliveries it held are sent now",
            "failures": 9,
        },
    ),
}
assert tuple(OPERATIONAL_CATALOG) == OPERATIONAL_EVENT_TYPES
