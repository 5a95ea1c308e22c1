"""Faults end to end on the local stack; each test checks the exact set of deliveries: none missing, none twice."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter

from tests.e2e.conftest import Client
from tests.receiver import Answer, Receiver

QUICK_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 10}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delivered_uuids(receiver: Receiver, path: str) -> Counter[str]:
    """Delivery uuids this receiver answered with a 2xx, counted."""
    answered: Counter[str] = Counter()
    for number, request in enumerate(receiver.received[path]):
        script = receiver.scripts.get(path) or [Answer()]
        answer = script[min(number, len(script) - 1)]
        if 200 <= answer.status < 300 and not answer.hang:
            answered[json.loads(request.body)["event"]["uuid"]] += 1
    return answered


def wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def test_receiver_down_while_events_are_published_then_back(client: Client) -> None:
    port = free_port()
    hook = client.subscribe(f"http://127.0.0.1:{port}/orders", retry_countdown_config=QUICK_RETRIES)
    for i in range(5):
        client.publish("package.created", {"id": 100 + i})
    wait_until(lambda: len(client.deliveries(webhook=hook["id"])) == 5, timeout=60)
    assert all(d["status"] == "retrying" for d in client.deliveries(webhook=hook["id"]))
    time.sleep(1.5)
    receiver = Receiver(port=port)  # the subscriber comes back on the same address
    try:
        wait_until(lambda: all(d["delivered"] for d in client.deliveries(webhook=hook["id"])), timeout=60)
        records = client.deliveries(webhook=hook["id"])
        answered = delivered_uuids(receiver, "/orders")
        assert set(answered) == {d["uuid"] for d in records}  # nothing missing
        assert set(answered.values()) == {1}  # nothing delivered twice
        payloads = sorted(json.loads(r.body)["payload"]["id"] for r in receiver.received["/orders"])
        assert payloads == [100, 101, 102, 103, 104]
        assert all(d["attempts"][0]["error"] == "Connection refused" for d in records)
    finally:
        receiver.stop()


def test_hanging_500_429_and_410_receivers_end_as_promised(client: Client, receiver: Receiver) -> None:
    hanging = client.subscribe(
        receiver.script("/hang", Answer(hang=True), Answer(200)), retry_countdown_config=QUICK_RETRIES
    )
    flaky = client.subscribe(
        receiver.script("/500", Answer(500), Answer(500), Answer(200)), retry_countdown_config=QUICK_RETRIES
    )
    busy = client.subscribe(
        receiver.script("/429", Answer(429, b"", {"Retry-After": "2"}), Answer(200)),
        retry_countdown_config=QUICK_RETRIES,
    )
    gone = client.subscribe(receiver.script("/410", Answer(410)), retry_countdown_config=QUICK_RETRIES)
    client.publish("package.created", {"id": 200})

    for hook, path in ((hanging, "/hang"), (flaky, "/500"), (busy, "/429")):
        record = client.wait_for_delivery(hook["id"], lambda d: d["delivered"], timeout=60)
        assert delivered_uuids(receiver, path) == Counter({record["uuid"]: 1})
    ended = client.wait_for_delivery(gone["id"], lambda d: d["status"] == "failed")
    assert ended["retry_count"] == 1 and len(receiver.received["/410"]) == 1
    assert client.http.get(client.url(f"hooks/{gone['id']}/")).json()["is_active"] is False
    attempts = client.deliveries(webhook=busy["id"])[0]["attempts"]
    assert len(attempts) == 2
    waited = _seconds_between(attempts[0]["at"], attempts[1]["at"])
    assert waited >= 2.0  # Retry-After beat the 1 s countdown


def _seconds_between(first: str, second: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(second) - datetime.fromisoformat(first)).total_seconds()
