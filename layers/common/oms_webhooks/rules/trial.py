"""The test event: one `webhook.test` delivery to a hook, now, through the normal signed path; recorded, never
retried.

`webhook.test` rather than the hook's own type with a made-up object: a receiver that acts on `package.created`
could book a package that does not exist, whereas an unknown type is one it should acknowledge and ignore. The
payload still carries the catalog's example of the hook's type, so the integrator sees what will come.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.clock import now
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.event_catalog import TEST_EVENT_TYPE, example_payload
from oms_webhooks.rules.attempt import attempt_delivery

TEST_MESSAGE = "A test event from OMS Webhooks. Answer with a 2xx; nothing else is expected of it."


class TrialRequest(BaseModel):
    """`POST .../test/`: no options yet; an empty object (or no body)."""

    model_config = ConfigDict(strict=True, extra="forbid")


def trial_payload(hook_id: int, event_type: str) -> dict[str, Any]:
    return {"hook_id": hook_id, "message": TEST_MESSAGE, "example": example_payload(event_type)}


class Trial:
    def __init__(self, hooks: HookStore, deliveries: DeliveryStore, sender: Sender, retention_days: int) -> None:
        self.hooks = hooks
        self.deliveries = deliveries
        self.sender = sender
        self.retention_days = retention_days

    def send(self, owner: str, hook_id: int) -> tuple[Delivery, SendResult]:
        """One attempt now, to an active or inactive hook alike (testing before switching one back on is the point);
        it never changes the hook (a 410 here does not deactivate it)."""
        hook = self.hooks.get(owner, hook_id)
        moment = now()
        delivery_uuid = uuid.uuid4().hex
        delivery = Delivery(
            uuid=delivery_uuid,
            owner=owner,
            webhook=hook.id,
            event_id=f"test:{delivery_uuid}",
            event_type=TEST_EVENT_TYPE,
            request_payload=trial_payload(hook.id, hook.event_type),
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
