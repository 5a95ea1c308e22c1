"""Ordered delivery end to end on the local stack: events published to EventBridge 100 ms apart reach an ordered
hook's receiver one at a time, in order, each once, through a failure; another object's event is not held back."""

from __future__ import annotations

import json
import random
import time

from tests.e2e.conftest import Client
from tests.receiver import Answer, Receiver

EVENT_TYPE = "package.status.transitioned"
COUNTDOWN = {"choice": "fixed", "kwargs": {"seconds": 3}, "max_retries": 5}


def test_eight_events_of_one_package_arrive_in_order_each_once_while_another_package_goes_at_once(
    client: Client, receiver: Receiver
) -> None:
    package, other = random.sample(range(10**6, 10**7), 2)  # the stack is shared: objects of this test alone
    refusals = {3: 2}

    def decide(body: bytes) -> Answer:
        payload = json.loads(body)["payload"]
        if payload["id"] == package and refusals.get(payload["seq"], 0) > 0:
            refusals[payload["seq"]] -= 1
            return Answer(503, b"not now")
        return Answer(200)

    hook = client.subscribe(
        receiver.decide("/erp", decide), EVENT_TYPE, ordering="object", retry_countdown_config=COUNTDOWN
    )
    assert hook["ordering"] == "object"
    for seq in range(1, 9):
        client.publish(EVENT_TYPE, {"id": package, "seq": seq})
        time.sleep(0.1)
    receiver.wait_for("/erp", 3, timeout=30)  # 1, 2, and the 3rd's first (refused) attempt
    published_other = time.time()
    client.publish(EVENT_TYPE, {"id": other, "seq": 1})

    # While the 3rd waits for its retry, the later ones are held, each naming it.
    third = _uuid_of(receiver, package, 3)
    deadline = time.monotonic() + 10
    held: list[dict] = []
    while time.monotonic() < deadline and len(held) < 5:
        held = [d for d in client.deliveries(webhook=hook["id"], limit=50) if d["held"]]
        time.sleep(0.2)
    assert len(held) == 5 and {d["waits_for"] for d in held} == {third}, held
    assert {d["request_payload"]["payload"]["seq"] for d in held} == {4, 5, 6, 7, 8}

    requests = receiver.wait_for("/erp", 8 + 2 + 1, timeout=60)
    payloads = [json.loads(r.body)["payload"] for r in requests]
    mine = [p["seq"] for p in payloads if p["id"] == package]
    assert mine == [1, 2, 3, 3, 3, 4, 5, 6, 7, 8]  # each request the earliest event not yet delivered
    [other_request] = [r for r, p in zip(requests, payloads, strict=True) if p["id"] == other]
    third_retries = [r.at for r, p in zip(requests, payloads, strict=True) if p == {"id": package, "seq": 3}][1:]
    assert other_request.at < third_retries[0]  # not held behind the other package
    assert other_request.at - published_other < 5

    time.sleep(2)  # anything sent twice would have come by now
    assert len(receiver.received["/erp"]) == 11
    shown = client.deliveries(webhook=hook["id"], limit=50)
    assert len(shown) == 9 and all(d["delivered"] and not d["held"] for d in shown)
    assert {d["ordering"]["object"] for d in shown} == {f"package:{package}", f"package:{other}"}


def _uuid_of(receiver: Receiver, package: int, seq: int) -> str:
    for request in receiver.received["/erp"]:
        body = json.loads(request.body)
        if body["payload"] == {"id": package, "seq": seq}:
            return str(body["event"]["uuid"])
    raise AssertionError(f"no request for event {seq}")
