"""A delivery's item in the deliveries table, through the codec (items.py): one model of what is stored.

A delivery of a dispatched event names the event's claim (event_claims.py), which holds the payload once for all the
event's hooks; such a record has no `request_payload`, and `payload_claim` only when the claim is not the event's
own (a fan-out batch's). A test delivery, and a record of the previous release, hold their payload.

Beside the delivery's own fields the item holds the keys its indexes read: `created_sk` (`<created iso>#<uuid>`, the
sort key of `ByOwnerLog` and `ByHook`), `id` (whisperer's integer, with `owner` the key of `ByOwnerId`), `attempt_log`
(a line per attempt, what `ByHook` projects for stats) and `parked` (the hook's id while an open circuit holds the
delivery: the sparse `Parked` index).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from oms_webhooks.adapters.items import from_item, to_item
from oms_webhooks.clock import iso
from oms_webhooks.domain.attempt_log import attempt_log
from oms_webhooks.domain.deliveries import Attempt, Deferral, Delivery, Status

PARKED_KEY = "parked"  # the hook id, on a delivery parked by its hook's open circuit only


class DeliveryRecord(BaseModel):
    """The stored shape: attribute names and types as the codec writes them."""

    uuid: str
    owner: str
    created_sk: str
    id: int
    webhook: int
    event_id: str
    event_type: str
    target_url: str
    request_payload: Any = None  # absent: in the event's claim
    payload_claim: str | None = None  # that claim, when it is not the event's own
    status: Status
    delivered: bool
    retry_count: int
    attempts: list[Attempt]
    attempt_log: str
    created_date: datetime
    modified_date: datetime
    expires_at: int
    response_http_status: int | None = None
    response_content: str | None = None
    response_time: float | None = None
    next_attempt_at: datetime | None = None
    deferrals: list[Deferral] | None = None  # written only once there are some
    deferral_count: int | None = None
    test: Literal[True] | None = None  # written only on a test delivery: recovery reads its absence
    object_id: str | None = None
    parked: str | None = None
    version: int = 0  # absent on records written before versions: 0


def created_sk(delivery: Delivery) -> str:
    return f"{iso(delivery.created_date)}#{delivery.uuid}"


def delivery_item(delivery: Delivery, version: int | None = None) -> dict[str, Any]:
    """The item of `delivery`, at `version` (default: its own)."""
    record = DeliveryRecord(
        uuid=delivery.uuid,
        owner=delivery.owner,
        created_sk=created_sk(delivery),
        id=delivery.id,
        webhook=delivery.webhook,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        target_url=delivery.target_url,
        request_payload=delivery.request_payload if delivery.payload_claim is None else None,
        payload_claim=delivery.payload_claim if delivery.payload_claim not in (None, delivery.event_id) else None,
        status=delivery.status,
        delivered=delivery.delivered,
        retry_count=delivery.retry_count,
        attempts=delivery.attempts,
        attempt_log=attempt_log(delivery.attempts),
        created_date=delivery.created_date,
        modified_date=delivery.modified_date,
        expires_at=delivery.expires_at,
        response_http_status=delivery.response_http_status,
        response_content=delivery.response_content,
        response_time=delivery.response_time,
        next_attempt_at=delivery.next_attempt_at,
        deferrals=delivery.deferrals if delivery.deferral_count else None,
        deferral_count=delivery.deferral_count or None,
        test=True if delivery.test else None,
        object_id=delivery.object_id,
        parked=str(delivery.webhook) if delivery.parked and delivery.status == "deferred" else None,
        version=delivery.version if version is None else version,
    )
    return to_item(record)


def delivery_from_item(item: dict[str, Any]) -> Delivery:
    """The delivery an item holds; one whose payload is in its event's claim has `request_payload` None until the
    store reads the claim (`payload_claim` names it)."""
    record = from_item(DeliveryRecord, item)
    shared = "request_payload" not in item
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
        payload_claim=(record.payload_claim or record.event_id) if shared else None,
    )
