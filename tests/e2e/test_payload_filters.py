"""Payload filters end to end: a hook with a filter on the local stack, events published on the bus, a real
receiver on 127.0.0.1. For each operator, exactly the events whose payload matches arrive, and the others leave no
record in the delivery log. A hook without a filter, beside it, receives every event: when it has all of them, the
fan-outs are done."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.conftest import Client
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

EVENT_TYPE = "shipment.cancelled"

# (filter, payloads that match, payloads that do not); each payload's `id` names it.
OPERATORS: dict[str, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {
    "exact": ({"channel": ["web"]}, [{"channel": "web"}], [{"channel": "shop"}, {"channel": "WEB"}, {}]),
    "prefix": ({"number": [{"prefix": "PK-"}]}, [{"number": "PK-1"}], [{"number": "XPK-1"}, {"number": 5}]),
    "suffix": ({"email": [{"suffix": "@example.com"}]}, [{"email": "a@example.com"}], [{"email": "a@example.org"}]),
    "equals-ignore-case": (
        {"state": [{"equals-ignore-case": "packed"}]},
        [{"state": "PaCkEd"}],
        [{"state": "shipped"}],
    ),
    "wildcard": ({"awb": [{"wildcard": "TR*-X*"}]}, [{"awb": "TR123-X9"}], [{"awb": "TR123-Y9"}, {"awb": "UK1-X"}]),
    "anything-but": (
        {"state": [{"anything-but": {"prefix": "cancel"}}]},
        [{"state": "shipped"}, {"state": None}],
        [{"state": "cancelled"}, {}],
    ),
    "numeric": (
        {"total": [{"numeric": [">=", 100, "<", 1000]}]},
        [{"total": 100}, {"total": 999.99}],
        [{"total": 99.5}, {"total": "150"}, {"total": 1000}],
    ),
    "exists": ({"tracking": [{"exists": False}]}, [{"note": "x"}], [{"tracking": "T1"}, {"tracking": None}]),
    "$or": (
        {"$or": [{"channel": ["web"]}, {"total": [{"numeric": [">", 500]}]}]},
        [{"channel": "web", "total": 1}, {"channel": "shop", "total": 600}],
        [{"channel": "shop", "total": 1}],
    ),
    "array": (
        {"items": {"sku": ["A-1"], "quantity": [{"numeric": [">", 1]}]}},
        [{"items": [{"sku": "B-2", "quantity": 1}, {"sku": "A-1", "quantity": 3}]}],
        [{"items": [{"sku": "A-1", "quantity": 1}, {"sku": "B-2", "quantity": 3}]}, {"items": []}],
    ),
}


def ids_of(requests: list[Any]) -> set[int]:
    return {json.loads(request.body)["payload"]["id"] for request in requests}


@pytest.mark.parametrize("operator", OPERATORS)
def test_exactly_the_matching_events_arrive_and_the_others_leave_no_record(
    client: Client, receiver: Receiver, operator: str
) -> None:
    pattern, matching, other = OPERATORS[operator]
    filtered = client.subscribe(receiver.script("/filtered"), EVENT_TYPE, filter=pattern)
    every = client.subscribe(receiver.script("/every"), EVENT_TYPE)
    assert filtered["filter"] == pattern
    payloads = [{**payload, "id": i} for i, payload in enumerate(matching + other)]
    for payload in payloads:
        client.publish(EVENT_TYPE, payload)

    receiver.wait_for("/every", len(payloads), timeout=60)
    wanted = set(range(len(matching)))
    assert ids_of(receiver.wait_for("/filtered", len(wanted), timeout=30)) == wanted
    deadline = time.monotonic() + 30
    while len(client.deliveries(webhook=every["id"])) < len(payloads) and time.monotonic() < deadline:
        time.sleep(0.2)  # every fan-out has written its records
    logged = client.deliveries(webhook=filtered["id"])
    assert {delivery["request_payload"]["payload"]["id"] for delivery in logged} == wanted
    assert ids_of(receiver.received["/filtered"]) == wanted  # nothing more arrived meanwhile
