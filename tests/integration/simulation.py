"""Days of a webhook's life in seconds: the real dispatcher and retrier handlers on moto, under a simulated clock.

Every decision about time (retry schedules, the circuit breaker, auto-disable) goes by `oms_webhooks.clock`, which
a `SimulatedClock` replaces; the delivery record, not SQS, says when a delivery is due. SQS has no clock to
inject, so the simulation stands in for its timing only: waits collapse to nothing (the clock's `real_seconds`),
and `tick` hands each message on the retry queue to the retrier once, as the event source mapping would when it
comes due, then parks it until the next tick. Messages, records and HTTP attempts are all real.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from oms_webhooks import wiring
from oms_webhooks.adapters.circuit_store import CircuitStore
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.clock import SimulatedClock, now, use_clock
from oms_webhooks.domain.circuit import at_epoch
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction

EVENTS = Path(__file__).resolve().parents[2] / "events" / "eventbridge"
PARKED_SECONDS = 600  # real seconds a message waits for the next tick (the tick releases it sooner)
MAX_RECEIVES_PER_TICK = 200


def rewire() -> None:
    """The functions' parts are built once per process from the environment: build them again."""
    settings.cache_clear()
    for part in (wiring.dispatcher, wiring.retrier, wiring.breaker, wiring.sender, wiring.sequencer):
        part.cache_clear()


class Simulation:
    def __init__(self, functions: dict[str, LocalFunction], queue_url: str) -> None:
        self.functions = functions
        self.queue_url = queue_url
        self.sqs = boto3.client("sqs")
        self.clock = SimulatedClock()
        self.start = self.clock.now()
        self.parked: list[str] = []
        # Clients of its own: what the simulation reads to steer itself is not counted as the functions' calls.
        self.store = DeliveryStore(settings().deliveries_table, boto3.client("dynamodb"))
        self.health = CircuitStore(settings().hooks_table, boto3.client("dynamodb"))

    def __enter__(self) -> Simulation:
        self._previous = use_clock(self.clock)
        return self

    def __exit__(self, *exc: object) -> None:
        use_clock(self._previous)

    @property
    def elapsed(self) -> float:
        return (now() - self.start).total_seconds()

    def advance_to(self, moment: datetime) -> None:
        if moment > self.clock.now():
            self.clock.advance((moment - self.clock.now()).total_seconds())

    def publish(self, event_type: str, payload: Any = None) -> dict[str, Any]:
        """An OMS event through the dispatcher's handler; its answer (the dispatch report) with the event id."""
        sample = json.loads((EVENTS / "stock_location.created.json").read_text())
        event = {**sample, "id": str(uuid.uuid4()), "detail-type": event_type}
        if payload is not None:
            event["detail"] = {"payload": payload}
        answer: dict[str, Any] = self.functions["DispatcherFunction"].invoke(event)
        return {**answer, "event_id": event["id"]}

    def tick(self) -> int:
        """Every message on the retry queue goes to the retrier's handler once; returns how many did."""
        self._release()
        handled = 0
        for _ in range(MAX_RECEIVES_PER_TICK):
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=PARKED_SECONDS,
                AttributeNames=["All"],
            )
            messages = received.get("Messages", [])
            if not messages:
                return handled
            answer = self.functions["RetrierFunction"].invoke({"Records": [_record(m) for m in messages]})
            later = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
            done = [m for m in messages if m["MessageId"] not in later]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            for message in messages:
                if message["MessageId"] in later:  # the retrier showed it again at once: park it till the next tick
                    handle = message["ReceiptHandle"]
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=PARKED_SECONDS
                    )
                    self.parked.append(handle)
            handled += len(messages)
        raise AssertionError("the retry queue never emptied within one tick")

    def _release(self) -> None:
        for start in range(0, len(self.parked), 10):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for i, handle in enumerate(self.parked[start : start + 10])
                ],
            )
        self.parked = []

    def messages(self) -> int:
        """Messages on the retry queue, visible, hidden or delayed."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        found = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)["Attributes"]
        return sum(int(found[name]) for name in names)

    def deliveries(self, owner: str) -> list[Delivery]:
        return self.store.query_owner(owner, {}, None, None, 500).items

    def next_due(self, owner: str) -> datetime | None:
        """When the owner's next queued delivery is due (None: nothing is waiting). A parked delivery waits for its
        hook's next probe, which has moved on if probes failed since it was parked."""
        waiting = [
            self._probe_time(d) if d.parked else d.next_attempt_at
            for d in self.deliveries(owner)
            if d.status in ("retrying", "deferred")
        ]
        return min((moment for moment in waiting if moment is not None), default=None)

    def _probe_time(self, delivery: Delivery) -> datetime | None:
        health = self.health.read_hook(delivery.event_type, delivery.webhook)
        return at_epoch(health.probe_at) if health.probe_at is not None else delivery.next_attempt_at

    def run_until(self, moment: datetime, owner: str, ticks: int = 100) -> None:
        """Ticks at each due time of the owner's deliveries before `moment`, then moves to `moment`."""
        for _ in range(ticks):
            due = self.next_due(owner)
            if due is None or due >= moment:
                break
            self.advance_to(due + timedelta(milliseconds=1))
            self.tick()
        self.advance_to(moment)

    def run_until_due_work_is_done(self, owner: str, ticks: int, real_seconds: float = 120.0) -> Iterator[int]:
        """Moves to each next due time and ticks; yields after each tick. Bounded by ticks and real time."""
        deadline = time.monotonic() + real_seconds
        for _ in range(ticks):
            due = self.next_due(owner)
            if due is None or time.monotonic() > deadline:
                return
            self.advance_to(due + timedelta(milliseconds=1))
            yield self.tick()


def _record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:simulated-retry-queue",
        "awsRegion": "us-east-1",
    }
