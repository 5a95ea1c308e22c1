"""Hook filters in the dispatcher, in-process on moto with a real receiver: a delivery the filter drops costs no
DynamoDB write and no attempt, and the fan-out's budget (ceil(N/25) + 5 calls) holds."""

from __future__ import annotations

import math
import uuid
from collections import Counter

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.settings import settings
from tests.integration.support import dispatcher, subscribe
from tests.receiver import Receiver

EVENT_TYPE = "transfer.status.ready_to_shipment"  # no other test in this process publishes it
WEB_ONLY = {"channel": ["web"]}
BIG_ORDERS = {"total": [{"numeric": [">=", 100]}]}


def test_filtered_out_deliveries_are_neither_written_nor_sent(
    owner: str, receiver: Receiver, dynamodb_calls: Counter[str]
) -> None:
    hooks = {
        "web": [subscribe(owner, receiver.url(f"/web{i}"), EVENT_TYPE, filter=WEB_ONLY) for i in range(30)],
        "big": [subscribe(owner, receiver.url(f"/big{i}"), EVENT_TYPE, filter=BIG_ORDERS) for i in range(20)],
        "all": [subscribe(owner, receiver.url(f"/all{i}"), EVENT_TYPE) for i in range(10)],
    }
    fan_out = dispatcher()
    fan_out.dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"channel": "shop", "total": 5}))  # warms the hooks

    dynamodb_calls.clear()
    event = OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"channel": "web", "total": 40})
    report = fan_out.dispatch(event)

    assert (report.hooks, report.filtered, report.delivered) == (60, 20, 40)
    assert {path[1:4] for path in receiver.received if receiver.received[path]} == {"web", "all"}
    assert not any(receiver.received[f"/big{i}"] for i in range(20))
    n = 40  # the deliveries made: the filtered ones are not counted, nor written
    assert dynamodb_calls == {
        "PutItem": 1,
        "GetItem": 1,
        "BatchWriteItem": math.ceil(n / 25),
    }  # claim, version, records
    assert sum(dynamodb_calls.values()) <= math.ceil(n / 25) + 5
    store = DeliveryStore(settings().deliveries_table)
    uuids = [delivery_id(event.id, hook) for group in hooks.values() for hook in group]
    recorded = store.existing(uuids)
    assert recorded == {delivery_id(event.id, hook) for hook in hooks["web"] + hooks["all"]}


def test_a_fan_out_whose_every_hook_filters_the_event_out_writes_only_its_claim(
    owner: str, receiver: Receiver, dynamodb_calls: Counter[str]
) -> None:
    for i in range(30):
        subscribe(owner, receiver.url(f"/none{i}"), EVENT_TYPE, filter={"never": ["present"]})
    fan_out = dispatcher()
    fan_out.dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 1}))

    dynamodb_calls.clear()
    report = fan_out.dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 2}))
    assert (report.filtered, report.delivered) == (30, 0)
    assert dynamodb_calls == {"PutItem": 1, "GetItem": 1}  # the claim and the hooks' version: nothing else
    assert not any(receiver.received.values())
