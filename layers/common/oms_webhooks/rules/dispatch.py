"""Fan-out: one OMS event to every active hook of its type, concurrently, each attempt recorded.

Idempotent per (event, hook): the first run claims the event with one conditional write; a later run of
the same event (a duplicate from EventBridge, or a retry after a crash) looks up which deliveries are
already recorded and sends only the others.

More hooks than one invocation should serve (`batch_size`) are split into batches of hook ids on the
fan-out queue; each batch is dispatched the same way by its own invocation, claimed on its own.

An operational event (operational_events.py) goes to the hooks of the one owner it names: they are found under their
own key of the hooks index (hook_store.dispatch_key), so the dispatch reads no other owner's. What a run's attempts
change (a delivery given up, a hook disabled, a circuit opened or closed) is put on the bus when the run ends.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.dynamodb_batches import BATCH_WRITE_SIZE
from oms_webhooks.adapters.event_bus import EventBus
from oms_webhooks.adapters.event_claims import EventClaim
from oms_webhooks.adapters.hook_cache import ActiveHooks, CircuitsRead
from oms_webhooks.adapters.hook_store import HookStore, dispatch_key
from oms_webhooks.adapters.host_limits import per_host
from oms_webhooks.adapters.queues import FanoutBatch, FanoutQueue, RetryMessage, RetryQueue
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.clock import epoch
from oms_webhooks.domain.deliveries import Delivery, EventBody, delivery_id
from oms_webhooks.domain.hooks import HookTarget, now
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.circuit_breaker import Breaker, CircuitGate, GateReport
from oms_webhooks.rules.delivery_step import take_step, tell_if_given_up
from oms_webhooks.rules.operational_outbox import OperationalOutbox
from oms_webhooks.rules.ordering import OrderedDeliveries
from oms_webhooks.rules.rate_limiter import RateLimiter

# Deliveries in flight at once in one invocation. Against receivers answering in 50 ms, 64 held a dispatch to under
# 1,280/s (1,008-1,102/s measured); 128 reached 1,330-1,485/s, with instant receivers unchanged (bench/cpu.py).
DELIVERY_WORKERS = 128
WRITERS = 4  # record batches written at once, beside the sends
MESSAGE_PAYLOAD_LIMIT = 200 * 1024  # a larger payload is not sent with every batch: each reads the event's claim


class DispatchInProgress(RuntimeError):
    """Another invocation is dispatching this event right now; raising makes Lambda try again later."""


@dataclass
class DispatchReport:
    event_id: str
    event_type: str
    hooks: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # already recorded by an earlier run of the same event
    filtered: int = 0  # hooks whose filter the payload does not match: no delivery, no record
    duplicate: bool = False
    deactivated: list[int] = field(default_factory=list)
    deferred: int = 0  # queued, not attempted: their hook's circuit is open, or its rate limit says later
    circuits_opened: list[int] = field(default_factory=list)
    disabled: list[int] = field(default_factory=list)  # hooks turned off for failing too long
    batches: int = 0  # fan-out batches queued for other invocations
    operational_sent: int = 0  # operational events this run put on the bus
    operational_failed: int = 0  # ... and those PutEvents did not take (logged)
    ordered: int = 0  # queued in their object's order for the sequencer, not attempted here
    attempt_ms: list[float] = field(default_factory=list)  # each attempt's duration, for the metrics (not the log)


Pending = tuple[HookTarget, Delivery]


@dataclass
class Dispatcher:
    hooks: HookStore
    deliveries: DeliveryStore
    sender: Sender
    retries: RetryQueue
    workers: int = DELIVERY_WORKERS
    retention_days: int = 90
    stale_after: float = 330.0  # seconds: longer than the function's timeout, so an older claim is a dead run
    fanout: FanoutQueue | None = None
    batch_size: int = 1000  # hooks one invocation delivers; more are split over the fan-out queue
    breaker: Breaker | None = None
    rate_limits: RateLimiter | None = None
    bus: EventBus | None = None  # where operational events go; without it they are only logged
    ordering: OrderedDeliveries | None = None  # ordered hooks' deliveries go to their object's queue

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="deliver")
        self.writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="record")
        self._lock = threading.Lock()
        self.active = ActiveHooks(self.hooks)

    def dispatch(self, event: OmsEvent) -> DispatchReport:
        """An event from the bus: every active hook of its type, here or split over the fan-out queue."""

        def run(report: DispatchReport, claim: EventClaim, outbox: OperationalOutbox) -> None:
            circuits = CircuitsRead() if self.breaker else None
            key = dispatch_key(event.event_type, event.owner)
            hooks = [hook for page in self.active.pages(key, circuits) for hook in page]
            breaker = self.breaker
            gate = breaker.for_event(event.event_type, circuits.item, outbox) if breaker and circuits else None
            # An operational event goes to one owner's hooks: a few, never split (batches read a type's hooks).
            if self.fanout is not None and len(hooks) > self.batch_size and event.owner is None:
                self._split(event, hooks, report)  # again on a re-run: each batch has its own claim
            elif claim.first:
                self.deliver(self._pending(event, claim, [hooks], report), report, gate, _bodies(event), outbox, event)
            else:
                self._dispatch_again(claim, event, [hooks], report, gate, outbox)

        return self._claimed(event.id, event, run)

    def dispatch_batch(self, batch: FanoutBatch) -> DispatchReport:
        """One batch of a split fan-out, claimed apart from the event and from the other batches."""
        payload = batch.payload if batch.payload is not None else self.deliveries.event_payload(batch.event_id)
        event = OmsEvent(batch.event_id, batch.event_type, payload, published=batch.published, received=batch.received)

        def run(report: DispatchReport, claim: EventClaim, outbox: OperationalOutbox) -> None:
            pages = self.hooks.active_range(batch.event_type, batch.first_id, batch.last_id)
            gate = self.breaker.for_batch(batch.event_type, outbox) if self.breaker else None
            if claim.first:
                self.deliver(self._pending(event, claim, pages, report), report, gate, _bodies(event), outbox, event)
            else:
                self._dispatch_again(claim, event, pages, report, gate, outbox)

        return self._claimed(f"{batch.event_id}#{batch.first_id}-{batch.last_id}", event, run)

    def _claimed(
        self, key: str, event: OmsEvent, run: Callable[[DispatchReport, EventClaim, OperationalOutbox], None]
    ) -> DispatchReport:
        """Runs `run` under this run's claim on the event; a run that fails releases it, so the next resumes at once.
        The run's operational events are put on the bus once it ends, whether it failed or not: what they tell was
        written, and a re-run would not tell it again."""
        report = DispatchReport(event.id, event.event_type)
        outbox = OperationalOutbox()
        claim = self.deliveries.claim_event(key, self._expires_at(), event.payload)
        try:
            run(report, claim, outbox)
        except DispatchInProgress:
            raise
        except BaseException:
            claim.release()
            raise
        finally:
            published = outbox.publish(self.bus)
            report.operational_sent, report.operational_failed = published.sent, published.failed
        return report

    def _dispatch_again(
        self,
        claim: EventClaim,
        event: OmsEvent,
        pages: Iterable[list[HookTarget]],
        report: DispatchReport,
        gate: CircuitGate | None = None,
        outbox: OperationalOutbox | None = None,
    ) -> None:
        """A later run: what the earlier one recorded is skipped; the rest is sent if that run is dead (stale)."""
        pending = list(self._pending(event, claim, pages, report))
        done = self.deliveries.existing([delivery.uuid for _, delivery in pending])
        report.skipped = len(done)
        if self.ordering is not None:  # in case the run that recorded them died before queueing them
            self.ordering.queue_again(((h, d) for h, d in pending if d.uuid in done), event)
        todo = [(hook, delivery) for hook, delivery in pending if delivery.uuid not in done]
        if not todo:
            report.duplicate = True
            return
        if not claim.stale(self.stale_after):
            raise DispatchInProgress(claim.key)
        claim.take_over()
        self.deliver(todo, report, gate, _bodies(event), outbox, event)

    def _split(self, event: OmsEvent, hooks: list[HookTarget], report: DispatchReport) -> None:
        """Hooks come in id order from the index, so each batch is a contiguous range of ids."""
        assert self.fanout is not None
        payload: Any = event.payload
        if len(json.dumps(payload, ensure_ascii=False).encode()) > MESSAGE_PAYLOAD_LIMIT:
            payload = None  # each batch reads it from the event's claim
        batches = [
            FanoutBatch(
                event_id=event.id,
                event_type=event.event_type,
                first_id=chunk[0].id,
                last_id=chunk[-1].id,
                payload=payload,
                published=event.published,
                received=event.received,
            )
            for chunk in (hooks[i : i + self.batch_size] for i in range(0, len(hooks), self.batch_size))
        ]
        self.fanout.split(batches)
        report.hooks = len(hooks)
        report.batches = len(batches)

    def _pending(
        self, event: OmsEvent, claim: EventClaim, pages: Iterable[list[HookTarget]], report: DispatchReport
    ) -> Iterable[Pending]:
        for page in pages:
            report.hooks += len(page)
            for hook in page:
                if hook.filter is not None and not hook.filter.matches(event.payload):
                    report.filtered += 1  # filtered out before anything is written or sent
                    continue
                yield hook, self._new_delivery(event, hook, claim)

    def deliver(
        self,
        pending: Iterable[Pending],
        report: DispatchReport,
        gate: CircuitGate | None = None,
        body: EventBody | None = None,
        outbox: OperationalOutbox | None = None,
        event: OmsEvent | None = None,
    ) -> None:
        """Sends as hooks arrive, at most the sender's per-host limit at once to one host; records (and retries) are
        written in batches of 25 as answers come back. `body`: the event's, so its payload is serialized once.
        Ordered hooks' deliveries of `event` are recorded and queued in their object's order instead."""
        writes: list[Future[None]] = []
        batch: list[tuple[HookTarget, Delivery, float | None]] = []
        limit = self.sender.hosts.limit
        outbox = OperationalOutbox() if outbox is None else outbox
        attempt = partial(self._attempt, gate=gate, body=body, outbox=outbox)
        if self.ordering is not None and event is not None:  # recorded and queued at once, beside the sends
            pending = self.ordering.divert(
                pending, event, lambda held: writes.append(self.writers.submit(self._queue_in_order, held, report))
            )
        for (hook, delivery), wait in per_host(self.pool, pending, attempt, _target_url, limit, BATCH_WRITE_SIZE):
            batch.append((hook, delivery, wait))
            if len(batch) == BATCH_WRITE_SIZE:
                writes.append(self.writers.submit(self._flush, batch, report, gate, outbox))
                batch = []
        if batch:
            writes.append(self.writers.submit(self._flush, batch, report, gate, outbox))
        for write in writes:
            write.result()  # a record that cannot be written fails the dispatch, to be resumed

    def _queue_in_order(self, deliveries: list[Delivery], report: DispatchReport) -> None:
        assert self.ordering is not None
        self.ordering.queue_new(deliveries)
        with self._lock:
            report.ordered += len(deliveries)

    def _attempt(
        self, pending: Pending, gate: CircuitGate | None, body: EventBody | None, outbox: OperationalOutbox
    ) -> float | None:
        """The circuit first: a delivery it holds back takes no rate-limit slot."""
        hook, delivery = pending
        gates = tuple(g for g in (gate, self.rate_limits) if g is not None)
        sent = body.for_delivery(delivery.uuid) if body else None
        return take_step(delivery, hook, self.sender, self.hooks, gates=gates, body=sent, outbox=outbox).wait

    def _flush(
        self,
        batch: list[tuple[HookTarget, Delivery, float | None]],
        report: DispatchReport,
        gate: CircuitGate | None,
        outbox: OperationalOutbox,
    ) -> None:
        self.deliveries.save_many(delivery for _, delivery, _ in batch)
        for hook, delivery, _ in batch:
            tell_if_given_up(outbox, hook, delivery)
        retries = [
            RetryMessage(uuid=delivery.uuid, due=epoch() + wait, owner=delivery.owner)
            for _, delivery, wait in batch
            if wait is not None
        ]
        if retries:
            self.retries.schedule(retries)
        circuits = gate.flush(hook.id for hook, _, _ in batch) if gate else GateReport()
        with self._lock:
            report.circuits_opened.extend(circuits.opened)
            report.disabled.extend(disabled.hook.id for disabled in circuits.disabled)
            for hook, delivery, _ in batch:
                report.attempt_ms.extend(attempt.duration * 1000 for attempt in delivery.attempts[-1:])
                if delivery.status == "delivered":
                    report.delivered += 1
                elif delivery.status == "retrying":
                    report.retrying += 1
                elif delivery.status == "deferred":
                    report.deferred += 1
                else:
                    report.failed += 1
                    if delivery.response_http_status == 410:
                        report.deactivated.append(hook.id)

    def _new_delivery(self, event: OmsEvent, hook: HookTarget, claim: EventClaim) -> Delivery:
        """Its payload is the event's, held by this run's claim: the record names the claim rather than holding it."""
        moment = now()
        return Delivery(
            uuid=delivery_id(event.id, hook.id),
            owner=hook.owner,
            webhook=hook.id,
            event_id=event.id,
            event_type=event.event_type,
            request_payload=event.payload,
            target_url=hook.target_url,
            created_date=moment,
            modified_date=moment,
            expires_at=self._expires_at(),
            payload_claim=claim.key,
        )

    def _expires_at(self) -> int:
        return int(epoch()) + self.retention_days * 86400


def _target_url(pending: Pending) -> str:
    return pending[0].target_url


def _bodies(event: OmsEvent) -> EventBody:
    return EventBody(event.event_type, event.payload)
