"""The test event: one `webhook.test` delivery to a hook, now, through the normal signed path; recorded, never
retried.

`webhook.test` by default rather than the hook's own type with a made-up object: a receiver that acts on
`package.created` could book a package that does not exist, whereas an unknown type is one it should acknowledge and
ignore. The payload still carries the catalog's example of the hook's type, so the integrator sees what will come.
An integrator testing their own parsing may choose a catalog type and a payload of their own instead (the console
offers the catalog's examples); the delivery is still a test: recorded as one, never retried or recovered.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.clock import now
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.event_catalog import TEST_EVENT_TYPE, canonical_event_type, example_payload
from oms_webhooks.rules.attempt import attempt_delivery

TEST_MESSAGE = "A test event from OMS Webhooks. Answer with a 2xx; nothing else is expected of it."
MAX_TEST_PAYLOAD_BYTES = 32 * 1024  # a test record keeps its payload inline: well below an item's 400 KB


class TrialRequest(BaseModel):
    """`POST .../test/`: an empty object (or no body) sends `webhook.test`; or a catalog type and a payload."""

    model_config = ConfigDict(strict=True, extra="forbid")

    event_type: Annotated[
        str | None,
        Field(
            description="`webhook.test` (the default) or a type of the catalog (dashed form too): the receiver gets "
            "it as that type, so it may act on it as on a real event."
        ),
    ] = None
    payload: Annotated[
        Any,
        Field(
            description="The payload to send, any JSON up to 32 KB (null or absent: the test message with the "
            "catalog's example of the hook's type). `GET /whisperer/event_types/` has each type's example."
        ),
    ] = None

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is None or value == TEST_EVENT_TYPE:
            return value
        canonical = canonical_event_type(value)
        if canonical is None:
            raise ValueError(f'"{value}" is not a valid choice.')
        return canonical

    @field_validator("payload")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_TEST_PAYLOAD_BYTES:
            raise ValueError(f"Ensure the payload has at most {MAX_TEST_PAYLOAD_BYTES} bytes as JSON.")
        return value


def trial_payload(hook_id: int, event_type: str) -> dict[str, Any]:
    return {"hook_id": hook_id, "message": TEST_MESSAGE, "example": example_payload(event_type)}


class Trial:
    def __init__(self, hooks: HookStore, deliveries: DeliveryStore, sender: Sender, retention_days: int) -> None:
        self.hooks = hooks
        self.deliveries = deliveries
        self.sender = sender
        self.retention_days = retention_days

    def send(self, owner: str, hook_id: int, request: TrialRequest | None = None) -> tuple[Delivery, SendResult]:
        """One attempt now, to an active or inactive hook alike (testing before switching one back on is the point);
        it never changes the hook (a 410 here does not deactivate it)."""
        chosen = request or TrialRequest()
        hook = self.hooks.get(owner, hook_id)
        moment = now()
        delivery_uuid = uuid.uuid4().hex
        delivery = Delivery(
            uuid=delivery_uuid,
            owner=owner,
            webhook=hook.id,
            event_id=f"test:{delivery_uuid}",
            event_type=chosen.event_type or TEST_EVENT_TYPE,
            request_payload=chosen.payload if chosen.payload is not None else trial_payload(hook.id, hook.event_type),
            target_url=hook.target_url,
            created_date=moment,
            modified_date=moment,
            expires_at=int(time.time()) + self.retention_days * 86400,
            test=True,
        )
        result = attempt_delivery(delivery, hook, self.sender, manual=True)  # a 2xx marks it delivered
        if not delivery.delivered:
            delivery.fail()  # a test is never retried
        self.deliveries.save(delivery)
        return delivery, result


def outcome(delivery: Delivery, result: SendResult) -> str:
    """The answer's `detail`, one sentence."""
    took = f"{result.duration:.3f} s"
    if delivery.delivered:
        return f"Delivered: HTTP {result.status_code} in {took}."
    reason = delivery.attempts[-1].error or (f"HTTP {result.status_code}" if result.status_code else "no answer")
    return f"Not delivered: {reason} (after {took})."
