"""A property of ordered delivery: whatever fails and however events of several objects interleave, each object's
requests reach the receiver in the order its events were published, nothing is delivered twice, and every delivery
ends (delivered, or failed after its last retry).

Hypothesis draws the objects, their events' interleaving and how often the receiver refuses each event. The real
dispatcher and sequencer handlers run on moto's FIFO queue, and a real HTTP receiver answers; only time is simulated
(a `SimulatedClock`: countdowns pass at once), and this test hands the queue's messages to the sequencer as Lambda's
event source would, holding a waiting one back until the clock reaches its due time.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.clock import SimulatedClock, use_clock
from oms_webhooks.domain.deliveries import UNFINISHED, Delivery
from oms_webhooks.settings import settings as service_settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.integration.simulation import PARKED_SECONDS, _record, rewire
from tests.integration.support import subscribe, unsubscribe_all
from tests.integration.test_ordered_delivery import bridge_event
from tests.receiver import Answer, Receiver

EVENT_TYPE = "transfer.status.cancelled"
MAX_RETRIES = 2
COUNTDOWN = {"choice": "fixed", "kwargs": {"seconds": 30}, "max_retries": MAX_RETRIES}
MAX_ROUNDS = 200

PROPERTY = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# One example: the events to publish, in order, each (object, sequence number within it, refusals before a 2xx).
Events = list[tuple[int, int, int]]


@st.composite
def interleaved_events(draw: st.DrawFn) -> Events:
    counts = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    order = draw(st.permutations([obj for obj, count in enumerate(counts) for _ in range(count)]))
    published: Events = []
    seen: Counter[int] = Counter()
    for obj in order:
        seen[obj] += 1
        published.append((obj, seen[obj], draw(st.integers(0, MAX_RETRIES + 1))))  # MAX_RETRIES + 1: it fails
    return published


@pytest.fixture
def ordered_queue(deployed: dict[str, LocalFunction], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An ordered queue of this test's own, the functions rebuilt on it, and again afterwards. No window: the test
    dispatches its events one after another, and the simulated clock would not let one pass."""
    attributes = {"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    name = f"ordered-property-{uuid.uuid4().hex[:8]}.fifo"
    url: str = boto3.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    monkeypatch.setenv("ORDERED_QUEUE_URL", url)
    monkeypatch.setenv("ORDERING_WINDOW_SECONDS", "0")  # events are published one after another here
    rewire()
    yield url
    rewire()


class Driver:
    """Lambda's event source for the ordered queue, with waits collapsed: a message the sequencer leaves waiting is
    held back (hidden for real) until the simulated clock reaches its delivery's due time."""

    def __init__(self, functions: dict[str, LocalFunction], url: str, owner: str) -> None:
        self.functions, self.url, self.owner = functions, url, owner
        self.sqs = boto3.client("sqs")
        self.clock = SimulatedClock()
        self.store = DeliveryStore(service_settings().deliveries_table, boto3.client("dynamodb"))
        self.held: list[str] = []

    def publish(self, payload: dict[str, Any]) -> None:
        event = bridge_event(EVENT_TYPE, payload)
        assert self.functions["DispatcherFunction"].invoke(event)["accepted"]

    def drain(self) -> None:
        """Hands out what is visible until nothing is, as the event source mapping would."""
        for _ in range(MAX_ROUNDS):
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=PARKED_SECONDS, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return
            answer = self.functions["SequencerFunction"].invoke({"Records": [_record(m) for m in messages]})
            waiting = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
            done = [m for m in messages if m["MessageId"] not in waiting]
            if done:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            for message in messages:
                if message["MessageId"] in waiting:  # shown again at once (waits collapse): held till the next turn
                    handle = message["ReceiptHandle"]
                    self.sqs.change_message_visibility(
                        QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=PARKED_SECONDS
                    )
                    self.held.append(handle)
        raise AssertionError("the ordered queue never emptied")

    def deliveries(self) -> list[Delivery]:
        return self.store.query_owner(self.owner, {}, None, None, 100).items

    def run(self) -> None:
        """Drains, then moves the clock to the next due time and lets the held messages go, until all ended."""
        for _ in range(MAX_ROUNDS):
            self.drain()
            due = [d.next_attempt_at for d in self.deliveries() if d.status in UNFINISHED and d.next_attempt_at]
            if not due:
                return
            self.clock.advance(max(0.0, (min(due) - self.clock.now()).total_seconds()) + 0.001)
            for handle in self.held:
                self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=0)
            self.held = []
        raise AssertionError("deliveries still unfinished")


@PROPERTY
@given(events=interleaved_events())
def test_each_objects_requests_come_in_publish_order_once_each_and_every_delivery_ends(
    ordered_queue: str, deployed: dict[str, LocalFunction], events: Events
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    refusals = {(obj, seq): count for obj, seq, count in events}
    left = dict(refusals)

    def decide(body: bytes) -> Answer:
        payload = json.loads(body)["payload"]
        key = (payload["id"], payload["seq"])
        if left[key] > 0:
            left[key] -= 1
            return Answer(503)
        return Answer(200)

    receiver = Receiver()
    driver = Driver(deployed, ordered_queue, owner)
    previous = use_clock(driver.clock)
    try:
        url = receiver.decide("/p", decide)
        subscribe(owner, url, EVENT_TYPE, ordering="object", retry_countdown_config=COUNTDOWN)
        for obj, seq, _ in events:
            driver.publish({"id": obj, "seq": seq})
        driver.run()
        requests = [json.loads(r.body)["payload"] for r in receiver.received["/p"]]
        deliveries = driver.deliveries()
    finally:
        use_clock(previous)
        receiver.stop()
        unsubscribe_all(owner)

    by_object: defaultdict[int, list[int]] = defaultdict(list)
    for payload in requests:
        by_object[payload["id"]].append(payload["seq"])
    for obj, sequence in by_object.items():
        assert sequence == sorted(sequence), f"object {obj} reordered: {sequence}"  # never an older after a newer
    for (obj, seq), count in refusals.items():
        expected = min(count, MAX_RETRIES) + 1  # refused `count` times, then delivered; or refused to the end
        assert by_object[obj].count(seq) == expected, (obj, seq, by_object[obj])
    assert len(deliveries) == len(events) and all(d.status not in UNFINISHED for d in deliveries)
    assert Counter(d.status for d in deliveries) == Counter(
        "delivered" if count <= MAX_RETRIES else "failed" for count in refusals.values()
    )
