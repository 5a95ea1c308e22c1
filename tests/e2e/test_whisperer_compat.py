"""dj-whisperer 0.5.2a2's own test cases, one by one, over HTTP against `oms-webhooks local` with real receivers.

Each test names the original it follows (`whisperer/tests/...`). They are the originals whose behaviour a client
can see over HTTP or at a receiver; where a test meets a deliberate difference (README, "Differences from
whisperer") it asserts the documented behaviour and says so. Whisperer's tests use no pagination; here lists are
DRF pages, so results are read from `results`.

Not followed, because nothing of them reaches HTTP or a receiver: `test_utils.py::LockTaskTests::*` (Celery task
locks); in `tests.py::WhispererEventTestCase`, `test_triggering_already_deleted_event_queue`,
`test_deliver_event_task_none_operation_control`, `test_trigger_event_queue_events`,
`test_object_deleted_before_deliver_event_started` (the Celery outbox and Django model lookups),
`test_delete_outdated_webhook_events` (here DynamoDB's TTL ends records after `DeliveryRetentionDays`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import pytest
import requests

from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.event_catalog import EVENT_TYPES
from oms_webhooks_cli.endpoint import Target
from tests.e2e.conftest import Client, LocalStackProcess
from tests.receiver import Answer, Receiver

pytestmark = pytest.mark.e2e

FIXED_60 = {"choice": "fixed", "kwargs": {"seconds": 60}}
EXPONENTIAL_2 = {"choice": "exponential", "kwargs": {"base": 2}}
LATER = {"choice": "fixed", "kwargs": {"seconds": 3600}, "max_retries": 1}  # failed once, retried only in an hour
AUTH = {"auth": {"username": "username", "password": "123", "auth_type": "basic"}}
BASIC = "Basic " + base64.b64encode(b"username:123").decode()


# --- helpers -------------------------------------------------------------------------------------------------------


class Owner(Client):
    """conftest's Client, its token made in-process as `oms-webhooks token create` makes it: one CLI start less
    per owner, and this module makes dozens."""

    def __init__(self, stack: LocalStackProcess, http: requests.Session) -> None:
        self.stack = stack
        self.http = http
        target = Target(stack.outputs, stack.aws_endpoint)
        tokens = TokenStore(target.output("TokensTableName"), client=target.client("dynamodb"))
        self.token = tokens.create(f"owner-{uuid.uuid4().hex[:10]}")
        self.http.headers["Authorization"] = f"Token {self.token}"
        self.events = target.client("events")


@pytest.fixture
def client(local_stack: LocalStackProcess, http: requests.Session) -> Iterator[Client]:
    """An owner for one test (whisperer's `self.user`); its hooks are deleted afterwards."""
    owner = Owner(local_stack, http)
    yield owner
    owner.unsubscribe_all()


@pytest.fixture
def other(local_stack: LocalStackProcess) -> Iterator[Client]:
    """A second owner (whisperer's `dummy_user_b`)."""
    with requests.Session() as http:
        owner = Owner(local_stack, http)
        yield owner
        owner.unsubscribe_all()


def results(answer: requests.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def ids(answer: requests.Response) -> list[int]:
    return sorted(item["id"] for item in results(answer))


def seconds_of(duration: str) -> float:
    """Django REST framework's duration string, `[DD ]HH:MM:SS[.ffffff]`."""
    found = re.fullmatch(r"(?:(\d+) )?(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?", duration)
    assert found, f"not a DRF duration: {duration!r}"
    days, hours, minutes, whole, fraction = found.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(whole) + float(fraction or 0)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Polls `check` until it returns something truthy; bounded by time."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def deliveries_of(
    client: Client, hook_id: int, count: int, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
) -> list[Any]:
    """The hook's deliveries, once there are `count` and each is `done`."""

    def ready() -> list[dict[str, Any]] | None:
        found = client.deliveries(webhook=hook_id, limit=500)
        return found if len(found) == count and all(done(d) for d in found) else None

    return list(wait_until(ready, f"{count} deliveries of hook {hook_id}", timeout))


def all_settled(client: Client, count: int) -> bool:
    """The owner has `count` deliveries, none still waiting for its first answer."""
    found = client.deliveries(limit=500)
    return len(found) == count and all(settled(d) for d in found)


def settled(delivery: dict[str, Any]) -> bool:
    return delivery["status"] != "pending"


class BasicAuthReceiver(Receiver):
    """Answers 401 to a request without `Authorization`, as `_auth_test_callback` in whisperer's tests."""

    def answer_for(self, path: str) -> Answer:
        if "Authorization" not in self.received[path][-1].headers:
            return Answer(401, b"")
        return super().answer_for(path)


class HangUpServer:
    """Accepts a connection, reads the request, and closes it without answering."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hang-up"

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    connection.recv(65536)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


def closed_port_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused"


# --- whisperer/tests/test_views.py::WebhookViewSetTestCase ----------------------------------------------------------


@pytest.fixture
def five_hooks_each(client: Client, other: Client, receiver: Receiver) -> list[int]:
    """setUp: five hooks of one user and five of another. Returns the first user's ids."""
    mine = [
        client.subscribe(receiver.url(f"/mine/{i}"), EVENT_TYPES[i], retry_countdown_config=EXPONENTIAL_2)["id"]
        for i in range(5)
    ]
    for i in range(5):
        other.subscribe(receiver.url(f"/other/{i}"), EVENT_TYPES[i], retry_countdown_config=EXPONENTIAL_2)
    return mine


def test_list_with_admin_user() -> None:
    """Follows whisperer/tests/test_views.py::WebhookViewSetTestCase::test_list_with_admin_user."""
    pytest.skip("no superuser tokens here: every token is one owner's, and lists only that owner's hooks")


def test_list_with_regular_user(client: Client, five_hooks_each: list[int]) -> None:
    """Follows whisperer/tests/test_views.py::WebhookViewSetTestCase::test_list_with_regular_user."""
    assert ids(client.http.get(client.url("hooks/"))) == sorted(five_hooks_each)


def test_get_registry(client: Client) -> None:
    """Follows whisperer/tests/test_views.py::WebhookViewSetTestCase::test_get_registry."""
    answer = client.http.get(client.url("hooks/registry/"))
    assert answer.status_code == 200
    assert answer.json() == list(EVENT_TYPES)


def test_target_url_filter(client: Client, five_hooks_each: list[int], receiver: Receiver) -> None:
    """Follows whisperer/tests/test_views.py::WebhookViewSetTestCase::test_target_url_filter."""
    answer = client.http.get(client.url("hooks/"), params={"target_url": receiver.url("/mine/4")})
    assert ids(answer) == [five_hooks_each[4]]


def test_target_url_and_event_type_filters_ignore_case(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/resources/filters.py::WebhookFilter (`target_url`, `event_type`: `iexact`)."""
    hook = client.subscribe(receiver.url("/Orders/Created"), "package.created")
    client.subscribe(receiver.url("/orders/created/2"), "shipment.created")
    upper = receiver.url("/Orders/Created").upper()
    assert ids(client.http.get(client.url("hooks/"), params={"target_url": upper})) == [hook["id"]]
    for name in ("PACKAGE.CREATED", "Package-Created"):
        assert ids(client.http.get(client.url("hooks/"), params={"event_type": name})) == [hook["id"]]


def test_is_active_filter(client: Client, five_hooks_each: list[int], receiver: Receiver) -> None:
    """Follows whisperer/tests/test_views.py::WebhookViewSetTestCase::test_is_active_filter."""
    inactive = [
        client.subscribe(receiver.url(f"/inactive/{i}"), "package.created", is_active=False)["id"] for i in range(3)
    ]
    assert ids(client.http.get(client.url("hooks/"), params={"is_active": "False"})) == sorted(inactive)
    assert ids(client.http.get(client.url("hooks/"), params={"is_active": "True"})) == sorted(five_hooks_each)


def test_event_type_filter(client: Client, five_hooks_each: list[int]) -> None:
    """Follows whisperer/tests/test_views.py::WebhookViewSetTestCase::test_event_type_filter (`order-created`:
    here the catalog's dashed form, `package-status-transitioned`)."""
    answer = client.http.get(client.url("hooks/"), params={"event_type": "package-status-transitioned"})
    assert ids(answer) == [five_hooks_each[1]]


# --- whisperer/tests/test_views.py::WebhookEventViewSetTestCase ----------------------------------------------------

LOG_TYPE_A, LOG_TYPE_B = "transfer.status.created", "transfer.status.transitioned"  # only `event_log` publishes these


@dataclass
class EventLog:
    """setUp: a user with 7 deliveries over two hooks (4 of them failed, 500, waiting an hour to be retried; 3
    delivered), another user with 5 deliveries of the first hook's type."""

    mine: Client
    theirs: Client
    hook_a: int
    hook_b: int
    their_hook: int
    all: list[dict[str, Any]]  # the first user's deliveries, oldest first

    def get(self, **params: Any) -> requests.Response:
        return self.mine.http.get(self.mine.url("hook_events/"), params=params)


@pytest.fixture(scope="module")
def event_log(local_stack: LocalStackProcess) -> Iterator[EventLog]:
    receiver = Receiver()
    with requests.Session() as mine_http, requests.Session() as theirs_http:
        mine, theirs = Owner(local_stack, mine_http), Owner(local_stack, theirs_http)
        try:
            failing_then_ok = [Answer(500)] * 4 + [Answer(200, b"ok")]
            hook_a = mine.subscribe(receiver.script("/a", *failing_then_ok), LOG_TYPE_A, retry_countdown_config=LATER)
            hook_b = mine.subscribe(receiver.script("/b", Answer(200)), LOG_TYPE_B, retry_countdown_config=LATER)
            their_hook = theirs.subscribe(receiver.script("/theirs", Answer(200)), LOG_TYPE_A)
            published = [LOG_TYPE_A] * 5 + [LOG_TYPE_B] * 2
            for count, event_type in enumerate(published, start=1):  # one at a time: distinct, ordered times
                mine.publish(event_type, {"number": count})
                wait_until(partial(all_settled, mine, count), f"delivery {count}")
            deliveries_of(theirs, their_hook["id"], 5, settled)
            everything = sorted(mine.deliveries(limit=500), key=lambda d: d["created_date"])
            yield EventLog(mine, theirs, hook_a["id"], hook_b["id"], their_hook["id"], everything)
        finally:
            mine.unsubscribe_all()
            theirs.unsubscribe_all()
            receiver.stop()


def test_event_list_with_admin_user() -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_list_with_admin_user."""
    pytest.skip("no superuser tokens here: every token is one owner's, and lists only that owner's deliveries")


def test_event_list_with_regular_user(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_list_with_regular_user."""
    assert len(results(event_log.get())) == 7
    assert len(results(event_log.theirs.http.get(event_log.theirs.url("hook_events/")))) == 5


def test_event_event_type_filter(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_event_type_filter (the dashed form
    and any case, as whisperer's `iexact` on the hook's event type)."""
    expected = sorted(d["id"] for d in event_log.all if d["event_type"] == LOG_TYPE_B)
    assert len(expected) == 2
    assert ids(event_log.get(event_type="transfer-status-transitioned")) == expected
    assert ids(event_log.get(event_type="TRANSFER.STATUS.TRANSITIONED")) == expected


def test_event_delivered_filter(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_delivered_filter."""
    expected = sorted(d["id"] for d in event_log.all if d["delivered"])
    assert len(expected) == 3
    assert ids(event_log.get(delivered="True")) == expected


def test_event_uuid_filter(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_uuid_filter (the dashed uuid, as
    `str(webhook_event.uuid)` is)."""
    last = event_log.all[-1]
    assert ids(event_log.get(uuid=str(uuid.UUID(last["uuid"])))) == [last["id"]]


def test_event_response_http_status_filter(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_response_http_status_filter."""
    expected = sorted(d["id"] for d in event_log.all if d["response_http_status"] == 500)
    assert len(expected) == 4
    assert ids(event_log.get(response_http_status=500)) == expected


def created(delivery: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(delivery["created_date"].replace("Z", "+00:00"))


def test_event_created_date_filter(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_created_date_filter (exact)."""
    one = event_log.all[2]
    assert ids(event_log.get(created_date=one["created_date"])) == [one["id"]]


@pytest.mark.parametrize(
    ("lookup", "keep"),
    [
        ("gt", lambda when, mark: when > mark),
        ("gte", lambda when, mark: when >= mark),
        ("lt", lambda when, mark: when < mark),
        ("lte", lambda when, mark: when <= mark),
    ],
)
def test_event_created_date_range_filters(
    event_log: EventLog, lookup: str, keep: Callable[[datetime, datetime], bool]
) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_created_date__gt_filter,
    test_created_date__gte_filter, test_created_date__lt_filter and test_created_date__lte_filter: a delivery's
    time as the bound, and a bare date (`%Y-%m-%d`, midnight UTC) as the originals use."""
    mark = event_log.all[3]
    expected = sorted(d["id"] for d in event_log.all if keep(created(d), created(mark)))
    assert 0 < len(expected) < 7
    assert ids(event_log.get(**{f"created_date__{lookup}": mark["created_date"]})) == expected
    day = created(event_log.all[0]).strftime("%Y-%m-%d")  # every delivery was made on or after it
    everything = sorted(d["id"] for d in event_log.all)
    assert ids(event_log.get(**{f"created_date__{lookup}": day})) == (everything if lookup in ("gt", "gte") else [])


@pytest.mark.parametrize("name", ["content_type", "object_id"])
def test_event_content_type_and_object_id_filters(event_log: EventLog, name: str) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_content_type_filter and
    test_object_id_filter. Deliveries here name no Django model, so no delivery has either: the filter is applied
    (nothing matches) or refused, never ignored."""
    answer = event_log.get(**{name: 1})
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 200:
        assert answer.json()["results"] == []


def test_event_webhook_id_filter(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_webhook_id_filter."""
    theirs = event_log.theirs
    found = results(theirs.http.get(theirs.url("hook_events/"), params={"webhook": event_log.their_hook}))
    assert len(found) == 5
    for item in found:
        assert item["webhook"]["id"] == event_log.their_hook
        assert item["webhook"]["event_type"] == LOG_TYPE_A and "target_url" in item["webhook"]


@dataclass
class Exhausted:
    client: Client
    receiver: Receiver
    recovers: dict[str, Any]  # its subscriber answers 200 "Foo" after 11 failures
    keeps_failing: dict[str, Any]  # 400 "Foo" throughout


@pytest.fixture(scope="module")
def exhausted(local_stack: LocalStackProcess) -> Iterator[Exhausted]:
    """Deliveries whose 11 attempts (the first and 10 retries) all failed, as whisperer's `retry_count = 11`."""
    receiver = Receiver()
    with requests.Session() as http:
        client = Owner(local_stack, http)
        try:
            quick = {"choice": "fixed", "kwargs": {"seconds": 0}}  # max_retries: the default, 10
            url = receiver.script("/recovers", *[Answer(400, b"Nope")] * 11, Answer(200, b"Foo"))
            recovers = client.subscribe(url, "transfer.status.in_transit", retry_countdown_config=quick)
            url = receiver.script("/keeps-failing", Answer(400, b"Foo"))
            keeps_failing = client.subscribe(url, "transfer.status.in_transit", retry_countdown_config=quick)
            client.publish("transfer.status.in_transit", {"id": 11})
            for hook in (recovers, keeps_failing):
                deliveries_of(client, hook["id"], 1, lambda d: d["status"] == "failed", timeout=90)
            yield Exhausted(client, receiver, recovers, keeps_failing)
        finally:
            client.unsubscribe_all()
            receiver.stop()


def only_delivery(client: Client, hook_id: int) -> dict[str, Any]:
    [delivery] = client.deliveries(webhook=hook_id)
    return delivery


def test_deliver_event_task(exhausted: Exhausted) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_event_task, its first half: a delivery
    that keeps failing ends after TASK_RETRY_COUNT retries with `retry_count` TASK_RETRY_COUNT + 1. (The second
    half, more attempts by the periodic `undelivered_event_scanner`, has no counterpart: see
    test_undelivered_event_scanner.)"""
    delivery = only_delivery(exhausted.client, exhausted.keeps_failing["id"])
    assert (delivery["retry_count"], delivery["delivered"], delivery["status"]) == (11, False, "failed")
    assert len(exhausted.receiver.received["/keeps-failing"]) == 11


def test_undelivered_event_scanner() -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_undelivered_event_scanner."""
    pytest.skip(
        "whisperer's host may schedule a scanner that re-sends failed deliveries (retry_count 11 to 18) long after; "
        "here `retry_countdown_config.max_retries` (default 10, at most 50) bounds the schedule, and POST "
        ".../retry/ re-sends one by hand"
    )


def test_retry_webhook_event_sync_success(exhausted: Exhausted) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_retry_webhook_event_sync_success."""
    client = exhausted.client
    event = only_delivery(client, exhausted.recovers["id"])
    assert (event["delivered"], event["retry_count"]) == (False, 11)

    response = client.http.post(client.url(f"hook_events/{event['id']}/retry/"))
    assert response.status_code == 200, response.text
    assert response.json()["delivered"] is True
    assert response.json()["response_status"] == 200
    assert response.json()["response_content"] == "Foo"
    assert response.json()["detail"] == "Webhook event delivered successfully"

    event = client.http.get(client.url(f"hook_events/{event['id']}/")).json()
    assert event["delivered"] is True
    assert event["retry_count"] == 12
    assert event["response_http_status"] == 200
    assert seconds_of(event["response_time"]) > 0
    assert "Foo" in event["response_content"]


def test_retry_webhook_event_sync_failure(exhausted: Exhausted) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_retry_webhook_event_sync_failure."""
    client = exhausted.client
    event = only_delivery(client, exhausted.keeps_failing["id"])

    response = client.http.post(client.url(f"hook_events/{event['id']}/retry/"))
    assert response.status_code == 406, response.text
    assert response.json()["delivered"] is False
    assert response.json()["response_status"] == 400
    assert response.json()["response_content"] == "Foo"
    assert response.json()["detail"] == "Webhook event delivery failed"

    event = client.http.get(client.url(f"hook_events/{event['id']}/")).json()
    assert event["delivered"] is False
    assert event["retry_count"] == 12
    assert event["response_http_status"] == 400
    assert seconds_of(event["response_time"]) > 0
    assert "Foo" in event["response_content"]


def test_retry_already_delivered_webhook_event(event_log: EventLog) -> None:
    """Follows
    whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_retry_already_delivered_webhook_event."""
    event = next(d for d in event_log.all if d["delivered"])
    response = event_log.mine.http.post(event_log.mine.url(f"hook_events/{event['id']}/retry/"))
    assert response.status_code == 406
    assert response.json()["code"] == "event_100_3"
    assert response.json()["en"] == "Event already delivered"


def test_retry_webhook_event_in_retry_process(event_log: EventLog) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_retry_webhook_event_in_retry_process."""
    event = next(d for d in event_log.all if d["status"] == "retrying")
    response = event_log.mine.http.post(event_log.mine.url(f"hook_events/{event['id']}/retry/"))
    assert response.status_code == 406
    assert response.json()["code"] == "event_100_6"
    assert response.json()["en"] == "Event is still in retry process"


@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
def test_retry_webhook_event_with_force_delivered(client: Client, receiver: Receiver, form: str) -> None:
    """Follows whisperer/tests/test_views.py::WebhookEventViewSetTestCase::test_retry_webhook_event_with_force_delivered
    (`self.client.post(url, {"force": True})`: a multipart form, as DRF's test client sends it; and urlencoded)."""
    url = receiver.script("/force", Answer(500), Answer(200, b"Foo"))
    hook = client.subscribe(url, "transfer.status.transferred", retry_countdown_config=LATER)
    client.publish("transfer.status.transferred", {"id": 5})
    event = client.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying")

    retry_url = client.url(f"hook_events/{event['id']}/retry/")
    if form == "multipart":
        response = client.http.post(retry_url, files={"force": (None, "True")})
    else:
        response = client.http.post(retry_url, data={"force": "True"})
    assert response.status_code == 200, response.text
    assert response.json()["delivered"] is True
    assert response.json()["response_status"] == 200
    assert response.json()["response_content"] == "Foo"
    assert response.json()["detail"] == "Webhook event delivered successfully"

    after = client.http.get(client.url(f"hook_events/{event['id']}/")).json()
    assert after["delivered"] is True
    assert after["retry_count"] == event["retry_count"] + 1
    assert after["response_http_status"] == 200
    assert seconds_of(after["response_time"]) > 0
    assert "Foo" in after["response_content"]


# --- whisperer/tests/test_views.py::EventQueueViewSetTestCase -------------------------------------------------------


def test_event_queue_list(client: Client) -> None:
    """Follows whisperer/tests/test_views.py::EventQueueViewSetTestCase::test_list_with_admin_user. There is no
    outbox here (EventBridge and SQS hold events in flight): the list is well-formed and empty (README)."""
    answer = client.http.get(client.url("event_queues/"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [] and answer.json()["next"] is None


def test_event_queue_event_type_filter(client: Client) -> None:
    """Follows whisperer/tests/test_views.py::EventQueueViewSetTestCase::test_event_type_filter (empty here)."""
    answer = client.http.get(client.url("event_queues/"), params={"event_type": "package-created"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == []


# --- whisperer/tests/test_serializers.py::WebhookSerializerTestCase --------------------------------------------------


def test_valid_data(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/test_serializers.py::WebhookSerializerTestCase::test_valid_data (a local receiver
    rather than https://example.com: tests send nothing off this machine)."""
    data = {"retry_countdown_config": FIXED_60, "target_url": receiver.url("/valid"), "event_type": "package-created"}
    answer = client.http.post(client.url("hooks/"), json=data)
    assert answer.status_code == 201, answer.text
    assert answer.json()["retry_countdown_config"] == {**FIXED_60, "max_retries": 10}


def test_invalid_event_type(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/test_serializers.py::WebhookSerializerTestCase::test_invalid_event_type."""
    data = {"retry_countdown_config": FIXED_60, "target_url": receiver.url("/x"), "event_type": "invalid.event"}
    answer = client.http.post(client.url("hooks/"), json=data)
    assert answer.status_code == 400
    assert answer.json() == {"event_type": ['"invalid.event" is not a valid choice.']}


# --- whisperer/tests/tests.py::WebhookTestCase ----------------------------------------------------------------------


def test_register_webhook(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WebhookTestCase::test_register_webhook: the serializer's output is valid
    input (here: a GET answer POSTed back, its read-only fields ignored), and registering it again is refused."""
    data = {
        "target_url": receiver.url("/order_create"),
        "secret_key": "secret",
        "event_type": "package-created",
        "retry_countdown_config": EXPONENTIAL_2,
    }
    created = client.http.post(client.url("hooks/"), json=data)
    assert created.status_code == 201
    assert created.json()["event_type"] == "package.created"
    shown = client.http.get(client.url(f"hooks/{created.json()['id']}/")).json()

    again = client.http.post(client.url("hooks/"), json=shown)
    assert again.status_code == 406
    assert again.json() == {"code": "webhook_100_2", "en": "Webhook already registered"}
    copy = client.http.post(client.url("hooks/"), json={**shown, "target_url": receiver.url("/order_create/2")})
    assert copy.status_code == 201, copy.text


def test_update_webhook(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WebhookTestCase::test_update_webhook (as read-modify-write: the GET answer
    with the changes, PUT back)."""
    hook = client.subscribe(receiver.url("/order_create"), "package.created", secret_key="secret")
    shown = client.http.get(client.url(f"hooks/{hook['id']}/")).json()
    update_data: dict[str, Any] = {
        "target_url": receiver.url("/order_update"),
        "event_type": "package.status.transitioned",
        "retry_countdown_config": {"choice": "linear", "kwargs": {"base": 1 * 60, "limit": 5 * 60}},
    }
    updated = client.http.put(client.url(f"hooks/{hook['id']}/"), json={**shown, **update_data})
    assert updated.status_code == 200, updated.text
    assert updated.json()["target_url"] == update_data["target_url"] != hook["target_url"]
    assert updated.json()["event_type"] == "package.status.transitioned"
    assert updated.json()["retry_countdown_config"] == {**update_data["retry_countdown_config"], "max_retries": 10}
    assert updated.json()["secret_key_set"] is True


def test_update_webhook_with_already_registered_one(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WebhookTestCase::test_update_webhook_with_already_registered_one.
    Deliberate difference: whisperer's view lets WebhookAlreadyRegistered escape from an update (500); here 406."""
    url = receiver.url("/order_create")
    webhook = client.subscribe(url, "package.created", secret_key="secret", retry_countdown_config=EXPONENTIAL_2)
    client.subscribe(url, "package.status.transitioned", secret_key="secret", retry_countdown_config=EXPONENTIAL_2)
    hook_url = client.url(f"hooks/{webhook['id']}/")

    for update_data in (
        {"target_url": url, "event_type": "package.status.transitioned"},
        {"event_type": "package.status.transitioned"},
    ):
        refused = client.http.patch(hook_url, json=update_data)
        assert refused.status_code == 406
        assert refused.json() == {"code": "webhook_100_2", "en": "Webhook already registered"}

    kwargs = {"base": 1 * 60, "limit": 10 * 60}
    updated = client.http.patch(hook_url, json={"retry_countdown_config": {"choice": "linear", "kwargs": kwargs}})
    assert updated.status_code == 200
    assert updated.json()["retry_countdown_config"]["kwargs"] == kwargs


def test_delete_webhook(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WebhookTestCase::test_delete_webhook: DELETE deactivates. Beyond it, as
    whisperer behaves: the hook stays readable, its delivery log stays attached, and it receives no more events."""
    hook = client.subscribe(receiver.url("/deleted"), "package.status.packed")
    control = client.subscribe(receiver.url("/control"), "package.status.packed")
    client.publish("package.status.packed", {"id": 1})
    [first] = deliveries_of(client, hook["id"], 1, lambda d: d["delivered"])

    assert client.http.delete(client.url(f"hooks/{hook['id']}/")).status_code == 204
    shown = client.http.get(client.url(f"hooks/{hook['id']}/"))
    assert shown.status_code == 200
    assert shown.json()["is_active"] is False
    assert [d["uuid"] for d in client.deliveries(webhook=hook["id"])] == [first["uuid"]]
    assert client.http.get(client.url(f"hook_events/{first['uuid']}/")).status_code == 200

    client.publish("package.status.packed", {"id": 2})
    assert len(receiver.wait_for("/control", 2, timeout=30)) == 2  # the second event has been dispatched
    deliveries_of(client, control["id"], 2, settled)
    assert len(receiver.received["/deleted"]) == 1
    assert [d["uuid"] for d in client.deliveries(webhook=hook["id"])] == [first["uuid"]]


# --- whisperer/tests/tests.py::WhispererEventTestCase ---------------------------------------------------------------


def test_deliver_event(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_event: one delivery, delivered, with
    whisperer's body and headers (signed with the hook's secret)."""
    hook = client.subscribe(receiver.script("/order_create", Answer(200, b"Order Created")), secret_key="secret")
    client.publish("package.created", {"number": "1", "amount": "1.00"})
    [event] = deliveries_of(client, hook["id"], 1, settled)
    assert event["delivered"] is True
    [request] = receiver.wait_for("/order_create", 1)
    body = json.loads(request.body)
    assert body == {
        "event": {"type": "package.created", "uuid": event["uuid"]},
        "payload": {"number": "1", "amount": "1.00"},
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Whisperer-Event"] == "package.created"
    expected = hmac.new(b"secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Whisperer-Signature"] == f"sha256={expected}"


def test_deliver_create_event_for_uuid_primary_key(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_create_event_for_uuid_primary_key
    (an object whose id is a uuid)."""
    hook = client.subscribe(receiver.script("/foo_create", Answer(200, b"Foo Created")), "package.created")
    foo = {"id": str(uuid.uuid4()), "name": "bar"}
    client.publish("package.created", foo)
    [event] = deliveries_of(client, hook["id"], 1, settled)
    assert event["delivered"] is True
    assert json.loads(receiver.wait_for("/foo_create", 1)[0].body)["payload"] == foo


def test_deliver_delete_event_for_uuid_primary_key(client: Client) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_delete_event_for_uuid_primary_key
    (its `foo-deleted` hook has basic auth in `config`)."""
    receiver = BasicAuthReceiver()
    try:
        url = receiver.script("/auth_foo_delete", Answer(200, b"Foo Deleted"))
        hook = client.subscribe(url, "package.status.cancelled", secret_key="secret", config=AUTH)
        client.publish("package.status.cancelled", {"id": str(uuid.uuid4()), "name": "bar"})
        [event] = deliveries_of(client, hook["id"], 1, settled)
        assert event["delivered"] is True
        assert receiver.received["/auth_foo_delete"][0].headers["Authorization"] == BASIC
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("original", "payload"),
    [
        ("test_deliver_event_sync_with_event_uuid", {"number": "1"}),
        ("test_deliver_event_async_with_event_uuid", {"number": "1"}),
        ("test_deliver_event_async_with_event_uuid_for_primary_key_uuid", {"id": str(uuid.uuid4()), "name": "bar"}),
    ],
)
def test_deliver_event_with_event_uuid(client: Client, receiver: Receiver, original: str, payload: Any) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_event_sync_with_event_uuid,
    test_deliver_event_async_with_event_uuid and test_deliver_event_async_with_event_uuid_for_primary_key_uuid:
    an undelivered delivery sent again by its uuid is delivered (here over HTTP: POST .../{uuid}/retry/), and no
    outbox row is left behind."""
    url = receiver.script(f"/{original}", Answer(500), Answer(200, b"Order Created"))
    hook = client.subscribe(url, "transfer.status.transferred", secret_key="secret", retry_countdown_config=LATER)
    client.publish("transfer.status.transferred", payload)
    event = client.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying")

    sent = client.http.post(client.url(f"hook_events/{event['uuid']}/retry/"), json={"force": True})
    assert sent.status_code == 200, sent.text
    assert client.delivery(event["uuid"])["delivered"] is True
    [first, again] = receiver.wait_for(f"/{original}", 2)
    assert again.body == first.body and json.loads(again.body)["payload"] == payload
    queues = client.http.get(client.url("event_queues/"))
    assert queues.status_code == 200 and queues.json()["results"] == []


@pytest.mark.parametrize(
    "original",
    [
        "test_deliver_event_async_creates_event_queue_object",
        "test_deliver_event_async_creates_event_queue_object_for_pk_uuid",
    ],
)
def test_deliver_event_async_creates_event_queue_object(client: Client, receiver: Receiver, original: str) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_event_async_creates_event_queue_object
    and ..._for_pk_uuid. Here events in flight are held by EventBridge and SQS, not an outbox table: /event_queues/
    stays empty even while a delivery waits for its retry (README)."""
    url = receiver.script(f"/{original}", Answer(500))
    hook = client.subscribe(url, "transfer.status.transferred", retry_countdown_config=LATER)
    client.publish("transfer.status.transferred", {"id": 1})
    client.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying")
    queues = client.http.get(client.url("event_queues/"))
    assert queues.status_code == 200, queues.text
    assert queues.json()["results"] == []


def test_deliver_event_with_config_filter_parameter(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_deliver_event_with_config_filter_parameter, as
    far as HTTP shows it: `config` keys other than `auth` are stored and shown as written, and the delivery's nested
    webhook carries them. Whisperer's `config_filter` is an argument of the publisher's Python call
    `deliver_event`; the OMS publishes to EventBridge here, so both hooks get the event (README)."""
    event_type = "package.shipment.awb_number"
    one = client.subscribe(receiver.url("/channel/1"), event_type, config={"channel": "foo_channel_1"})
    two = client.subscribe(receiver.url("/channel/2"), event_type, config={"channel": "foo_channel_2"})
    assert client.http.get(client.url(f"hooks/{one['id']}/")).json()["config"] == {"channel": "foo_channel_1"}
    assert two["config"] == {"channel": "foo_channel_2"}
    client.publish("package.shipment.awb_number", {"number": "1"})
    [event] = deliveries_of(client, one["id"], 1, settled)
    assert event["delivered"] is True
    deliveries_of(client, two["id"], 1, lambda d: d["delivered"])
    assert event["webhook"]["config"] == {"channel": "foo_channel_1"}


def test_http_error(client: Client) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_http_error: a request that gets no answer
    (here a refused connection) is recorded as status 500, not delivered, with the reason in the content."""
    hook = client.subscribe(closed_port_url(), "package.status.shipped", retry_countdown_config=LATER)
    client.publish("package.status.shipped", {"id": 1})
    [event] = deliveries_of(client, hook["id"], 1, settled)
    assert event["delivered"] is False
    assert event["response_http_status"] == 500
    assert "refused" in event["response_content"].lower()
    assert [d["uuid"] for d in client.deliveries(response_http_status=500)] == [event["uuid"]]


def test_unboundlocal_error(client: Client) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_unboundlocal_error: any failure to get an
    answer is recorded as status 500 and not delivered (here: the subscriber hangs up without answering)."""
    server = HangUpServer()
    try:
        hook = client.subscribe(server.url, "package.status.shipped", retry_countdown_config=LATER)
        client.publish("package.status.shipped", {"id": 1})
        [event] = deliveries_of(client, hook["id"], 1, settled)
        assert event["delivered"] is False
        assert event["response_http_status"] == 500
    finally:
        server.stop()


def test_auth_config(client: Client) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_auth_config: with `config.auth` the subscriber
    gets HTTP Basic auth (200); once `config` is `{}`, it does not (401)."""
    receiver = BasicAuthReceiver()
    try:
        url = receiver.script("/auth_order_update", Answer(200, b""))
        event_type = "package.status.packed_for_refund"
        hook = client.subscribe(url, event_type, secret_key="secret", config=AUTH, retry_countdown_config=LATER)
        client.publish("package.status.packed_for_refund", {"number": "123"})
        [event] = deliveries_of(client, hook["id"], 1, settled)
        assert event["response_http_status"] == 200
        assert event["delivered"] is True
        assert receiver.received["/auth_order_update"][0].headers["Authorization"] == BASIC

        assert client.http.patch(client.url(f"hooks/{hook['id']}/"), json={"config": {}}).json()["config"] == {}
        client.publish("package.status.packed_for_refund", {"number": "123123"})
        newest = deliveries_of(client, hook["id"], 2, settled)[0]
        assert newest["response_http_status"] == 401
        assert newest["delivered"] is False
    finally:
        receiver.stop()


def test_auth_config_on_every_delivery_path(client: Client) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_auth_config, on every path a delivery takes
    here: the dispatcher's own sends, a fan-out split over the fan-out queue (the local stack splits above 25
    hooks), the retrier, and a manual retry. The password never appears in an answer."""
    receiver = BasicAuthReceiver()
    try:
        fanout = [client.subscribe(receiver.url(f"/fan/{i}"), "stock_location.created", config=AUTH) for i in range(26)]
        soon = {"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 1}
        direct = client.subscribe(receiver.url("/direct"), "stock_location.updated", config=AUTH)
        url = receiver.script("/retried", Answer(500), Answer(200))
        retried = client.subscribe(url, "stock_location.updated", config=AUTH, retry_countdown_config=soon)
        url = receiver.script("/by-hand", Answer(500), Answer(200))
        by_hand = client.subscribe(url, "stock_location.updated", config=AUTH, retry_countdown_config=LATER)
        client.publish("stock_location.created", {"id": 1})
        client.publish("stock_location.updated", {"id": 2})

        for hook in [*fanout, direct]:
            deliveries_of(client, hook["id"], 1, lambda d: d["delivered"])
        deliveries_of(client, retried["id"], 1, lambda d: d["delivered"])
        event = client.wait_for_delivery(by_hand["id"], lambda d: d["status"] == "retrying")
        sent = client.http.post(client.url(f"hook_events/{event['uuid']}/retry/"), json={"force": True})
        assert sent.status_code == 200, sent.text

        paths = [f"/fan/{i}" for i in range(26)] + ["/direct", "/retried", "/retried", "/by-hand", "/by-hand"]
        requests_seen = [request for path in dict.fromkeys(paths) for request in receiver.received[path]]
        assert len(requests_seen) == len(paths)
        assert {request.headers.get("Authorization") for request in requests_seen} == {BASIC}
        listed = client.http.get(client.url("hooks/"), params={"limit": 500})
        assert b'"123"' not in listed.content and len(listed.json()["results"]) == 29
    finally:
        receiver.stop()


def test_unregistered_event_type(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventTestCase::test_unregistered_event_type: an event type outside
    the catalog reaches no hook."""
    hook = client.subscribe(receiver.url("/any"), "package.created")
    client.publish("non-existent-event-type", {"id": 1})
    client.publish("package.created", {"id": 2})  # published after it: once this one is delivered, so would it be
    [event] = deliveries_of(client, hook["id"], 1, settled)
    assert json.loads(receiver.wait_for("/any", 1)[0].body)["payload"] == {"id": 2}
    assert event["event_type"] == "package.created"


# --- whisperer/tests/tests.py::WhispererEventCallbackTestCase -------------------------------------------------------


def test_runs_callback(client: Client, receiver: Receiver) -> None:
    """Follows whisperer/tests/tests.py::WhispererEventCallbackTestCase::test_runs_callback: the hook's `callback`
    is kept and shown, and the delivery is made. Whisperer imports and runs it as Python inside its server; no
    client code runs here, so nothing else happens (README)."""
    callback = "whisperer.tests.tests.dummy_whisperer_event_callback"
    url = receiver.script("/foo_bar", Answer(200, b"Request Processed"))
    hook = client.subscribe(url, "package.created", secret_key="secret", callback=callback)
    assert hook["callback"] == callback
    assert client.http.get(client.url(f"hooks/{hook['id']}/")).json()["callback"] == callback
    client.publish("package.created", {"number": "1"})
    [event] = deliveries_of(client, hook["id"], 1, settled)
    assert event["delivered"] is True


# --- whisperer/tests/tests.py::RetryCountdownTestCase ---------------------------------------------------------------

COUNTDOWNS = {  # choice: (config, the waits before retries 1, 2 and 3)
    "fixed": ({"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 3}, [1, 1, 1]),
    "linear": ({"choice": "linear", "kwargs": {"base": 1}, "max_retries": 3}, [0, 1, 2]),
    "exponential": ({"choice": "exponential", "kwargs": {"base": 2, "limit": 3}, "max_retries": 3}, [1, 2, 3]),
    "random": ({"choice": "random", "kwargs": {"min_value": 1, "max_value": 2}, "max_retries": 3}, [1, 1, 1]),
}


@pytest.fixture(scope="module")
def countdown_gaps(local_stack: LocalStackProcess) -> Iterator[dict[str, list[float]]]:
    """One failing hook per countdown, one event: the gaps between the attempts each subscriber saw."""
    receiver = Receiver()
    with requests.Session() as http:
        client = Owner(local_stack, http)
        try:
            for choice, (config, _) in COUNTDOWNS.items():
                url = receiver.script(f"/{choice}", Answer(503))
                client.subscribe(url, "transfer.status.cancelled", retry_countdown_config=config)
            client.publish("transfer.status.cancelled", {"id": 1})
            gaps = {}
            for choice in COUNTDOWNS:
                seen = receiver.wait_for(f"/{choice}", 4, timeout=60)
                assert len(seen) == 4, choice
                gaps[choice] = [later.at - earlier.at for earlier, later in itertools.pairwise(seen)]
            yield gaps
        finally:
            client.unsubscribe_all()
            receiver.stop()


@pytest.mark.parametrize(
    ("original", "choice"),
    [
        ("test_fixed_retry_countdown", "fixed"),
        ("test_random_retry_countdown", "random"),
        ("test_linear_retry_countdown", "linear"),
        ("test_exponential_retry_countdown", "exponential"),
    ],
)
def test_retry_countdown(countdown_gaps: dict[str, list[float]], original: str, choice: str) -> None:
    """Follows whisperer/tests/tests.py::RetryCountdownTestCase::test_fixed_retry_countdown,
    test_random_retry_countdown, test_linear_retry_countdown and test_exponential_retry_countdown, at the
    subscriber: retry n comes after the countdown's value for n (`random`: at least `min_value`, here 1 s;
    `exponential`: base ** n * factor, at most `limit`). Lower bounds only, less the retrier's 0.25 s tolerance."""
    _, waits = COUNTDOWNS[choice]
    for gap, wait in zip(countdown_gaps[choice], waits, strict=True):
        assert gap >= wait - 0.3, (original, countdown_gaps[choice])
        assert gap < wait + 30, (original, countdown_gaps[choice])
