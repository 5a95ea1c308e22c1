"""When a failed delivery is tried again, or given up: the hook's countdown, Retry-After, 410 Gone."""

from __future__ import annotations

from oms_webhooks.adapters.sender import SendResult
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget

MAX_RETRY_AFTER_SECONDS = 3600  # a subscriber may slow us down, but not park a delivery for days


def next_wait(hook: HookTarget, delivery: Delivery, result: SendResult) -> float | None:
    """Seconds until the next retry, or None when this delivery is finished trying.

    Goes by the scheduled retries already made (n in DESIGN.md's formulas), not by `retry_count`, which
    counts the first attempt and manual retries too, as whisperer's does.
    """
    retries_made = delivery.retries_made
    if result.status_code == 410 or retries_made >= hook.retry_countdown_config.max_retries:
        return None
    wait = hook.retry_countdown_config.wait(retries_made)
    if result.retry_after is not None:
        wait = max(wait, min(result.retry_after, MAX_RETRY_AFTER_SECONDS))
    return wait


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
