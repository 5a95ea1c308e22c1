"""Operational events on the local stack as a user runs it: an owner subscribes ordinary hooks to `whisperer.*` types
and a real receiver gets, signed, exactly the events about that owner's own hooks: a delivery given up, a hook
disabled by a 410, a circuit opened then closed. Another owner subscribed to the same types gets nothing, and an
operational hook that fails causes no operational event. (Disabled by the breaker, which takes days: see
tests/integration/test_operational_events.py, under a simulated clock.)"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Client, LocalStackProcess, start_local_stack, stop_local_stack
from tests.receiver import Answer, Received, Receiver

OPERATIONAL = [
    "whisperer.delivery.exhausted",
    "whisperer.hook.disabled",
    "whisperer.hook.circuit_opened",
    "whisperer.hook.circuit_closed",
]
SECRET = "whsec_b3BlcmF0aW9uYWwgZXZlbnRzIGFyZSBzaWduZWQ="
# The breaker trips after 3 failures at once and probes every 1 to 2 s, so circuits open and close within a test.
BREAKER = [
    "CircuitOpenAfterFailures=3",
    "CircuitOpenAfterSeconds=0",
    "CircuitProbeSeconds=1",
    "CircuitProbeMaxSeconds=2",
]
QUICK = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 30}
SETTLE_SECONDS = 4  # after the awaited events: time for any duplicate or stray one to arrive


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    running = start_local_stack(tmp_path_factory.mktemp("oms-operational"), parameters=BREAKER)
    yield running
    if running.process.poll() is None:
        stop_local_stack(running)


@pytest.fixture
def owners(stack: LocalStackProcess) -> Iterator[Callable[[], Client]]:
    made: list[Client] = []

    def make() -> Client:
        client = Client(stack, requests.Session())
        made.append(client)
        return client

    yield make
    for client in made:
        client.unsubscribe_all()
        client.http.close()


def watch(client: Client, url: str, *event_types: str) -> list[dict[str, Any]]:
    """The owner's signed operational hooks, one per type, all to `url`."""
    return [client.subscribe(url, event_type, secret_key=SECRET) for event_type in event_types]


def events_at(receiver: Receiver, path: str) -> list[dict[str, Any]]:
    """Each request's body, after its signature is checked as a Standard Webhooks receiver checks it."""
    return [_verified(request) for request in receiver.received[path]]


def _verified(request: Received) -> dict[str, Any]:
    body: dict[str, Any] = Webhook(SECRET).verify(request.body, request.headers)
    assert request.headers["X-Whisperer-Event"] == body["event"]["type"]
    return body


def wait_for(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def test_a_delivery_given_up_is_told_once_to_its_owner_and_to_no_one_else(
    owners: Callable[[], Client], receiver: Receiver
) -> None:
    me, other = owners(), owners()
    watch(me, receiver.url("/mine"), *OPERATIONAL)
    watch(other, receiver.url("/theirs"), *OPERATIONAL)
    dead = receiver.script("/dead", Answer(500, b"down"))
    hook = me.subscribe(dead, "package.status.shipped", retry_countdown_config={**QUICK, "max_retries": 1})
    me.publish("package.status.shipped", {"id": 7})

    wait_for(lambda: len(receiver.received["/mine"]) >= 1, 30, "the exhausted event")
    time.sleep(SETTLE_SECONDS)
    [event] = events_at(receiver, "/mine")
    [given_up] = me.deliveries(webhook=hook["id"])
    assert given_up["status"] == "failed" and given_up["retry_count"] == 2
    assert event["event"]["type"] == "whisperer.delivery.exhausted"
    payload = event["payload"]
    assert payload["hook"] == {"id": hook["id"], "event_type": "package.status.shipped", "target_url": dead}
    assert payload["delivery"] == {
        "uuid": given_up["uuid"],
        "event_type": "package.status.shipped",
        "retry_count": 2,
        "last_status_code": 500,
        "last_error": "HTTP 500",
        "created_date": given_up["created_date"],
    }
    assert payload["reason"] == "the last of 1 retries failed"
    assert receiver.received["/theirs"] == []
    # The operational delivery is in the owner's log like any other, under its type.
    [logged] = me.deliveries(event_type="whisperer.delivery.exhausted")
    assert logged["uuid"] == event["event"]["uuid"] and logged["delivered"]


def test_a_410_disables_the_hook_and_that_is_told_once_whatever_answers_410(
    owners: Callable[[], Client], receiver: Receiver
) -> None:
    me, other = owners(), owners()
    watch(me, receiver.url("/mine"), *OPERATIONAL)
    watch(other, receiver.url("/theirs"), *OPERATIONAL)
    gone = receiver.script("/gone", Answer(410, b"unsubscribed"))
    hook = me.subscribe(gone, "package.status.packed")
    for i in range(3):  # at once: each may meet the 410, and one write alone turns the hook off
        me.publish("package.status.packed", {"id": i})

    wait_for(lambda: len(receiver.received["/mine"]) >= 1, 30, "the disabled event")
    time.sleep(SETTLE_SECONDS)
    [event] = events_at(receiver, "/mine")  # no exhausted event either: a 410 ends a delivery by disabling its hook
    assert event["event"]["type"] == "whisperer.hook.disabled"
    payload = event["payload"]
    assert payload["cause"] == "gone" and payload["reason"] == "the subscriber answered 410 Gone"
    assert payload["hook"] == {"id": hook["id"], "event_type": "package.status.packed", "target_url": gone}
    answered_410 = {d["uuid"] for d in me.deliveries(webhook=hook["id"]) if d["response_http_status"] == 410}
    assert payload["delivery"]["uuid"] in answered_410 and payload["delivery"]["last_status_code"] == 410
    shown = me.http.get(me.url(f"hooks/{hook['id']}/")).json()
    assert shown["is_active"] is False and shown["disabled_reason"] == payload["reason"]
    assert shown["disabled_at"] == payload["disabled_at"]
    assert receiver.received["/theirs"] == []


def test_a_circuit_that_opens_then_closes_is_told_once_each(owners: Callable[[], Client], receiver: Receiver) -> None:
    me, other = owners(), owners()
    watch(me, receiver.url("/mine"), *OPERATIONAL)
    watch(other, receiver.url("/theirs"), *OPERATIONAL)
    flaky = receiver.script("/flaky", Answer(503))
    hook = me.subscribe(flaky, "transfer.status.in_transit", retry_countdown_config=QUICK)
    for i in range(4):
        me.publish("transfer.status.in_transit", {"id": i})

    def told(event_type: str) -> list[dict[str, Any]]:
        return [e for e in events_at(receiver, "/mine") if e["event"]["type"] == event_type]

    wait_for(lambda: told("whisperer.hook.circuit_opened"), 40, "the circuit_opened event")
    [opened] = told("whisperer.hook.circuit_opened")
    assert opened["payload"]["hook"] == {
        "id": hook["id"],
        "event_type": "transfer.status.in_transit",
        "target_url": flaky,
    }
    assert opened["payload"]["failures"] >= 3 and opened["payload"]["next_probe_at"] > opened["payload"]["occurred_at"]
    assert told("whisperer.hook.circuit_closed") == []

    receiver.script("/flaky", Answer(200))
    wait_for(lambda: told("whisperer.hook.circuit_closed"), 40, "the circuit_closed event")
    wait_for(
        lambda: all(d["delivered"] for d in me.deliveries(webhook=hook["id"])), 40, "every delivery once it is back"
    )
    time.sleep(SETTLE_SECONDS)
    assert [e["event"]["type"] for e in events_at(receiver, "/mine")] == [
        "whisperer.hook.circuit_opened",
        "whisperer.hook.circuit_closed",
    ]
    [closed] = told("whisperer.hook.circuit_closed")
    assert closed["payload"]["hook"]["id"] == hook["id"] and closed["payload"]["failures"] >= 3
    assert receiver.received["/theirs"] == []


def test_an_operational_hook_that_fails_causes_no_operational_event(
    owners: Callable[[], Client], receiver: Receiver
) -> None:
    """The exhausted event goes to two operational hooks: one fails its only attempt (its delivery is given up in
    turn), one answers 410 (it is disabled). Neither is told, to the owner's other operational hooks or anyone: one
    request each, and nothing more."""
    me = owners()
    watching = watch(me, receiver.url("/watching"), "whisperer.hook.disabled", "whisperer.hook.circuit_opened")
    once = {**QUICK, "max_retries": 0}
    failing = me.subscribe(
        receiver.script("/ops-500", Answer(500)), "whisperer.delivery.exhausted", **{"retry_countdown_config": once}
    )
    gone = me.subscribe(receiver.script("/ops-410", Answer(410)), "whisperer.delivery.exhausted")
    dead = receiver.script("/dead-oms", Answer(500))
    me.subscribe(dead, "stock_location.updated", retry_countdown_config=once)
    me.publish("stock_location.updated", {"id": 1})

    wait_for(lambda: receiver.received["/ops-500"] and receiver.received["/ops-410"], 30, "the exhausted event")
    wait_for(lambda: not me.http.get(me.url(f"hooks/{gone['id']}/")).json()["is_active"], 20, "the 410 disables it")
    wait_for(
        lambda: [d["status"] for d in me.deliveries(webhook=failing["id"])] == ["failed"], 20, "its delivery given up"
    )
    time.sleep(SETTLE_SECONDS)
    assert len(receiver.received["/ops-500"]) == len(receiver.received["/ops-410"]) == 1
    assert json.loads(receiver.received["/ops-500"][0].body)["payload"]["hook"]["target_url"] == dead
    assert receiver.received["/watching"] == []
    assert sorted(d["event_type"] for d in me.deliveries()) == [
        "stock_location.updated",
        "whisperer.delivery.exhausted",
        "whisperer.delivery.exhausted",
    ]
    assert all(me.http.get(me.url(f"hooks/{hook['id']}/")).json()["is_active"] for hook in watching)
