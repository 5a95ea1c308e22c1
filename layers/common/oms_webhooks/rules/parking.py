"""Deliveries held back by an open circuit wait in their records (parked), not on the retry queue.

While a hook's circuit is open, one probe message per hook comes back at each probe time and attempts the oldest
parked delivery; when the circuit closes (a probe or any other attempt succeeds, the hook is changed or disabled),
release messages put the parked deliveries back on the queue, a page per message. So a dead endpoint's backlog
costs one message per probe interval, not one receive, read and write per delivery per interval.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from oms_webhooks.adapters.circuit_store import CircuitStore
from oms_webhooks.adapters.delivery_index import DeliveryIndex
from oms_webhooks.adapters.queues import ProbeMessage, ReleaseMessage, RetryMessage, RetryQueue
from oms_webhooks.clock import epoch
from oms_webhooks.domain.hooks import HookTarget

RELEASE_PAGE = 250  # deliveries one release message puts back (25 SendMessageBatch calls)


def new_token() -> int:
    return secrets.randbits(53)


@dataclass
class Parking:
    index: DeliveryIndex
    queue: RetryQueue
    health: CircuitStore

    def probe(self, hooks: Iterable[tuple[HookTarget, int, float]]) -> None:
        """The probe messages of circuits just opened: (hook, its token, first probe time)."""
        messages = [
            ProbeMessage(hook=hook.id, owner=hook.owner, event_type=hook.event_type, token=token, due=due)
            for hook, token, due in hooks
        ]
        if messages:
            self.queue.schedule(messages)

    def ensure_probe(self, hook: HookTarget, due: float) -> None:
        """A circuit open without a probe message (opened before parking, or its message was lost): one caller
        claims the token and sends it."""
        token = new_token()
        if self.health.claim_probe_message(hook.event_type, hook.id, token):
            self.probe([(hook, token, due)])

    def release(self, hooks: Iterable[HookTarget]) -> None:
        """One message per hook; each puts a page back on the queue and releases the rest after it."""
        messages = [ReleaseMessage(hook=hook.id, owner=hook.owner) for hook in hooks]
        if messages:
            self.queue.schedule(messages)

    def release_page(self, message: ReleaseMessage) -> int:
        """Sends the page's deliveries as retries due now (the retrier attempts a parked delivery at once, and the
        circuit decides again); returns how many."""
        uuids, after = self.index.parked(message.hook, message.after, RELEASE_PAGE)
        now = epoch()
        follow: list[RetryMessage | ReleaseMessage] = [
            RetryMessage(uuid=u, due=now, owner=message.owner) for u in uuids
        ]
        if after is not None:
            follow.append(ReleaseMessage(hook=message.hook, owner=message.owner, after=after))
        if follow:
            self.queue.schedule(follow)
        return len(uuids)

    def oldest(self, hook_id: int) -> str | None:
        uuids, _ = self.index.parked(hook_id, None, 1)
        return uuids[0] if uuids else None
