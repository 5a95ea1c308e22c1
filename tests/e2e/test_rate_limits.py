"""Subscriber protection on the local stack, counted at real receivers: a hook's rate limit holds for a burst of
events (deliveries beyond it wait in the retry queue, none lost or sent twice), and a fan-out to many hooks on one
host never opens more connections to it than MaxConnectionsPerHost (16 by default)."""

from __future__ import annotations

import bisect
import json
import time
from typing import Any

from tests.e2e.conftest import Client
from tests.receiver import Answer, Receiver

BURST = 300
RATE = 10
WINDOW_ALLOWANCE = 1.1  # the 10 % at window edges: rate + 1 here
MAX_CONNECTIONS_PER_HOST = 16  # the template's default, which the local stack runs with


def publish_many(client: Client, event_type: str, payloads: list[Any]) -> None:
    """As the OMS would: PutEvents, ten entries a call; every entry accepted or the test stops."""
    bus = client.stack.outputs["EventBusName"]
    for start in range(0, len(payloads), 10):
        entries = [
            {"EventBusName": bus, "Source": "oms", "DetailType": event_type, "Detail": json.dumps({"payload": p})}
            for p in payloads[start : start + 10]
        ]
        answer = client.events.put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0, answer


def most_in_any_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))


def test_a_burst_to_a_rate_limited_hook_is_paced_and_every_event_arrives_once(
    client: Client, receiver: Receiver
) -> None:
    hook = client.subscribe(receiver.url("/paced"), "transfer.status.ready_to_shipment", rate_limit=RATE)
    assert hook["rate_limit"] == RATE
    publish_many(client, "transfer.status.ready_to_shipment", [{"id": n} for n in range(BURST)])

    arrived = receiver.wait_for("/paced", BURST, timeout=240)
    time.sleep(3)  # anything sent twice, or beyond the burst, would have arrived by now
    arrived = list(receiver.received["/paced"])
    uuids = {json.loads(r.body)["event"]["uuid"] for r in arrived}
    payloads = {json.loads(r.body)["payload"]["id"] for r in arrived}
    assert len(arrived) == BURST, f"{len(arrived)} of {BURST} arrived"
    assert len(uuids) == BURST and payloads == set(range(BURST)), "each event arrives exactly once"
    busiest = most_in_any_second([r.at for r in arrived])
    assert busiest <= RATE * WINDOW_ALLOWANCE, f"{busiest} deliveries within one second (limit {RATE})"

    log = client.deliveries(webhook=hook["id"], limit=500)
    assert len(log) == BURST
    assert {d["status"] for d in log} == {"delivered"}
    deferred = [d for d in log if d["deferral_count"]]
    assert len(deferred) >= BURST // 2, "most of the burst waited its turn in the retry queue"
    assert all(d["deferrals"][-1]["reason"].startswith("rate limit") for d in deferred)
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["status_code"] == 200 for d in log), "no failed attempts"


def test_a_fan_out_to_200_hooks_on_one_host_opens_at_most_the_cap(client: Client, receiver: Receiver) -> None:
    for n in range(200):
        client.subscribe(receiver.script(f"/crowd/{n}", Answer(delay=0.2)), "transfer.status.transferred")
    client.publish("transfer.status.transferred", {"id": 1})

    deadline = time.monotonic() + 120
    while sum(len(receiver.received[f"/crowd/{n}"]) for n in range(200)) < 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    counts = [len(receiver.received[f"/crowd/{n}"]) for n in range(200)]
    assert counts == [1] * 200, f"{sum(counts)} deliveries for 200 hooks"
    assert receiver.connections.most_open <= MAX_CONNECTIONS_PER_HOST, receiver.connections.most_open
    assert receiver.connections.most_open >= 2  # still concurrent, only capped
