"""The one path every attempt takes, whoever makes it (dispatch, fan-out, retrier, manual retry):
ask the gates whether to attempt now, send and record, settle the delivery's state (delivered, retried on the
hook's countdown, or given up), then apply what the answer means for the hook."""

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
from oms_webhooks.domain.operational_events import delivery_exhausted, hook_disabled
from oms_webhooks.rules.attempt import attempt_delivery
from oms_webhooks.rules.operational_outbox import OperationalOutbox

GONE = 410  # the subscriber asks never to be sent anything again
GONE_REASON = "the subscriber answered 410 Gone"
MAX_RETRY_AFTER_SECONDS = 3600  # a subscriber may slow us down, but not park a delivery for days


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
    outbox: OperationalOutbox | None = None,
) -> Step:
    """A manual attempt leaves the schedule as it is (as in whisperer), unless it delivers; gates never defer it,
    since its owner asked for it now, but hear its outcome. `body`: the delivery's body, if made already. A 410 that
    turns the hook off is told to `outbox`."""
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
        disabled_at = hooks.deactivate(hook, reason=GONE_REASON)  # None: it was off already (another 410)
        if disabled_at is not None and outbox is not None:
            outbox.add(hook_disabled(hook, "gone", GONE_REASON, disabled_at, delivery))
    for gate in gates:
        gate.settled(hook, delivery, result)
    return Step(result, wait)


def settle(hook: HookTarget, delivery: Delivery, result: SendResult) -> float | None:
    """After a scheduled attempt: delivered, retrying (returns the wait) or failed for good."""
    if result.succeeded:
        delivery.mark_delivered()
        return None
    wait = next_wait(hook, delivery, result)
    if wait is None:
        delivery.fail()
    else:
        delivery.schedule(wait)
    return wait


def next_wait(hook: HookTarget, delivery: Delivery, result: SendResult) -> float | None:
    """Seconds until the next retry, or None when this delivery is finished trying.

    Goes by the scheduled retries already made (n in DESIGN.md's formulas), not by `retry_count`, which
    counts the first attempt and manual retries too, as whisperer's does.
    """
    retries_made = delivery.retries_made
    if result.status_code == GONE or retries_made >= hook.retry_countdown_config.max_retries:
        return None
    wait = hook.retry_countdown_config.wait(retries_made)
    if result.retry_after is not None:
        wait = max(wait, min(result.retry_after, MAX_RETRY_AFTER_SECONDS))
    return wait


def tell_if_given_up(outbox: OperationalOutbox, hook: HookTarget, delivery: Delivery) -> None:
    """Once the record of a scheduled attempt is saved: if it was the delivery's last (failed, no retry left; a 410
    ends a delivery too, but disables its hook, which is told instead), `whisperer.delivery.exhausted`."""
    last = delivery.attempts[-1] if delivery.attempts else None
    if delivery.status == "failed" and last is not None and not last.manual and last.status_code != GONE:
        outbox.add(delivery_exhausted(hook, delivery, hook.retry_countdown_config.max_retries))
