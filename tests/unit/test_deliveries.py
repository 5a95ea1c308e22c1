"""The delivery's identity and body: what receivers see and what makes duplicates harmless."""

from __future__ import annotations

import json

import pytest

from oms_webhooks.deliveries import delivery_id, request_body
from oms_webhooks.oms_event import MalformedEvent, OmsEvent


def test_delivery_id_is_stable_32_hex_and_distinct_per_hook_and_event() -> None:
    first = delivery_id("event-1", 7)
    assert first == delivery_id("event-1", 7)
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != delivery_id("event-1", 8)
    assert first != delivery_id("event-2", 7)


def test_body_is_exactly_whispers_envelope() -> None:
    body = request_body("package.created", "ab" * 16, {"city": "İstanbul", "id": 73})
    assert json.loads(body) == {
        "event": {"type": "package.created", "uuid": "ab" * 16},
        "payload": {"city": "İstanbul", "id": 73},
    }
    assert "İstanbul".encode() in body  # UTF-8, not \\u escapes


def test_eventbridge_envelope_is_read() -> None:
    event = OmsEvent.from_eventbridge(
        {"id": "e1", "detail-type": "package-created", "source": "oms", "detail": {"payload": {"id": 1}}}
    )
    assert (event.id, event.event_type, event.payload) == ("e1", "package.created", {"id": 1})


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"detail-type": "package.created", "detail": {"payload": {}}},
        {"id": "e", "detail-type": "nope", "detail": {"payload": {}}},
        {"id": "e", "detail-type": "package.created", "detail": {}},
        {"id": "e", "detail-type": "package.created", "detail": {"payload": 3}},
    ],
)
def test_malformed_envelopes_are_refused(raw: object) -> None:
    with pytest.raises(MalformedEvent):
        OmsEvent.from_eventbridge(raw)
