"""The circuit breaker and auto-disable through the real handlers on moto, with real receivers, over simulated days
(tests/integration/simulation.py): a subscriber down for a week, and one that comes back."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from aws_lambda_powertools import Logger

from oms_webhooks import wiring
from oms_webhooks.adapters.circuit_store import Changes, CircuitStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryMessage
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.rules import circuit_breaker
from oms_webhooks.rules.retrier import Received
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller
from tests.integration.simulation import Simulation, rewire
from tests.integration.test_observability import Captured, captured, loaded  # noqa: F401 - fixtures
from tests.receiver import Answer, Receiver

DAY = 86400.0
PROBE_MAX_SECONDS = 6 * 3600  # the longest probe interval here (default 900 s): fewer ticks to live 5 days
FIXED_MINUTE = {"choice": "fixed", "kwargs": {"seconds": 60}, "max_retries": 50}


@pytest.fixture
def simulation(deployed: dict[str, LocalFunction], monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulation]:
    """A retry queue of its own (nothing of other tests' on it) and the template's breaker defaults, except the
    longest probe interval; functions rebuilt from that environment, and again afterwards."""
    queue_url = boto3.client("sqs").create_queue(QueueName=f"simulated-retry-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("RETRY_QUEUE_URL", queue_url)
    monkeypatch.setenv("CIRCUIT_PROBE_MAX_SECONDS", str(PROBE_MAX_SECONDS))
    monkeypatch.setattr(circuit_breaker, "logger", Logger(service=os.environ["POWERTOOLS_SERVICE_NAME"], child=True))
    rewire()
    with Simulation(deployed, queue_url) as simulation:
        yield simulation
    rewire()  # the monkeypatched environment is undone after this; the parts are built again on next use


def owner_with_token() -> tuple[str, str]:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    return owner, TokenStore(settings().tokens_table).create(owner)


def subscribe(call: Caller, token: str, url: str, event_type: str, **fields: object) -> int:
    answer = call("POST", "/whisperer/hooks/", {"event_type": event_type, "target_url": url, **fields}, token=token)
    assert answer.status == 201, answer.body
    return int(answer.json()["id"])


def uuids(receiver: Receiver, path: str, start: int = 0) -> list[str]:
    return [json.loads(r.body)["event"]["uuid"] for r in receiver.received[path][start:]]


@pytest.mark.timeout(600)  # about a minute idle; several hundred simulated ticks of real moto calls under load
def test_a_receiver_down_for_days_opens_its_circuit_then_is_disabled_and_can_be_turned_back_on(
    simulation: Simulation,
    receiver: Receiver,
    call: Caller,
    captured: Captured,  # noqa: F811
) -> None:
    event_type = "package.status.transitioned"  # no other test in this process subscribes to it
    owner, token = owner_with_token()
    url = receiver.script("/down", Answer(500))
    hook_id = subscribe(call, token, url, event_type, retry_countdown_config=FIXED_MINUTE)
    health = CircuitStore(settings().hooks_table)

    # 20 minutes in ticks of 10 s, an event a minute for the first 10: attempts counted per simulated minute.
    per_minute: Counter[int] = Counter()
    opened_at = None
    deferred_by_dispatch = 0
    for tick in range(120):
        simulation.advance_to(simulation.start + timedelta(seconds=10 * tick))
        before = len(receiver.received["/down"])
        if tick % 6 == 0 and tick < 60:
            deferred_by_dispatch += simulation.publish(event_type, {"n": tick // 6})["deferred"]
        simulation.tick()
        per_minute[tick // 6] += len(receiver.received["/down"]) - before
        if opened_at is None and health.read_hook(event_type, hook_id).is_open:
            opened_at = simulation.elapsed
    # Closed: every event and every retry is attempted, three a minute by minute 2, when the streak has 5 failures
    # and is a minute old; then the circuit opens and only probes go out: at most one a minute, fewer and fewer.
    assert per_minute[2] >= 3, per_minute
    assert opened_at is not None and 120 <= opened_at < 180, opened_at
    assert all(per_minute[minute] <= 1 for minute in range(4, 20)), per_minute
    assert sum(per_minute[minute] for minute in range(10, 20)) <= 2, per_minute
    assert deferred_by_dispatch >= 4  # of the 7 events published once it was open; 3 came at a probe time
    queued = [d for d in simulation.deliveries(owner) if d.status == "deferred" and not d.attempts]
    assert len(queued) >= 2, "events published while the circuit was open are queued, not attempted"
    for delivery in queued:
        assert delivery.retry_count == 0 and delivery.deferral_count >= 1
        assert "circuit is open" in delivery.deferrals[-1].reason
        assert delivery.next_attempt_at is not None and delivery.next_attempt_at > delivery.deferrals[-1].at
    listed = call("GET", f"/whisperer/hook_events/{queued[0].uuid}/", token=token).json()
    assert listed["status"] == "deferred" and listed["attempts"] == [] and listed["deferral_count"] >= 1

    # The rest of the week: an event a day, time moving to each next due delivery, until it is disabled.
    store = HookStore(settings().hooks_table)
    next_event = simulation.start + timedelta(days=1)
    ticks = 0
    while store.get(owner, hook_id).is_active:
        ticks += 1
        assert ticks < 600, "not disabled after 600 ticks"
        due = simulation.next_due(owner)
        if due is None or next_event <= due:
            simulation.advance_to(next_event)
            simulation.publish(event_type, {"at": simulation.elapsed})
            next_event += timedelta(days=1)
        else:
            simulation.advance_to(due + timedelta(milliseconds=1))
        simulation.tick()
    disabled_after = simulation.elapsed
    assert 5 * DAY <= disabled_after < 5 * DAY + PROBE_MAX_SECONDS + 120, disabled_after / DAY
    attempts = len(receiver.received["/down"])
    assert 20 <= attempts < 200, attempts  # 5 days of probes, not 5 days of every retry of every delivery

    hook = call("GET", f"/whisperer/hooks/{hook_id}/", token=token).json()
    assert hook["is_active"] is False
    assert hook["disabled_reason"].startswith("every attempt failed for 5 days") and hook["disabled_at"]
    logged = (json.loads(line) for line in captured.logs.getvalue().splitlines() if line.startswith("{"))
    lines = [line for line in logged if line.get("message") == "Hook disabled"]
    assert [(line["owner"], line["hook_id"]) for line in lines] == [(owner, hook_id)]
    assert sum(value for doc in captured.emf() for value in doc.get("HooksDisabled", [])) == 1

    # Its pending deliveries end failed with that reason, recorded, when they come due; nothing more is sent.
    for _ in simulation.run_until_due_work_is_done(owner, ticks=20):
        pass
    records = simulation.deliveries(owner)
    assert records and all(d.status == "failed" for d in records)
    for delivery in records:
        assert delivery.attempts[-1].error is not None
        assert delivery.attempts[-1].error.startswith("Not sent: the hook was disabled: every attempt failed")
    assert len(receiver.received["/down"]) == attempts

    # Turned back on, it starts afresh: no reason shown, no streak, and a new event is attempted at once.
    answer = call("PATCH", f"/whisperer/hooks/{hook_id}/", {"is_active": True}, token=token)
    assert answer.status == 200
    assert (answer.json()["is_active"], answer.json()["disabled_reason"], answer.json()["disabled_at"]) == (
        True,
        None,
        None,
    )
    assert not health.read_hook(event_type, hook_id).streak
    receiver.script("/down", Answer(200))
    report = simulation.publish(event_type, {"back": True})
    assert (report["delivered"], report["deferred"]) == (1, 0)
    assert uuids(receiver, "/down")[-1] == delivery_id(report["event_id"], hook_id)


def test_a_receiver_that_comes_back_closes_the_circuit_and_gets_every_queued_delivery_once(
    simulation: Simulation, receiver: Receiver, call: Caller
) -> None:
    event_type = "package.status.cancelled"  # no other test in this process subscribes to it
    owner, token = owner_with_token()
    url = receiver.script("/back", Answer(503))
    hook_id = subscribe(call, token, url, event_type)  # the default countdown: 2**n seconds, 10 retries
    health = CircuitStore(settings().hooks_table)

    published: list[str] = []
    for step in range(12):  # an event every 20 s for 4 minutes: the circuit opens on the way
        published.append(simulation.publish(event_type, {"n": step})["event_id"])
        simulation.run_until(simulation.start + timedelta(seconds=20 * (step + 1)), owner)
    assert health.read_hook(event_type, hook_id).is_open
    queued_now = []
    for n in range(10):  # while it is open: queued, not attempted
        report = simulation.publish(event_type, {"queued": n})
        assert (report["deferred"], report["delivered"], report["retrying"]) == (1, 0, 0), report
        published.append(report["event_id"])
        queued_now.append(delivery_id(report["event_id"], hook_id))
    expected = {delivery_id(event_id, hook_id) for event_id in published}
    assert len(expected) == 22
    # Parked, they wait in their records: the queue holds the circuit's one probe message and the retries still
    # in their schedule, not a message per queued delivery.
    parked = [d for d in simulation.deliveries(owner) if d.parked]
    assert len(parked) >= 10 and all(d.status == "deferred" for d in parked)
    scheduled = sum(1 for d in simulation.deliveries(owner) if d.status == "retrying")
    assert simulation.messages() <= scheduled + 1, (simulation.messages(), scheduled)

    answer_time = 0.3  # seconds each answer takes: a request made before the probe settled would come sooner
    receiver.script("/back", Answer(200, delay=answer_time))
    back_at = len(receiver.received["/back"])
    for _ in simulation.run_until_due_work_is_done(owner, ticks=40):
        pass
    arrived = Counter(uuids(receiver, "/back", back_at))
    assert set(arrived) == expected and set(arrived.values()) == {1}, arrived  # every one, once
    probe, second = receiver.received["/back"][back_at : back_at + 2]
    assert second.at - probe.at >= answer_time  # half-open: the probe alone, the others once it succeeded
    assert not health.read_hook(event_type, hook_id).streak  # closed
    records = {d.uuid: d for d in simulation.deliveries(owner)}
    assert {d.status for d in records.values()} == {"delivered"}
    for delivery_uuid in queued_now:
        delivery = records[delivery_uuid]
        assert len(delivery.attempts) == 1 and delivery.retry_count == 1 and delivery.deferral_count >= 1
    reasons = [deferral.reason for d in records.values() for deferral in d.deferrals]
    assert reasons and all("circuit is open" in reason and "parked" in reason for reason in reasons)


def test_parked_deliveries_cost_nothing_while_their_hook_stays_down(
    simulation: Simulation, receiver: Receiver, call: Caller, dynamodb_calls: Counter[str]
) -> None:
    """An hour of a dead hook with 30 deliveries parked behind its open circuit: the calls are the probes', a few
    each, whatever the number parked. Before parking, each queued delivery woke at every probe (and at the end of
    its lease) and was read, claimed and rewritten each time."""
    event_type = "shipment.status.updated"  # no other test in this process subscribes to it
    owner, token = owner_with_token()
    url = receiver.script("/dead", Answer(503))
    subscribe(call, token, url, event_type, retry_countdown_config=FIXED_MINUTE)
    for step in range(8):  # an event every 20 s: five failures over a minute open the circuit
        simulation.publish(event_type, {"n": step})
        simulation.run_until(simulation.start + timedelta(seconds=20 * (step + 1)), owner)
    for n in range(30):
        assert simulation.publish(event_type, {"parked": n})["deferred"] == 1
    simulation.run_until(simulation.start + timedelta(minutes=5), owner)  # the retrying ones park too
    parked = [d for d in simulation.deliveries(owner) if d.parked]
    assert len(parked) >= 30

    hour_starts, attempts_before = simulation.elapsed, len(receiver.received["/dead"])
    dynamodb_calls.clear()
    simulation.run_until(simulation.start + timedelta(seconds=hour_starts + 3600), owner)
    probes = len(receiver.received["/dead"]) - attempts_before
    writes = sum(dynamodb_calls[name] for name in ("PutItem", "UpdateItem", "BatchWriteItem"))
    assert 3 <= probes <= 8  # 30 s doubling: one an interval
    # Each probe: its lease, claim, record and streak; the probed delivery's own retry, parked again (claim, record).
    assert writes <= 6 * probes, (writes, probes, dict(dynamodb_calls))
    assert sum(dynamodb_calls.values()) <= 24 * probes, dict(dynamodb_calls)  # about 20: reads of both, per probe
    assert simulation.messages() <= 1 + sum(1 for d in simulation.deliveries(owner) if d.status == "retrying")
    assert [d for d in simulation.deliveries(owner) if d.parked] and all(
        d.deferral_count <= 3 for d in simulation.deliveries(owner) if d.parked
    )  # parked once, not deferred again at every probe


def test_healthy_hooks_cost_the_dispatch_no_call_and_failing_ones_one_per_flush(
    simulation: Simulation, receiver: Receiver, call: Caller, dynamodb_calls: Counter[str]
) -> None:
    event_type = "package.shipment.awb_number"  # no other test in this process subscribes to it
    _, token = owner_with_token()
    n = 60
    for i in range(n):
        subscribe(call, token, receiver.script(f"/c{i}", Answer(500 if i < 5 else 200)), event_type)
    simulation.publish(event_type)  # cold: the hooks' Query; five hooks start a streak
    budget = math.ceil(n / 25) + 5

    dynamodb_calls.clear()
    receiver.scripts.update({f"/c{i}": [Answer(200)] for i in range(5)})
    report = simulation.publish(event_type)  # warm, every hook answers: the five streaks end in one update
    assert report["delivered"] == n
    assert set(dynamodb_calls) == {"PutItem", "BatchGetItem", "BatchWriteItem", "UpdateItem"}
    assert 1 <= dynamodb_calls["UpdateItem"] <= math.ceil(n / 25)  # the flushes the five were written in
    assert sum(dynamodb_calls.values()) <= budget

    dynamodb_calls.clear()
    report = simulation.publish(event_type)  # warm and healthy: what it cost before the breaker existed
    assert report["delivered"] == n
    assert dynamodb_calls == {"PutItem": 1, "BatchGetItem": 1, "BatchWriteItem": math.ceil(n / 25)}
    assert sum(dynamodb_calls.values()) == math.ceil(n / 25) + 2 <= budget

    dynamodb_calls.clear()
    receiver.scripts.update({f"/c{i}": [Answer(500)] for i in range(n)})
    report = simulation.publish(event_type)  # every hook fails: one streak update per flush of 25 records
    assert report["retrying"] == n
    assert dynamodb_calls["UpdateItem"] == math.ceil(n / 25)
    assert sum(dynamodb_calls.values()) == 2 * math.ceil(n / 25) + 2


def test_a_batch_of_retries_costs_each_its_claim_and_record_and_the_batch_five_calls(
    simulation: Simulation, receiver: Receiver, call: Caller, dynamodb_calls: Counter[str]
) -> None:
    """The retrier reads a batch's deliveries, their payloads (stored once per event, with its claim), their hooks
    and its event type's circuits once each, and writes the streaks once: ten retries are ten claims (small items of
    their own), ten records and five calls, where each retry made five or six calls of its own before (its record,
    its claim, its hook, its streak, its record, and its streak again)."""
    event_type = "transfer.status.transitioned"  # no other test in this process subscribes to it
    _, token = owner_with_token()
    n = 10
    url = receiver.script("/batch", *[Answer(500)] * n, Answer(200))  # each first attempt fails; each retry is 200
    subscribe(call, token, url, event_type, retry_countdown_config=FIXED_MINUTE)
    for i in range(n):
        assert simulation.publish(event_type, {"id": i})["retrying"] == 1

    simulation.advance_to(simulation.start + timedelta(seconds=61))
    dynamodb_calls.clear()
    assert simulation.tick() == n  # one batch of ten, as the event source mapping hands it over
    assert len(receiver.received["/batch"]) == 2 * n
    assert dynamodb_calls == {"BatchGetItem": 3, "GetItem": 1, "PutItem": 2 * n, "UpdateItem": 1}


def test_pointing_a_hook_elsewhere_or_turning_it_back_on_forgets_its_streak(
    deployed: dict[str, LocalFunction], call: Caller
) -> None:
    event_type = "package.status.packed_for_refund"
    _, token = owner_with_token()
    hook_id = subscribe(call, token, "http://127.0.0.1:9/a", event_type)
    health = CircuitStore(settings().hooks_table)

    def fail_five_times() -> None:
        for second in range(5):
            health.record(event_type, Changes({hook_id: 1}, {}), 1_800_000_000.0 + second)
        health.open(event_type, {hook_id: 1_800_000_100.0}, {hook_id: 1})
        assert health.read_hook(event_type, hook_id).is_open

    fail_five_times()
    assert (
        call("PATCH", f"/whisperer/hooks/{hook_id}/", {"additional_headers": {"X-A": "1"}}, token=token).status == 200
    )
    assert health.read_hook(event_type, hook_id).is_open  # the same subscriber: the streak stands
    assert (
        call("PATCH", f"/whisperer/hooks/{hook_id}/", {"target_url": "http://127.0.0.1:9/b"}, token=token).status == 200
    )
    assert not health.read_hook(event_type, hook_id).streak
    fail_five_times()
    assert call("PATCH", f"/whisperer/hooks/{hook_id}/", {"is_active": False}, token=token).status == 200
    assert health.read_hook(event_type, hook_id).is_open  # off, not forgotten
    assert call("PATCH", f"/whisperer/hooks/{hook_id}/", {"is_active": True}, token=token).status == 200
    assert not health.read_hook(event_type, hook_id).streak


def test_a_streak_written_by_another_run_comes_back_with_its_start(deployed: dict[str, LocalFunction]) -> None:
    """Concurrent dispatches each read a clean state before their first failures; the write that makes the streak
    long enough must still learn when it began, or the circuit opens one failure late (seen with three events at
    once, when moto left the unchanged start out of UPDATED_NEW)."""
    health = CircuitStore(settings().hooks_table)
    event_type, hook_id = f"streak.{uuid.uuid4().hex[:8]}", 7
    first = health.record(event_type, Changes(failed={hook_id: 1}, failed_probes={}), now=1000.0)
    second = health.record(event_type, Changes(failed={hook_id: 1}, failed_probes={}), now=1005.0)
    assert (first[hook_id].failures, first[hook_id].since) == (1, 1000.0)
    assert (second[hook_id].failures, second[hook_id].since) == (2, 1000.0)
    assert set(second) == {hook_id}


def test_a_success_seen_through_a_stale_snapshot_closes_the_circuit_once_with_the_streaks_failures(
    simulation: Simulation, receiver: Receiver, call: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry batch reads its type's circuits (a streak of one failure, closed); dispatches open the circuit and
    park deliveries behind it; then the batch's retry succeeds. That success closes the circuit as a probe's would:
    told once, with the streak's failures (a CI run saw `failures: 0` when the probe closed it later), and what was
    parked is released at once and sent once."""
    from tests.integration.test_operational_events import FailingBus  # here: that module imports this one

    event_type = "stock_location.created"  # no other test in this process subscribes to it or publishes it
    owner, token = owner_with_token()
    url = receiver.script("/flaky", Answer(503))
    hook_id = subscribe(call, token, url, event_type, retry_countdown_config=FIXED_MINUTE)
    bus = FailingBus()  # refuses nothing: records what the runs put on the bus
    for part in (wiring.dispatcher(), wiring.retrier()):
        monkeypatch.setattr(part, "bus", bus)
    first = delivery_id(simulation.publish(event_type, {"n": 0})["event_id"], hook_id)

    retrier, breaker = wiring.retrier(), wiring.breaker()
    batch = retrier.prefetch_deliveries([first])  # run A: a retry batch reads its type's circuits when it starts
    gate = batch.gate(event_type, lambda: breaker.for_batch(event_type, batch.outbox))
    assert gate.seen[hook_id].failures == 1 and not gate.seen[hook_id].is_open

    for step in range(1, 7):  # meanwhile, other runs: five more failures over a minute open the circuit
        simulation.advance_to(simulation.start + timedelta(seconds=12 * step))
        simulation.publish(event_type, {"n": step})
    streak = simulation.health.read_hook(event_type, hook_id)
    assert streak.is_open and streak.failures == 6
    parked = [delivery_id(simulation.publish(event_type, {"parked": n})["event_id"], hook_id) for n in range(3)]

    receiver.script("/flaky", Answer(200))
    report = retrier.process(Received(RetryMessage(uuid=first, owner=owner), "run-a"), batch)
    assert report.sent and report.delivery is not None and report.delivery.status == "delivered"
    closed_by_it = retrier.finish(batch)
    assert closed_by_it.closed == [hook_id]  # closed by that success, not left to the next probe
    assert not simulation.health.read_hook(event_type, hook_id).streak

    for _ in simulation.run_until_due_work_is_done(owner, ticks=20):
        pass
    told = [(entry["DetailType"], json.loads(entry["Detail"])["payload"]) for put in bus.calls for entry in put]
    assert Counter(kind for kind, _ in told) == {"whisperer.hook.circuit_opened": 1, "whisperer.hook.circuit_closed": 1}
    [closed] = [payload for kind, payload in told if kind == "whisperer.hook.circuit_closed"]
    assert closed["hook"]["id"] == hook_id and closed["failures"] == streak.failures
    arrived = Counter(uuids(receiver, "/flaky"))
    assert all(arrived[u] == 1 for u in parked), arrived  # released and sent once each
    assert {d.status for d in simulation.deliveries(owner)} == {"delivered"}
    assert not simulation.health.read_hook(event_type, hook_id).streak
