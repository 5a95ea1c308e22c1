"""The circuit breaker on the local stack as a user runs it, in real time: a stack of its own whose breaker trips
after 3 failures and probes every 2 to 4 s (template parameters), a receiver that fails then comes back."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Client, LocalStackProcess, start_local_stack, stop_local_stack
from tests.receiver import Answer, Receiver

BREAKER_PARAMETERS = [
    "CircuitOpenAfterFailures=3",
    "CircuitOpenAfterSeconds=0",
    "CircuitProbeSeconds=2",
    "CircuitProbeMaxSeconds=4",
]
QUICK_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 30}


@pytest.fixture(scope="module")
def breaker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = start_local_stack(tmp_path_factory.mktemp("oms-breaker-home"), parameters=BREAKER_PARAMETERS)
    yield stack
    if stack.process.poll() is None:
        stop_local_stack(stack)


def wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def test_a_failing_receiver_trips_the_breaker_and_gets_every_queued_delivery_once_when_back(
    breaker_stack: LocalStackProcess, receiver: Receiver
) -> None:
    with requests.Session() as http:
        client = Client(breaker_stack, http)
        hook = client.subscribe(receiver.script("/shop", Answer(503)), retry_countdown_config=QUICK_RETRIES)
        for i in range(3):
            client.publish("package.created", {"id": i})
        # three failed attempts open the circuit; what is published next is queued for the probe, not attempted
        wait_for(lambda: len(receiver.received["/shop"]) >= 3, 20, "three failed attempts")
        # The third failure's record comes first, then the circuit's state: an event published in between would
        # still be attempted (seen on a loaded machine), so wait for the stack to say the circuit opened.
        log = breaker_stack.home / "stack.log"
        wait_for(lambda: "Circuit opened" in log.read_text(errors="replace"), 20, "the circuit opened")
        for i in range(3, 8):
            client.publish("package.created", {"id": i})

        def queued() -> list[dict[str, Any]]:
            return [d for d in client.deliveries(webhook=hook["id"]) if d["status"] == "deferred" and not d["attempts"]]

        wait_for(lambda: len(queued()) >= 3, 20, "deliveries queued while the circuit is open")
        shown = queued()[0]
        assert shown["deferral_count"] >= 1 and shown["retry_count"] == 0 and shown["request_datetimes"] == []
        assert "circuit is open" in shown["deferrals"][0]["reason"]
        sent_while_open = len(receiver.received["/shop"])
        time.sleep(3)  # a few probes' worth: at most one attempt per probe, not one per delivery per second
        assert len(receiver.received["/shop"]) - sent_while_open <= 3

        back_at = len(receiver.received["/shop"])
        receiver.script("/shop", Answer(200))
        wait_for(
            lambda: (
                len(client.deliveries(webhook=hook["id"])) == 8
                and all(d["delivered"] for d in client.deliveries(webhook=hook["id"]))
            ),
            40,
            "every delivery delivered once the receiver is back",
        )
        records = client.deliveries(webhook=hook["id"])
        answered = Counter(json.loads(r.body)["event"]["uuid"] for r in receiver.received["/shop"][back_at:])
        assert set(answered) == {d["uuid"] for d in records} and set(answered.values()) == {1}
        payloads = sorted(json.loads(r.body)["payload"]["id"] for r in receiver.received["/shop"][back_at:])
        assert payloads == list(range(8))
        answer = http.get(client.url(f"hooks/{hook['id']}/")).json()
        assert answer["is_active"] is True and answer["disabled_reason"] is None
        client.unsubscribe_all()
