"""Ordered delivery per object through the real dispatcher, sequencer and API handlers on moto's FIFO queue, with real
receivers: the order holds through failures, retries by hand, recoveries, a lost record, a deleted hook and a change
of `ordering`; what waits says what it waits for; nothing is sent twice."""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from oms_webhooks.adapters import owner_places
from oms_webhooks.adapters.aws import sqs
from oms_webhooks.adapters.circuit_store import CircuitStore
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.order_heads import OrderHeads
from oms_webhooks.adapters.ordered_queue import OrderedMessage, OrderedQueue
from oms_webhooks.adapters.owner_places import OwnerPlaces, place_name
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.domain.ordering import NO_ID, ORDERED_QUEUE_RETENTION_SECONDS
from oms_webhooks.rules.sequencer import OWNER_BUSY_SECONDS, RETENTION_MARGIN_SECONDS, InOrder
from oms_webhooks.settings import settings
from oms_webhooks.wiring import sequencer
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Answer as ApiAnswer
from tests.conftest import Caller
from tests.integration.support import unsubscribe_all
from tests.receiver import Answer, Receiver

EVENTS = Path(__file__).resolve().parents[2] / "events" / "eventbridge"
EVENT_TYPE = "transfer.status.transitioned"
FIXED = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 5}
LONG = {"choice": "fixed", "kwargs": {"seconds": 60}, "max_retries": 5}  # a head that waits far longer than a test


class Owner:
    """An owner of this test alone, with the API as its token; its hooks are deleted afterwards."""

    def __init__(self, call: Caller) -> None:
        self.name = f"owner-{uuid.uuid4().hex[:10]}"
        self.token = TokenStore(settings().tokens_table).create(self.name)
        self._call = call

    def call(self, method: str, path: str, body: Any = None) -> ApiAnswer:
        return self._call(method, path, body, token=self.token)

    def subscribe(self, url: str, event_type: str = EVENT_TYPE, **fields: Any) -> int:
        answer = self.call("POST", "/whisperer/hooks/", {"event_type": event_type, "target_url": url, **fields})
        assert answer.status == 201, answer.body
        return int(answer.json()["id"])

    def deliveries(self, hook_id: int) -> dict[str, dict[str, Any]]:
        answer = self.call("GET", f"/whisperer/hook_events/?webhook={hook_id}&limit=100")
        assert answer.status == 200, answer.body
        return {d["uuid"]: d for d in answer.json()["results"]}


@pytest.fixture
def me(call: Caller) -> Iterator[Owner]:
    """An owner of the test's own; its hooks are erased afterwards, not only switched off: the session's hooks table
    stays small (moto's TransactWriteItems copies the whole table, and later tests write hooks by the hundred)."""
    owner = Owner(call)
    yield owner
    unsubscribe_all(owner.name)


def bridge_event(event_type: str, payload: Any, at: str | None = None) -> dict[str, Any]:
    """An OMS event as EventBridge hands it to the dispatcher (a sample's envelope), published `at` (ISO 8601; default
    now, in whole seconds as EventBridge gives it)."""
    sample = json.loads((EVENTS / "package.status.packed.json").read_text())
    published = at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        **sample,
        "id": str(uuid.uuid4()),
        "detail-type": event_type,
        "time": published,
        "detail": {"payload": payload},
    }


def publish(functions: dict[str, LocalFunction], event_type: str, payload: Any) -> str:
    """An OMS event through the dispatcher's handler, as EventBridge hands it over; returns its id."""
    event = bridge_event(event_type, payload)
    answer = functions["DispatcherFunction"].invoke(event)
    assert answer["accepted"], answer
    return str(event["id"])


def sent(receiver: Receiver, path: str) -> list[tuple[Any, Any]]:
    """(object id, seq) of each request, in the order they arrived."""
    payloads = [json.loads(r.body)["payload"] for r in receiver.received[path]]
    return [(p.get("id"), p.get("seq")) for p in payloads]


def wait_until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time given"
        time.sleep(0.1)


def failing(times: dict[tuple[Any, Any], int]) -> Callable[[bytes], Answer]:
    """A receiver that answers 500 to the first `times[(id, seq)]` requests of that event, 200 otherwise."""
    left = dict(times)

    def decide(body: bytes) -> Answer:
        payload = json.loads(body)["payload"]
        key = (payload.get("id"), payload.get("seq"))
        if left.get(key, 0) > 0:
            left[key] -= 1
            return Answer(500)
        return Answer(200)

    return decide


def store() -> DeliveryStore:
    return DeliveryStore(settings().deliveries_table)


# --- the guarantee ----------------------------------------------------------------------------------------------


def test_one_objects_deliveries_arrive_in_order_through_failures_while_another_object_goes_at_once(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/order", failing({(1, 1): 2}))
    # Retries 3 s apart: object 1 waits 6 s, object 2 well within its queue's window (1 s) of being published.
    me.subscribe(url, ordering="object", retry_countdown_config={**FIXED, "kwargs": {"seconds": 3}})
    for seq in (1, 2, 3):
        publish(deployed, EVENT_TYPE, {"id": 1, "seq": seq})
    receiver.wait_for("/order", 1)
    publish(deployed, EVENT_TYPE, {"id": 2, "seq": 1})  # while object 1 waits for its first delivery's retries
    receiver.wait_for("/order", 6, timeout=40)
    order = sent(receiver, "/order")
    assert [key for key in order if key[0] == 1] == [(1, 1), (1, 1), (1, 1), (1, 2), (1, 3)]
    assert order.index((2, 1)) < order.index((1, 2))  # not held behind another object
    assert len(order) == 6


def test_the_deliveries_of_one_object_are_ordered_across_the_owners_hooks_on_one_url(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    """`packed` fails twice; `shipped`, of the same package to the same receiver by another hook, waits for it."""
    url = receiver.decide("/erp", failing({(7, "packed"): 2}))
    me.subscribe(url, "package.status.packed", ordering="object", retry_countdown_config=FIXED)
    me.subscribe(url, "package.status.shipped", ordering="object", retry_countdown_config=FIXED)
    publish(deployed, "package.status.packed", {"id": 7, "seq": "packed"})
    receiver.wait_for("/erp", 1)
    publish(deployed, "package.status.shipped", {"id": 7, "seq": "shipped"})
    receiver.wait_for("/erp", 4, timeout=30)
    assert sent(receiver, "/erp") == [(7, "packed")] * 3 + [(7, "shipped")]


def test_a_rate_limit_paces_the_objects_queue_in_order(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/paced", failing({}))
    me.subscribe(url, ordering="object", rate_limit=2, retry_countdown_config=FIXED)
    for seq in range(1, 6):
        publish(deployed, EVENT_TYPE, {"id": 3, "seq": seq})
    receiver.wait_for("/paced", 5, timeout=30)
    assert sent(receiver, "/paced") == [(3, seq) for seq in range(1, 6)]
    times = [r.at for r in receiver.received["/paced"]]
    assert all(later - earlier >= 0.4 for earlier, later in itertools.pairwise(times))


def test_an_open_circuit_holds_the_objects_queue_until_its_probe_and_never_parks_it(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    """The hook's circuit is open, its probe due in 4 s: the object's first delivery waits for the probe in its queue
    (deferred, not parked: parking would drop its message and its place), the others behind it; the probe delivers,
    and the rest follow in order, each once."""
    url = receiver.decide("/circuit", failing({}))
    hook = me.subscribe(url, "package.status.packed", ordering="object", retry_countdown_config=FIXED)
    probe_at = time.time() + 4
    CircuitStore(settings().hooks_table).open("package.status.packed", {hook: probe_at}, {hook: 1})
    events = [publish(deployed, "package.status.packed", {"id": 14, "seq": seq}) for seq in (1, 2, 3)]
    first, *later = (delivery_id(event, hook) for event in events)
    wait_until(lambda: me.deliveries(hook)[first]["status"] == "deferred", seconds=10)
    shown = me.deliveries(hook)
    assert not shown[first]["parked"] and not shown[first]["held"]
    assert all(shown[u]["held"] and shown[u]["waits_for"] == first for u in later)
    assert not receiver.received["/circuit"]  # nothing sent before the probe's time
    receiver.wait_for("/circuit", 3, timeout=30)
    arrived = [r.at for r in receiver.received["/circuit"]]
    assert arrived[0] >= probe_at
    # The probe delivered: the ones behind it follow now, not after the probe's 20 s lease (they waited 20 s before).
    assert arrived[-1] - arrived[0] < 10
    assert sent(receiver, "/circuit") == [(14, 1), (14, 2), (14, 3)]
    wait_until(lambda: all(d["status"] == "delivered" for d in me.deliveries(hook).values()))
    time.sleep(1)  # anything sent twice would have come by now
    assert len(receiver.received["/circuit"]) == 3


def test_events_dispatched_out_of_order_within_the_window_go_in_the_order_they_were_published(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    """EventBridge invokes the dispatcher asynchronously: a later event's dispatch may queue its delivery first. Its
    `time` (whole seconds), then the dispatcher's moment of receipt, decide; within the same second, receipt does."""
    url = receiver.decide("/published", failing({}))
    me.subscribe(url, ordering="object")

    def dispatch(seq: int, at: str) -> None:
        deployed["DispatcherFunction"].invoke(bridge_event(EVENT_TYPE, {"id": 13, "seq": seq}, at))

    dispatch(2, "2026-01-07T10:21:34Z")  # reaches the dispatcher first ...
    dispatch(1, "2026-01-07T10:21:33Z")  # ... though published a second earlier
    dispatch(3, "2026-01-07T10:21:34Z")  # the same second as the 2nd, received after it
    receiver.wait_for("/published", 3, timeout=20)
    assert sent(receiver, "/published") == [(13, 1), (13, 2), (13, 3)]


# --- what waits, and what it waits for ----------------------------------------------------------------------------


def test_held_deliveries_name_the_one_they_wait_for_and_a_manual_retry_keeps_the_order(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/held", failing({(4, 1): 1}))
    hook = me.subscribe(url, ordering="object", retry_countdown_config=LONG)
    events = [publish(deployed, EVENT_TYPE, {"id": 4, "seq": seq}) for seq in (1, 2, 3)]
    first, second, third = (delivery_id(event, hook) for event in events)
    receiver.wait_for("/held", 1)
    wait_until(lambda: me.deliveries(hook)[second]["held"])
    shown = me.deliveries(hook)
    assert (shown[first]["status"], shown[first]["held"], shown[first]["waits_for"]) == ("retrying", False, None)
    for later in (second, third):
        assert (shown[later]["status"], shown[later]["held"], shown[later]["waits_for"]) == ("pending", True, first)
        assert shown[later]["ordering"] == {"object": "transfer:4", "note": None}
    one = me.call("GET", f"/whisperer/hook_events/{second}/").json()
    assert (one["held"], one["waits_for"]) == (True, first)

    refused = me.call("POST", f"/whisperer/hook_events/{second}/retry/", {"force": True})
    assert refused.status == 406, refused.body
    assert refused.json()["code"] == "ordered_100_1" and refused.json()["waits_for"] == first
    assert me.call("POST", f"/whisperer/hook_events/{first}/retry/", {}).json()["code"] == "event_100_6"

    started = time.monotonic()
    retried = me.call("POST", f"/whisperer/hook_events/{first}/retry/", {"force": True})
    assert retried.status == 200 and retried.json()["delivered"], retried.body
    receiver.wait_for("/held", 4, timeout=20)  # the queue goes on now, not at the head's retry a minute later
    assert time.monotonic() - started < 20
    assert sent(receiver, "/held") == [(4, 1), (4, 1), (4, 2), (4, 3)]
    wait_until(lambda: all(d["status"] == "delivered" and not d["held"] for d in me.deliveries(hook).values()))


def test_a_manual_retry_of_a_failed_ordered_delivery_queues_it_behind_what_waits(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/again", failing({(5, 1): 1}))
    hook = me.subscribe(url, ordering="object", retry_countdown_config={**FIXED, "max_retries": 0})
    first = delivery_id(publish(deployed, EVENT_TYPE, {"id": 5, "seq": 1}), hook)
    publish(deployed, EVENT_TYPE, {"id": 5, "seq": 2})
    receiver.wait_for("/again", 2)
    wait_until(lambda: me.deliveries(hook)[first]["status"] == "failed")
    queued = me.call("POST", f"/whisperer/hook_events/{first}/retry/", {})
    assert queued.status == 202, queued.body
    assert queued.json() == {
        "detail": "Queued behind the earlier deliveries of its object",
        "queued": True,
        "delivered": False,
        "waits_for": None,
    }
    receiver.wait_for("/again", 3, timeout=20)
    assert sent(receiver, "/again") == [(5, 1), (5, 2), (5, 1)]
    wait_until(lambda: me.deliveries(hook)[first]["status"] == "delivered")
    assert me.call("POST", f"/whisperer/hook_events/{first}/retry/", {}).json()["code"] == "event_100_3"


def test_recover_queues_an_ordered_hooks_failed_deliveries_again_in_publish_order(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/recover", failing({(6, seq): 1 for seq in (1, 2, 3)}))
    hook = me.subscribe(url, ordering="object", retry_countdown_config={**FIXED, "max_retries": 0})
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    for seq in (1, 2, 3):
        publish(deployed, EVENT_TYPE, {"id": 6, "seq": seq})
    receiver.wait_for("/recover", 3)
    wait_until(lambda: all(d["status"] == "failed" for d in me.deliveries(hook).values()))
    answer = me.call("POST", f"/whisperer/hooks/{hook}/recover/", {"since": since})
    assert answer.status == 202 and answer.json()["queued"] == 3, answer.body
    receiver.wait_for("/recover", 6, timeout=20)
    assert sent(receiver, "/recover") == [(6, 1), (6, 2), (6, 3)] * 2
    wait_until(lambda: all(d["status"] == "delivered" for d in me.deliveries(hook).values()))


# --- bad input and failure ---------------------------------------------------------------------------------------


def test_ordering_other_than_none_or_object_is_400_naming_ordering(me: Owner) -> None:
    hook = {"event_type": EVENT_TYPE, "target_url": "http://127.0.0.1:9/o"}
    for value in ("sometimes", "", 1, True, ["object"], "OBJECT"):
        answer = me.call("POST", "/whisperer/hooks/", {**hook, "ordering": value})
        assert answer.status == 400 and list(answer.json()) == ["ordering"], (value, answer.body)
    created = me.call("POST", "/whisperer/hooks/", hook).json()
    assert created["ordering"] == "none"
    path = f"/whisperer/hooks/{created['id']}/"
    assert list(me.call("PATCH", path, {"ordering": "fifo"}).json()) == ["ordering"]
    assert list(me.call("PUT", path, {**hook, "ordering": 2}).json()) == ["ordering"]
    assert me.call("PATCH", path, {"ordering": "object"}).json()["ordering"] == "object"
    assert me.call("PATCH", path, {"ordering": None}).json()["ordering"] == "none"  # null: the default


def test_an_ordered_hooks_retry_schedule_must_fit_in_its_queues_retention(me: Owner) -> None:
    ten_days = {"choice": "fixed", "kwargs": {"seconds": 86400}, "max_retries": 10}
    hook = {"event_type": EVENT_TYPE, "target_url": "http://127.0.0.1:9/r", "ordering": "object"}
    refused = me.call("POST", "/whisperer/hooks/", {**hook, "retry_countdown_config": ten_days})
    assert refused.status == 400 and list(refused.json()) == ["retry_countdown_config"], refused.body
    assert "7 days" in refused.json()["retry_countdown_config"][0]
    unordered = me.call("POST", "/whisperer/hooks/", {**hook, "ordering": "none", "retry_countdown_config": ten_days})
    assert unordered.status == 201
    turned_on = me.call("PATCH", f"/whisperer/hooks/{unordered.json()['id']}/", {"ordering": "object"})
    assert turned_on.status == 400 and list(turned_on.json()) == ["ordering"], turned_on.body
    week = {"choice": "fixed", "kwargs": {"seconds": 86400}, "max_retries": 7}
    fits = {**hook, "target_url": "http://127.0.0.1:9/week", "retry_countdown_config": week}
    assert me.call("POST", "/whisperer/hooks/", fits).status == 201


def test_a_payload_without_an_id_goes_unordered_with_a_note(
    deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    hook = me.subscribe(receiver.script("/no-id"), ordering="object")
    for payload in ({"seq": 1}, [1, 2], {"id": None}, {"id": True}):
        event = publish(deployed, EVENT_TYPE, payload)
        shown = me.deliveries(hook)[delivery_id(event, hook)]
        assert shown["delivered"], payload  # attempted by the dispatcher itself, as an unordered hook's
        assert shown["ordering"] == {"object": None, "note": NO_ID} and not shown["held"]
    assert len(receiver.received["/no-id"]) == 4


def test_a_lost_record_or_a_deleted_hook_releases_what_waits_behind_it(
    sequencer_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/lost", failing({(8, 1): 1}))
    hook = me.subscribe(url, ordering="object", retry_countdown_config={**FIXED, "kwargs": {"seconds": 2}})
    first = delivery_id(publish(deployed, EVENT_TYPE, {"id": 8, "seq": 1}), hook)
    publish(deployed, EVENT_TYPE, {"id": 8, "seq": 2})
    receiver.wait_for("/lost", 1)
    boto3.client("dynamodb").delete_item(TableName=settings().deliveries_table, Key={"uuid": {"S": first}})
    receiver.wait_for("/lost", 2, timeout=20)
    assert sent(receiver, "/lost") == [(8, 1), (8, 2)]  # its record gone, the head was dropped: the next went on

    url = receiver.decide("/deleted", failing({(9, 1): 5}))
    hook = me.subscribe(url, ordering="object", retry_countdown_config={**FIXED, "kwargs": {"seconds": 2}})
    events = [publish(deployed, EVENT_TYPE, {"id": 9, "seq": seq}) for seq in (1, 2, 3)]
    receiver.wait_for("/deleted", 1)
    stored = HookStore(settings().hooks_table)
    stored.delete(stored.get(me.name, hook))  # an operator erases it for good
    uuids = [delivery_id(event, hook) for event in events]
    wait_until(lambda: all(store().get(u).status == "failed" for u in uuids), seconds=20)
    assert all("the hook was deleted" in (store().get(u).response_content or "") for u in uuids)
    assert len(receiver.received["/deleted"]) == 1  # nothing sent for a hook that is gone


def test_turning_ordering_off_and_on_with_deliveries_waiting_loses_nothing_and_sends_nothing_twice(
    sequencer_running: None, retrier_running: None, deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    url = receiver.decide("/toggle", failing({(10, 1): 1}))
    hook = me.subscribe(url, ordering="object", retry_countdown_config={**FIXED, "kwargs": {"seconds": 3}})
    events = [publish(deployed, EVENT_TYPE, {"id": 10, "seq": seq}) for seq in (1, 2, 3)]
    receiver.wait_for("/toggle", 1)
    assert me.call("PATCH", f"/whisperer/hooks/{hook}/", {"ordering": "none"}).json()["ordering"] == "none"
    events.append(publish(deployed, EVENT_TYPE, {"id": 10, "seq": 4}))  # unordered: sent at once
    assert me.call("PATCH", f"/whisperer/hooks/{hook}/", {"ordering": "object"}).json()["ordering"] == "object"
    events.append(publish(deployed, EVENT_TYPE, {"id": 10, "seq": 5}))
    uuids = [delivery_id(event, hook) for event in events]
    wait_until(lambda: all(store().get(u).status == "delivered" for u in uuids), seconds=30)
    time.sleep(2)  # anything sent twice would have come by now
    delivered = Counter(json.loads(r.body)["event"]["uuid"] for r in receiver.received["/toggle"])
    assert delivered == Counter({uuids[0]: 2, **{u: 1 for u in uuids[1:]}})  # the first failed once


def test_a_dispatch_that_died_between_recording_and_queueing_is_queued_by_its_rerun(
    sequencer_running: None,
    deployed: dict[str, LocalFunction],
    receiver: Receiver,
    me: Owner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = me.subscribe(receiver.script("/rerun"), ordering="object")
    real = OrderedQueue.enqueue
    monkeypatch.setattr(OrderedQueue, "enqueue", lambda self, queued: (_ for _ in ()).throw(ConnectionError("down")))
    event = bridge_event(EVENT_TYPE, {"id": 11})
    with pytest.raises(ConnectionError):
        deployed["DispatcherFunction"].invoke(event)
    assert store().get(delivery_id(event["id"], hook)).status == "pending"  # recorded, never queued
    monkeypatch.setattr(OrderedQueue, "enqueue", real)
    deployed["DispatcherFunction"].invoke(event)  # Lambda's retry of the failed invocation
    deployed["DispatcherFunction"].invoke(event)  # and a duplicate from EventBridge for good measure
    receiver.wait_for("/rerun", 1, timeout=20)
    wait_until(lambda: store().get(delivery_id(event["id"], hook)).status == "delivered")
    time.sleep(2)
    assert len(receiver.received["/rerun"]) == 1


def test_a_delivery_that_would_outlast_the_queues_retention_ends_failed_with_the_reason(
    deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    """Driven by hand: the sequencer sees the head's message as sent 14 days ago (SQS's SentTimestamp)."""
    hook = me.subscribe(receiver.script("/old", Answer(500)), ordering="object", retry_countdown_config=LONG)
    event = bridge_event(EVENT_TYPE, {"id": 12})
    deployed["DispatcherFunction"].invoke(event)
    uuid_ = delivery_id(event["id"], hook)
    delivery = store().get(uuid_)
    assert delivery.ordering is not None and delivery.ordering.group is not None
    queue = OrderedQueue(settings().ordered_queue_url)
    sqs = boto3.client("sqs")
    message = _receive_message_of(sqs, queue.url, uuid_)
    # Sent so long ago that 30 s after the attempt SQS would be about to drop it: the 60 s wait cannot be kept.
    sent_at = time.time() - ORDERED_QUEUE_RETENTION_SECONDS + RETENTION_MARGIN_SECONDS + 30
    message_id = message["MessageId"]
    ordered = OrderedMessage(uuid=uuid_, owner=me.name)
    turn = InOrder(ordered, message["ReceiptHandle"], message_id, delivery.ordering.group, sent_at)
    run = sequencer().run([turn], time_left=lambda: 100.0, budget=10.0)
    assert run.turns == {message_id: "done"}
    ended = store().get(uuid_)
    assert ended.status == "failed" and "ordered queue keeps a delivery" in (ended.response_content or "")
    assert len(receiver.received["/old"]) == 1  # attempted once, then ended rather than kept past its retention
    assert not OrderHeads(settings().deliveries_table).waiting([delivery.ordering.group])


def _receive_message_of(sqs: Any, url: str, uuid_: str) -> dict[str, Any]:
    return _receive_messages_of(sqs, url, {uuid_})[uuid_]


def _receive_messages_of(sqs: Any, url: str, uuids: set[str]) -> dict[str, dict[str, Any]]:
    """The ordered queue's messages of these deliveries, received (in flight) as the event source would; others
    are shown again a little later, not at once, so that they do not come first again."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 20
    while len(found) < len(uuids) and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            uuid_ = json.loads(message["Body"])["uuid"]
            if uuid_ in uuids:
                found[uuid_] = dict(message)
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=5)
    assert len(found) == len(uuids), f"messages of {sorted(uuids - set(found))} not received"
    return found


def _group_of(uuid_: str) -> str:
    ordering = store().get(uuid_).ordering
    assert ordering is not None and ordering.group is not None
    return ordering.group


def test_a_dispatch_with_ordered_hooks_keeps_its_call_budget(
    deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner, dynamodb_calls: Counter[str]
) -> None:
    """The ordered deliveries are recorded in batches of their own and sent ten to a SendMessageBatch: an event
    costs ceil(N/25) + 5 DynamoDB calls at most, as before, and ceil(ordered/10) SQS calls more."""
    event_type = "stock_location.updated"
    for i in range(20):
        me.subscribe(receiver.script(f"/budget/u{i}"), event_type)
    for i in range(12):
        me.subscribe(receiver.script(f"/budget/o{i}"), event_type, ordering="object")
    sqs_calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        sqs_calls[model.name] += 1

    client = sqs()
    client.meta.events.register("before-call.sqs", count)
    try:
        publish(deployed, event_type, {"id": 1})  # reads the type's hooks once; later events keep them
        dynamodb_calls.clear()
        sqs_calls.clear()
        publish(deployed, event_type, {"id": 2})
    finally:
        client.meta.events.unregister("before-call.sqs", count)
    assert sum(dynamodb_calls.values()) <= math.ceil(32 / 25) + 5, dynamodb_calls
    assert dynamodb_calls["BatchWriteItem"] == math.ceil(20 / 25) + math.ceil(12 / 25)
    assert sqs_calls == Counter({"SendMessageBatch": math.ceil(12 / 10)})


def test_a_batch_of_ten_objects_first_deliveries_costs_each_its_claim_and_record_and_the_batch_six_calls(
    deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner, dynamodb_calls: Counter[str]
) -> None:
    """What an ordered delivery costs the sequencer: as a retry does, its claim and its record rewritten, and a share
    of the batch's reads (its deliveries, their events' payloads, their hooks, the type's circuits). What a queue waits
    for is written only when something does wait."""
    hook = me.subscribe(receiver.script("/batch"), ordering="object")
    events = [publish(deployed, EVENT_TYPE, {"id": 100 + n}) for n in range(10)]
    uuids = {delivery_id(event, hook) for event in events}
    found = _receive_messages_of(boto3.client("sqs"), OrderedQueue(settings().ordered_queue_url).url, uuids)
    old = time.time() - 60  # queued a minute ago: past its queue's window
    turns = [
        InOrder(OrderedMessage(uuid=u, owner=me.name), m["ReceiptHandle"], m["MessageId"], _group_of(u), old)
        for u, m in found.items()
    ]
    dynamodb_calls.clear()
    run = sequencer().run(turns, time_left=lambda: 100.0, budget=10.0)
    assert set(run.turns.values()) == {"done"} and len(receiver.received["/batch"]) == 10
    # The two UpdateItems: the owner's place in the sequencer's invocations, taken and given back.
    assert dynamodb_calls == Counter({"PutItem": 20, "BatchGetItem": 3, "GetItem": 1, "UpdateItem": 2}), dynamodb_calls


# --- each owner's share of the sequencer's invocations ------------------------------------------------------------


def _in_flight(owner: Owner, hook: int, payload_id: int, functions: dict[str, LocalFunction]) -> InOrder:
    """An event of the hook's published and its ordered message received, as past its object's window."""
    uuid_ = delivery_id(publish(functions, EVENT_TYPE, {"id": payload_id}), hook)
    message = _receive_message_of(boto3.client("sqs"), OrderedQueue(settings().ordered_queue_url).url, uuid_)
    old = time.time() - 60
    return InOrder(
        OrderedMessage(uuid=uuid_, owner=owner.name),
        message["ReceiptHandle"],
        message["MessageId"],
        _group_of(uuid_),
        old,
    )


def _places() -> OwnerPlaces:
    return OwnerPlaces(settings().deliveries_table, settings().sequencer_concurrency_per_owner)


def _places_held(owner: Owner) -> list[str]:
    key = {"uuid": {"S": owner_places.PREFIX + owner.name}}
    item = boto3.client("dynamodb").get_item(TableName=settings().deliveries_table, Key=key, ConsistentRead=True)
    return list(item.get("Item", {}).get("places", {}).get("SS", []))


def test_an_owner_whose_places_are_all_held_elsewhere_waits_while_another_owners_delivery_goes(
    deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner, call: Caller
) -> None:
    """Other invocations hold every one of an owner's places (their attempts hang): a batch that also carries
    another owner's delivery attempts that one, and shows the first owner's again a few seconds later, unattempted.
    When a place frees, it goes."""
    other = Owner(call)
    try:
        busy = me.subscribe(receiver.script("/busy"), ordering="object")
        quiet = other.subscribe(receiver.script("/quiet"), ordering="object")
        elsewhere = [place_name(f"elsewhere-{n}", time.time() + 600) for n in range(_places().limit)]
        for place in elsewhere:
            assert _places().take(me.name, place)
        held, goes = _in_flight(me, busy, 1, deployed), _in_flight(other, quiet, 2, deployed)

        run = sequencer().run([held, goes], time_left=lambda: 100.0, budget=10.0)
        assert run.turns == {held.message_id: "later", goes.message_id: "done"}
        assert run.busy == 1  # counted for the OrderedOwnerBusy metric
        assert len(receiver.received["/quiet"]) == 1 and not receiver.received["/busy"]
        assert store().get(held.message.uuid).status == "pending"  # not attempted: nothing recorded of it
        assert sorted(_places_held(me)) == sorted(elsewhere) and not _places_held(other)

        _places().give_back(me.name, elsewhere[:1])
        url = OrderedQueue(settings().ordered_queue_url).url
        started = time.monotonic()
        again = _receive_message_of(boto3.client("sqs"), url, held.message.uuid)  # back after OWNER_BUSY_SECONDS
        assert time.monotonic() - started >= OWNER_BUSY_SECONDS / 2  # hidden, not shown again at once
        back = InOrder(held.message, again["ReceiptHandle"], again["MessageId"], held.group, held.sent_at)
        assert sequencer().run([back], time_left=lambda: 100.0, budget=10.0).turns == {back.message_id: "done"}
        assert len(receiver.received["/busy"]) == 1
    finally:
        _places().give_back(me.name, _places_held(me))
        unsubscribe_all(other.name)


def test_a_place_its_invocation_never_gave_back_frees_itself_once_that_invocation_would_have_ended(
    deployed: dict[str, LocalFunction], receiver: Receiver, me: Owner
) -> None:
    """Invocations that crashed or timed out left every place taken: once their time is over the places are free,
    and the run gives back its own."""
    hook = me.subscribe(receiver.script("/crashed"), ordering="object")
    for n in range(_places().limit):
        assert _places().take(me.name, place_name(f"crashed-{n}", time.time() - 1))
    message = _in_flight(me, hook, 3, deployed)
    assert sequencer().run([message], time_left=lambda: 100.0, budget=10.0).turns == {message.message_id: "done"}
    assert len(receiver.received["/crashed"]) == 1
    assert _places_held(me) == []  # the outlived ones freed, and the run's own given back
