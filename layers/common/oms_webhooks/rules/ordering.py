"""Ordered hooks' deliveries go into their object's queue instead of being attempted where they arise.

The dispatcher records them and queues them in one step (a record first, so that a run that dies in between leaves
something its re-run queues again); a manual retry or a recovery of an ended one queues it again behind whatever
waits in its object's queue. The sequencer (sequencer.py) attempts each queue's first delivery, and the next one
when it ends. A payload without an `id` has no object: its delivery is sent as an unordered hook's, with a note.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from oms_webhooks.adapters.delivery_index import DeliveryIndex
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.dynamodb_batches import BATCH_WRITE_SIZE
from oms_webhooks.adapters.order_heads import Head, OrderHeads
from oms_webhooks.adapters.ordered_queue import OrderedMessage, OrderedQueue, Queued
from oms_webhooks.clock import epoch, iso, now
from oms_webhooks.domain.deliveries import UNFINISHED, Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.domain.ordering import Ordering, placed

Pending = tuple[HookTarget, Delivery]
ENDED = ("failed",)  # what a manual retry or a recovery queues again (a delivered one is not sent again)


def ordering_of(hook: HookTarget, delivery: Delivery) -> Ordering | None:
    """The delivery's place if its hook is ordered: its record's, else from its payload. None for unordered hooks."""
    if hook.ordering != "object":
        return None
    return delivery.ordering or placed(delivery.event_type, delivery.object_id, delivery.owner, delivery.target_url)


@dataclass
class OrderedDeliveries:
    deliveries: DeliveryStore
    index: DeliveryIndex
    queue: OrderedQueue
    heads: OrderHeads

    # --- the dispatcher's ----------------------------------------------------------------------------------------

    def divert(
        self, pending: Iterable[Pending], event: OmsEvent, queue: Callable[[list[Delivery]], None]
    ) -> Iterator[Pending]:
        """The deliveries to attempt now; an ordered hook's go to `queue` instead, a record batch at a time."""
        held: list[Delivery] = []
        for hook, delivery in pending:
            delivery.ordering = _stamped(ordering_of(hook, delivery), event)
            if delivery.ordering is None or delivery.ordering.group is None:
                yield hook, delivery
                continue
            held.append(delivery)
            if len(held) == BATCH_WRITE_SIZE:
                queue(held)
                held = []
        if held:
            queue(held)

    def queue_new(self, deliveries: Sequence[Delivery]) -> None:
        """Recorded, then queued under their uuid: a copy sent again within five minutes is dropped by SQS."""
        self.deliveries.save_many(deliveries)
        self.queue.enqueue([_queued(d, d.uuid) for d in deliveries])

    def queue_again(self, pending: Iterable[Pending], event: OmsEvent) -> None:
        """A re-run of an event (its dispatch died, or EventBridge sent it twice): its recorded ordered deliveries
        are queued again, in case the run died between recording and queueing them. A copy SQS keeps (sent more than
        five minutes after the first) comes up behind the first, which has ended its delivery by then: the sequencer
        drops it."""
        again = []
        for hook, delivery in pending:
            ordering = _stamped(ordering_of(hook, delivery), event)
            if ordering is not None and ordering.group is not None:
                again.append(_queued(delivery.model_copy(update={"ordering": ordering}), delivery.uuid))
        if again:
            self.queue.enqueue(again)

    # --- manual retries and recoveries ---------------------------------------------------------------------------

    def head(self, delivery: Delivery) -> Head | None:
        """What the delivery's object's queue waits for now (None: nothing, or not an ordered delivery)."""
        group = delivery.ordering.group if delivery.ordering else None
        return self.heads.waiting([group]).get(group) if group else None

    def waits_for(self, shown: Sequence[Delivery]) -> dict[str, str]:
        """uuid -> the earlier delivery it is held behind, for the unfinished ordered deliveries among `shown`."""
        groups = {d.uuid: d.ordering.group for d in shown if d.ordering and d.ordering.group and d.status in UNFINISHED}
        heads = self.heads.waiting(groups.values())
        held: dict[str, str] = {}
        for delivery_uuid, group in groups.items():
            head = heads.get(group)
            if head is not None and head.uuid != delivery_uuid:
                held[delivery_uuid] = head.uuid
        return held

    def let_go(self, head: Head) -> None:
        """The head ended by hand: its message shows again now, and the sequencer drops it and goes on."""
        self.queue.release(head.receipt_handle)

    def queue_ended(self, deliveries: Sequence[tuple[Delivery, Ordering]]) -> int:
        """Ended deliveries queued again, each behind what waits in its object's queue, in the order given: each is
        marked (one more attempt, due now) once, then sent; one whose message cannot be sent has its mark undone.
        Returns how many were queued."""
        marker = f"{iso(now())}#{uuid.uuid4().hex[:8]}"
        marked: list[tuple[Delivery, Ordering, dict[str, object]]] = []
        for delivery, ordering in deliveries:
            old = self.index.mark_for_recovery(delivery.uuid, ENDED, marker, now())
            if old is not None:
                marked.append((delivery, ordering, old))
        # Queued now: it takes its place behind what is queued, by the time it is queued again, not by its event's.
        again = {"published": None, "received": epoch()}
        queued = [
            _queued(d.model_copy(update={"ordering": o.model_copy(update=again)}), f"{d.uuid}#{marker}"[:128])
            for d, o, _ in marked
        ]
        try:
            self.queue.enqueue(queued)
        except Exception:
            for delivery, _, old in marked:
                self.index.unmark(delivery.uuid, old, marker)
            raise
        return len(marked)

    def hurry(self, deliveries: Sequence[Delivery], statuses: tuple[str, ...]) -> int:
        """Unfinished ordered deliveries made due now, where they wait (a recovery that includes retrying ones): the
        one its object's queue waits for shows again at once; the others come when their turn does."""
        marker = f"{iso(now())}#{uuid.uuid4().hex[:8]}"
        heads = self.heads.waiting(d.ordering.group for d in deliveries if d.ordering and d.ordering.group)
        hurried = 0
        for delivery in deliveries:
            if self.index.mark_for_recovery(delivery.uuid, statuses, marker, now()) is None:
                continue
            hurried += 1
            head = heads.get(delivery.ordering.group) if delivery.ordering and delivery.ordering.group else None
            if head is not None and head.uuid == delivery.uuid:
                self.let_go(head)
        return hurried


def _stamped(ordering: Ordering | None, event: OmsEvent) -> Ordering | None:
    """The place of an ordered delivery of `event`, with the event's time of publication and of arrival."""
    if ordering is None or ordering.group is None:
        return ordering
    return ordering.model_copy(update={"published": event.published, "received": event.received})


def _queued(delivery: Delivery, deduplication: str) -> Queued:
    ordering = delivery.ordering
    assert ordering is not None and ordering.group is not None
    message = OrderedMessage(
        uuid=delivery.uuid, owner=delivery.owner, published=ordering.published, received=ordering.received
    )
    return Queued(message=message, group=ordering.group, deduplication=deduplication)
