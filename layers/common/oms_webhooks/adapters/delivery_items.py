"""A delivery's item in the deliveries table, through the codec (items.py): one model of what is stored.

Top-level attributes are what DynamoDB itself reads: the keys of the indexes (`owner`, `created_sk` =
`<created iso>#<uuid>`, `webhook`, `id`: whisperer's integer, `parked`), what the indexes project for the log's
filters and for stats (`event_type`, `status`, `response_http_status`, `object_id`, `test`, and `attempt_log`, a line
per attempt), what conditional writes test (`version`, `status`, `next_attempt_at`, `recovery`) and the TTL's
`expires_at`. Everything else (the attempts with their headers, the answer, the deferrals, the target URL) is one
`detail` attribute, compact JSON compressed with a dictionary of what details repeat (compressed.py): nothing but
this service reads it. What follows from other fields is not stored:
`delivered` (the status), `created_date` (the sort key), a `retry_count` of one per attempt, a `response_time` that is
the last attempt's.

A delivery of a dispatched event names the event's claim (event_claims.py), which holds the payload once for all the
event's hooks: `payload_claim` in the detail when the claim is not the event's own (a fan-out batch's), the payload
itself (`request_payload`) only for a delivery with no claim (a test delivery).

Records of the previous release (no `detail`: every field an attribute of its own, `PreviousRecord`) are read as they
are; the next write of one writes it in today's shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from oms_webhooks.adapters.compressed import DETAIL, compress, decompress
from oms_webhooks.adapters.items import from_item, to_item
from oms_webhooks.clock import iso
from oms_webhooks.domain.attempt_log import attempt_log
from oms_webhooks.domain.deliveries import Attempt, Deferral, Delivery, Status
from oms_webhooks.domain.ordering import Ordering

PARKED_KEY = "parked"  # the hook id, on a delivery parked by its hook's open circuit only
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class StoredAttempt(BaseModel):
    """An attempt in the detail: moments and durations in whole microseconds (as shown), defaults left out."""

    at: int
    status_code: int | None = None
    error: str | None = None
    duration: int
    manual: bool = False
    request_headers: dict[str, str] = {}
    response_headers: dict[str, str] = {}
    response_content: str | None = None


class StoredDeferral(BaseModel):
    at: int
    until: int
    reason: str


class Detail(BaseModel):
    """What only this service reads of a delivery, in one attribute."""

    target_url: str
    modified_date: int
    attempts: list[StoredAttempt] = []
    response_content: str | None = None  # absent: the last attempt's
    response_time: int | None = None  # absent: the last attempt's duration
    retry_count: int | None = None  # absent: one per attempt
    deferrals: list[StoredDeferral] = []
    deferral_count: int | None = None  # absent: as many as kept
    payload_claim: str | None = None  # absent, and no request_payload: the event's own claim
    request_payload: Any = None  # a delivery without a claim (a test delivery) holds its payload
    ordering: Ordering | None = None  # an ordered hook's delivery: its object's queue, or why it is in none


class DeliveryRecord(BaseModel):
    """The stored shape: attribute names and types as the codec writes them."""

    uuid: str
    owner: str
    created_sk: str
    id: int
    webhook: int
    event_id: str
    event_type: str
    status: Status
    attempt_log: str
    expires_at: int
    version: int
    detail: bytes  # the Detail's JSON, compressed (`compressed.DETAIL`)
    response_http_status: int | None = None
    object_id: str | None = None
    next_attempt_at: datetime | None = None
    test: Literal[True] | None = None  # written only on a test delivery: recovery reads its absence
    parked: str | None = None


class PreviousRecord(BaseModel):
    """A record as the previous release wrote it, every field an attribute."""

    uuid: str
    owner: str
    webhook: int
    event_id: str
    event_type: str
    target_url: str
    request_payload: Any
    status: Status
    retry_count: int
    attempts: list[Attempt]
    created_date: datetime
    modified_date: datetime
    expires_at: int
    response_http_status: int | None = None
    response_content: str | None = None
    response_time: float | None = None
    next_attempt_at: datetime | None = None
    deferrals: list[Deferral] | None = None
    deferral_count: int | None = None
    test: bool | None = None
    parked: str | None = None
    version: int = 0  # absent on records written before versions: 0


def created_sk(delivery: Delivery) -> str:
    return f"{iso(delivery.created_date)}#{delivery.uuid}"


def delivery_item(delivery: Delivery, version: int | None = None) -> dict[str, Any]:
    """The item of `delivery`, at `version` (default: its own)."""
    last = delivery.attempts[-1] if delivery.attempts else None
    response_time = _us(delivery.response_time) if delivery.response_time is not None else None
    # Validated: pydantic's core builds these faster than model_construct's Python does (35.8 -> 31.6 µs an item).
    detail = Detail(
        target_url=delivery.target_url,
        modified_date=_moment_us(delivery.modified_date),
        attempts=[_stored_attempt(a) for a in delivery.attempts],
        response_content=None
        if last is not None and delivery.response_content == last.response_content
        else delivery.response_content,
        response_time=None if last is not None and response_time == _us(last.duration) else response_time,
        retry_count=None if delivery.retry_count == len(delivery.attempts) else delivery.retry_count,
        deferrals=[
            StoredDeferral(at=_moment_us(d.at), until=_moment_us(d.until), reason=d.reason) for d in delivery.deferrals
        ],
        deferral_count=None if delivery.deferral_count == len(delivery.deferrals) else delivery.deferral_count,
        payload_claim=delivery.payload_claim if delivery.payload_claim != delivery.event_id else None,
        request_payload=delivery.request_payload if delivery.payload_claim is None else None,
        ordering=delivery.ordering,
    )
    record = DeliveryRecord(
        uuid=delivery.uuid,
        owner=delivery.owner,
        created_sk=created_sk(delivery),
        id=delivery.id,
        webhook=delivery.webhook,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_log=attempt_log(delivery.attempts),
        expires_at=delivery.expires_at,
        version=delivery.version if version is None else version,
        detail=compress(detail.model_dump_json(exclude_defaults=True), DETAIL),
        response_http_status=delivery.response_http_status,
        object_id=delivery.object_id,
        next_attempt_at=delivery.next_attempt_at,
        test=True if delivery.test else None,
        parked=str(delivery.webhook) if delivery.parked and delivery.status == "deferred" else None,
    )
    return to_item(record)


def delivery_from_item(item: dict[str, Any]) -> Delivery:
    """The delivery an item holds (of this release's shape or the previous one's); one whose payload is in its
    event's claim has `request_payload` None until the store reads the claim (`payload_claim` names it)."""
    if "detail" not in item:
        return _previous(item)
    record = from_item(DeliveryRecord, item)
    detail = Detail.model_validate_json(decompress(record.detail))
    attempts = [_attempt(a) for a in detail.attempts]
    deferrals = [Deferral(at=_moment(d.at), until=_moment(d.until), reason=d.reason) for d in detail.deferrals]
    response_time = detail.response_time
    if response_time is None and detail.attempts:
        response_time = detail.attempts[-1].duration
    inline = detail.payload_claim is None and "request_payload" in detail.model_fields_set
    return Delivery(
        uuid=record.uuid,
        owner=record.owner,
        webhook=record.webhook,
        event_id=record.event_id,
        event_type=record.event_type,
        request_payload=detail.request_payload if inline else None,
        target_url=detail.target_url,
        status=record.status,
        retry_count=detail.retry_count if detail.retry_count is not None else len(attempts),
        response_http_status=record.response_http_status,
        response_content=_response_content(detail, attempts),
        response_time=response_time / 1e6 if response_time is not None else None,
        next_attempt_at=record.next_attempt_at,
        attempts=attempts,
        deferrals=deferrals,
        deferral_count=detail.deferral_count if detail.deferral_count is not None else len(deferrals),
        created_date=_created_date(record.created_sk),
        modified_date=_moment(detail.modified_date),
        expires_at=record.expires_at,
        test=bool(record.test),
        parked=record.parked is not None,
        version=record.version,
        payload_claim=None if inline else (detail.payload_claim or record.event_id),
        ordering=detail.ordering,
    )


def _previous(item: dict[str, Any]) -> Delivery:
    record = from_item(PreviousRecord, item)
    return Delivery(
        uuid=record.uuid,
        owner=record.owner,
        webhook=record.webhook,
        event_id=record.event_id,
        event_type=record.event_type,
        request_payload=record.request_payload,
        target_url=record.target_url,
        status=record.status,
        retry_count=record.retry_count,
        response_http_status=record.response_http_status,
        response_content=record.response_content,
        response_time=record.response_time,
        next_attempt_at=record.next_attempt_at,
        attempts=record.attempts,
        deferrals=record.deferrals or [],
        deferral_count=record.deferral_count or 0,
        created_date=record.created_date,
        modified_date=record.modified_date,
        expires_at=record.expires_at,
        test=bool(record.test),
        parked=record.parked is not None,
        version=record.version,
    )


def _created_date(sort_key: str) -> datetime:
    return datetime.strptime(sort_key.partition("#")[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _stored_attempt(attempt: Attempt) -> StoredAttempt:
    return StoredAttempt(
        at=_moment_us(attempt.at),
        status_code=attempt.status_code,
        error=attempt.error,
        duration=_us(attempt.duration),
        manual=attempt.manual,
        request_headers=attempt.request_headers,
        response_headers=attempt.response_headers,
        response_content=attempt.response_content,
    )


def _response_content(detail: Detail, attempts: list[Attempt]) -> str | None:
    """The delivery's latest answer: kept apart only where it is not the last attempt's own (an error, or a record
    written before attempts kept their answers)."""
    if "response_content" in detail.model_fields_set or not attempts:
        return detail.response_content
    return attempts[-1].response_content


def _attempt(stored: StoredAttempt) -> Attempt:
    return Attempt(
        at=_moment(stored.at),
        status_code=stored.status_code,
        error=stored.error,
        duration=stored.duration / 1e6,
        manual=stored.manual,
        request_headers=stored.request_headers,
        response_headers=stored.response_headers,
        response_content=stored.response_content,
    )


def _us(seconds: float) -> int:
    return round(seconds * 1e6)


def _moment_us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def _moment(microseconds: int) -> datetime:
    return EPOCH + microseconds * MICROSECOND
