"""The delivery's identity and body: what receivers see and what makes duplicates harmless."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oms_webhooks.domain.deliveries import (
    Attempt,
    Delivery,
    EventBody,
    delivery_id,
    delivery_number,
    duration_string,
    request_body,
)
from oms_webhooks.domain.oms_event import MalformedEvent, OmsEvent
from tests.events import EVENTS


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


SAMPLE_EVENTS = sorted((Path(__file__).resolve().parents[2] / "events" / "eventbridge").glob("*.json"))
ODD_PAYLOADS = [
    {"city": "İstanbul", "note": 'a "quoted" \\ back\nslash\u2028', "emoji": "🚚"},
    {"nested": {"k": [1, 2.5, None, True]}},
    [{"id": 1}, {"id": 2}],
    {"big": 10**30, "small": -1e-7, "nan": float("nan"), "inf": float("inf"), "empty": {}, "list": []},
    {"\u00e9t\u00e9": "\x00\x1f control", "keys in order": {"b": 1, "a": 2}},
]


@pytest.mark.parametrize("path", SAMPLE_EVENTS, ids=lambda path: path.stem)
def test_an_events_bodies_are_byte_for_byte_whisperers_envelope(path: Path) -> None:
    event = OmsEvent.from_eventbridge(json.loads(path.read_text()))
    bodies = EventBody(event.event_type, event.payload)
    for hook_id in (1, 2):
        uuid_ = delivery_id(event.id, hook_id)
        envelope = {"event": {"type": event.event_type, "uuid": uuid_}, "payload": event.payload}
        assert bodies.for_delivery(uuid_) == json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("payload", ODD_PAYLOADS)
def test_the_payload_serialized_once_reads_as_when_serialized_whole(payload: object) -> None:
    envelope = {"event": {"type": "package.created", "uuid": "ab" * 16}, "payload": payload}
    whole = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    assert EventBody("package.created", payload).for_delivery("ab" * 16) == whole
    assert request_body("package.created", "ab" * 16, payload) == whole


ENVELOPE = json.loads((EVENTS / "eventbridge" / "package.created.json").read_text())  # as EventBridge sends it


def test_eventbridge_envelope_is_read() -> None:
    event = OmsEvent.from_eventbridge({**ENVELOPE, "id": "e1", "detail-type": "package-created"})
    assert (event.id, event.event_type, event.payload) == ("e1", "package.created", ENVELOPE["detail"]["payload"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "the whole: Input should be a valid dictionary"),
        ([], "the whole: Input should be a valid dictionary"),
        ({key: value for key, value in ENVELOPE.items() if key != "id"}, "id: Field required"),
        ({**ENVELOPE, "id": 7}, "id: Input should be a valid string"),
        ({**ENVELOPE, "id": "x" * 129}, "id: String should have at most 128 characters"),
        ({**ENVELOPE, "detail-type": "nope"}, "detail-type: unknown event type 'nope'"),
        ({**ENVELOPE, "detail": {}}, "detail.payload: Field required"),
        ({**ENVELOPE, "detail": {"payload": 3}}, "detail.payload: the payload must be a JSON object or array"),
        ({**ENVELOPE, "detail": {"payload": ["x" * 270_000]}}, "detail.payload: the payload is larger than 262144"),
        ({"id": "e", "detail-type": "package.created", "detail": {"payload": {}}}, "version: Field required"),
    ],
)
def test_malformed_envelopes_are_refused_naming_the_field(raw: object, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=re.escape(reason)):
        OmsEvent.from_eventbridge(raw)


def test_the_integer_id_is_53_hash_bits_of_the_uuid() -> None:
    numbers = {delivery_number(delivery_id(f"event-{n}", 7)) for n in range(20_000)}
    assert len(numbers) == 20_000  # no collision among 20,000 (expected: 2e8 / 2**54, about 1 in 10 million)
    assert all(0 <= n < 2**53 for n in numbers)
    assert max(numbers) > 2**52  # the top bit is used: the version digit is left out, not the range
    first = delivery_id("event-1", 7)
    assert delivery_number(first) == delivery_number(str(uuid.UUID(first)))  # any form of the same uuid


def test_duration_strings_are_drfs() -> None:
    assert duration_string(0.080303) == "00:00:00.080303"
    assert duration_string(1.0) == "00:00:01"
    assert duration_string(3661.5) == "01:01:01.500000"
    assert duration_string(2 * 86400 + 3.25) == "2 00:00:03.250000"


@pytest.mark.parametrize(
    ("payload", "object_id"),
    [({"id": 73}, "73"), ({"id": "R-1"}, "R-1"), ({"id": True}, None), ({"id": None}, None), ([1], None), ({}, None)],
)
def test_object_id_is_the_payloads_id(payload: object, object_id: str | None) -> None:
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    delivery = Delivery(
        uuid=delivery_id("e", 1),
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload=payload,
        target_url="http://r.test/",
        created_date=moment,
        modified_date=moment,
    )
    assert delivery.object_id == object_id


def _delivery(*attempts: Attempt) -> Delivery:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    delivery = Delivery(
        uuid="ab" * 16,
        owner="acme",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="https://example.com/",
        created_date=moment,
        modified_date=moment,
    )
    for attempt in attempts:
        delivery.record(attempt, None)
    return delivery


def test_an_attempt_no_answer_came_to_shows_as_500_as_in_whisperer_and_keeps_the_truth() -> None:
    moment = datetime(2026, 1, 7, tzinfo=UTC)
    delivery = _delivery()
    delivery.record(Attempt(at=moment, error="Connection refused", duration=0.01), None)
    assert (delivery.response_http_status, delivery.response_content) == (500, "Connection refused")
    assert delivery.public()["attempts"][0]["status_code"] is None  # per attempt: no answer, and why
    delivery.record(Attempt(at=moment, status_code=404, error="HTTP 404", duration=0.01), "no such hook")
    assert (delivery.response_http_status, delivery.response_content) == (404, "no such hook")
    assert delivery.retry_count == 2 and delivery.status == "pending"


def _at(second: int, status: int, manual: bool = False) -> Attempt:
    return Attempt(at=datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC), status_code=status, duration=0.1, manual=manual)


def test_a_scheduled_attempt_replayed_onto_a_manual_one_keeps_both_and_its_schedule() -> None:
    read = _delivery(_at(0, 500))
    read.schedule(5)
    mine = read.model_copy(deep=True)
    mine.record(_at(10, 503), "busy")
    mine.schedule(5)
    fresh = read.model_copy(deep=True)  # meanwhile a manual retry failed too
    fresh.record(_at(11, 502, manual=True), "bad gateway")
    merged = mine.replayed_onto(fresh, attempts_seen=1, deferrals_seen=0)
    assert [a.status_code for a in merged.attempts] == [500, 503, 502]
    assert merged.retry_count == 3 and merged.retries_made == 1
    assert merged.status == "retrying" and merged.next_attempt_at == mine.next_attempt_at
    assert merged.response_http_status == 502 and merged.response_content == "bad gateway"  # the latest answer


def test_a_delivered_record_stays_delivered_whoever_writes_last() -> None:
    read = _delivery(_at(0, 500))
    read.schedule(5)
    mine = read.model_copy(deep=True)
    mine.record(_at(10, 503), None)
    mine.schedule(5)
    fresh = read.model_copy(deep=True)
    fresh.record(_at(11, 200, manual=True), "ok")
    merged = mine.replayed_onto(fresh, attempts_seen=1, deferrals_seen=0)
    assert merged.delivered and merged.next_attempt_at is None and len(merged.attempts) == 3


def test_a_manual_attempt_replayed_leaves_the_schedule_of_the_newer_record() -> None:
    read = _delivery(_at(0, 500))
    read.schedule(5)
    mine = read.model_copy(deep=True)
    mine.record(_at(10, 502, manual=True), None)
    fresh = read.model_copy(deep=True)  # the retrier's attempt came first and was saved
    fresh.record(_at(9, 503), None)
    fresh.schedule(20)
    merged = mine.replayed_onto(fresh, attempts_seen=1, deferrals_seen=0)
    assert merged.status == "retrying" and merged.next_attempt_at == fresh.next_attempt_at
    assert [a.status_code for a in merged.attempts] == [500, 503, 502]


def test_a_parked_deferral_replayed_keeps_the_park_and_counts_once() -> None:
    read = _delivery(_at(0, 500))
    read.schedule(5)
    mine = read.model_copy(deep=True)
    until = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    mine.defer(until, "circuit open", datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC), parked=True)
    merged = mine.replayed_onto(read.model_copy(deep=True), attempts_seen=1, deferrals_seen=0)
    assert merged.parked and merged.status == "deferred" and merged.deferral_count == 1
    merged.mark_delivered()
    assert not merged.parked  # only a deferred delivery is parked


def test_only_the_latest_attempts_keep_their_answers() -> None:
    """However many manual retries a delivery gets, the answers it keeps stay bounded (about 5 KB an attempt)."""
    from datetime import UTC, datetime

    from oms_webhooks.domain.deliveries import KEPT_ANSWERS, Attempt, Delivery

    moment = datetime.now(UTC)
    delivery = Delivery(
        uuid="0" * 32,
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="https://r.test/",
        created_date=moment,
        modified_date=moment,
    )
    for n in range(KEPT_ANSWERS + 5):
        answer = f"answer {n}"
        delivery.record(
            Attempt(
                at=moment, status_code=500, duration=0.1, response_headers={"X-N": str(n)}, response_content=answer
            ),
            answer,
        )
    kept = [a for a in delivery.attempts if a.response_content is not None]
    assert [a.response_content for a in kept] == [f"answer {n}" for n in range(5, KEPT_ANSWERS + 5)]
    assert all(not a.response_headers for a in delivery.attempts[:5]) and delivery.attempts[0].status_code == 500
    assert delivery.response_content == f"answer {KEPT_ANSWERS + 4}" and len(delivery.attempts) == KEPT_ANSWERS + 5
