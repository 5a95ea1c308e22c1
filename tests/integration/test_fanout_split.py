"""Fan-outs larger than one invocation: split into batches on the fan-out queue, each delivered once."""

from __future__ import annotations

import json
import uuid

import boto3

from oms_webhooks.adapters.queues import FanoutBatch, FanoutQueue
from oms_webhooks.domain.hooks import MAX_HOOK_ID
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.triggers import sqs_record
from tests.events import EVENTS
from tests.integration.support import dispatcher, subscribe, unsubscribe_all
from tests.receiver import Receiver

EVENT_TYPE = "transfer.status.ready_to_shipment"  # no other test in this process publishes it


def drain(function: LocalFunction, queue_url: str) -> int:
    """Lambda's SQS event source for the fan-out function, one message an invocation; returns messages handled."""
    sqs = boto3.client("sqs")
    for handled in range(50):
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"])
        messages = received.get("Messages", [])
        if not messages:
            return handled
        [message] = messages
        record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:fanout")
        answer = function.invoke({"Records": [record]})
        assert answer == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the fan-out queue did not drain")


def test_a_large_fan_out_is_split_and_each_hook_gets_one_delivery(
    deployed: dict[str, LocalFunction], receiver: Receiver
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    for i in range(60):
        subscribe(owner, receiver.url(f"/s{i}"), EVENT_TYPE)
    queue_url = settings().fanout_queue_url
    coordinator = dispatcher()
    coordinator.fanout, coordinator.batch_size = FanoutQueue(queue_url), 25
    published = OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 5, "number": "T-5"})

    report = coordinator.dispatch(published)
    assert (report.hooks, report.batches, report.delivered) == (60, 3, 0)
    assert drain(deployed["FanoutFunction"], queue_url) == 3
    counts = [len(receiver.received[f"/s{i}"]) for i in range(60)]
    assert counts == [1] * 60
    assert json.loads(receiver.received["/s0"][0].body)["payload"] == {"id": 5, "number": "T-5"}

    again = coordinator.dispatch(published)  # EventBridge delivers the event a second time
    assert again.batches == 3
    assert drain(deployed["FanoutFunction"], queue_url) == 3  # the batches run again ...
    assert [len(receiver.received[f"/s{i}"]) for i in range(60)] == [1] * 60  # ... and send nothing twice
    unsubscribe_all(owner)


def test_a_payload_too_large_for_the_messages_is_stored_once_and_read_by_each_batch(
    deployed: dict[str, LocalFunction], receiver: Receiver
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    for i in range(30):
        subscribe(owner, receiver.url(f"/big{i}"), EVENT_TYPE)
    queue_url = settings().fanout_queue_url
    coordinator = dispatcher()
    coordinator.fanout, coordinator.batch_size = FanoutQueue(queue_url), 10
    payload = {"id": 6, "lines": ["x" * 1000] * 210}  # about 210 KB: more than a fan-out message carries
    report = coordinator.dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, payload))
    assert report.batches == 3
    assert drain(deployed["FanoutFunction"], queue_url) == 3
    assert [len(receiver.received[f"/big{i}"]) for i in range(30)] == [1] * 30
    assert json.loads(receiver.received["/big7"][0].body)["payload"] == payload
    unsubscribe_all(owner)


def test_a_record_whose_body_is_no_batch_fails_alone(deployed: dict[str, LocalFunction]) -> None:
    """A batch of hook ids no hook has is delivered (to none); a body that is not one is a batch item failure."""
    [sample] = json.loads((EVENTS / "sqs" / "retry-batch.json").read_text())["Records"]
    nobody = FanoutBatch(
        event_id=str(uuid.uuid4()), event_type=EVENT_TYPE, first_id=MAX_HOOK_ID, last_id=MAX_HOOK_ID, payload={"id": 1}
    )
    broken = {"not-json": "{", "no-ids": json.dumps({"event_id": "e", "event_type": EVENT_TYPE})}
    records = [{**sample, "messageId": name, "body": body} for name, body in broken.items()]
    good = {**sample, "messageId": "nobody", "body": nobody.model_dump_json()}
    answer = deployed["FanoutFunction"].invoke({"Records": [good, *records]})
    assert sorted(failure["itemIdentifier"] for failure in answer["batchItemFailures"]) == sorted(broken)
