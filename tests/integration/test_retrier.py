"""The retrier behind the local SQS event source mapping: a fault mid-batch loses nothing."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from oms_webhooks.delivery_store import DeliveryStore
from oms_webhooks.oms_event import OmsEvent
from oms_webhooks.settings import settings

from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.triggers import sqs_event_source
from oms_webhooks_cli.template import Template
from tests.integration.test_dispatch import dispatcher, subscribe, unsubscribe_all
from tests.receiver import Answer, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def retrier_running(deployed: dict[str, LocalFunction], template: Template) -> Iterator[None]:
    stopping = threading.Event()
    [(_, _, props)] = template.triggers("SQS")
    poller = sqs_event_source(deployed["RetrierFunction"], props, boto3.client, stopping)
    poller.start()
    yield
    stopping.set()
    poller.join(timeout=5)


def test_a_fault_mid_batch_loses_nothing(
    retrier_running: None, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    config = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 3}
    for i in range(4):
        receiver.script(f"/f{i}", Answer(500), Answer(200))
        subscribe(owner, receiver.url(f"/f{i}"), "transfer.status.cancelled", retry_countdown_config=config)

    faults = {"left": 3}
    real_get = DeliveryStore.get

    def flaky_get(self: DeliveryStore, uuid: str, owner: str | None = None) -> Any:
        if faults["left"] > 0:
            faults["left"] -= 1
            raise ConnectionError("DynamoDB briefly unreachable")
        return real_get(self, uuid, owner)

    monkeypatch.setattr(DeliveryStore, "get", flaky_get)
    report = dispatcher().dispatch(OmsEvent(str(uuid.uuid4()), "transfer.status.cancelled", {"id": 9}))
    assert report.retrying == 4

    for i in range(4):
        assert len(receiver.wait_for(f"/f{i}", 2, timeout=15)) == 2, f"/f{i} was not retried"
    assert faults["left"] == 0
    store = DeliveryStore(settings().deliveries_table)
    deadline = time.monotonic() + 5
    while True:
        records = store.query_owner(owner, {}, None, None, 10, None)[0]
        if all(r.status == "delivered" for r in records) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted((r.status, r.retry_count) for r in records) == [("delivered", 1)] * 4
    unsubscribe_all(owner)
