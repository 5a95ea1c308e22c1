"""The dispatcher in-process on moto with real receivers: idempotency, crash recovery, the address guard."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.dynamodb_batches import UnprocessedLeft
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.dispatch import DispatchInProgress
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.integration.support import dispatcher, subscribe
from tests.receiver import Receiver
from tests.throttled_dynamodb import HoldingBack

EVENTS = Path(__file__).resolve().parents[2] / "events" / "eventbridge"
NO_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}


@pytest.fixture
def event_type(deployed: dict[str, LocalFunction]) -> str:
    """Hooks here subscribe to a type no other test in this process publishes, so fan-outs stay ours."""
    return "stock_location.updated"


def event(event_type: str) -> OmsEvent:
    return OmsEvent(str(uuid.uuid4()), event_type, {"id": 1, "name": "Store"})


def test_the_same_event_twice_sends_nothing_twice(owner: str, event_type: str, receiver: Receiver) -> None:
    for i in range(3):
        subscribe(owner, receiver.url(f"/r{i}"), event_type)
    published = event(event_type)
    first = dispatcher().dispatch(published)
    assert (first.hooks, first.delivered, first.duplicate) == (3, 3, False)
    second = dispatcher().dispatch(published)
    assert second.duplicate is True and second.delivered == 0
    assert [len(receiver.received[f"/r{i}"]) for i in range(3)] == [1, 1, 1]


def test_a_payload_is_stored_once_per_event_and_each_delivery_serves_the_body_it_sent_byte_for_byte(
    owner: str, event_type: str, receiver: Receiver
) -> None:
    """The payload lives in the event's claim, not in each record; read back, each record's body is the bytes sent
    (and signed), whatever the payload holds."""
    hooks = [subscribe(owner, receiver.url(f"/exact/{i}"), event_type, secret_key="s") for i in range(3)]
    payload = {
        "id": 7,
        "name": 'İzmir \u2028 ✓ "q"',
        "price": 1.0,
        "big": 2**70,
        "tiny": 1e-7,
        "z": {"b": 1, "a": [None, -0.0]},
    }
    published = OmsEvent(str(uuid.uuid4()), event_type, payload)
    assert dispatcher().dispatch(published).delivered == 3
    store = DeliveryStore(settings().deliveries_table)
    for i, hook in enumerate(hooks):
        [sent] = receiver.received[f"/exact/{i}"]
        delivery = store.get(delivery_id(published.id, hook))
        assert delivery.body() == sent.body and delivery.payload_claim == published.id
        item = dynamodb().get_item(TableName=settings().deliveries_table, Key={"uuid": {"S": delivery.uuid}})["Item"]
        assert "request_payload" not in item and len(item["detail"]["B"]) < 400


def test_an_event_being_dispatched_elsewhere_is_retried_later(owner: str, event_type: str, receiver: Receiver) -> None:
    subscribe(owner, receiver.url("/busy"), event_type)
    published = event(event_type)
    store = DeliveryStore(settings().deliveries_table)
    assert store.claim_event(published.id, 0, published.payload).first  # another run has just claimed it
    with pytest.raises(DispatchInProgress):
        dispatcher().dispatch(published)
    assert receiver.received["/busy"] == []


class CrashAfterFirstBatch(DeliveryStore):
    """DynamoDB going away half-way through a fan-out: the second batch of records is never written."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.batches = 0
        self.lock = threading.Lock()

    def save_many(self, deliveries: Any) -> int:
        with self.lock:
            self.batches += 1
            first = self.batches == 1
        if not first:
            raise ConnectionError("DynamoDB unreachable")
        return super().save_many(deliveries)


def test_a_crashed_fan_out_resumes_without_resending_what_it_recorded(
    owner: str, event_type: str, receiver: Receiver
) -> None:
    for i in range(30):
        subscribe(owner, receiver.url(f"/c{i}"), event_type)
    published = event(event_type)
    with pytest.raises(ConnectionError):
        dispatcher(deliveries=CrashAfterFirstBatch(settings().deliveries_table)).dispatch(published)

    report = dispatcher().dispatch(published)  # the crashed run released its claim: resumed at once
    assert report.skipped in (5, 25)  # whichever batch of records was written before the fault
    assert report.delivered == 30 - report.skipped
    counts = [len(receiver.received[f"/c{i}"]) for i in range(30)]
    assert all(count >= 1 for count in counts)  # nothing lost
    assert counts.count(1) == report.skipped  # recorded deliveries were not sent again
    assert dispatcher().dispatch(published).duplicate is True


def test_a_resumed_fan_out_that_cannot_read_what_it_recorded_fails_rather_than_send_it_again(
    owner: str, event_type: str, receiver: Receiver
) -> None:
    """DynamoDB keeps handing back one key of the lookup of recorded deliveries: the run fails (to be resumed), where
    taking the partial answer for the whole would send that delivery twice."""
    for i in range(30):
        subscribe(owner, receiver.url(f"/u{i}"), event_type)
    published = event(event_type)
    with pytest.raises(ConnectionError):
        dispatcher(deliveries=CrashAfterFirstBatch(settings().deliveries_table)).dispatch(published)
    sent = sum(len(receiver.received[f"/u{i}"]) for i in range(30))

    throttled = DeliveryStore(settings().deliveries_table, HoldingBack(hold=1))
    with pytest.raises(UnprocessedLeft):
        dispatcher(deliveries=throttled).dispatch(published)
    assert sum(len(receiver.received[f"/u{i}"]) for i in range(30)) == sent  # nothing sent by the failed run

    report = dispatcher().dispatch(published)  # DynamoDB answers in full again
    assert report.delivered == 30 - report.skipped
    assert [len(receiver.received[f"/u{i}"]) for i in range(30)].count(1) == report.skipped


def test_delivery_time_guard_refuses_private_resolutions_before_connecting(
    owner: str, event_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialled: list[Any] = []
    real_connect = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        dialled.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    answers = {"internal.test": "10.0.0.5", "metadata.test": "169.254.169.254", "mapped.test": "::ffff:10.0.0.1"}

    def resolver(host: str, port: int, family: int = 0, kind: int = 0, *rest: Any) -> list[Any]:
        ip = answers[host]
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(fam, socket.SOCK_STREAM, 6, "", (ip, port) if fam == socket.AF_INET else (ip, port, 0, 0))]

    hooks = {
        host: subscribe(owner, f"http://{host}:8080/hook", event_type, retry_countdown_config=NO_RETRIES)
        for host in answers
    }
    sender = Sender(AddressPolicy(allow_loopback=False), connect_timeout=1, total_timeout=2, resolver=resolver)
    report = dispatcher(sender=sender).dispatch(event(event_type))
    assert report.failed == 3 and report.delivered == 0
    assert [address for address in dialled if address[1] == 8080] == []  # only moto (127.0.0.1) was dialled
    assert all(address[0] == "127.0.0.1" for address in dialled)
    store = DeliveryStore(settings().deliveries_table)
    for host, hook_id in hooks.items():
        [record] = store.query_owner(owner, {"webhook": hook_id}, None, None, 10, None).items
        assert record.status == "failed"
        error = record.attempts[0].error or ""
        assert error.startswith("Refused:"), error
        assert answers[host].split(":")[-1] in error


def test_every_eventbridge_sample_goes_through_the_dispatcher(
    deployed: dict[str, LocalFunction], owner: str, receiver: Receiver
) -> None:
    files = sorted(EVENTS.glob("*.json"))
    assert len(files) == 18
    for path in files:
        sample = json.loads(path.read_text())
        subscribe(owner, receiver.url(f"/{sample['detail-type']}"), sample["detail-type"])
    for path in files:
        sample = json.loads(path.read_text())
        sample["id"] = str(uuid.uuid4())  # fresh, so other runs' claims don't apply
        answer = deployed["DispatcherFunction"].invoke(sample)
        assert answer["accepted"] is True and answer["delivered"] >= 1, (path.name, answer)
        [request] = receiver.wait_for(f"/{sample['detail-type']}", 1, timeout=5)
        assert json.loads(request.body)["payload"] == sample["detail"]["payload"]


@pytest.mark.parametrize(
    "broken",
    [
        {"id": "x1", "detail-type": "package.created"},
        {"id": "x2", "detail-type": "package.created", "detail": {"payload": "text"}},
        {"id": "x3", "detail-type": "order.created", "detail": {"payload": {}}},
        {"id": "x4", "detail-type": 5, "detail": {"payload": {}}},
        {"detail-type": "package.created", "detail": {"payload": {}}},
        {"id": "x5", "detail-type": "package.created", "detail": {"payload": {"blob": "x" * 300_000}}},
    ],
)
def test_malformed_events_are_dropped_with_a_reason_not_raised(
    deployed: dict[str, LocalFunction], broken: dict, caplog: pytest.LogCaptureFixture
) -> None:
    answer = deployed["DispatcherFunction"].invoke(broken)
    assert answer["accepted"] is False and answer["reason"]
    assert "Malformed event dropped" in caplog.messages


def test_one_dispatcher_serves_concurrent_events(owner: str, event_type: str, receiver: Receiver) -> None:
    subscribe(owner, receiver.url("/many"), event_type)
    shared = dispatcher()
    threads = [threading.Thread(target=shared.dispatch, args=(event(event_type),)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(receiver.wait_for("/many", 10, timeout=5)) == 10
