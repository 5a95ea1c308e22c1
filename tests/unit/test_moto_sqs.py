"""The local stack's SQS (moto, patched by moto_sqs) as AWS's: fair standard queues, visibility changes one by one
and in batches, counts, dead letters; and a guard naming any moto internal the patch needs that moto lost."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from oms_webhooks_cli.local import moto_sqs
from oms_webhooks_cli.template import ACCOUNT, REGION

HIDDEN = 600  # seconds: in flight for the whole test


@pytest.fixture
def sqs(aws_endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_endpoint, region_name=REGION)


@pytest.fixture
def queue_url(sqs: Any) -> Iterator[str]:
    url: str = sqs.create_queue(QueueName=f"fair-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def send(sqs: Any, url: str, count: int, group: str | None = None, prefix: str = "") -> None:
    for first in range(0, count, 10):
        entries = [
            {"Id": str(i), "MessageBody": f"{prefix}{first + i}", **({"MessageGroupId": group} if group else {})}
            for i in range(min(10, count - first))
        ]
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def receive(sqs: Any, url: str, count: int = 10, visibility: int = HIDDEN) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=count, VisibilityTimeout=visibility, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    return messages


def receive_all(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while len(received) < count:
        batch = receive(sqs, url)
        assert batch, f"only {len(received)} of {count} messages received"
        received += batch
    return received


def group_of(message: dict[str, Any]) -> str | None:
    return message.get("Attributes", {}).get("MessageGroupId")


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, hidden, delayed = (int(attributes[name]) for name in names)
    return visible, hidden, delayed


def test_a_quiet_tenants_message_comes_before_a_noisy_tenants_backlog(sqs: Any, queue_url: str) -> None:
    """AWS's fair queues: a tenant with most of the queue's messages in flight waits behind the others."""
    send(sqs, queue_url, 1100, group="noisy")
    assert {group_of(m) for m in receive_all(sqs, queue_url, 100)} == {"noisy"}
    send(sqs, queue_url, 1, group="quiet", prefix="quiet-")
    assert counts(sqs, queue_url) == (1001, 100, 0)

    batch = receive(sqs, queue_url)

    assert len(batch) == 10
    assert (group_of(batch[0]), batch[0]["Body"]) == ("quiet", "quiet-0")
    assert [m["Body"] for m in batch[1:]] == [str(n) for n in range(100, 109)]  # then the noisy tenant's, oldest first


def test_without_group_ids_messages_come_oldest_first(sqs: Any, queue_url: str) -> None:
    """Each message without a group is a tenant of its own, never noisy: the order is moto's (and was)."""
    send(sqs, queue_url, 45)
    bodies = [m["Body"] for m in receive_all(sqs, queue_url, 45)]
    assert bodies == [str(n) for n in range(45)]


def test_tenants_that_are_not_noisy_share_one_order_oldest_first(sqs: Any, queue_url: str) -> None:
    for round_ in range(3):
        send(sqs, queue_url, 1, group="a", prefix=f"a{round_}-")
        send(sqs, queue_url, 1, prefix=f"none{round_}-")
        send(sqs, queue_url, 1, group="b", prefix=f"b{round_}-")
    bodies = [m["Body"] for m in receive(sqs, queue_url)]
    assert bodies == [f"{tenant}{r}-0" for r in range(3) for tenant in ("a", "none", "b")]


def test_noisy_tenants_take_turns_fewest_in_flight_first(sqs: Any, queue_url: str) -> None:
    send(sqs, queue_url, 120, group="busy")
    receive_all(sqs, queue_url, 100)
    send(sqs, queue_url, 60, group="busier")
    assert {group_of(m) for m in receive_all(sqs, queue_url, 40)} == {"busier"}  # busy is noisy already
    assert counts(sqs, queue_url) == (40, 140, 0)  # busy: 100 in flight, busier: 40; both over 10 % and 30

    batch = receive(sqs, queue_url)

    assert {group_of(m) for m in batch} == {"busier"}  # the one with fewer in flight, though busy's are older


def test_a_tenant_is_quiet_again_once_its_messages_are_no_longer_in_flight(sqs: Any, queue_url: str) -> None:
    send(sqs, queue_url, 50, group="noisy")
    in_flight = receive_all(sqs, queue_url, 40)
    send(sqs, queue_url, 1, group="quiet", prefix="quiet-")
    for first in range(0, 40, 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(in_flight[first : first + 10])
        ]
        answer = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        assert len(answer["Successful"]) == 10 and not answer.get("Failed")
    assert counts(sqs, queue_url) == (51, 0, 0)

    bodies = [m["Body"] for m in receive(sqs, queue_url)]

    assert bodies == [str(n) for n in range(10)]  # oldest first again: the noisy tenant's, back in the queue


def test_change_visibility_batch_hides_and_shows_each_message_as_told(sqs: Any, queue_url: str) -> None:
    send(sqs, queue_url, 4)
    first, second, third, fourth = receive(sqs, queue_url)
    answer = sqs.change_message_visibility_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "shown", "ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "kept", "ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeout": HIDDEN},
            {"Id": "soon", "ReceiptHandle": third["ReceiptHandle"], "VisibilityTimeout": 1},
            {"Id": "unknown", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0},
            {"Id": "too-long", "ReceiptHandle": fourth["ReceiptHandle"], "VisibilityTimeout": 43201},
        ],
    )
    assert sorted(entry["Id"] for entry in answer["Successful"]) == ["kept", "shown", "soon"]
    failed = {entry["Id"]: entry["Code"] for entry in answer["Failed"]}
    assert failed == {"unknown": "ReceiptHandleIsInvalid", "too-long": "InvalidParameterValue"}
    assert [m["Body"] for m in receive(sqs, queue_url)] == [first["Body"]]
    deadline = time.monotonic() + 10
    again: list[dict[str, Any]] = []
    while not again and time.monotonic() < deadline:
        again = receive(sqs, queue_url)
        time.sleep(0.1)
    assert [m["Body"] for m in again] == [third["Body"]]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([{"Id": str(i), "ReceiptHandle": "h", "VisibilityTimeout": 0} for i in range(11)], "TooManyEntriesInBatch"),
        ([{"Id": "same", "ReceiptHandle": h, "VisibilityTimeout": 0} for h in "ab"], "BatchEntryIdsNotDistinct"),
        ([{"Id": "not valid!", "ReceiptHandle": "h", "VisibilityTimeout": 0}], "InvalidBatchEntryId"),
    ],
)
def test_a_malformed_change_visibility_batch_is_refused_whole(
    sqs: Any, queue_url: str, entries: list[dict[str, Any]], code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
    assert code in refused.value.response["Error"]["Code"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_twelve_hour_limit_counts_from_the_receive_as_on_aws(sqs: Any, queue_url: str) -> None:
    """moto counted it from the send: a retry sent more than twelve hours ago could never be hidden again."""
    from moto.sqs.models import sqs_backends

    send(sqs, queue_url, 1)
    name = queue_url.rsplit("/", 1)[1]
    [message] = list[Any](sqs_backends[ACCOUNT][REGION].get_queue(name)._messages)
    message.sent_timestamp -= 13 * 3600 * 1000
    [received] = receive(sqs, queue_url)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=3600)
    assert counts(sqs, queue_url) == (0, 1, 0)


def test_counts_follow_sends_delays_receives_and_deletes(sqs: Any, queue_url: str) -> None:
    send(sqs, queue_url, 5)
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=600)
    [_, deleted] = receive(sqs, queue_url, count=2)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=deleted["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=deleted["ReceiptHandle"])  # again: a no-op, as on AWS
    assert counts(sqs, queue_url) == (3, 1, 1)
    with pytest.raises(ClientError) as invalid:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle="not-a-handle")
    assert invalid.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    sqs.purge_queue(QueueUrl=queue_url)
    assert counts(sqs, queue_url) == (0, 0, 0)
    send(sqs, queue_url, 1)
    assert [m["Body"] for m in receive(sqs, queue_url)] == ["0"]
    assert counts(sqs, queue_url) == (0, 1, 0)


def test_a_message_received_max_receive_count_times_goes_to_the_dead_letter_queue(sqs: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    dead_url = sqs.create_queue(QueueName=f"dead-{suffix}")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName=f"source-{suffix}", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison", MessageGroupId="owner")
    assert len(receive(sqs, url, visibility=0)) == 1
    assert len(receive(sqs, url, visibility=0)) == 1
    assert receive(sqs, url, visibility=0) == []
    assert [m["Body"] for m in receive(sqs, dead_url)] == ["poison"]
    assert counts(sqs, url) == (0, 0, 0)


def test_a_long_poll_answers_when_another_client_makes_a_message_visible(sqs: Any, queue_url: str) -> None:
    send(sqs, queue_url, 1)
    [message] = receive(sqs, queue_url)
    answered: list[float] = []

    def poll() -> None:
        started = time.monotonic()
        sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10)
        answered.append(time.monotonic() - started)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    poller.join(15)
    assert answered and answered[0] < 5


def test_fifo_queues_keep_motos_own_list_and_order(sqs: Any) -> None:
    from moto.sqs.models import sqs_backends

    name = f"fifo-{uuid.uuid4().hex[:8]}.fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})[
        "QueueUrl"
    ]
    for body in ("one", "two", "three"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    assert type(sqs_backends[ACCOUNT][REGION].get_queue(name)._messages) is list
    assert [m["Body"] for m in receive(sqs, url)] == ["one", "two", "three"]
    assert receive(sqs, url) == []  # the group's messages are in flight: none of it is handed out
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def fifo_url(sqs: Any) -> Iterator[str]:
    """A FIFO queue as template.yaml's OrderedQueue: high throughput, deduplication ids given."""
    attributes = {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "false",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }
    url: str = sqs.create_queue(QueueName=f"ordered-{uuid.uuid4().hex[:8]}.fifo", Attributes=attributes)["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def send_fifo(sqs: Any, url: str, group: str, *bodies: str, deduplication: str = "") -> None:
    for body in bodies:
        sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=deduplication or body
        )


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["Body"] for m in messages]


def test_a_fifo_group_is_handed_out_in_order_and_held_while_one_of_it_is_in_flight(sqs: Any, fifo_url: str) -> None:
    """What the sequencer builds on: a group's first message alone holds the group; other groups go on."""
    send_fifo(sqs, fifo_url, "a", "a1", "a2")
    send_fifo(sqs, fifo_url, "b", "b1")
    send_fifo(sqs, fifo_url, "a", "a3")
    [head] = receive(sqs, fifo_url, count=1)
    assert head["Body"] == "a1" and group_of(head) == "a" and int(head["Attributes"]["SentTimestamp"]) > 0
    assert bodies(receive(sqs, fifo_url)) == ["b1"]  # a1 in flight: nothing more of group a
    sqs.change_message_visibility(QueueUrl=fifo_url, ReceiptHandle=head["ReceiptHandle"], VisibilityTimeout=2)
    assert receive(sqs, fifo_url) == []  # hidden until due, it still holds its group
    time.sleep(2.2)
    assert bodies(receive(sqs, fifo_url)) == ["a1", "a2", "a3"]  # then the group again, from its first message


def test_messages_shown_again_behind_a_hidden_first_one_wait_for_it(sqs: Any, fifo_url: str) -> None:
    """A batch's messages after a waiting one are shown again at once; they do not overtake it."""
    send_fifo(sqs, fifo_url, "a", "a1", "a2", "a3")
    first, second, third = receive(sqs, fifo_url)
    sqs.change_message_visibility_batch(
        QueueUrl=fifo_url,
        Entries=[
            {"Id": "0", "ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeout": 2},
            {"Id": "1", "ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "2", "ReceiptHandle": third["ReceiptHandle"], "VisibilityTimeout": 0},
        ],
    )
    assert receive(sqs, fifo_url) == []
    sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=receive_after(sqs, fifo_url, 3)[0]["ReceiptHandle"])
    assert bodies(receive(sqs, fifo_url)) == ["a2", "a3"]


def receive_after(sqs: Any, url: str, seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = receive(sqs, url, count=1)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing visible within {seconds} s")


def test_a_long_poll_on_a_fifo_queue_waits_behind_a_held_group_and_answers_when_it_goes_on(
    sqs: Any, fifo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next of a group is visible but not receivable while the first is in flight: a poll waits (it spun, looking
    again and again, and the local stack's pollers took a core between them) and answers as soon as the first is
    deleted."""
    send_fifo(sqs, fifo_url, "a", "a1", "a2")
    [first] = receive(sqs, fifo_url, count=1)
    answered: list[tuple[float, list[str]]] = []
    looks = Counter[str]()
    real = moto_sqs._earliest_visible_ms  # asked after each look that found nothing

    def counted(queue: Any) -> float:
        looks["empty"] += 1
        return real(queue)

    monkeypatch.setattr(moto_sqs, "_earliest_visible_ms", counted)

    def poll() -> None:
        started = time.monotonic()
        found = sqs.receive_message(QueueUrl=fifo_url, WaitTimeSeconds=10).get("Messages", [])
        answered.append((time.monotonic() - started, bodies(found)))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.5)
    assert not answered  # still waiting: nothing of group a may be handed out
    assert looks["empty"] <= 5, looks  # once, and again at most every second
    sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=first["ReceiptHandle"])
    poller.join(15)
    assert answered and answered[0][1] == ["a2"] and answered[0][0] < 5


def test_a_fifo_deduplication_id_is_remembered_five_minutes_after_its_delete_per_group(sqs: Any, fifo_url: str) -> None:
    """As AWS: moto forgot a deduplication id once its message was deleted, so a resend came twice."""
    send_fifo(sqs, fifo_url, "a", "first", deduplication="same")
    [message] = receive(sqs, fifo_url)
    sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=message["ReceiptHandle"])
    send_fifo(sqs, fifo_url, "a", "again", deduplication="same")
    send_fifo(sqs, fifo_url, "a", "other", deduplication="new")
    assert bodies(receive(sqs, fifo_url)) == ["other"]


def test_a_fifo_message_may_be_hidden_twelve_hours_from_its_last_receive(sqs: Any, fifo_url: str) -> None:
    from moto.sqs.models import sqs_backends

    send_fifo(sqs, fifo_url, "a", "old")
    [message] = list[Any](sqs_backends[ACCOUNT][REGION].get_queue(fifo_url.rsplit("/", 1)[1])._messages)
    message.sent_timestamp -= 13 * 3600 * 1000  # sent 13 hours ago: moto refused any hide
    [received] = receive(sqs, fifo_url)
    handle = received["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=fifo_url, ReceiptHandle=handle, VisibilityTimeout=3600)
    with pytest.raises(ClientError, match="beyond the limit"):
        sqs.change_message_visibility(QueueUrl=fifo_url, ReceiptHandle=handle, VisibilityTimeout=43_200)


def test_the_books_counts_match_a_scan_after_random_calls(aws_endpoint: str) -> None:
    """What the book keeps counted (states, in flight by tenant) against moto's own scan of every message."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT][REGION]
    name = f"random-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    queue: Any = backend.get_queue(name)
    rng = random.Random(20)
    handles: list[str] = []
    for _ in range(3000):
        roll = rng.random()
        if roll < 0.35:
            group = rng.choice(["a", "b", None])
            backend.send_message(name, "m", group_id=group, delay_seconds=rng.choice([0, 0, 0, 1]))
        elif roll < 0.6:
            visibility = rng.choice([0, 1, HIDDEN, HIDDEN])
            handles += [str(m.receipt_handle) for m in backend.receive_message(name, rng.randint(1, 10), 0, visibility)]
        elif roll < 0.8 and handles:
            handle = handles.pop(rng.randrange(len(handles)))
            try:
                backend.change_message_visibility(name, handle, rng.choice([0, 1, HIDDEN]))
                handles.append(handle)
            except Exception as exc:
                assert type(exc).__name__ == "ReceiptHandleIsInvalid"
        elif handles:
            try:
                backend.delete_message(name, handles.pop(rng.randrange(len(handles))))
            except Exception as exc:
                assert type(exc).__name__ == "ReceiptHandleIsInvalid"
    with queue._oms_lock:
        book = queue._messages
        assert isinstance(book, moto_sqs.MessageBook)
        now = time.time() * 1000
        book.come_due(now)
        messages = list(book)
        due = [max(m.visible_at, m.delayed_until) for m in messages]
        in_flight = [m for m, at in zip(messages, due, strict=True) if at > now and m.receipt_handle is not None]
        assert book.counts[moto_sqs.VISIBLE] == sum(1 for at in due if at <= now)
        assert book.counts[moto_sqs.IN_FLIGHT] == len(in_flight)
        assert book.counts[moto_sqs.WAITING] == sum(1 for m in messages if m.delayed_until > now)
        by_tenant = Counter(book.slots[m.id].tenant for m in in_flight)
        assert dict(book.in_flight) == dict(by_tenant)
        assert book.crowded == {t for t, n in by_tenant.items() if n >= moto_sqs.NOISY_IN_FLIGHT}
    backend.delete_queue(name)


def test_moto_still_has_everything_moto_sqs_replaces_or_relies_on() -> None:
    """Checked in a fresh interpreter, where nothing is patched yet; fails naming what a new moto lacks."""
    code = (
        "import json; from oms_webhooks_cli.local import moto_sqs as m; "
        "print(json.dumps(m.missing_from_moto(m.REPLACED + m.RELIED_ON)))"
    )
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    missing = json.loads(answer.stdout)
    assert missing == [], f"moto no longer has {', '.join(missing)}: src/oms_webhooks_cli/local/moto_sqs.py needs them"


def test_the_guard_names_what_moto_lacks() -> None:
    assert moto_sqs.missing_from_moto(["Queue.add_message", "Queue.no_such_method", "Message.no_such_field"]) == [
        "Queue.no_such_method",
        "Message.no_such_field",
    ]
