"""Fan-out: one OMS event to every active hook of its type, concurrently, each attempt recorded.

Idempotent per (event, hook): the first run claims the event with one conditional write; a later run of
the same event (a duplicate from EventBridge, or a retry after a crash) looks up which deliveries are
already recorded and sends only the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from oms_webhooks.attempt import attempt_delivery
from oms_webhooks.deliveries import Delivery, delivery_id
from oms_webhooks.delivery_store import BATCH_WRITE_SIZE, DeliveryStore
from oms_webhooks.hook_cache import ActiveHooks
from oms_webhooks.hook_store import HookStore
from oms_webhooks.hooks import HookTarget, now
from oms_webhooks.oms_event import OmsEvent
from oms_webhooks.retry_policy import settle
from oms_webhooks.retry_queue import RetryMessage, RetryQueue
from oms_webhooks.sender import Sender

WRITERS = 4  # record batches written at once, beside the sends


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
    duplicate: bool = False
    deactivated: list[int] = field(default_factory=list)


Pending = tuple[HookTarget, Delivery]


@dataclass
class Dispatcher:
    hooks: HookStore
    deliveries: DeliveryStore
    sender: Sender
    retries: RetryQueue
    workers: int = 64
    retention_days: int = 90
    stale_after: float = 330.0  # seconds: longer than the function's timeout, so an older claim is a dead run

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="deliver")
        self.writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="record")
        self._lock = threading.Lock()
        self.active = ActiveHooks(self.hooks)

    def dispatch(self, event: OmsEvent) -> DispatchReport:
        report = DispatchReport(event.id, event.event_type)
        age = self.deliveries.claim_event(event.id, self._expires_at())
        try:
            if age is None:
                self.deliver(self._pending(event, self.active.pages(event.event_type), report), report)
            else:
                self._dispatch_again(event, age, report)
        except DispatchInProgress:
            raise
        except BaseException:
            self.deliveries.release_event(event.id)  # the retry of this invocation resumes at once
            raise
        return report

    def _dispatch_again(self, event: OmsEvent, age: float, report: DispatchReport) -> None:
        pending = list(self._pending(event, self.active.pages(event.event_type), report))
        done = self.deliveries.existing([delivery.uuid for _, delivery in pending])
        report.skipped = len(done)
        todo = [(hook, delivery) for hook, delivery in pending if delivery.uuid not in done]
        if not todo:
            report.duplicate = True
            return
        if age < self.stale_after:
            raise DispatchInProgress(event.id)
        self.deliveries.reclaim_event(event.id)
        self.deliver(todo, report)

    def _pending(self, event: OmsEvent, pages: Iterable[list[HookTarget]], report: DispatchReport) -> Iterable[Pending]:
        for page in pages:
            report.hooks += len(page)
            for hook in page:
                yield hook, self._new_delivery(event, hook)

    def deliver(self, pending: Iterable[Pending], report: DispatchReport) -> None:
        """Sends as hooks arrive; records (and retries) are written in batches of 25 as answers come back."""
        futures: dict[Future[float | None], Pending] = {}
        for hook, delivery in pending:
            futures[self.pool.submit(self._attempt, hook, delivery)] = (hook, delivery)
        writes: list[Future[None]] = []
        batch: list[tuple[HookTarget, Delivery, float | None]] = []
        for future in as_completed(futures):
            hook, delivery = futures[future]
            batch.append((hook, delivery, future.result()))
            if len(batch) == BATCH_WRITE_SIZE:
                writes.append(self.writers.submit(self._flush, batch, report))
                batch = []
        if batch:
            writes.append(self.writers.submit(self._flush, batch, report))
        for write in writes:
            write.result()  # a record that cannot be written fails the dispatch, to be resumed

    def _attempt(self, hook: HookTarget, delivery: Delivery) -> float | None:
        result = attempt_delivery(delivery, hook, self.sender)
        wait = settle(hook, delivery, result)
        if result.status_code == 410:
            self.hooks.deactivate(hook)
        return wait

    def _flush(self, batch: list[tuple[HookTarget, Delivery, float | None]], report: DispatchReport) -> None:
        self.deliveries.save_many(delivery for _, delivery, _ in batch)
        retries = [RetryMessage(delivery.uuid, time.time() + wait) for _, delivery, wait in batch if wait is not None]
        if retries:
            self.retries.schedule(retries)
        with self._lock:
            for hook, delivery, _ in batch:
                if delivery.status == "delivered":
                    report.delivered += 1
                elif delivery.status == "retrying":
                    report.retrying += 1
                else:
                    report.failed += 1
                    if delivery.response_http_status == 410:
                        report.deactivated.append(hook.id)

    def _new_delivery(self, event: OmsEvent, hook: HookTarget) -> Delivery:
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
        )

    def _expires_at(self) -> int:
        return int(time.time()) + self.retention_days * 86400
