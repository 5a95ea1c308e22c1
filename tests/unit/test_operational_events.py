"""Operational events as values: what each payload names, its catalog schema, the bus entry, how the dispatcher reads
one back (only from the service's own source, and only with an owner), and that none is about an operational hook."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from oms_webhooks.adapters.event_bus import EventBus
from oms_webhooks.domain.deliveries import Attempt, Delivery
from oms_webhooks.domain.event_catalog import schema_of
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.domain.oms_event import MalformedEvent, OmsEvent
from oms_webhooks.domain.operational_events import (
    OPERATIONAL_SOURCE,
    OperationalEvent,
    about_operational_hook,
    circuit_closed,
    circuit_opened,
    delivery_exhausted,
    hook_disabled,
)
from oms_webhooks.rules.operational_outbox import OperationalOutbox

T0 = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)
# The rest of EventBridge's envelope, as it hands an event to a target.
ENVELOPE = {"version": "0", "account": "123456789012", "time": "2026-01-07T10:00:00Z", "region": "us-east-1"}
HOOK = HookTarget(id=42, owner="acme", event_type="package.created", target_url="https://shop.example/hooks")
DELIVERY = Delivery(
    uuid="a" * 32,
    owner="acme",
    webhook=42,
    event_id="e",
    event_type="package.created",
    request_payload={"id": 1},
    target_url=HOOK.target_url,
    status="failed",
    retry_count=3,
    attempts=[Attempt(at=T0, status_code=None, error="Connection refused", duration=0.01)],
    created_date=T0,
    modified_date=T0,
)

EVENTS = [
    delivery_exhausted(HOOK, DELIVERY, 2),
    hook_disabled(HOOK, "gone", "the subscriber answered 410 Gone", T0, DELIVERY),
    hook_disabled(HOOK, "failing", "every attempt failed for 5 days", T0, failures=40),
    circuit_opened(HOOK, 5, T0, T0),
    circuit_closed(HOOK, 7),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_each_payload_names_its_hook_and_validates_against_its_catalog_schema(event: OperationalEvent) -> None:
    assert event.owner == "acme" and event.hook_id == 42
    assert event.payload["hook"] == {"id": 42, "event_type": "package.created", "target_url": HOOK.target_url}
    schema = schema_of(event.event_type)
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(event.payload)


def test_a_delivery_is_named_with_its_last_status_and_error() -> None:
    payload = delivery_exhausted(HOOK, DELIVERY, 2).payload
    assert payload["delivery"] == {
        "uuid": "a" * 32,
        "event_type": "package.created",
        "retry_count": 3,
        "last_status_code": None,
        "last_error": "Connection refused",
        "created_date": "2026-01-07T10:00:00.000000Z",
    }
    assert payload["reason"] == "the last of 2 retries failed"


def test_the_bus_entry_reads_back_as_the_dispatcher_reads_it() -> None:
    entry = EVENTS[0].entry("oms-events")
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        OPERATIONAL_SOURCE,
        "whisperer.delivery.exhausted",
        "oms-events",
    )
    raw = {**ENVELOPE, "resources": [], "id": "ev-1", "source": entry["Source"], "detail-type": entry["DetailType"]}
    event = OmsEvent.from_eventbridge({**raw, "detail": json.loads(entry["Detail"])})
    assert (event.owner, event.event_type, event.payload) == ("acme", entry["DetailType"], EVENTS[0].payload)


@pytest.mark.parametrize(
    ("source", "detail", "why"),
    [
        ("oms", {"owner": "acme", "payload": {}}, "unknown event type"),  # only the service's source names owners
        (OPERATIONAL_SOURCE, {"payload": {}}, "detail.owner: Field required"),
        (OPERATIONAL_SOURCE, {"owner": "", "payload": {}}, "detail.owner: String should have at least 1 character"),
        (OPERATIONAL_SOURCE, {"owner": "acme", "payload": []}, "detail.payload: Input should be a valid dictionary"),
    ],
)
def test_an_operational_event_is_read_only_from_the_service_with_its_owner(
    source: str, detail: dict[str, Any], why: str
) -> None:
    raw: dict[str, Any] = {**ENVELOPE, "resources": [], "id": "ev-1", "source": source, "detail": detail}
    raw["detail-type"] = "whisperer.hook.disabled"
    with pytest.raises(MalformedEvent, match=why):
        OmsEvent.from_eventbridge(raw)


def test_nothing_is_told_about_a_hook_that_receives_operational_events() -> None:
    watcher = HOOK.model_copy(update={"event_type": "whisperer.delivery.exhausted"})
    told = [delivery_exhausted(watcher, DELIVERY, 0), circuit_opened(watcher, 5, None, T0), circuit_closed(watcher, 1)]
    assert all(about_operational_hook(event) for event in told)
    outbox = OperationalOutbox()
    for event in told:
        outbox.add(event)
    outbox.add(EVENTS[0])

    class Bus(EventBus):
        def __init__(self) -> None:
            super().__init__("bus")
            self.entries: list[dict[str, Any]] = []

        def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
            self.entries += entries
            return [None] * len(entries)

    bus = Bus()
    assert outbox.publish(bus).sent == 1
    assert [json.loads(e["Detail"])["payload"]["hook"]["event_type"] for e in bus.entries] == ["package.created"]
