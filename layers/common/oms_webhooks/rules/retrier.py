"""The retrier's rules: a retry message comes back when due, is attempted once, then hidden for the next wait.

The delivery record is the truth (status, retry_count, next_attempt_at); a message only names the delivery.
A message is hidden with ChangeMessageVisibility while its wait fits in SQS's 12-hour visibility limit and
its receive count stays clear of the queue's maxReceiveCount; otherwise it is sent anew and this one dropped.
A delivery its hook's open circuit holds back is parked (parking.py): its message is dropped, and the circuit's
probe and release messages, handled here too, bring it back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.event_bus import EventBus
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import ProbeMessage, ReleaseMessage, RetryMessage, RetryQueue
from oms_webhooks.adapters.sender import RESPONSE_CONTENT_LIMIT, Sender
from oms_webhooks.clock import clock, epoch, iso, now
from oms_webhooks.domain.deliveries import UNFINISHED, Attempt, Delivery
from oms_webhooks.domain.errors import NotFound, problems
from oms_webhooks.domain.hooks import Hook
from oms_webhooks.rules.attempt import NOT_SENT
from oms_webhooks.rules.circuit_breaker import Breaker, CircuitGate, GateReport
from oms_webhooks.rules.delivery_step import take_step, tell_if_given_up
from oms_webhooks.rules.operational_outbox import OperationalOutbox, Published
from oms_webhooks.rules.rate_limiter import RateLimiter

logger = Logger(child=True)

MAX_VISIBILITY_SECONDS = 12 * 3600 - 300  # SQS allows 12 h; keep a margin for the time already spent
# A message this close to its due time is held here until then: SQS counts delays in whole seconds, so messages
# come back up to one early (queues.py), and a delivery holding a rate-limit slot must start in it.
HOLD_SECONDS = 1.0
FAULT_BACKOFF_SECONDS = 5  # how soon a message whose processing failed is seen again

Outcome = Literal["done", "later"]
QueueMessage = RetryMessage | ProbeMessage | ReleaseMessage


@dataclass(frozen=True)
class RetryReport:
    """What one retry message came to: its outcome on the queue, and the delivery when this message changed it."""

    outcome: Outcome
    delivery: Delivery | None = None  # as the attempt (or the decision not to send) left it
    sent: bool = False  # an HTTP attempt was made; its duration is the delivery's last attempt's
    circuits: GateReport = field(default_factory=GateReport)  # circuits this attempt opened, hooks it disabled


@dataclass(frozen=True)
class Received:
    """One message as the event source mapping handed it over."""

    message: QueueMessage
    receipt_handle: str
    receive_count: int = 1
    message_id: str = ""  # SQS's, the same on every receive of one message

    @property
    def kind(self) -> str:
        return self.message.kind

    @property
    def claimant(self) -> str:
        """Who claims an attempt: this message (a run of it that crashed may claim again), never a copy of it."""
        return self.message_id or self.receipt_handle


class RetryBatch:
    """One batch of retry messages, handled together: its deliveries and their hooks read in a call each, each event
    type's circuits read once and their streaks written once, and the visibility changes sent together at the end.
    So a retry costs its claim and its record's write, and a share of six calls a batch. Its operational events go on
    the bus together when it ends (`Retrier.finish`)."""

    def __init__(self, deliveries: dict[str, Delivery] | None = None, hooks: dict[int, Hook] | None = None) -> None:
        self.deliveries = deliveries or {}  # each taken once: a second message for one delivery reads it afresh
        self.hooks = hooks or {}
        self.gates: dict[str, CircuitGate] = {}
        self.hides: list[tuple[str, float]] = []
        self.outbox = OperationalOutbox()
        self.published = Published()  # what `finish` put on the bus, for the metrics
        self._lock = threading.Lock()

    def take(self, uuid: str) -> Delivery | None:
        with self._lock:
            return self.deliveries.pop(uuid, None)

    def gate(self, event_type: str, read: Callable[[], CircuitGate]) -> CircuitGate:
        with self._lock:
            if event_type not in self.gates:
                self.gates[event_type] = read()
            return self.gates[event_type]

    def hide(self, receipt_handle: str, seconds: float) -> None:
        with self._lock:
            self.hides.append((receipt_handle, seconds))


@dataclass
class Retrier:
    hooks: HookStore
    deliveries: DeliveryStore
    sender: Sender
    queue: RetryQueue
    resend_after_receives: int = 15  # below the queue's maxReceiveCount, which is left for crashes
    breaker: Breaker | None = None
    rate_limits: RateLimiter | None = None
    bus: EventBus | None = None  # where operational events go; without it they are only logged

    def handle_safely(self, received: Received, batch: RetryBatch | None = None) -> RetryReport:
        """As `process`, but a fault brings the message back in seconds rather than after the queue's visibility."""
        try:
            return self.process(received, batch)
        except Exception:
            logger.exception("Retry failed; the message comes back shortly", extra={"retry_message": received.kind})
            try:
                self.queue.hide(received.receipt_handle, FAULT_BACKOFF_SECONDS)
            except Exception:
                logger.exception("Could not shorten the message's visibility either")
            raise

    def process(self, received: Received, batch: RetryBatch | None = None) -> RetryReport:
        """Outcome `done`: delete the message; `later`: it is hidden (or replaced) until the next attempt is due.
        With the delivery this message changed, if any (what the metrics count). With a batch, the message is
        hidden when the batch ends, with the others, in one call."""
        message = received.message
        if isinstance(message, ProbeMessage):
            return self._probe(message, received, batch)
        if isinstance(message, ReleaseMessage):
            if self.breaker and self.breaker.parking:
                self.breaker.parking.release_page(message)
            return RetryReport("done")
        try:
            delivery = (batch and batch.take(message.uuid)) or self.deliveries.get(message.uuid)
        except NotFound:
            logger.warning("No record for this retry (expired or never written)", extra={"uuid": message.uuid})
            return RetryReport("done")
        if delivery.status not in UNFINISHED:
            return RetryReport("done")  # delivered or failed meanwhile (a manual retry, a duplicate message)
        # A parked delivery's message is its release (or its probe): due now, whatever its record said.
        due = delivery.next_attempt_at.timestamp() if delivery.next_attempt_at and not delivery.parked else 0.0
        if due - epoch() > HOLD_SECONDS:
            return RetryReport(self._wait(_again(delivery), due, received, batch))

        def wait(delivery: Delivery, due: float) -> Outcome:
            return self._wait(_again(delivery), due, received, batch)

        return self.attempt(delivery, due, received.claimant, wait, batch)

    def attempt(
        self,
        delivery: Delivery,
        due: float,
        claimant: str,
        wait: Callable[[Delivery, float], Outcome],
        batch: RetryBatch | None = None,
    ) -> RetryReport:
        """One scheduled attempt; `wait` carries the delivery to its next one (the sequencer's holds its object's
        queue)."""
        if not self.deliveries.claim_attempt(delivery, claimant):
            return RetryReport("done")  # another copy of this message took this attempt
        try:
            hook: Hook | None = _batched_hook(batch, delivery) or self.hooks.get(delivery.owner, delivery.webhook)
        except NotFound:
            hook = None
        except ValidationError as unreadable:  # stored before a rule it breaks: this delivery's end, not a crash
            return self.end_unsent(delivery, f"the hook's stored settings are no longer valid ({problems(unreadable)})")
        if hook is None or not hook.is_active:
            return self.end_unsent(delivery, _why_not_active(hook))
        time.sleep(clock().real_seconds(max(0.0, due - epoch())))  # never before its time; the reads above are done
        outbox = batch.outbox if batch else OperationalOutbox()
        gate = self._gate(hook, batch, outbox)
        gates = tuple(g for g in (gate, self.rate_limits) if g is not None)  # the circuit first: see dispatch.py
        seen = len(delivery.attempts), delivery.deferral_count
        step = take_step(delivery, hook, self.sender, self.hooks, gates=gates, outbox=outbox)
        mine = delivery
        delivery = self.deliveries.save(delivery, replay=lambda fresh: mine.replayed_onto(fresh, *seen))
        if step.result is not None:
            tell_if_given_up(outbox, hook, delivery)
        circuits = gate.flush() if gate and not batch else GateReport()  # a batch's gates flush when it ends
        if not batch:
            outbox.publish(self.bus)
        logger.info(
            "Retry deferred" if step.deferral else "Retry attempted",
            extra={
                "uuid": delivery.uuid,
                "hook_id": hook.id,
                "retry_count": delivery.retry_count,
                "status": delivery.status,
                "parked": delivery.parked,
                "response_http_status": step.result.status_code if step.result else None,
                "next_attempt_at": iso(delivery.next_attempt_at) if delivery.next_attempt_at else None,
            },
        )
        sent = step.result is not None
        if step.wait is None or delivery.status not in UNFINISHED or delivery.parked:
            return RetryReport("done", delivery, sent=sent, circuits=circuits)
        outcome = wait(delivery, epoch() + step.wait)
        return RetryReport(outcome, delivery, sent=sent, circuits=circuits)

    def _probe(self, message: ProbeMessage, received: Received, batch: RetryBatch | None) -> RetryReport:
        """At each probe time, the oldest parked delivery is the probe; the circuit's gate takes the probe lease."""
        assert self.breaker is not None and self.breaker.parking is not None, "probe messages need parking"
        parking = self.breaker.parking
        health = self.breaker.health.read_hook(message.event_type, message.hook)
        if not health.is_open or not self._active(message.owner, message.hook):
            # Closed by a success elsewhere, by a change of the hook or its disabling, or the hook was switched off:
            # what waits goes back on the queue (and ends at once where the hook is off).
            parking.release_page(ReleaseMessage(hook=message.hook, owner=message.owner))
            return RetryReport("done")
        if health.probe_message != message.token:
            return RetryReport("done")  # another probe message took over this circuit
        assert health.probe_at is not None
        if health.probe_at - epoch() > HOLD_SECONDS:
            return RetryReport(self._wait(message, health.probe_at, received, batch))
        oldest = parking.oldest(message.hook)
        delivery = self._readable(oldest) if oldest else None
        if delivery is None:  # nothing parked yet: look again after one probe interval
            later = epoch() + self.breaker.rules.probe_interval(health.probes)
            return RetryReport(self._wait(message, later, received, batch))

        def follow(delivery: Delivery, due: float) -> Outcome:
            self.queue.schedule([RetryMessage(uuid=delivery.uuid, due=due, owner=delivery.owner)])
            return "done"

        report = self.attempt(delivery, 0.0, received.claimant, follow, batch)
        if batch and message.event_type in batch.gates:  # the probe's outcome moves the next probe: write it now
            report = replace(report, circuits=batch.gates[message.event_type].flush([message.hook]))
        after = self.breaker.health.read_hook(message.event_type, message.hook)
        if not after.is_open or after.probe_message != message.token or after.probe_at is None:
            return replace(report, outcome="done")
        return replace(report, outcome=self._wait(message, after.probe_at, received, batch))

    def prefetch(self, messages: list[QueueMessage]) -> RetryBatch:
        """Reads the batch's deliveries in one call, and their hooks in one call per owner. A hook that no longer
        reads as valid is left to its message, which ends that delivery with the reason."""
        return self.prefetch_deliveries([m.uuid for m in messages if isinstance(m, RetryMessage)])

    def prefetch_deliveries(self, uuids: list[str]) -> RetryBatch:
        """These deliveries in one call, and their hooks in one call per owner."""
        deliveries = self.deliveries.get_many(uuids) if uuids else {}
        hooks: dict[int, Hook] = {}
        wanted: dict[str, set[int]] = {}
        for delivery in deliveries.values():
            wanted.setdefault(delivery.owner, set()).add(delivery.webhook)
        for owner, ids in wanted.items():
            with contextlib.suppress(ValidationError):
                hooks.update(self.hooks.get_many(owner, ids))
        return RetryBatch(deliveries, hooks)

    def finish(self, batch: RetryBatch) -> GateReport:
        """Writes the batch's circuit streaks and hides its messages until their attempts are due; a message that
        cannot be hidden comes back after the queue's visibility timeout and waits again then. Returns what the
        streaks' writes changed (circuits opened, hooks disabled), for the metrics."""
        report = self.settle_batch(batch)
        refused = self.queue.hide_many(batch.hides)
        if refused:
            logger.warning("Not hidden: back after the queue's visibility timeout", extra={"messages": len(refused)})
        return report

    def settle_batch(self, batch: RetryBatch) -> GateReport:
        """The batch's circuit streaks, written once per event type, and its operational events published."""
        report = GateReport()
        for gate in batch.gates.values():
            flushed = gate.flush()
            report.opened.extend(flushed.opened)
            report.closed.extend(flushed.closed)
            report.disabled.extend(flushed.disabled)
        batch.published = batch.outbox.publish(self.bus)
        return report

    def _gate(self, hook: Hook, batch: RetryBatch | None, outbox: OperationalOutbox) -> CircuitGate | None:
        """A batch reads each event type's circuits once; a lone retry reads its hook's streak alone."""
        breaker = self.breaker
        if breaker is None:
            return None
        if batch is None:
            return breaker.for_hook(hook, outbox)
        return batch.gate(hook.event_type, lambda: breaker.for_batch(hook.event_type, outbox))

    def _active(self, owner: str, hook_id: int) -> bool:
        try:
            return self.hooks.get(owner, hook_id).is_active
        except (NotFound, ValidationError):
            return False

    def _readable(self, uuid: str) -> Delivery | None:
        try:
            delivery = self.deliveries.get(uuid)
        except NotFound:
            return None
        return delivery if delivery.status in UNFINISHED else None

    def end_unsent(self, delivery: Delivery, reason: str) -> RetryReport:
        seen = len(delivery.attempts), delivery.deferral_count
        delivery.end_unsent(Attempt(at=now(), error=f"{NOT_SENT}{reason}"[:RESPONSE_CONTENT_LIMIT], duration=0.0))
        mine = delivery
        delivery = self.deliveries.save(delivery, replay=lambda fresh: mine.replayed_onto(fresh, *seen))
        logger.info("Retry not sent", extra={"uuid": delivery.uuid, "hook_id": delivery.webhook, "reason": reason})
        return RetryReport("done", delivery)

    def _wait(self, message: QueueMessage, due: float, received: Received, batch: RetryBatch | None) -> Outcome:
        """Hides the message until `due`, or sends it afresh (new visibility budget, new receive count)."""
        wait = max(0.0, due - epoch())
        if wait <= MAX_VISIBILITY_SECONDS and received.receive_count < self.resend_after_receives:
            if batch is not None:
                batch.hide(received.receipt_handle, wait)
            else:
                self.queue.hide(received.receipt_handle, wait)
            return "later"
        self.queue.schedule([message.model_copy(update={"due": due})])
        return "done"


def _batched_hook(batch: RetryBatch | None, delivery: Delivery) -> Hook | None:
    hook = batch.hooks.get(delivery.webhook) if batch else None
    return hook if hook is not None and hook.owner == delivery.owner else None


def _again(delivery: Delivery) -> RetryMessage:
    return RetryMessage(uuid=delivery.uuid, owner=delivery.owner)


def _why_not_active(hook: Hook | None) -> str:
    if hook is None:
        return "the hook was deleted"
    if hook.disabled_reason:
        return f"the hook was disabled: {hook.disabled_reason}"
    return "the hook is inactive"
