"""A delivery: one OMS event sent to one hook, with every attempt it took."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from oms_webhooks.clock import iso
from oms_webhooks.domain.ordering import Ordering

# Fixed forever: delivery uuids derive from it, so a re-delivered event maps onto the same deliveries.
_NAMESPACE = uuid.UUID("5b0f7c64-1d2e-4c4a-9a53-6f2b1f0e8d31")

Status = Literal["pending", "retrying", "deferred", "delivered", "failed"]
UNFINISHED: tuple[Status, ...] = ("pending", "retrying", "deferred")  # attempts may still come

KEPT_DEFERRALS = 10  # the latest deferrals a delivery shows; `deferral_count` counts them all
KEPT_ANSWERS = 10  # the latest attempts that keep their answer's headers and body (about 5 KB each at most)

# What whisperer records as a delivery's response_http_status when no answer came (refused, timed out, not sent).
NOT_ANSWERED_STATUS = 500


def delivery_id(event_id: str, hook_id: int) -> str:
    """Deterministic per (event, hook), so the same EventBridge event twice sends nothing twice."""
    return uuid.uuid5(_NAMESPACE, f"{event_id}:{hook_id}").hex


def uuid_hex(text: str) -> str:
    """A uuid in any form `uuid.UUID` reads (dashed, 32 hex, braces, urn:uuid:) as the 32 hex digits deliveries are
    keyed by; ValueError when `text` is no uuid."""
    value = text.strip()
    if not value.isascii() or len(value) > 64:  # int() would read non-ASCII digits; a uuid is at most 45 characters
        raise ValueError(f"not a uuid: {text[:64]!r}")
    return uuid.UUID(value).hex


def delivery_number(delivery_uuid: str) -> int:
    """Whisperer's integer `id`, derived from the uuid so that writing a delivery needs no counter.

    53 bits (exact in JavaScript): the uuid's first 48 bits and the 5 after its version digit, all of them hash
    bits of a uuid5. Two of an owner's n deliveries share a number with a chance of about n**2 / 2**54.
    """
    digits = uuid.UUID(delivery_uuid).hex
    return (int(digits[:12], 16) << 5) | (int(digits[13:16], 16) >> 7)


def duration_string(seconds: float) -> str:
    """Django REST framework's DurationField: `[D ]HH:MM:SS[.ffffff]`, as whisperer shows `response_time`."""
    duration = timedelta(seconds=seconds)
    minutes, second = divmod(duration.seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = f"{hours:02d}:{minute:02d}:{second:02d}"
    if duration.days:
        text = f"{duration.days} {text}"
    if duration.microseconds:
        text += f".{duration.microseconds:06d}"
    return text


class EventBody:
    """The bodies of one event's deliveries: whisperer's envelope differs from hook to hook only in the delivery's
    uuid, so the payload is serialized once per event, not once per hook (json.dumps of nested values composes)."""

    def __init__(self, event_type: str, payload: Any) -> None:
        self._head = f'{{"event":{{"type":{_json(event_type)},"uuid":'.encode()
        self._tail = f'}},"payload":{_json(payload)}}}'.encode()

    def for_delivery(self, delivery_uuid: str) -> bytes:
        """Exactly whisperer's body; these bytes are what is signed and sent."""
        return self._head + _json(delivery_uuid).encode() + self._tail


def request_body(event_type: str, delivery_uuid: str, payload: Any) -> bytes:
    """Exactly whisperer's body; these bytes are what is signed and sent."""
    return EventBody(event_type, payload).for_delivery(delivery_uuid)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Attempt(BaseModel):
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration: float  # seconds
    manual: bool = False
    request_headers: dict[str, str] = Field(default_factory=dict)  # as sent, signatures included
    response_headers: dict[str, str] = Field(default_factory=dict)  # the answer's, bounded (sender.kept_headers)
    response_content: str | None = None  # the answer's first 1 KiB

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def public(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "status_code": self.status_code,
            "error": self.error,
            "duration": round(self.duration, 6),
            "manual": self.manual,
            "request_headers": self.request_headers,
            "response_headers": self.response_headers,
            "response_content": self.response_content,
        }


class Deferral(BaseModel):
    """A time the delivery was queued instead of attempted (a rate limit, an open circuit): not an attempt."""

    at: datetime
    until: datetime
    reason: str

    def public(self) -> dict[str, Any]:
        return {"at": iso(self.at), "until": iso(self.until), "reason": self.reason}


class Delivery(BaseModel):
    uuid: str
    owner: str
    webhook: int
    event_id: str
    event_type: str
    request_payload: Any
    target_url: str
    status: Status = "pending"
    retry_count: int = 0
    response_http_status: int | None = None
    response_content: str | None = None
    response_time: float | None = None
    next_attempt_at: datetime | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    deferrals: list[Deferral] = Field(default_factory=list)  # the latest KEPT_DEFERRALS
    deferral_count: int = 0
    created_date: datetime
    modified_date: datetime
    expires_at: int = 0  # epoch seconds; DynamoDB's TTL removes the record after it
    test: bool = False  # sent by `POST .../test/` (trial.py): shown in the log, never retried or recovered
    parked: bool = False  # deferred by an open circuit: no message waits for it; the circuit's probe releases it
    ordering: Ordering | None = None  # a delivery of an ordered hook: its object's queue, or why it is not in one
    version: int = 0  # bumped by every write of the record, so that two writers cannot overwrite each other
    # The event claim that holds `request_payload`, stored once per event (event_claims.py); None: the record holds it.
    payload_claim: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    @property
    def id(self) -> int:
        return delivery_number(self.uuid)

    @property
    def object_id(self) -> str | None:
        """Whisperer's `object_id`, the primary key of the object the event is about: the OMS payload's `id`."""
        key = self.request_payload.get("id") if isinstance(self.request_payload, dict) else None
        return str(key) if isinstance(key, int | str) and not isinstance(key, bool) else None

    def body(self) -> bytes:
        return request_body(self.event_type, self.uuid, self.request_payload)

    @property
    def retries_made(self) -> int:
        """Scheduled attempts after the first: what the countdown and max_retries go by. Manual retries count in
        `retry_count` (as in whisperer) but leave the schedule alone, so they are not counted here."""
        return max(0, sum(not attempt.manual for attempt in self.attempts) - 1)

    def record(self, attempt: Attempt, response_content: str | None) -> None:
        """Keep the attempt and make the latest one the delivery's response, as whisperer shows it.

        As in whisperer, `retry_count` counts every attempt, the first and manual ones included (a record from
        before that rule catches up here), and an attempt no answer came to shows as status 500 with the reason
        as its content; the attempt itself keeps the truth (no status code, the error).
        """
        self.attempts.append(attempt)
        for older in self.attempts[:-KEPT_ANSWERS]:  # bounded however many manual retries a delivery gets
            older.response_headers, older.response_content = {}, None
        self.retry_count = max(self.retry_count + 1, len(self.attempts))
        self.response_http_status = attempt.status_code if attempt.status_code is not None else NOT_ANSWERED_STATUS
        self.response_content = response_content if response_content is not None else attempt.error
        self.response_time = attempt.duration
        self.modified_date = attempt.at + timedelta(seconds=attempt.duration)
        if attempt.succeeded:
            self.mark_delivered()

    def mark_delivered(self) -> None:
        self._become("delivered")

    def schedule(self, wait: float) -> None:
        """A failed attempt with retries left: the next one is due `wait` seconds after this one ended."""
        self._become("retrying", self.modified_date + timedelta(seconds=wait))

    def fail(self) -> None:
        """No more attempts: retries spent, 410 Gone, or the hook is gone. The attempts keep the why."""
        self._become("failed")

    def defer(self, until: datetime, reason: str, at: datetime, parked: bool = False) -> None:
        """Queued until `until` instead of attempted: no attempt is counted and the schedule's place is kept.
        `parked`: it waits for its hook's circuit to close rather than for a time (`until` is the next probe)."""
        self.deferrals = [*self.deferrals, Deferral(at=at, until=until, reason=reason)][-KEPT_DEFERRALS:]
        self.deferral_count += 1
        self.modified_date = at
        self._become("deferred", until)
        self.parked = parked

    def end_unsent(self, attempt: Attempt) -> None:
        """Ended without a request being made (hook deleted, inactive, unreadable): the attempt says why."""
        self.record(attempt, None)
        self.fail()

    def _become(self, status: Status, next_attempt_at: datetime | None = None) -> None:
        self.status = status
        self.next_attempt_at = next_attempt_at
        self.parked = False

    def replayed_onto(self, fresh: Delivery, attempts_seen: int, deferrals_seen: int) -> Delivery:
        """What this copy did since it was read (it had `attempts_seen` attempts and `deferrals_seen` deferrals then),
        applied to `fresh`, the record as another writer left it meanwhile (a manual retry beside the retrier's):
        every attempt of both lands. Delivered stays delivered; a scheduled attempt's decision about the schedule
        wins over a manual one's, which leaves the schedule alone."""
        merged = fresh.model_copy(deep=True)
        mine = self.attempts[attempts_seen:]
        for attempt in mine:
            merged.record(attempt, self.response_content if attempt is self.attempts[-1] else attempt.error)
        merged.attempts.sort(key=lambda attempt: attempt.at)
        if mine and fresh.attempts and merged.attempts[-1] is not mine[-1]:  # the other writer's answer came last
            merged.response_http_status = fresh.response_http_status
            merged.response_content, merged.response_time = fresh.response_content, fresh.response_time
        deferred = self.deferral_count - deferrals_seen
        if deferred > 0:
            merged.deferrals = [*merged.deferrals, *self.deferrals[-deferred:]][-KEPT_DEFERRALS:]
            merged.deferral_count += deferred
        scheduled = deferred > 0 or any(not attempt.manual for attempt in mine)
        if merged.delivered or self.delivered:
            merged.mark_delivered()
        elif scheduled:
            merged.status, merged.next_attempt_at, merged.parked = self.status, self.next_attempt_at, self.parked
        merged.modified_date = max(merged.modified_date, self.modified_date)
        return merged

    def public(self, webhook: dict[str, Any] | None = None, waits_for: str | None = None) -> dict[str, Any]:
        """Whisperer's fields (`webhook` nested: the hook's answer, or what the record knows of a hook since
        deleted), and this service's: `event_type`, `event_id`, `status`, `next_attempt_at`, `attempts`. `waits_for`:
        the earlier delivery of its object this one is held behind (ordered hooks)."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "webhook": webhook or {"id": self.webhook, "event_type": self.event_type, "target_url": self.target_url},
            "event_type": self.event_type,
            "request_payload": json.loads(self.body()),
            "response_http_status": self.response_http_status,
            "response_content": self.response_content,
            "response_time": duration_string(self.response_time) if self.response_time is not None else None,
            "delivered": self.delivered,
            "retry_count": self.retry_count,
            "request_datetimes": [iso(a.at) for a in reversed(self.attempts)],  # newest first, as whisperer keeps them
            "content_type": None,  # a Django content type in whisperer; OMS events carry none
            "object_id": self.object_id,
            "event_id": self.event_id,
            "status": self.status,
            "next_attempt_at": iso(self.next_attempt_at) if self.next_attempt_at else None,
            "attempts": [a.public() for a in self.attempts],
            "deferrals": [d.public() for d in self.deferrals],
            "deferral_count": self.deferral_count,
            "parked": self.parked,
            "held": waits_for is not None,
            "waits_for": waits_for,
            "ordering": self.ordering.public() if self.ordering else None,
            "created_date": iso(self.created_date),
            "modified_date": iso(self.modified_date),
            "test": self.test,
        }
