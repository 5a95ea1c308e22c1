"""The sequencer: each object's queue of ordered deliveries, one delivery at a time, in the order they were queued.

SQS hands out a message group's first message only, and nothing more of the group while it is in flight. Its
delivery is attempted as the retrier attempts a retry (the same claim, gates and record); then:
- it ended (delivered, failed after its last retry, its hook disabled or deleted, its record lost): the message is
  deleted and the group's next delivery follows at once;
- it must wait (retries left, a rate limit's slot, an open circuit's next probe): the message stays, hidden until
  then (at most 12 hours at a time: one that comes back early is hidden again), so the whole group waits. The group's
  head item (order_heads.py) names it, for the deliveries behind it and for a manual retry.
An open circuit holds the group like a retry does: ordered deliveries are never parked, since parking drops messages.
A delivery whose hook stopped ordering is handed to the retry queue, and the group goes on.

An invocation lasts as long as its slowest attempt, so each owner's deliveries are attempted in at most a few of the
sequencer's invocations at once (owner_places.py): beyond them, an owner's groups are shown again a few seconds later
without an attempt, and an owner whose receivers hang holds its own share, not every other owner's.

SQS keeps a message 14 days. A delivery whose next attempt would come after its message is gone cannot keep its place:
it ends failed with that reason (its own schedule fits in 7 days, so this takes a long wait behind earlier ones).
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from typing import Literal

from aws_lambda_powertools import Logger

from oms_webhooks.adapters.order_heads import OrderHeads
from oms_webhooks.adapters.ordered_queue import OrderedMessage, OrderedQueue
from oms_webhooks.adapters.owner_places import OwnerPlaces, place_name
from oms_webhooks.adapters.queues import RetryMessage, RetryQueue
from oms_webhooks.clock import epoch
from oms_webhooks.domain.deliveries import UNFINISHED, Delivery
from oms_webhooks.domain.errors import NotFound
from oms_webhooks.domain.ordering import ORDERED_QUEUE_RETENTION_SECONDS, order_key
from oms_webhooks.rules.circuit_breaker import GateReport
from oms_webhooks.rules.retrier import (
    FAULT_BACKOFF_SECONDS,
    HOLD_SECONDS,
    MAX_VISIBILITY_SECONDS,
    Outcome,
    Retrier,
    RetryBatch,
    RetryReport,
)

logger = Logger(child=True)

RETENTION_MARGIN_SECONDS = 3600  # a message is not kept waiting this close to the end of its retention
GROUPS_AT_ONCE = 10  # a batch's groups run side by side; each group's messages one after another
OWNER_BUSY_SECONDS = 2  # a group whose owner has all its places in other invocations comes back after this

Turn = Literal["done", "later", "skipped"]


@dataclass(frozen=True)
class InOrder:
    """One message of the ordered queue as the event source mapping handed it over."""

    message: OrderedMessage
    receipt_handle: str
    message_id: str
    group: str  # its MessageGroupId
    sent_at: float  # epoch seconds, SQS's SentTimestamp: the message is gone 14 days later


@dataclass
class SequencerRun:
    """What a batch came to: each message's turn, and the reports of the deliveries it changed (for the metrics)."""

    turns: dict[str, Turn] = field(default_factory=dict)  # by message id
    reports: list[RetryReport] = field(default_factory=list)
    circuits: GateReport = field(default_factory=GateReport)
    busy: int = 0  # objects' queues shown again unattempted: their owner had no place left
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, message_id: str, turn: Turn, report: RetryReport | None = None) -> None:
        with self._lock:
            self.turns[message_id] = turn
            if report is not None and report.delivery is not None:
                self.reports.append(report)


@dataclass
class Sequencer:
    retrier: Retrier  # attempts as the retrier does; its breaker never parks
    queue: OrderedQueue
    heads: OrderHeads
    retries: RetryQueue  # where a delivery goes when its hook stopped ordering
    window: float = 1.0  # seconds a fresh group's first message waits for the rest of its events (README)
    places: OwnerPlaces | None = None  # each owner's share of the sequencer's invocations; None: unbounded

    def run(self, batch: list[InOrder], time_left: Callable[[], float], budget: float) -> SequencerRun:
        """A batch: its groups at once, each group's messages in order until one must wait (the ones after it are
        shown again at once, to come after it). A message is only started with `budget` seconds left."""
        reads = self.retrier.prefetch_deliveries([m.message.uuid for m in batch])
        run = SequencerRun()
        groups: dict[str, list[InOrder]] = {}
        for message in batch:
            groups.setdefault(message.group, []).append(message)
        ready: list[list[InOrder]] = []
        for queued in groups.values():
            # A moment for the events of this object published just before to be queued too.
            settling = queued[0].sent_at + self.window - epoch()
            if self.window and settling > 0:
                self._hide_group(queued, math.ceil(settling), run, reads)
            else:
                ready.append(queued)

        def one_group(queued: list[InOrder]) -> None:
            in_order = sorted(queued, key=lambda m: order_key(m.message.published, m.message.received))
            for position, message in enumerate(in_order):
                if time_left() < budget:
                    turn: Turn = "skipped"
                    report = None
                else:
                    report = self.handle_safely(message, reads)
                    turn = "done" if report.outcome == "done" else "later"
                run.add(message.message_id, turn, report)
                if turn != "done":
                    for after in in_order[position + 1 :]:
                        run.add(after.message_id, "skipped")
                        reads.hide(after.receipt_handle, 0)
                    break
            # Powertools' FIFO processor reports every message after a group's first failure (in queue order) as
            # failed: one of them that ended comes back at once, to be dropped, rather than after the visibility.
            waiting = False
            for message in queued:
                waiting = waiting or run.turns[message.message_id] != "done"
                if waiting and run.turns[message.message_id] == "done":
                    reads.hide(message.receipt_handle, 0)

        with ThreadPoolExecutor(min(GROUPS_AT_ONCE, len(groups) or 1), thread_name_prefix="sequence") as pool:
            place = place_name(secrets.token_hex(8), epoch() + time_left())
            owners = list({queued[0].message.owner for queued in ready})
            took = pool.map(self._take_place, owners, repeat(place))
            placed = {owner for owner, taken in zip(owners, took, strict=True) if taken}
            try:
                busy = [queued for queued in ready if queued[0].message.owner not in placed]
                for queued in busy:
                    self._hide_group(queued, OWNER_BUSY_SECONDS, run, reads)
                if busy:
                    run.busy = len(busy)
                    owners_busy = sorted({queued[0].message.owner for queued in busy})
                    logger.info("Owners at their share of the sequencer: back shortly", extra={"owners": owners_busy})
                list(pool.map(one_group, [queued for queued in ready if queued[0].message.owner in placed]))
            finally:
                list(pool.map(self._give_back, placed, repeat(place)))
        run.circuits = self.retrier.settle_batch(reads)
        refused = self.queue.hide_many(reads.hides)
        if refused:
            logger.warning("Not hidden: back after the queue's visibility timeout", extra={"messages": len(refused)})
        return run

    def _take_place(self, owner: str, place: str) -> bool:
        """One of the owner's places across the sequencer's invocations; taken unchecked when none are kept, or when
        they cannot be read (fairness is worth less than the deliveries)."""
        if self.places is None:
            return True
        try:
            return self.places.take(owner, place)
        except Exception:
            logger.exception("Owner's places not checked: its deliveries go on", extra={"owner": owner})
            return True

    def _give_back(self, owner: str, place: str) -> None:
        if self.places is None:
            return
        try:
            self.places.give_back(owner, [place])
        except Exception:
            logger.exception("Owner's place not given back: it frees itself when this invocation ends")

    @staticmethod
    def _hide_group(queued: list[InOrder], seconds: int, run: SequencerRun, reads: RetryBatch) -> None:
        """The group's first message hides `seconds`, and the rest of the group with it (SQS hands out nothing of a
        group while one of its messages is in flight): they come back together, and go in the order of their
        events."""
        first, *rest = queued
        reads.hide(first.receipt_handle, seconds)
        run.add(first.message_id, "later")
        for message in rest:
            run.add(message.message_id, "skipped")
            reads.hide(message.receipt_handle, 0)

    def handle_safely(self, message: InOrder, batch: RetryBatch) -> RetryReport:
        """As `process`; a fault shows the message again in seconds, and its group waits for it meanwhile."""
        try:
            return self.process(message, batch)
        except Exception:
            logger.exception("Ordered delivery failed; it comes back shortly", extra={"uuid": message.message.uuid})
            batch.hide(message.receipt_handle, FAULT_BACKOFF_SECONDS)
            return RetryReport("later")

    def process(self, message: InOrder, batch: RetryBatch) -> RetryReport:
        """The first delivery of its object's queue: `done` lets the next one follow, `later` holds the queue."""
        uuid = message.message.uuid
        try:
            delivery = batch.take(uuid) or self.retrier.deliveries.get(uuid)
        except NotFound:
            logger.warning("Ordered delivery without a record: its object's queue goes on", extra={"uuid": uuid})
            return RetryReport("done")
        if delivery.status not in UNFINISHED:
            return RetryReport("done")  # ended meanwhile (a manual retry), or a copy of an ended one's message
        waited = delivery.status != "pending"  # it may have held its queue: its head item is removed when it ends
        hook = batch.hooks.get(delivery.webhook)
        due = delivery.next_attempt_at.timestamp() if delivery.next_attempt_at else 0.0
        if hook is not None and hook.owner == delivery.owner and hook.is_active and hook.ordering != "object":
            self.retries.schedule([RetryMessage(uuid=uuid, due=max(due, epoch()), owner=delivery.owner)])
            logger.info("Ordering turned off: handed to the retry queue", extra={"uuid": uuid, "hook_id": hook.id})
            return self._ended(message, delivery, RetryReport("done"), waited)
        if due - epoch() > HOLD_SECONDS:
            return RetryReport(self._hold(message, delivery, due, batch))

        def hold(delivery: Delivery, due: float) -> Outcome:
            return self._hold(message, delivery, due, batch)

        # One claimant per delivery: its object's queue hands out one of its messages at a time, and a message sent
        # again (a manual retry, a recovery) may take an attempt whose claim the delivery's first message left.
        report = self.retrier.attempt(delivery, due, f"ordered:{uuid}", hold, batch)
        return self._ended(message, delivery, report, waited)

    def _hold(self, message: InOrder, delivery: Delivery, due: float, batch: RetryBatch) -> Outcome:
        """Hides the message until `due`, so the object's queue waits; ends the delivery if SQS would drop the
        message before then."""
        if due > message.sent_at + ORDERED_QUEUE_RETENTION_SECONDS - RETENTION_MARGIN_SECONDS:
            report = self.retrier.end_unsent(
                delivery,
                f"its next attempt would come after the {ORDERED_QUEUE_RETENTION_SECONDS // 86400} days the ordered "
                "queue keeps a delivery (it waited behind earlier deliveries of its object)",
            )
            self._ended(message, delivery, report, True)
            return "done"
        batch.hide(message.receipt_handle, min(max(0.0, due - epoch()), MAX_VISIBILITY_SECONDS))
        self.heads.hold(message.group, delivery.uuid, message.receipt_handle)
        return "later"

    def _ended(self, message: InOrder, delivery: Delivery, report: RetryReport, waited: bool) -> RetryReport:
        if report.outcome == "done" and waited:
            self.heads.release(message.group, delivery.uuid)
        return report
