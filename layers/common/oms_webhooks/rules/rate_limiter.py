"""The rate limit as a gate before each scheduled attempt: attempt in the hook's slot, or defer until it.

A slot at most `hold` seconds away is waited for here, which is cheaper than a trip through the retry queue; a
later one defers the delivery (not a failed attempt). Hooks without a rate limit pass without a call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from oms_webhooks.adapters.rate_limit_store import RateLimitStore
from oms_webhooks.adapters.sender import SendResult
from oms_webhooks.clock import clock, epoch
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.domain.rate_limit import deferral_reason, held_slot, interval, moment, still_usable
from oms_webhooks.rules.delivery_step import Defer

# The dispatcher waits only briefly: its workers serve every other hook of the event meanwhile. The retrier
# holds a delivery up to a second anyway (SQS delays are whole seconds: messages come back up to one early).
DISPATCH_HOLD_SECONDS = 0.2
RETRY_HOLD_SECONDS = 1.0


def _sleep(seconds: float) -> None:
    time.sleep(clock().real_seconds(seconds))  # a simulated clock's waits take no real time


@dataclass
class RateLimiter:
    buckets: RateLimitStore
    hold: float = DISPATCH_HOLD_SECONDS
    clock: Callable[[], float] = epoch  # the service's clock (clock.py), as schedules go by
    sleep: Callable[[float], None] = _sleep

    def admit(self, hook: HookTarget, delivery: Delivery) -> Defer | None:
        rate = hook.rate_limit
        if rate is None:
            return None
        slot = held_slot(delivery)
        if slot is None or not still_usable(slot, rate, self.clock()):
            slot = self.buckets.take(hook.id, interval(rate), self.clock())
        wait = slot - self.clock()
        if wait > self.hold:
            return Defer(moment(slot), deferral_reason(rate))
        if wait > 0:
            self.sleep(wait)
        return None

    def settled(self, hook: HookTarget, delivery: Delivery, result: SendResult) -> None:
        """Nothing to learn from the answer: the slot was spent whatever it was."""
