"""Fan-out: one OMS event to every active hook of its type, concurrently, each attempt recorded."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from oms_webhooks.attempt import attempt_delivery
from oms_webhooks.deliveries import Delivery, delivery_id
from oms_webhooks.delivery_store import BATCH_WRITE_SIZE, DeliveryStore
from oms_webhooks.hook_store import HookStore
from oms_webhooks.hooks import Hook, now
from oms_webhooks.oms_event import OmsEvent
from oms_webhooks.retry_policy import settle
from oms_webhooks.retry_queue import RetryMessage, RetryQueue
from oms_webhooks.sender import Sender


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
    skipped: int = 0  # already delivered by an earlier run of the same event
    duplicate: bool = False
    deactivated: list[int] = field(default_factory=list)


@dataclass
class Dispatcher:
    hooks: HookStore
    deliveries: DeliveryStore
    sender: Sender
    retries: RetryQueue
    workers: int = 32
    retention_days: int = 90
    stale_after: float = 900.0  # seconds after which an unfinished claim is a crashed run, resumed

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="deliver")

    def dispatch(self, event: OmsEvent) -> DispatchReport:
        report = DispatchReport(event.id, event.event_type)
        claim = self.deliveries.claim_event(event.id, self.stale_after, self._expires_at())
        if claim == "done":
            report.duplicate = True
            return report
        if claim == "running":
            raise DispatchInProgress(event.id)
        hooks = list(self.hooks.active_hooks(event.event_type))
        report.hooks = len(hooks)
        pending = [(hook, self._new_delivery(event, hook)) for hook in hooks]
        if claim == "resumed":
            done = self.deliveries.existing([delivery.uuid for _, delivery in pending])
            report.skipped = len(done)
            pending = [(hook, delivery) for hook, delivery in pending if delivery.uuid not in done]
        self.deliver(pending, report)
        self.deliveries.finish_event(event.id)
        return report

    def deliver(self, pending: Iterable[tuple[Hook, Delivery]], report: DispatchReport) -> None:
        """Sends all at once on the pool; records are written (and retries queued) in batches as answers come."""
        futures: dict[Future[float | None], tuple[Hook, Delivery]] = {
            self.pool.submit(self._attempt, hook, delivery): (hook, delivery) for hook, delivery in pending
        }
        batch: list[tuple[Hook, Delivery, float | None]] = []
        for future in as_completed(futures):
            hook, delivery = futures[future]
            batch.append((hook, delivery, future.result()))
            if len(batch) == BATCH_WRITE_SIZE:
                self._flush(batch, report)
                batch = []
        self._flush(batch, report)

    def _attempt(self, hook: Hook, delivery: Delivery) -> float | None:
        result = attempt_delivery(delivery, hook, self.sender)
        wait = settle(hook, delivery, result)
        if result.status_code == 410:
            self.hooks.deactivate(hook)
        return wait

    def _flush(self, batch: list[tuple[Hook, Delivery, float | None]], report: DispatchReport) -> None:
        if not batch:
            return
        self.deliveries.save_many(delivery for _, delivery, _ in batch)
        retries = [RetryMessage(delivery.uuid, time.time() + wait) for _, delivery, wait in batch if wait is not None]
        self.retries.schedule(retries)
        for hook, delivery, _ in batch:
            if delivery.status == "delivered":
                report.delivered += 1
            elif delivery.status == "retrying":
                report.retrying += 1
            else:
                report.failed += 1
                if delivery.response_http_status == 410:
                    report.deactivated.append(hook.id)

    def _new_delivery(self, event: OmsEvent, hook: Hook) -> Delivery:
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
