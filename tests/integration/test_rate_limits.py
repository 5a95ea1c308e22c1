"""Rate limits on moto with real receivers: the field, the shared bucket, deferral through the retry queue, the
DynamoDB calls they cost, and the per-host cap of one dispatch."""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.adapters.rate_limit_store import RateLimitStore
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.domain.rate_limit import REASON, interval
from oms_webhooks.rules.dispatch import Dispatcher
from oms_webhooks.rules.rate_limiter import RateLimiter
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller
from tests.integration.support import subscribe
from tests.receiver import Answer, Receiver

LIMITED_TYPE = "package.status.packed_for_refund"  # no other test publishes these two
CROWDED_TYPE = "package.shipment.awb_number"


@pytest.fixture
def buckets(deployed: dict[str, LocalFunction]) -> RateLimitStore:
    return RateLimitStore(settings().deliveries_table)


def rate_limited_dispatcher(connections_per_host: int = 16) -> Dispatcher:
    config = settings()
    return Dispatcher(
        hooks=HookStore(config.hooks_table),
        deliveries=DeliveryStore(config.deliveries_table),
        sender=Sender(
            AddressPolicy(allow_loopback=True),
            connect_timeout=2,
            total_timeout=10,
            connections_per_host=connections_per_host,
        ),
        retries=RetryQueue(config.retry_queue_url),
        workers=64,
        rate_limits=RateLimiter(RateLimitStore(config.deliveries_table)),
    )


def event(event_type: str) -> OmsEvent:
    return OmsEvent(str(uuid.uuid4()), event_type, {"id": 7, "awb_number": "AWB-7"})


# --- the field -------------------------------------------------------------------------------


def test_rate_limit_is_optional_kept_as_written_and_changeable(call: Caller) -> None:
    created = call("POST", "/whisperer/hooks/", {"event_type": LIMITED_TYPE, "target_url": "https://a.test/rl"})
    assert created.status == 201 and created.json()["rate_limit"] is None
    hook_id = created.json()["id"]
    try:
        for value in (10, 0.5, 1000, 0.01):
            changed = call("PATCH", f"/whisperer/hooks/{hook_id}/", {"rate_limit": value})
            assert changed.status == 200, changed.body
            assert call("GET", f"/whisperer/hooks/{hook_id}/").json()["rate_limit"] == value
        assert call("PATCH", f"/whisperer/hooks/{hook_id}/", {"rate_limit": 10.0}).json()["rate_limit"] == 10
        assert call("PATCH", f"/whisperer/hooks/{hook_id}/", {"rate_limit": None}).json()["rate_limit"] is None
        second = call(
            "POST", "/whisperer/hooks/", {"event_type": LIMITED_TYPE, "target_url": "https://b.test/", "rate_limit": 3}
        )
        assert second.status == 201 and second.json()["rate_limit"] == 3
        call("DELETE", f"/whisperer/hooks/{second.json()['id']}/")
    finally:
        call("DELETE", f"/whisperer/hooks/{hook_id}/")


@pytest.mark.parametrize("value", [0, -1, 0.001, 1001, 1e9, "10", True, [10], {"per_second": 10}])
def test_a_rate_limit_that_is_not_a_sane_positive_number_is_a_400_naming_it(call: Caller, value: Any) -> None:
    body = {"event_type": LIMITED_TYPE, "target_url": "https://a.test/bad-rl", "rate_limit": value}
    answer = call("POST", "/whisperer/hooks/", body)
    assert answer.status == 400, answer.body
    assert list(answer.json()) == ["rate_limit"] and answer.json()["rate_limit"], answer.json()


def test_the_dispatch_card_carries_the_rate_limit(owner: str) -> None:
    limited = subscribe(owner, "https://a.test/card-rl", CROWDED_TYPE, rate_limit=2.5)
    plain = subscribe(owner, "https://a.test/card-plain", CROWDED_TYPE)
    found = {hook.id: hook for page in HookStore(settings().hooks_table).active_hooks(CROWDED_TYPE) for hook in page}
    assert found[limited].rate_limit == 2.5
    assert found[plain].rate_limit is None


# --- the bucket ------------------------------------------------------------------------------


def test_slots_are_one_interval_apart_and_an_idle_bucket_starts_now(buckets: RateLimitStore) -> None:
    hook_id = 10**9 + int(uuid.uuid4().int % 10**6)
    start = time.time()
    slots = [buckets.take(hook_id, interval(4), start) for _ in range(5)]
    assert slots[0] == pytest.approx(start, abs=1e-6)
    assert [round(b - a, 6) for a, b in itertools.pairwise(slots)] == [0.25] * 4
    later = start + 10  # the bucket fell behind: idle, so the next slot is now, not a backlog of past slots
    assert buckets.take(hook_id, interval(4), later) == pytest.approx(later, abs=1e-6)


def test_invocations_sharing_a_bucket_never_share_a_slot(deployed: dict[str, LocalFunction]) -> None:
    """Three "invocations" (each its own store, so its own idea of the bucket), four threads each."""
    table = settings().deliveries_table
    hook_id = 2 * 10**9 + int(uuid.uuid4().int % 10**6)
    stores = [RateLimitStore(table) for _ in range(3)]
    step = interval(20)
    slots: list[float] = []
    lock = threading.Lock()
    start = time.time()

    def take(store: RateLimitStore) -> None:
        for _ in range(10):
            slot = store.take(hook_id, step, time.time())
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=take, args=(store,)) for store in stores for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    slots.sort()
    assert len(slots) == 120
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= float(step) - 1e-6  # distinct, and never closer than one interval
    assert slots[0] >= start - 1e-6


# --- deferral --------------------------------------------------------------------------------


def test_deliveries_beyond_the_limit_are_deferred_then_each_sent_once_in_its_turn(
    owner: str, receiver: Receiver, retrier_running: None
) -> None:
    url = receiver.url("/one-per-second")
    hook_id = subscribe(owner, url, LIMITED_TYPE, rate_limit=1)
    dispatcher = rate_limited_dispatcher()
    with ThreadPoolExecutor(5) as events:  # five events at once, as five invocations would take them
        reports = list(events.map(lambda _: dispatcher.dispatch(event(LIMITED_TYPE)), range(5)))

    assert len(reports) == 5
    store = DeliveryStore(settings().deliveries_table)
    mine = store.query_owner(owner, {}, None, None, 10).items  # other tests' hooks of this type may share the events
    statuses = [d.status for d in mine]
    assert len(mine) == 5 and set(statuses) <= {"delivered", "deferred"}  # a deferral is not a failure
    assert statuses.count("delivered") >= 1 and statuses.count("deferred") >= 3
    deferred = [d for d in mine if d.status == "deferred"]
    assert deferred
    for delivery in deferred:
        # a deferral is no attempt; the running retrier may already have claimed (counted) the turn it was given
        assert delivery.attempts == [] and delivery.retry_count in (0, 1)
        assert delivery.deferral_count == 1 and delivery.deferrals[0].reason.startswith(REASON)
        assert delivery.next_attempt_at == delivery.deferrals[0].until
        shown = delivery.public()
        assert shown["status"] == "deferred" and shown["deferrals"][0]["reason"].startswith(REASON)
    turns = sorted(d.next_attempt_at.timestamp() for d in deferred if d.next_attempt_at)
    assert all(b - a == pytest.approx(1.0, abs=1e-5) for a, b in itertools.pairwise(turns))

    arrived = receiver.wait_for("/one-per-second", 5, timeout=60)
    time.sleep(1.5)  # anything sent twice would have arrived by now
    arrived = receiver.received["/one-per-second"]
    uuids = [json.loads(r.body)["event"]["uuid"] for r in arrived]
    assert len(arrived) == 5 and len(set(uuids)) == 5, "each delivery arrives exactly once"
    times = sorted(r.at for r in arrived)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.4  # one a second, at most half late
    deadline = time.monotonic() + 20
    while True:
        records = store.query_owner(owner, {}, None, None, 10).items
        if all(r.status == "delivered" for r in records) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [(r.status, r.retry_count, r.webhook) for r in records] == [("delivered", 1, hook_id)] * 5


def test_a_held_slot_is_used_a_late_one_replaced_and_an_early_one_kept(
    buckets: RateLimitStore, dynamodb_calls: Counter[str]
) -> None:
    """The gate with an injected clock: what a deferred delivery does with its slot when it comes back."""
    moments = {"now": time.time()}
    slept: list[float] = []
    gate = RateLimiter(buckets, hold=0.2, clock=lambda: moments["now"], sleep=slept.append)
    hook_id = 3 * 10**9 + int(uuid.uuid4().int % 10**6)
    hook = HookTarget(id=hook_id, owner="o", event_type=LIMITED_TYPE, target_url="https://a.test/", rate_limit=2)
    deliveries = [_delivery(hook, n) for n in range(4)]
    assert gate.admit(hook, deliveries[0]) is None  # the idle bucket's slot is now
    turns = []
    for delivery in deliveries[1:]:  # slots 0.5, 1 and 1.5 s away: beyond the hold, so deferred
        deferral = gate.admit(hook, delivery)
        assert deferral is not None and deferral.reason.startswith(REASON)
        delivery.defer(deferral.until, deferral.reason, datetime.now(UTC))
        turns.append(deferral.until.timestamp())
    assert [round(turn - moments["now"], 3) for turn in turns] == [0.5, 1.0, 1.5]
    assert slept == [] and dynamodb_calls["UpdateItem"] == 4

    moments["now"] = turns[0] - 0.1  # back a little early: waits for its slot, without asking the bucket again
    assert gate.admit(hook, deliveries[1]) is None
    assert slept == [pytest.approx(0.1, abs=1e-3)] and dynamodb_calls["UpdateItem"] == 4
    moments["now"] = turns[1] - 5  # back far too early (a re-sent message): deferred again, to the same slot
    again = gate.admit(hook, deliveries[2])
    assert again is not None and again.until.timestamp() == pytest.approx(turns[1], abs=1e-5)
    assert dynamodb_calls["UpdateItem"] == 4
    moments["now"] = turns[2] + 10  # back long after its slot: a new one (here now), so late ones never bunch up
    assert gate.admit(hook, deliveries[3]) is None
    assert dynamodb_calls["UpdateItem"] == 5


def _delivery(hook: HookTarget, n: int) -> Delivery:
    moment = datetime.now(UTC)
    return Delivery(
        uuid=uuid.uuid4().hex,
        owner=hook.owner,
        webhook=hook.id,
        event_id=f"e{n}",
        event_type=hook.event_type,
        request_payload={},
        target_url=hook.target_url,
        created_date=moment,
        modified_date=moment,
    )


# --- DynamoDB calls --------------------------------------------------------------------------


def test_hooks_without_a_limit_cost_no_call_and_each_limited_delivery_one(
    owner: str, receiver: Receiver, dynamodb_calls: Counter[str]
) -> None:
    n = 30
    ids = [subscribe(owner, receiver.url(f"/calls/{i}"), CROWDED_TYPE) for i in range(n)]
    dispatcher = rate_limited_dispatcher()
    dispatcher.dispatch(event(CROWDED_TYPE))  # cold: reads the hooks
    dynamodb_calls.clear()
    report = dispatcher.dispatch(event(CROWDED_TYPE))
    assert report.delivered == n
    assert sum(dynamodb_calls.values()) <= math.ceil(n / 25) + 5
    assert "UpdateItem" not in dynamodb_calls  # no bucket is touched for hooks without a limit

    store = HookStore(settings().hooks_table)
    for hook_id in ids[:5]:
        hook = store.get(owner, hook_id)
        store.replace(hook, hook.model_copy(update={"rate_limit": 50}))
    dispatcher.dispatch(event(CROWDED_TYPE))  # reads the changed hooks
    dynamodb_calls.clear()
    report = dispatcher.dispatch(event(CROWDED_TYPE))
    assert report.delivered + report.deferred == n
    assert dynamodb_calls["UpdateItem"] == 5  # one conditional update per limited delivery: its slot
    assert sum(dynamodb_calls.values()) <= math.ceil(n / 25) + 5 + 5


# --- per-host cap ----------------------------------------------------------------------------


# In a whole run it took 114 s of the default 120 (65 s to subscribe and send, 49 s to unsubscribe 200 hooks: each a
# transaction, for which moto copies the whole hooks table), so a few more tests before it made it time out.
@pytest.mark.timeout(300)
def test_a_fan_out_of_200_hooks_on_one_host_never_has_more_connections_open_than_the_cap(
    owner: str, receiver: Receiver
) -> None:
    for i in range(200):
        subscribe(owner, receiver.script(f"/host/{i}", Answer(delay=0.05)), CROWDED_TYPE)
    report = rate_limited_dispatcher(connections_per_host=8).dispatch(event(CROWDED_TYPE))
    assert report.delivered == 200
    assert sum(len(receiver.received[f"/host/{i}"]) for i in range(200)) == 200
    assert 2 <= receiver.connections.most_open <= 8, receiver.connections.most_open
