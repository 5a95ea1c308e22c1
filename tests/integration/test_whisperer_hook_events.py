"""The delivery log as dj-whisperer 0.5.2a2 answers it, in-process on moto: filters, nested hooks, integer ids,
manual retries, pages and the outbox view.

Tests named `test_whisperer_*` follow one case of dj-whisperer's `whisperer/tests/test_views.py`
(`WebhookEventViewSetTestCase`, `EventQueueViewSetTestCase`), named in their docstring; the others cover what this
service adds (cursor pages, ids derived from uuids, the cost of nesting hooks).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.delivery_store import MAX_PAGE_QUERIES, DeliveryStore
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.deliveries import Attempt, Delivery, delivery_id, delivery_number
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Answer as ApiAnswer
from tests.conftest import Caller
from tests.openapi_answers import assert_documented
from tests.receiver import Answer, Receiver

DAY = "%Y-%m-%d"
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


@dataclass
class Owner:
    name: str
    token: str
    call: Caller

    def get(self, path: str, **query: Any) -> ApiAnswer:
        suffix = f"?{urlencode(query)}" if query else ""
        return self.call("GET", f"/whisperer/{path}{suffix}", token=self.token)

    def ok(self, path: str, **query: Any) -> Any:
        answer = self.get(path, **query)
        assert answer.status == 200, answer.body
        return answer.json()

    def results(self, **query: Any) -> list[dict[str, Any]]:
        return list(self.ok("hook_events/", **query)["results"])

    def hook(self, target_url: str, event_type: str = "package.created", **fields: Any) -> dict[str, Any]:
        body = {"target_url": target_url, "event_type": event_type, "secret_key": "s3cr3t", **fields}
        answer = self.call("POST", "/whisperer/hooks/", body, token=self.token)
        assert answer.status == 201, answer.body
        return dict(answer.json())


@pytest.fixture
def owner(deployed: dict[str, LocalFunction], call: Caller) -> Owner:
    name = f"owner-{uuid.uuid4().hex[:12]}"
    return Owner(name, TokenStore(settings().tokens_table).create(name), call)


def store() -> DeliveryStore:
    return DeliveryStore(settings().deliveries_table)


def seed(
    owner: str,
    hook: dict[str, Any],
    created: datetime,
    *,
    status_code: int | None = 503,
    payload: Any = None,
    status: str = "retrying",
    duration: float = 0.25,
) -> Delivery:
    delivery = Delivery(
        uuid=delivery_id(uuid.uuid4().hex, hook["id"]),
        owner=owner,
        webhook=hook["id"],
        event_id=uuid.uuid4().hex,
        event_type=hook["event_type"],
        request_payload=payload if payload is not None else {"id": 0},
        target_url=hook["target_url"],
        created_date=created,
        modified_date=created,
    )
    if status_code is not None:
        delivery.record(Attempt(at=created, status_code=status_code, duration=duration), "answer")
    if not delivery.delivered:
        delivery.status = status  # type: ignore[assignment]
    store().save(delivery)
    return delivery


@dataclass
class Log:
    """dj-whisperer's WebhookEventViewSetTestCase.setUp, for one owner: 7 deliveries of hook a (the first two with
    object ids 1 and 2), 5 of hook b, the last of those created at midnight the day before; and another owner's."""

    owner: Owner
    hook_a: dict[str, Any]
    hook_b: dict[str, Any]
    now: datetime
    one_day_early: datetime
    event_1: Delivery
    event_2: Delivery
    event: Delivery  # created one day early
    all: list[Delivery]


@pytest.fixture
def log(owner: Owner, receiver: Receiver, new_token: Any) -> Log:
    hook_a = owner.hook(receiver.url(f"/a/{owner.name}"))
    hook_b = owner.hook(receiver.url(f"/b/{owner.name}"), "shipment.created")
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    one_day_early = now - timedelta(days=1)
    later = iter(now + timedelta(hours=1, seconds=n) for n in range(100))
    event_1 = seed(owner.name, hook_a, next(later), payload={"id": 1})
    event_2 = seed(owner.name, hook_a, next(later), payload={"id": 2})
    rest = [seed(owner.name, hook_a, next(later)) for _ in range(5)]
    rest += [seed(owner.name, hook_b, next(later)) for _ in range(4)]
    event = seed(owner.name, hook_b, one_day_early)
    other = f"{owner.name}-other"
    for _ in range(3):
        seed(other, hook_a, next(later))
    return Log(owner, hook_a, hook_b, now, one_day_early, event_1, event_2, event, [event_1, event_2, *rest, event])


def ids(items: list[dict[str, Any]]) -> list[int]:
    return sorted(item["id"] for item in items)


# --- filters (whisperer's WebhookEventFilter) -------------------------------------------------------------------


def test_whisperer_list_with_regular_user(log: Log) -> None:
    """test_list_with_regular_user: an owner sees its own deliveries only."""
    assert ids(log.owner.results()) == sorted(d.id for d in log.all)


def test_whisperer_event_type_filter(log: Log) -> None:
    """test_event_type_filter: the hook's event type, ignoring case."""
    found = log.owner.results(event_type="SHIPMENT.Created")
    assert len(found) == 5 and {item["webhook"]["id"] for item in found} == {log.hook_b["id"]}
    assert log.owner.results(event_type="shipment-created") == found  # the dashed form names the same type
    assert log.owner.results(event_type="order-created") == []  # an unknown type matches nothing, as in whisperer


def test_whisperer_delivered_filter(log: Log) -> None:
    """test_delivered_filter"""
    done = seed(log.owner.name, log.hook_a, log.now + timedelta(hours=3), status_code=200)
    assert ids(log.owner.results(delivered="True")) == [done.id]
    assert len(log.owner.results(delivered="false")) == len(log.all)


def test_whisperer_uuid_filter(log: Log) -> None:
    """test_uuid_filter: Django's UUIDField reads the dashed form (and the others uuid.UUID reads)."""
    for form in (str(uuid.UUID(log.event.uuid)), log.event.uuid, f"urn:uuid:{uuid.UUID(log.event.uuid)}"):
        [found] = log.owner.results(uuid=form)
        assert found["id"] == log.event.id and found["uuid"] == log.event.uuid
    assert log.owner.results(uuid=str(uuid.uuid4())) == []
    assert log.owner.results(uuid=log.event.uuid, webhook=log.hook_a["id"]) == []  # with the other filters too


def test_whisperer_response_http_status_filter(log: Log) -> None:
    """test_response_http_status_filter: a number (Django's NumberFilter reads `500.0` too)."""
    failed = seed(log.owner.name, log.hook_a, log.now + timedelta(hours=3), status_code=500)
    assert ids(log.owner.results(response_http_status=500)) == [failed.id]
    assert ids(log.owner.results(response_http_status="500.0")) == [failed.id]
    assert log.owner.results(response_http_status=1000) == []


def test_whisperer_created_date_filter(log: Log) -> None:
    """test_created_date_filter: exactly this moment; a date alone is its midnight (UTC)."""
    [found] = log.owner.results(created_date=log.one_day_early.strftime(DAY))
    assert found["id"] == log.event.id


def test_whisperer_created_date__gt_filter(log: Log) -> None:
    """test_created_date__gt_filter"""
    assert len(log.owner.results(created_date__gt=log.now.strftime(DAY))) == 11


def test_whisperer_created_date__gte_filter(log: Log) -> None:
    """test_created_date__gte_filter"""
    assert len(log.owner.results(created_date__gte=log.one_day_early.strftime(DAY))) == 12


def test_whisperer_created_date__lt_filter(log: Log) -> None:
    """test_created_date__lt_filter"""
    [found] = log.owner.results(created_date__lt=log.now.strftime(DAY))
    assert found["id"] == log.event.id


def test_whisperer_created_date__lte_filter(log: Log) -> None:
    """test_created_date__lte_filter"""
    [found] = log.owner.results(created_date__lte=log.one_day_early.strftime(DAY))
    assert found["id"] == log.event.id


def test_created_date_reads_djangos_formats_and_zones(log: Log) -> None:
    moment = log.one_day_early
    for form in (
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (moment + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S+03:00"),
        moment.strftime("%m/%d/%Y"),
        moment.strftime("%m/%d/%Y %H:%M"),
    ):
        assert ids(log.owner.results(created_date=form)) == [log.event.id], form
    # Bounds combine: one hour after midnight to one hour and a second, both ends included.
    first = log.now + timedelta(hours=1)
    window = {"created_date__gte": first.isoformat(), "created_date__lte": (first + timedelta(seconds=1)).isoformat()}
    assert ids(log.owner.results(**window)) == sorted([log.event_1.id, log.event_2.id])
    assert log.owner.results(created_date__gt="2999-01-01", created_date__lt="2000-01-01") == []
    assert log.owner.results(created_date__lte="0001-01-01T00:00:00+01:00") == []  # before time itself: nothing


def test_whisperer_content_type_filter(log: Log) -> None:
    """test_content_type_filter: whisperer filters on a Django content type; deliveries here have none (their
    `content_type` is null), so every content type is one whisperer itself would refuse as unknown."""
    answer = log.owner.get("hook_events/", content_type=1)
    assert answer.status == 400 and answer.json() == {"content_type": [INVALID_CHOICE]}
    assert all(item["content_type"] is None for item in log.owner.results())


def test_whisperer_object_id_filter(log: Log) -> None:
    """test_object_id_filter: the OMS object the event is about, the payload's `id`."""
    [found] = log.owner.results(object_id=2)
    assert found["id"] == log.event_2.id and found["object_id"] == "2"
    assert ids(log.owner.results(object_id="1")) == [log.event_1.id]
    assert log.owner.results(object_id="3") == []


def test_whisperer_webhook_id_filter(log: Log) -> None:
    """test_webhook_id_filter: `webhook` is the hook, nested."""
    found = log.owner.results(webhook=log.hook_b["id"])
    assert len(found) == 5
    for item in found:
        assert item["webhook"]["id"] == log.hook_b["id"]
        assert item["webhook"]["target_url"] == log.hook_b["target_url"]
        assert item["webhook"]["event_type"] == "shipment.created"
        assert "secret_key" not in item["webhook"] and item["webhook"]["secret_key_set"] is True
        assert "s3cr3t" not in json.dumps(item)


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"uuid": "abc"}, {"uuid": ["Enter a valid UUID."]}),
        ({"webhook": "abc"}, {"webhook": [INVALID_CHOICE]}),
        ({"webhook": "999999999"}, {"webhook": [INVALID_CHOICE]}),  # no such hook, for this owner
        ({"webhook": "-1"}, {"webhook": [INVALID_CHOICE]}),
        ({"response_http_status": "x"}, {"response_http_status": ["Enter a number."]}),
        ({"response_http_status": "NaN"}, {"response_http_status": ["Enter a number."]}),
        ({"delivered": "maybe"}, {"delivered": ["Must be a valid boolean."]}),
        ({"created_date": "x"}, {"created_date": ["Enter a valid date/time."]}),
        ({"created_date__gt": "2024-13-01"}, {"created_date__gt": ["Enter a valid date/time."]}),
        ({"created_date__gte": "yesterday"}, {"created_date__gte": ["Enter a valid date/time."]}),
        ({"created_date__lt": "1.5"}, {"created_date__lt": ["Enter a valid date/time."]}),
        ({"created_date__lte": "2024-05-01T25:00"}, {"created_date__lte": ["Enter a valid date/time."]}),
        ({"content_type": "abc"}, {"content_type": [INVALID_CHOICE]}),
        ({"status": "lost"}, {"status": ['"lost" is not a valid choice.']}),
        (
            {"uuid": "x", "webhook": "y", "created_date__lt": "z"},
            {
                "uuid": ["Enter a valid UUID."],
                "webhook": [INVALID_CHOICE],
                "created_date__lt": ["Enter a valid date/time."],
            },
        ),
    ],
)
def test_a_known_filter_that_is_malformed_is_400_naming_it(owner: Owner, query: dict, errors: dict) -> None:
    answer = owner.get("hook_events/", **query)
    assert answer.status == 400, answer.body
    assert answer.json() == errors


def test_empty_filter_values_filter_nothing_as_in_django_filter(log: Log) -> None:
    """django-filter drops a filter given an empty value (what an HTML form sends for a field left blank)."""
    assert len(log.owner.results(uuid="", webhook="", created_date="", delivered="")) == len(log.all)


def test_status_filters_on_this_services_own_field(log: Log) -> None:
    failed = seed(log.owner.name, log.hook_a, log.now + timedelta(hours=3), status="failed")
    assert ids(log.owner.results(status="failed")) == [failed.id]
    assert len(log.owner.results(status="retrying")) == len(log.all)


# --- one delivery, by integer id or uuid --------------------------------------------------------------------------


def test_a_delivery_by_integer_id_or_uuid(log: Log) -> None:
    by_uuid = log.owner.ok(f"hook_events/{log.event.uuid}/")
    assert by_uuid["id"] == log.event.id == delivery_number(log.event.uuid)
    assert 0 <= by_uuid["id"] < 2**53  # exact in JavaScript
    assert log.owner.ok(f"hook_events/{by_uuid['id']}/") == by_uuid
    assert log.owner.ok(f"hook_events/{uuid.UUID(log.event.uuid)}/") == by_uuid
    assert log.owner.get(f"hook_events/{by_uuid['id'] + 1}/").status == 404
    assert_documented(by_uuid, "HookEventDetail")


def test_another_owners_delivery_is_404_by_id_too(log: Log, new_token: Any, call: Caller) -> None:
    stranger = new_token()
    for path in (f"/whisperer/hook_events/{log.event.id}/", f"/whisperer/hook_events/{log.event.uuid}/"):
        answer = call("GET", path, token=stranger)
        assert answer.status == 404 and answer.json() == {"detail": "Not found."}
        assert call("POST", f"{path}retry/", {"force": True}, token=stranger).status == 404


def test_the_answer_has_whispers_fields(log: Log) -> None:
    item = log.owner.ok(f"hook_events/{log.event_1.id}/")
    whisperers = {
        "id",
        "uuid",
        "webhook",
        "request_payload",
        "response_content",
        "response_http_status",
        "response_time",
        "delivered",
        "request_datetimes",
        "retry_count",
        "content_type",
        "object_id",
        "created_date",
        "modified_date",
    }
    assert whisperers <= set(item)
    assert item["response_time"] == "00:00:00.250000"  # DRF's DurationField
    assert [a["duration"] for a in item["attempts"]] == [0.25]  # seconds, in this service's own attempts
    hook = log.owner.ok(f"hooks/{log.hook_a['id']}/")
    assert item["webhook"] == hook  # the hook as /hooks/{id}/ shows it


def test_request_datetimes_are_newest_first_as_in_whisperer(log: Log) -> None:
    delivery = store().get(log.event.uuid)
    later = delivery.created_date + timedelta(minutes=5)
    delivery.record(Attempt(at=later, status_code=502, duration=1.5), "again")
    store().save(delivery)
    item = log.owner.ok(f"hook_events/{log.event.id}/")
    assert item["request_datetimes"] == [a["at"] for a in reversed(item["attempts"])]
    assert item["response_time"] == "00:00:01.500000"


# --- manual retry (whisperer's retry action) ---------------------------------------------------------------------


def retry(owner: Owner, delivery: Delivery | int | str, **request: Any) -> ApiAnswer:
    key = delivery.id if isinstance(delivery, Delivery) else delivery
    return owner.call("POST", f"/whisperer/hook_events/{key}/retry/", token=owner.token, **request)


def failed_delivery(log: Log, receiver: Receiver, *answers: Answer) -> Delivery:
    path = f"/retry/{uuid.uuid4().hex}"
    hook = log.owner.hook(receiver.script(path, *answers))
    return seed(log.owner.name, hook, log.now + timedelta(hours=2), status="failed")


def test_whisperer_retry_webhook_event_sync_success(log: Log, receiver: Receiver) -> None:
    """test_retry_webhook_event_sync_success: POSTed with no body at all, by integer id."""
    delivery = failed_delivery(log, receiver, Answer(200, b"Foo"))
    answer = retry(log.owner, delivery)
    assert answer.status == 200, answer.body
    outcome = answer.json()
    assert outcome["delivered"] is True and outcome["response_status"] == 200
    assert outcome["response_content"] == "Foo"
    assert outcome["detail"] == "Webhook event delivered successfully"
    assert float(outcome["response_time"]) > 0 and isinstance(outcome["response_time"], str)
    record = log.owner.ok(f"hook_events/{delivery.uuid}/")
    assert record["delivered"] is True and record["response_http_status"] == 200
    assert "Foo" in record["response_content"]


def test_whisperer_retry_webhook_event_sync_failure(log: Log, receiver: Receiver) -> None:
    """test_retry_webhook_event_sync_failure"""
    delivery = failed_delivery(log, receiver, Answer(400, b"Foo"))
    answer = retry(log.owner, delivery)
    assert answer.status == 406, answer.body
    outcome = answer.json()
    assert outcome["delivered"] is False and outcome["response_status"] == 400
    assert outcome["response_content"] == "Foo"
    assert outcome["detail"] == "Webhook event delivery failed"
    record = log.owner.ok(f"hook_events/{delivery.id}/")
    assert record["delivered"] is False and record["response_http_status"] == 400


def test_whisperer_retry_already_delivered_webhook_event(log: Log) -> None:
    """test_retry_already_delivered_webhook_event"""
    done = seed(log.owner.name, log.hook_a, log.now + timedelta(hours=3), status_code=200)
    answer = retry(log.owner, done)
    assert answer.status == 406
    assert answer.json() == {"code": "event_100_3", "en": "Event already delivered"}


def test_whisperer_retry_webhook_event_in_retry_process(log: Log) -> None:
    """test_retry_webhook_event_in_retry_process"""
    answer = retry(log.owner, log.event)
    assert answer.status == 406
    assert answer.json() == {"code": "event_100_6", "en": "Event is still in retry process"}


FORMS = [
    (
        "multipart",
        "multipart/form-data; boundary=BoUnDaRyStRiNg",
        b'--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name="force"\r\n\r\nTrue\r\n--BoUnDaRyStRiNg--\r\n',
    ),  # what Django's test client sends for {"force": True}
    ("urlencoded True", "application/x-www-form-urlencoded", b"force=True"),
    ("urlencoded true", "application/x-www-form-urlencoded; charset=utf-8", b"force=true"),
    ("urlencoded 1", "application/x-www-form-urlencoded", b"force=1"),
    ("json", "application/json", b'{"force": true}'),
]


@pytest.mark.parametrize(("kind", "content_type", "body"), FORMS, ids=[f[0] for f in FORMS])
def test_whisperer_retry_webhook_event_with_force_delivered(
    log: Log, receiver: Receiver, kind: str, content_type: str, body: bytes
) -> None:
    """test_retry_webhook_event_with_force_delivered: `force` as whisperer's clients send it."""
    path = f"/forced/{uuid.uuid4().hex}"
    hook = log.owner.hook(receiver.script(path, Answer(200, b"Foo")))
    delivery = seed(log.owner.name, hook, log.now + timedelta(hours=2))  # still retrying
    answer = retry(log.owner, delivery, raw=body, headers={"Content-Type": content_type})
    assert answer.status == 200, answer.body
    assert answer.json()["detail"] == "Webhook event delivered successfully"
    assert len(receiver.wait_for(path, 1)) == 1


@pytest.mark.parametrize(
    ("content_type", "body", "errors"),
    [
        ("application/x-www-form-urlencoded", b"force=maybe", {"force": ["Must be a valid boolean."]}),
        ("application/x-www-form-urlencoded", b"force=1&now=1", {"now": ["Unexpected field."]}),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="force"\r\n\r\nperhaps\r\n--b--\r\n',
            {"force": ["Must be a valid boolean."]},
        ),
    ],
)
def test_bad_form_bodies_are_400_naming_the_field(
    log: Log, content_type: str, body: bytes, errors: dict[str, Any]
) -> None:
    answer = retry(log.owner, log.event, raw=body, headers={"Content-Type": content_type})
    assert answer.status == 400, answer.body
    assert answer.json() == errors


def test_forms_go_to_the_retry_route_only(owner: Owner) -> None:
    answer = owner.call(
        "POST",
        "/whisperer/hooks/",
        raw=b"event_type=package.created&target_url=http://r.test/",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        token=owner.token,
    )
    assert answer.status == 415


# --- pages ---------------------------------------------------------------------------------------------------------


def follow(owner: Owner, url: str | None) -> dict[str, Any]:
    assert url
    parts = urlsplit(url)
    answer = owner.call("GET", f"{parts.path}?{parts.query}" if parts.query else parts.path, token=owner.token)
    assert answer.status == 200, answer.body
    return dict(answer.json())


def test_delivery_pages_go_forward_and_back(log: Log) -> None:
    newest_first = [item["id"] for item in log.owner.results(limit=500)]
    first = log.owner.ok("hook_events/", limit=5, webhook=log.hook_a["id"])
    assert set(first) == {"next", "previous", "results"}  # DRF's cursor page: no count (see README)
    assert first["previous"] is None and f"webhook={log.hook_a['id']}" in first["next"]
    second = follow(log.owner, first["next"])
    seen = [item["id"] for item in first["results"] + second["results"]]
    assert seen == [i for i in newest_first if i in seen] and len(seen) == 7
    assert second["next"] is None
    back = follow(log.owner, second["previous"])
    assert back["results"] == first["results"] and back["previous"] is None

    pages, url = [log.owner.ok("hook_events/", limit=4)], None
    while (url := pages[-1]["next"]) is not None and len(pages) < 10:
        pages.append(follow(log.owner, url))
    assert [item["id"] for page in pages for item in page["results"]] == newest_first
    backwards = [pages[-1]]
    while (url := backwards[-1]["previous"]) is not None and len(backwards) < 10:
        backwards.append(follow(log.owner, url))
    assert [page["results"] for page in backwards] == [page["results"] for page in reversed(pages)]


def test_hook_pages_have_count_and_previous(owner: Owner) -> None:
    made = [owner.hook(f"http://r.test/{n}") for n in range(7)]
    whole = owner.ok("hooks/")
    assert whole["count"] == 7 and whole["next"] is None and whole["previous"] is None
    first = owner.ok("hooks/", limit=3)
    assert (first["count"], first["previous"]) == (7, None)
    second = follow(owner, first["next"])
    third = follow(owner, second["next"])
    assert (second["count"], third["count"], third["next"]) == (7, 7, None)
    assert [h["id"] for page in (first, second, third) for h in page["results"]] == [h["id"] for h in made]
    assert follow(owner, third["previous"])["results"] == second["results"]
    back = follow(owner, second["previous"])
    assert back["results"] == first["results"] and back["previous"] is None
    assert "cursor" not in (second["previous"] or "")  # the first page, as DRF's LimitOffsetPagination says it
    assert owner.ok("hooks/", event_type="shipment.created")["count"] == 0


# --- the outbox view -----------------------------------------------------------------------------------------------


def test_whisperer_event_queues_are_an_empty_page(owner: Owner) -> None:
    """EventQueueViewSetTestCase: whisperer's outbox holds events between enqueueing and their first attempt; here
    the dispatcher attempts every delivery as the event arrives, so there is never anything queued to show."""
    empty: dict[str, Any] = {"count": 0, "next": None, "previous": None, "results": []}
    assert owner.ok("event_queues/") == empty
    assert owner.ok("event_queues/", event_type="product-created") == empty
    assert owner.get("event_queues/1/").status == 404
    assert owner.get("event_queues/", limit=0).status == 400
    assert owner.call("GET", "/whisperer/event_queues/", token=None).status == 401


# --- cost ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def calls(deployed: dict[str, LocalFunction]) -> Iterator[list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    client = dynamodb()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        tables = params.get("TableName") or ",".join(params.get("RequestItems", {}))
        seen.append((model.name, tables))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    yield seen
    client.meta.events.unregister("before-parameter-build.dynamodb", record)


def test_a_page_of_500_nests_its_hooks_with_one_batch_get(owner: Owner, calls: list[tuple[str, str]]) -> None:
    hooks = [owner.hook(f"http://r.test/{n}") for n in range(3)]
    start = datetime.now(UTC) - timedelta(hours=1)
    deliveries = []
    for n in range(500):
        hook = hooks[n % 3]
        moment = start + timedelta(milliseconds=n)
        deliveries.append(
            Delivery(
                uuid=delivery_id(uuid.uuid4().hex, hook["id"]),
                owner=owner.name,
                webhook=hook["id"],
                event_id="e",
                event_type="package.created",
                request_payload={"id": n},
                target_url=hook["target_url"],
                created_date=moment,
                modified_date=moment,
            )
        )
    store().save_many(deliveries)
    calls.clear()
    page = owner.ok("hook_events/", limit=500)
    assert len(page["results"]) == 500 and page["next"] is None
    hooks_table, deliveries_table = settings().hooks_table, settings().deliveries_table
    assert ("BatchGetItem", hooks_table) in calls
    assert not [c for c in calls if c[0] in ("GetItem", "Scan") and c[1] == hooks_table]
    on_deliveries = Counter(name for name, table in calls if table == deliveries_table)
    # The index's small entries in one or two Query pages, then the page's records by key, 100 a call.
    assert set(on_deliveries) == {"Query", "BatchGetItem"} and on_deliveries["Query"] <= 2
    assert on_deliveries["BatchGetItem"] == 5
    assert {item["webhook"]["id"] for item in page["results"]} == {h["id"] for h in hooks}

    calls.clear()
    owner.ok(f"hook_events/{deliveries[7].id}/")
    owner.ok("hook_events/", uuid=deliveries[8].uuid)
    assert "Scan" not in {name for name, _ in calls}


def test_a_selective_filter_over_a_long_log_answers_short_pages_with_a_way_on(
    owner: Owner, calls: list[tuple[str, str]]
) -> None:
    """A page reads at most MAX_PAGE_QUERIES Query pages; what it has not read yet, `next` goes on to."""
    busy, rare = owner.hook("http://r.test/busy"), owner.hook("http://r.test/rare")
    start = datetime.now(UTC) - timedelta(days=1)

    def made(hook: dict[str, Any], n: int) -> Delivery:
        moment = start + timedelta(seconds=n)
        return Delivery(
            uuid=delivery_id(f"e{n}", hook["id"]),
            owner=owner.name,
            webhook=hook["id"],
            event_id=f"e{n}",
            event_type="package.created",
            request_payload={"id": n},
            target_url=hook["target_url"],
            created_date=moment,
            modified_date=moment,
        )

    oldest = [made(rare, 0), made(rare, 1)]
    newer = [made(busy, n) for n in range(2, 2 + MAX_PAGE_QUERIES * 100 + 50)]  # a limit of 1 reads 100 per Query
    store().save_many(oldest + newer)

    calls.clear()
    first = owner.ok("hook_events/", webhook=rare["id"], limit=1)
    queries = [c for c in calls if c == ("Query", settings().deliveries_table)]
    assert len(queries) == MAX_PAGE_QUERIES
    assert first["results"] == [] and first["next"] and first["previous"] is None
    second = follow(owner, first["next"])
    assert [item["uuid"] for item in second["results"]] == [oldest[1].uuid] and second["previous"]
    third = follow(owner, second["next"])
    assert [item["uuid"] for item in third["results"]] == [oldest[0].uuid] and third["next"] is None
    back = follow(owner, third["previous"])
    assert back["results"] == second["results"]
