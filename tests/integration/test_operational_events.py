"""Operational events through the real handlers on moto: the hook the breaker disables after days (under a simulated
clock, tests/integration/simulation.py) is told to its owner's hook through the bus, the template's rule and the
dispatcher; what one dispatch of an operational event reads; and what happens when PutEvents fails."""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from oms_webhooks.adapters.event_bus import EventBus
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.domain.operational_events import OPERATIONAL_SOURCE
from oms_webhooks.rules.operational_outbox import OperationalOutbox
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.triggers import eventbridge_rule
from oms_webhooks_cli.template import Template
from tests.conftest import Caller
from tests.integration.simulation import Simulation, rewire
from tests.integration.test_circuit_breaker import owner_with_token, subscribe
from tests.receiver import Answer, Receiver

HOURLY = {"choice": "fixed", "kwargs": {"seconds": 3600}, "max_retries": 50}
# EventBridge's envelope as it hands an event to the dispatcher (a sample's), for events made here.
ENVELOPE = json.loads((Path(__file__).resolve().parents[2] / "events/eventbridge/package.created.json").read_text())


def eventbridge(event_id: str, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {**ENVELOPE, "id": event_id, "source": source, "detail-type": detail_type, "detail": detail}


@pytest.fixture
def operational_rule(deployed: dict[str, LocalFunction], template: Template) -> Iterator[None]:
    """The template's rule for operational events, on moto's bus, invoking the real dispatcher as Lambda would."""
    stopping = threading.Event()
    [props] = [p for fn, name, p in template.triggers("EventBridgeRule") if name == "OperationalEvents"]
    # Short polls: the teardown waits for the receive in flight, and the next test's rule reuses this one's queue.
    invocations = eventbridge_rule(
        deployed["DispatcherFunction"], "OperationalEvents", props, boto3.client, stopping, long_poll_seconds=1
    )
    invocations.start()
    yield
    stopping.set()
    invocations.join(timeout=30)
    assert not invocations.is_alive()


@pytest.fixture
def simulation(deployed: dict[str, LocalFunction], monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulation]:
    """The breaker's defaults (5 days to disable), at least 3 attempts, a retry queue of its own."""
    queue_url = boto3.client("sqs").create_queue(QueueName=f"simulated-retry-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("RETRY_QUEUE_URL", queue_url)
    monkeypatch.setenv("AUTO_DISABLE_MIN_ATTEMPTS", "3")
    monkeypatch.setenv("CIRCUIT_PROBE_MAX_SECONDS", str(6 * 3600))
    rewire()
    with Simulation(deployed, queue_url) as simulation:
        yield simulation
    rewire()


@pytest.mark.timeout(300)
def test_a_hook_the_breaker_disables_after_days_is_told_once_to_its_owner_alone(
    simulation: Simulation, operational_rule: None, receiver: Receiver, call: Caller
) -> None:
    event_type = "transfer.status.cancelled"
    me, token = owner_with_token()
    _, other_token = owner_with_token()
    for who, path in ((token, "/mine"), (other_token, "/theirs")):
        for kind in ("whisperer.hook.disabled", "whisperer.hook.circuit_opened"):
            subscribe(call, who, receiver.url(path), kind)
    dead = receiver.script("/dead", Answer(500))
    hook_id = subscribe(call, token, dead, event_type, retry_countdown_config=HOURLY)

    store = HookStore(settings().hooks_table)
    simulation.publish(event_type, {"id": 1})
    next_event = simulation.start + timedelta(hours=12)
    for _ in range(400):
        if not store.get(me, hook_id).is_active:
            break
        due = simulation.next_due(me)
        if due is None or next_event <= due:
            simulation.advance_to(next_event)
            simulation.publish(event_type, {"at": simulation.elapsed})
            next_event += timedelta(hours=12)
        else:
            simulation.advance_to(due + timedelta(milliseconds=1))
        simulation.tick()
    hook = call("GET", f"/whisperer/hooks/{hook_id}/", token=token).json()
    assert hook["is_active"] is False and simulation.elapsed >= 5 * 86400

    told = receiver.wait_for("/mine", 2, timeout=30)  # the circuit opened on the first day; disabled on the fifth
    kinds = Counter(json.loads(r.body)["event"]["type"] for r in told)
    assert kinds == {"whisperer.hook.circuit_opened": 1, "whisperer.hook.disabled": 1}, kinds
    [disabled] = [json.loads(r.body) for r in told if json.loads(r.body)["event"]["type"] == "whisperer.hook.disabled"]
    payload = disabled["payload"]
    assert payload["hook"] == {"id": hook_id, "event_type": event_type, "target_url": dead}
    assert payload["cause"] == "failing" and payload["reason"] == hook["disabled_reason"]
    assert payload["disabled_at"] == hook["disabled_at"] and payload["failures"] >= 3
    assert payload["reason"].startswith("every attempt failed for 5 days")
    receiver.wait_for("/theirs", 1, timeout=2)
    assert receiver.received["/theirs"] == []


def test_an_operational_event_reads_only_its_owners_hooks_within_the_dispatch_budget(
    deployed: dict[str, LocalFunction], receiver: Receiver, call: Caller, dynamodb_calls: Counter[str]
) -> None:
    """Another owner's hundred hooks of the same type are not read: the Query returns this owner's three."""
    me, token = owner_with_token()
    _, other_token = owner_with_token()
    for i in range(100):
        subscribe(call, other_token, receiver.url(f"/theirs/{i}"), "whisperer.hook.circuit_closed")
    mine = [subscribe(call, token, receiver.url(f"/mine/{i}"), "whisperer.hook.circuit_closed") for i in range(3)]
    event_id = str(uuid.uuid4())
    payload = {"hook": {"id": 1, "event_type": "package.created", "target_url": "x"}}
    event = eventbridge(
        event_id, OPERATIONAL_SOURCE, "whisperer.hook.circuit_closed", {"owner": me, "payload": payload}
    )
    dynamodb_calls.clear()
    answer = deployed["DispatcherFunction"].invoke(event)
    assert (answer["hooks"], answer["delivered"]) == (3, 3)
    assert sum(dynamodb_calls.values()) <= math.ceil(3 / 25) + 5, dynamodb_calls
    for i, hook_id in enumerate(mine):
        [request] = receiver.received[f"/mine/{i}"]
        assert json.loads(request.body)["event"]["uuid"] == delivery_id(event_id, hook_id)
    assert not any(path.startswith("/theirs") for path in receiver.received)


def test_an_oms_event_cannot_pose_as_an_operational_one(deployed: dict[str, LocalFunction]) -> None:
    """Only the service's own source names an owner: the OMS's source with an operational type is dropped."""
    event = eventbridge(str(uuid.uuid4()), "oms", "whisperer.hook.disabled", {"owner": "someone", "payload": {}})
    answer = deployed["DispatcherFunction"].invoke(event)
    assert answer["accepted"] is False and "unknown event type" in answer["reason"]


class FailingBus(EventBus):
    def __init__(self, fault: Exception | None = None, refused: int = 0) -> None:
        super().__init__("bus")
        self.fault, self.refused = fault, refused
        self.calls: list[list[dict[str, Any]]] = []

    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        self.calls.append(entries)
        if self.fault:
            raise self.fault
        return ["InternalFailure" if i < self.refused else None for i in range(len(entries))]


def test_a_putevents_failure_fails_no_delivery_and_is_counted(
    deployed: dict[str, LocalFunction], receiver: Receiver, call: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 410 disables the hook; the bus refuses the event: the delivery is recorded as it is, sent once, and the
    dispatch reports the event it could not put (the handler counts it: OperationalEventsFailed)."""
    from oms_webhooks import wiring

    me, token = owner_with_token()
    hook_id = subscribe(call, token, receiver.script("/gone", Answer(410)), "shipment.cancelled")
    fault = ClientError({"Error": {"Code": "InternalException", "Message": "down"}}, "PutEvents")
    bus = FailingBus(fault)
    monkeypatch.setattr(wiring.dispatcher(), "bus", bus)
    event_id = str(uuid.uuid4())
    answer = deployed["DispatcherFunction"].invoke(
        eventbridge(event_id, "oms", "shipment.cancelled", {"payload": {"id": 1}})
    )
    assert (answer["failed"], answer["operational_sent"], answer["operational_failed"]) == (1, 0, 1)
    assert len(bus.calls) == 1 and json.loads(bus.calls[0][0]["Detail"])["owner"] == me
    assert len(receiver.received["/gone"]) == 1
    assert not HookStore(settings().hooks_table).get(me, hook_id).is_active


def test_an_invocations_events_go_ten_to_a_putevents_call() -> None:
    from oms_webhooks.domain.hooks import HookTarget
    from oms_webhooks.domain.operational_events import circuit_closed

    outbox = OperationalOutbox()
    for i in range(23):
        hook = HookTarget(id=i, owner="acme", event_type="package.created", target_url="https://x.example/")
        outbox.add(circuit_closed(hook, 5))
    operational = HookTarget(id=99, owner="acme", event_type="whisperer.hook.disabled", target_url="https://x.example/")
    outbox.add(circuit_closed(operational, 5))  # about an operational hook: never emitted
    bus = FailingBus(refused=1)
    published = outbox.publish(bus)
    assert [len(call) for call in bus.calls] == [10, 10, 3]
    assert (published.sent, published.failed) == (20, 3)  # the first entry of each call refused
    assert {entry["Source"] for call in bus.calls for entry in call} == {OPERATIONAL_SOURCE}
    assert outbox.publish(bus) == type(published)()  # published once: nothing left
