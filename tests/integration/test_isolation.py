"""One owner's broken hook beside another owner's healthy one: the failure stays that delivery's own.

The broken hooks are written straight into the hooks table, as hooks stored before today's write-time
validation would be in a deployed table. Each path runs through its real handler on moto: the dispatcher
(EventBridge), the fan-out function (SQS), the retrier (SQS) and the manual retry route (API).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import TypeAdapter

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import FanoutQueue
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.deliveries import Delivery, delivery_id
from oms_webhooks.domain.hooks import Hook, now
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.domain.retry_countdown import RetryCountdownConfig
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.gateway import Gateway
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.triggers import sqs_record
from tests.integration.support import dispatcher, subscribe, unsubscribe_all
from tests.integration.test_fanout_split import drain
from tests.receiver import Answer, Receiver

EVENT_TYPE = "transfer.status.created"  # no other test in this process publishes it
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "eventbridge" / f"{EVENT_TYPE}.json"
NO_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}
ONE_RETRY_NOW = {"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 1}


@dataclass(frozen=True)
class Cause:
    """A way one delivery cannot be built, signed or sent, and what its record must say about it."""

    name: str
    hook_fields: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # part of the recorded reason
    path: str = "/a"


CAUSES = [
    Cause("header-outside-latin-1", {"additional_headers": {"X-Shop": "日本"}}, "header X-Shop value is not sendable"),
    Cause("header-line-break", {"additional_headers": {"X-Shop": "a\r\nX-Evil: 1"}}, "header X-Shop value"),
    Cause("reserved-header", {"additional_headers": {"Content-Length": "0"}}, "header Content-Length is set by"),
    Cause("empty-whsec-secret", {"secret_key": "whsec_"}, "secret_key"),
    Cause("undecodable-whsec-secret", {"secret_key": "whsec_A"}, "secret_key"),
    Cause("sender-fault", {}, "RuntimeError: injected fault", path="/explode"),
]
BY_NAME = [pytest.param(cause, id=cause.name) for cause in CAUSES]


@pytest.fixture(autouse=True)
def faulty_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sender in this process raises, as a bug would, for targets under /explode; others are untouched."""
    real_post = Sender.post

    def post(self: Sender, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        if "/explode" in url:
            raise RuntimeError("injected fault")
        return real_post(self, url, body, headers)

    monkeypatch.setattr(Sender, "post", post)


@dataclass
class Owners:
    """Owner A's broken hook, owner B's (and C's) healthy ones, all on EVENT_TYPE."""

    a: str = field(default_factory=lambda: f"owner-a-{uuid.uuid4().hex[:8]}")
    b: str = field(default_factory=lambda: f"owner-b-{uuid.uuid4().hex[:8]}")
    c: str = field(default_factory=lambda: f"owner-c-{uuid.uuid4().hex[:8]}")
    legacy: list[Hook] = field(default_factory=list)


@pytest.fixture
def owners(deployed: dict[str, LocalFunction]) -> Iterator[Owners]:
    found = Owners()
    yield found
    store = HookStore(settings().hooks_table)
    for hook in found.legacy:
        store.delete(hook)
    unsubscribe_all(found.b)
    unsubscribe_all(found.c)


def store_legacy_hook(owners: Owners, url: str, config: dict[str, Any], **fields: Any) -> Hook:
    """Written into the table as-is, bypassing the API's validation, as the hooks of a deployed table may be."""
    store = HookStore(settings().hooks_table)
    moment = now()
    hook = Hook.model_construct(
        id=store.next_id(),
        owner=owners.a,
        event_type=EVENT_TYPE,
        target_url=url,
        retry_countdown_config=TypeAdapter(RetryCountdownConfig).validate_python(config),
        created_date=moment,
        modified_date=moment,
        **fields,
    )
    store.add(hook)
    owners.legacy.append(hook)
    return hook


def bus_event(event_id: str) -> dict[str, Any]:
    sample = json.loads(SAMPLE.read_text())
    sample["id"] = event_id
    return dict(sample)


def record(event_id: str, hook_id: int) -> Delivery:
    return DeliveryStore(settings().deliveries_table).get(delivery_id(event_id, hook_id))


def assert_not_sent(delivery: Delivery, cause: Cause, attempts: int, status: str) -> None:
    """The broken delivery's record: failed attempts with a readable reason and whisperer's 500."""
    assert delivery.status == status
    assert delivery.retry_count == attempts  # whisperer counts every attempt, the first included
    assert len(delivery.attempts) == attempts
    assert delivery.response_http_status == 500  # as whisperer records what was never answered
    content = delivery.response_content or ""
    assert content.startswith("Not sent: ") and cause.reason in content, content
    assert "Traceback" not in content and "\n" not in content
    for attempt in delivery.attempts:
        assert attempt.status_code is None and attempt.error == content  # the truth: no answer came


def assert_delivered_once(receiver: Receiver, path: str, delivery: Delivery) -> None:
    [request] = receiver.received[path]
    assert json.loads(request.body)["event"]["uuid"] == delivery.uuid
    assert delivery.status == "delivered" and delivery.retry_count == 1 and len(delivery.attempts) == 1


@pytest.mark.parametrize("cause", BY_NAME)
def test_dispatch_records_a_broken_delivery_and_sends_every_other_once(
    deployed: dict[str, LocalFunction], owners: Owners, receiver: Receiver, cause: Cause
) -> None:
    broken = store_legacy_hook(owners, receiver.url(cause.path), NO_RETRIES, **cause.hook_fields)
    healthy = subscribe(owners.b, receiver.url("/b"), EVENT_TYPE)
    event_id = str(uuid.uuid4())

    answer = deployed["DispatcherFunction"].invoke(bus_event(event_id))  # raising would mean Lambda retries it

    assert answer["accepted"] is True
    assert (answer["hooks"], answer["delivered"], answer["failed"]) == (2, 1, 1)
    assert_delivered_once(receiver, "/b", record(event_id, healthy))
    assert_not_sent(record(event_id, broken.id), cause, attempts=1, status="failed")
    assert receiver.received[cause.path] == []


@pytest.mark.parametrize("cause", BY_NAME)
def test_a_fan_out_batch_records_a_broken_delivery_and_sends_every_other_once(
    deployed: dict[str, LocalFunction], owners: Owners, receiver: Receiver, cause: Cause
) -> None:
    first = subscribe(owners.b, receiver.url("/b"), EVENT_TYPE)
    broken = store_legacy_hook(owners, receiver.url(cause.path), NO_RETRIES, **cause.hook_fields)
    last = subscribe(owners.c, receiver.url("/c"), EVENT_TYPE)
    queue_url = settings().fanout_queue_url
    coordinator = dispatcher()
    coordinator.fanout, coordinator.batch_size = FanoutQueue(queue_url), 2  # [B, A] and [C]
    event_id = str(uuid.uuid4())

    report = coordinator.dispatch(OmsEvent(event_id, EVENT_TYPE, {"id": 231}))
    assert (report.hooks, report.batches) == (3, 2)
    assert drain(deployed["FanoutFunction"], queue_url) == 2  # every batch answered without item failures

    assert_delivered_once(receiver, "/b", record(event_id, first))
    assert_delivered_once(receiver, "/c", record(event_id, last))
    assert_not_sent(record(event_id, broken.id), cause, attempts=1, status="failed")
    assert receiver.received[cause.path] == []


def take_retry_messages(uuids: set[str]) -> list[dict[str, Any]]:
    """The retry queue's messages for these deliveries, as Lambda's event source hands them; others go back."""
    sqs = boto3.client("sqs")
    url = settings().retry_queue_url
    taken: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            named = json.loads(message["Body"])["uuid"]
            if named in uuids:
                taken[named] = message
            else:  # an earlier test's leftover: out of the way for a while, so that receiving moves past it
                handle = message["ReceiptHandle"]
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=300)
        if set(taken) == uuids:
            break
    assert set(taken) == uuids, "the retry messages did not arrive"
    return [sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:retries") for message in taken.values()]


@pytest.mark.parametrize("cause", BY_NAME)
def test_the_retrier_records_a_broken_retry_and_sends_every_other_once(
    deployed: dict[str, LocalFunction], owners: Owners, receiver: Receiver, cause: Cause
) -> None:
    broken = store_legacy_hook(owners, receiver.url(cause.path), ONE_RETRY_NOW, **cause.hook_fields)
    flaky = subscribe(
        owners.b, receiver.script("/b", Answer(500), Answer(200)), EVENT_TYPE, retry_countdown_config=ONE_RETRY_NOW
    )
    event_id = str(uuid.uuid4())
    answer = deployed["DispatcherFunction"].invoke(bus_event(event_id))
    assert (answer["hooks"], answer["retrying"]) == (2, 2)  # the broken one follows its schedule too
    assert_not_sent(record(event_id, broken.id), cause, attempts=1, status="retrying")

    records = take_retry_messages({delivery_id(event_id, broken.id), delivery_id(event_id, flaky)})
    answer = deployed["RetrierFunction"].invoke({"Records": records})

    assert answer == {"batchItemFailures": []}  # both messages done: nothing comes back
    healthy = record(event_id, flaky)
    assert healthy.status == "delivered" and healthy.retry_count == 2
    assert [a.status_code for a in healthy.attempts] == [500, 200]
    assert len(receiver.received["/b"]) == 2  # one POST per attempt
    assert_not_sent(record(event_id, broken.id), cause, attempts=2, status="failed")
    assert receiver.received[cause.path] == []


@pytest.mark.parametrize("cause", BY_NAME)
def test_a_manual_retry_of_a_broken_delivery_answers_with_the_attempt(
    gateway: Gateway, owners: Owners, receiver: Receiver, cause: Cause
) -> None:
    broken = store_legacy_hook(owners, receiver.url(cause.path), NO_RETRIES, **cause.hook_fields)
    healthy = subscribe(owners.b, receiver.url("/b"), EVENT_TYPE)
    event_id = str(uuid.uuid4())
    dispatcher().dispatch(OmsEvent(event_id, EVENT_TYPE, {"id": 231}))
    token = TokenStore(settings().tokens_table).create(owners.a)

    status, _, body = gateway.handle(
        "POST",
        f"/whisperer/hook_events/{delivery_id(event_id, broken.id)}/retry/",
        {"Host": "api.test", "Content-Type": "application/json", "Authorization": f"Token {token}"},
        b'{"force": true}',
    )

    assert status == 406, body  # an attempt that failed, answered as whisperer does
    outcome = json.loads(body)
    assert outcome["delivered"] is False and outcome["response_status"] == 500
    assert outcome["response_content"].startswith("Not sent: ") and cause.reason in outcome["response_content"]
    retried = record(event_id, broken.id)
    assert_not_sent(retried, cause, attempts=2, status="failed")  # a manual retry counts, as in whisperer
    assert [a.manual for a in retried.attempts] == [False, True]
    assert_delivered_once(receiver, "/b", record(event_id, healthy))
    assert receiver.received[cause.path] == []


def test_a_hook_that_no_longer_reads_as_valid_ends_its_retries_with_the_reason(
    deployed: dict[str, LocalFunction], owners: Owners, receiver: Receiver
) -> None:
    """A stored hook that today's model refuses to read (here its headers are a list) cannot crash the retrier:
    its message would come back until the dead-letter queue, the delivery stuck `retrying`."""
    broken = store_legacy_hook(owners, receiver.url("/a"), ONE_RETRY_NOW, additional_headers=["X-Shop: 1"])
    event_id = str(uuid.uuid4())
    answer = deployed["DispatcherFunction"].invoke(bus_event(event_id))
    assert (answer["hooks"], answer["retrying"]) == (1, 1)
    first = record(event_id, broken.id)
    assert first.response_content == "Not sent: additional_headers is not an object of header names and values"

    answer = deployed["RetrierFunction"].invoke({"Records": take_retry_messages({first.uuid})})

    assert answer == {"batchItemFailures": []}
    ended = record(event_id, broken.id)
    assert (ended.status, ended.retry_count, ended.response_http_status) == ("failed", 2, 500)
    assert ended.response_content == (
        "Not sent: the hook's stored settings are no longer valid"
        " (additional_headers: Input should be a valid dictionary)"
    )
    assert receiver.received["/a"] == []
