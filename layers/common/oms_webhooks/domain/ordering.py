"""Ordered delivery per object: what an event is about, which queue of deliveries it joins, and how long an ordered
delivery may take so that the ordered queue still holds it.

A hook with `ordering: "object"` receives the deliveries of one OMS object one at a time, in the order the dispatcher
queued them. The object is the event type's first segment and the payload's `id` (`package:73`). Its queue (an SQS
FIFO message group) is shared by the owner's ordered hooks on one target URL, so `package.status.packed` and
`package.status.shipped` of one package reach one receiver in order even though each has its own hook.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict

from oms_webhooks.domain.retry_countdown import RandomCountdown, RetryCountdownConfig

# SQS keeps a message 14 days at most. An ordered delivery's own retry schedule may take half of it; the other half
# is room for Retry-After stretches, an open circuit's probes and the time it waits behind earlier deliveries.
ORDERED_QUEUE_RETENTION_SECONDS = 14 * 86400
MAX_ORDERED_SCHEDULE_SECONDS = 7 * 86400
MAX_SHOWN_OBJECT = 200  # characters of an object's key kept for the log; the group is derived from the whole key

NO_ID = "not ordered: the payload has no usable `id`, so its object is unknown; sent as an unordered hook's delivery"


class Ordering(BaseModel):
    """What a delivery of an ordered hook records of its place: its object and the group it is queued in, or why it
    is not ordered (`note`)."""

    model_config = ConfigDict(frozen=True)

    object: str | None = None  # `package:73`
    group: str | None = None  # the SQS message group: the owner, the target URL and the object, hashed
    note: str | None = None
    published: float | None = None  # the event's `time` on EventBridge (whole seconds) ...
    received: float | None = None  # ... and when the dispatcher received it: together, its place (`order_key`)

    def public(self) -> dict[str, Any]:
        return {"object": self.object, "note": self.note}


def order_key(published: float | None, received: float | None) -> tuple[float, float]:
    """What "earlier-published" means: EventBridge's `time` first (whole seconds), then the moment the dispatcher
    received the event (README, "Ordered delivery")."""
    arrival = received if received is not None else 0.0
    return (published if published is not None else arrival, arrival)


def object_key(event_type: str, object_id: str | None) -> str | None:
    """`package:73` for `package.status.packed` with `{"id": 73}`; None without an id."""
    if object_id is None or object_id == "":
        return None
    return f"{event_type.split('.', 1)[0]}:{object_id}"


def order_group(owner: str, target_url: str, key: str) -> str:
    """One object's queue at one receiver. Hashed: a MessageGroupId is at most 128 characters, and an owner's name, a
    URL and a payload's id together may be longer. 160 bits: no two queues share one."""
    return hashlib.sha256("\n".join((owner, target_url, key)).encode()).hexdigest()[:40]


def placed(event_type: str, object_id: str | None, owner: str, target_url: str) -> Ordering:
    """Where an ordered hook's delivery goes: its object's group, or nowhere, with the reason."""
    key = object_key(event_type, object_id)
    if key is None:
        return Ordering(note=NO_ID)
    return Ordering(object=key[:MAX_SHOWN_OBJECT], group=order_group(owner, target_url, key))


def schedule_seconds(countdown: RetryCountdownConfig) -> float:
    """The longest a retry schedule waits in all, from the first attempt to the last (a random wait at its
    longest)."""
    if isinstance(countdown, RandomCountdown):
        return float(countdown.kwargs.max_value) * countdown.max_retries
    return float(sum(countdown.wait(n) for n in range(countdown.max_retries)))


def schedule_refusal(countdown: RetryCountdownConfig) -> str | None:
    """Why an ordered hook cannot have this retry schedule, or None when it fits."""
    seconds = schedule_seconds(countdown)
    if seconds <= MAX_ORDERED_SCHEDULE_SECONDS:
        return None
    return (
        f'With "ordering": "object" the whole retry schedule must fit in {MAX_ORDERED_SCHEDULE_SECONDS // 86400} days '
        f"(the ordered queue keeps a delivery {ORDERED_QUEUE_RETENTION_SECONDS // 86400} days); this one waits up to "
        f"{seconds / 86400:.1f} days."
    )
