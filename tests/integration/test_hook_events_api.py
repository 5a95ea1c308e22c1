"""The hook_events API in-process on moto: the delivery log's filters, one delivery, and what they refuse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.deliveries import Attempt, Delivery, delivery_id
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller
from tests.openapi_answers import assert_documented


@pytest.fixture
def owner(deployed: dict[str, LocalFunction]) -> Iterator[tuple[str, str]]:
    """An owner of its own, with its token."""
    name = f"owner-{uuid.uuid4().hex[:12]}"
    yield name, TokenStore(settings().tokens_table).create(name)


def stored_delivery(owner: str, hook_id: int, *, status_code: int | None, age: timedelta) -> Delivery:
    moment = datetime.now(UTC) - age
    delivery = Delivery(
        uuid=delivery_id(uuid.uuid4().hex, hook_id),
        owner=owner,
        webhook=hook_id,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="http://r.test/",
        created_date=moment,
        modified_date=moment,
    )
    if status_code is not None:
        delivery.record(Attempt(at=moment, status_code=status_code, duration=0.25), "answer")
    if not delivery.delivered:
        delivery.status = "retrying"
    DeliveryStore(settings().deliveries_table).save(delivery)
    return delivery


INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("webhook=abc", "webhook", INVALID_CHOICE),
        ("webhook=-1", "webhook", INVALID_CHOICE),
        ("webhook=" + "9" * 40, "webhook", INVALID_CHOICE),
        ("webhook=1", "webhook", INVALID_CHOICE),  # this owner has no hook 1
        ("response_http_status=x", "response_http_status", "Enter a number."),
        ("response_http_status=1e", "response_http_status", "Enter a number."),
        ("created_date__gte=notadate", "created_date__gte", "Enter a valid date/time."),
        ("created_date__lte=2024-13-01", "created_date__lte", "Enter a valid date/time."),
        ("delivered=maybe", "delivered", "Must be a valid boolean."),
        ("limit=-1", "limit", "Ensure this value is greater than or equal to 1."),
        ("limit=0", "limit", "Ensure this value is greater than or equal to 1."),
        ("limit=1.5", "limit", "A valid integer is required."),
        ("cursor=%25%25%25", "cursor", "Invalid cursor."),
        ("cursor=eyJza2lwIjoiMTAwIn0", "cursor", "Invalid cursor."),  # {"skip": "100"}: no position of this list
        ("cursor=eyJhZnRlciI6ImFiYyMifQ", "cursor", "Invalid cursor."),  # {"after": "abc#"}: no sort key
    ],
)
def test_bad_filters_get_400_naming_the_parameter(call: Caller, query: str, field: str, message: str) -> None:
    answer = call("GET", f"/whisperer/hook_events/?{query}")
    assert answer.status == 400, answer.body
    errors = answer.json()
    assert list(errors) == [field]
    assert len(errors[field]) == 1 and errors[field][0].startswith(message), errors


def test_several_bad_filters_are_named_together(call: Caller) -> None:
    answer = call("GET", "/whisperer/hook_events/?webhook=abc&delivered=maybe&created_date__gte=x")
    assert answer.status == 400
    assert set(answer.json()) == {"webhook", "delivered", "created_date__gte"}


def test_the_log_filters_and_answers_as_documented(call: Caller, owner: tuple[str, str]) -> None:
    name, token = owner
    first, second = (
        call(
            "POST",
            "/whisperer/hooks/",
            {"event_type": "package.created", "target_url": f"http://r.test/{n}"},
            token=token,
        ).json()["id"]
        for n in range(2)
    )
    ok = stored_delivery(name, first, status_code=200, age=timedelta(days=2))
    failing = stored_delivery(name, second, status_code=503, age=timedelta(hours=1))
    stored_delivery(f"{name}-other", first, status_code=200, age=timedelta(hours=1))

    def uuids(query: str = "") -> list[str]:
        answer = call("GET", f"/whisperer/hook_events/?{query}", token=token)
        assert answer.status == 200, answer.body
        assert_documented(answer.json(), "HookEventPage")
        return [d["uuid"] for d in answer.json()["results"]]

    assert uuids() == [failing.uuid, ok.uuid]  # newest first, and only this owner's
    assert uuids(f"webhook={first}") == [ok.uuid]
    assert uuids("delivered=false") == [failing.uuid]
    assert uuids("delivered=true&response_http_status=200") == [ok.uuid]
    assert uuids("event_type=package-created&limit=500") == [failing.uuid, ok.uuid]
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")  # no zone: read as UTC
    assert uuids(f"created_date__gte={since}") == [failing.uuid]
    assert uuids(f"created_date__lte={since}") == [ok.uuid]


def test_one_delivery_by_its_uuid_dashed_or_not(call: Caller, owner: tuple[str, str]) -> None:
    name, token = owner
    delivery = stored_delivery(name, 1, status_code=503, age=timedelta(minutes=1))
    for form in (delivery.uuid, str(uuid.UUID(delivery.uuid))):
        answer = call("GET", f"/whisperer/hook_events/{form}/", token=token)
        assert answer.status == 200, answer.body
        shown = answer.json()
        assert_documented(shown, "HookEventDetail")
        assert shown["uuid"] == delivery.uuid and shown["status"] == "retrying"
    assert call("GET", f"/whisperer/hook_events/{delivery.uuid}/", token=None).status == 401


@pytest.mark.parametrize(
    "value",
    ["abc", "0" * 31, "x" * 3000, "%F0%9F%8F%8D", "%D9%A1" * 32, "urn:uuid:" + "g" * 32],
)
def test_names_that_are_no_uuid_are_404(call: Caller, value: str) -> None:
    for method, path in (
        ("GET", f"/whisperer/hook_events/{value}/"),
        ("POST", f"/whisperer/hook_events/{value}/retry/"),
    ):
        answer = call(method, path)
        assert answer.status == 404, (method, answer.body)
        assert answer.json() == {"detail": "Not found."}


def test_another_owners_delivery_is_404(call: Caller, owner: tuple[str, str]) -> None:
    name, _ = owner
    delivery = stored_delivery(name, 1, status_code=200, age=timedelta(minutes=1))
    assert call("GET", f"/whisperer/hook_events/{delivery.uuid}/").status == 404
    assert call("POST", f"/whisperer/hook_events/{delivery.uuid}/retry/", {"force": True}).status == 404


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"force": "yes"}, {"force": ["Must be a valid boolean."]}),
        ({"force": True, "now": 1}, {"now": ["Unexpected field."]}),
        ([True], {"non_field_errors": ["Invalid data. Expected a dictionary."]}),
    ],
)
def test_bad_retry_bodies_get_400_naming_the_field(
    call: Caller, owner: tuple[str, str], body: object, errors: dict
) -> None:
    name, token = owner
    delivery = stored_delivery(name, 1, status_code=503, age=timedelta(minutes=1))
    answer = call("POST", f"/whisperer/hook_events/{delivery.uuid}/retry/", body, token=token)
    assert answer.status == 400, answer.body
    assert answer.json() == errors


def test_retrying_a_delivered_one_is_406(call: Caller, owner: tuple[str, str]) -> None:
    name, token = owner
    delivery = stored_delivery(name, 1, status_code=200, age=timedelta(minutes=1))
    answer = call("POST", f"/whisperer/hook_events/{delivery.uuid}/retry/", {"force": True}, token=token)
    assert answer.status == 406
    assert answer.json() == {"code": "event_100_3", "en": "Event already delivered"}
