"""The one path every attempt takes, whoever makes it (dispatch, fan-out, retrier, manual retry):
send and record, settle the delivery's state, then apply what the answer means for the hook."""

from __future__ import annotations

from dataclasses import dataclass

from oms_webhooks.attempt import attempt_delivery
from oms_webhooks.deliveries import Delivery
from oms_webhooks.hook_store import HookStore
from oms_webhooks.hooks import HookTarget
from oms_webhooks.retry_policy import settle
from oms_webhooks.sender import Sender, SendResult

GONE = 410  # the subscriber asks never to be sent anything again


@dataclass(frozen=True)
class Step:
    result: SendResult
    wait: float | None  # seconds until the next scheduled attempt; None when there is none


def take_step(delivery: Delivery, hook: HookTarget, sender: Sender, hooks: HookStore, manual: bool = False) -> Step:
    """A manual attempt leaves the schedule as it is (as in whisperer), unless it delivers."""
    result = attempt_delivery(delivery, hook, sender, manual=manual)
    wait = None if manual else settle(hook, delivery, result)
    if result.status_code == GONE:
        hooks.deactivate(hook)
    return Step(result, wait)
