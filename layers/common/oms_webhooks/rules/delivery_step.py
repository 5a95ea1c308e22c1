"""The one path every attempt takes, whoever makes it (dispatch, fan-out, retrier, manual retry):
ask the gates whether to attempt now, send and record, settle the delivery's state, then apply what the
answer means for the hook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.clock import now
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.rules.attempt import attempt_delivery
from oms_webhooks.rules.retry_policy import settle

GONE = 410  # the subscriber asks never to be sent anything again
GONE_REASON = "the subscriber answered 410 Gone"


@dataclass(frozen=True)
class Defer:
    """Not now: the delivery is queued until `until`, with the reason its owner reads in the delivery log.
    Parked: it waits in its record until its hook's circuit closes (no message on the queue meanwhile)."""

    until: datetime
    reason: str
    park: bool = False


class Gate(Protocol):
    """A check around each scheduled attempt: the circuit breaker, a hook's rate limit."""

    def admit(self, hook: HookTarget, delivery: Delivery) -> Defer | None:
        """None: attempt now. A deferral: do not attempt; it is not a failed attempt."""
        ...

    def settled(self, hook: HookTarget, delivery: Delivery, result: SendResult) -> None:
        """The attempt this gate admitted was made; `delivery` is already settled."""
        ...


@dataclass(frozen=True)
class Step:
    result: SendResult | None  # None when a gate deferred the delivery
    wait: float | None  # seconds until the next scheduled attempt (or the deferral's end); None: none, or parked
    deferral: Defer | None = None


def take_step(
    delivery: Delivery,
    hook: HookTarget,
    sender: Sender,
    hooks: HookStore,
    manual: bool = False,
    gates: Sequence[Gate] = (),
    body: bytes | None = None,
) -> Step:
    """A manual attempt leaves the schedule as it is (as in whisperer), unless it delivers; gates never defer it,
    since its owner asked for it now, but hear its outcome. `body`: the delivery's body, if made already."""
    if not manual:
        for gate in gates:
            deferral = gate.admit(hook, delivery)
            if deferral is not None:
                moment = now()
                delivery.defer(deferral.until, deferral.reason, moment, parked=deferral.park)
                wait = None if deferral.park else max(0.0, (deferral.until - moment).total_seconds())
                return Step(None, wait, deferral)
    result = attempt_delivery(delivery, hook, sender, manual=manual, body=body)
    wait = None if manual else settle(hook, delivery, result)
    if result.status_code == GONE:
        hooks.deactivate(hook, reason=GONE_REASON)
    for gate in gates:
        gate.settled(hook, delivery, result)
    return Step(result, wait)
