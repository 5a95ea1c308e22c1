"""The OpenAPI document: the committed copy is current, the API serves it, and it says what the API does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any, get_args

import pytest
import schemathesis
from delivery_log_query import FILTERS
from schemathesis.core.result import Ok

import api_schema
from oms_webhooks.domain.deliveries import Attempt, Delivery, Status
from oms_webhooks.domain.hooks import HOOK_ID_PATTERN, Hook
from oms_webhooks_cli.local.gateway import Gateway
from oms_webhooks_cli.openapi import COMMITTED, document
from tests.conftest import Caller
from tests.openapi_answers import assert_documented

OPERATIONS = {
    ("GET", "/whisperer/hooks/"): "200",
    ("POST", "/whisperer/hooks/"): "201",
    ("GET", "/whisperer/hooks/registry/"): "200",
    ("GET", "/whisperer/hooks/{hook_id}/"): "200",
    ("PUT", "/whisperer/hooks/{hook_id}/"): "200",
    ("PATCH", "/whisperer/hooks/{hook_id}/"): "200",
    ("DELETE", "/whisperer/hooks/{hook_id}/"): "204",
    ("GET", "/whisperer/hook_events/"): "200",
    ("GET", "/whisperer/hook_events/{id}/"): "200",
    ("POST", "/whisperer/hook_events/{id}/retry/"): "200",
    ("GET", "/whisperer/event_queues/"): "200",
    ("GET", "/whisperer/openapi.json"): "200",
    ("POST", "/whisperer/hooks/{hook_id}/rotate_secret/"): "200",
    ("POST", "/whisperer/hooks/{hook_id}/test/"): "200",
    ("POST", "/whisperer/hooks/{hook_id}/recover/"): "202",
    ("POST", "/whisperer/hook_events/recover/"): "202",
    ("GET", "/whisperer/hooks/{hook_id}/stats/"): "200",
    ("GET", "/whisperer/event_types/"): "200",
    ("POST", "/whisperer/portal/sessions/"): "201",
    ("GET", "/whisperer/portal/sessions/current/"): "200",
    ("DELETE", "/whisperer/portal/sessions/current/"): "204",
}


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return dict(json.loads(document()))


def test_the_committed_copy_is_current() -> None:
    assert COMMITTED.read_text() == document(), "docs/openapi.json is out of date: run `make openapi`"


def test_the_version_is_the_packages() -> None:
    assert version("oms-webhooks") == api_schema.VERSION


def test_the_api_serves_it_to_authorized_callers_only(call: Caller, gateway: Gateway) -> None:
    for path in ("/whisperer/openapi.json", "/whisperer/openapi.json/"):
        answer = call("GET", path)
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.body.decode() == document()
    status, _, _ = gateway.handle("GET", "/whisperer/openapi.json", {}, b"")
    assert status == 401


def test_every_operation_with_its_answers(generated: dict[str, Any]) -> None:
    found = {
        (method.upper(), path): operation
        for path, item in generated["paths"].items()
        for method, operation in item.items()
    }
    assert set(found) == set(OPERATIONS)
    for key, operation in found.items():
        answers = operation["responses"]
        assert OPERATIONS[key] in answers, key
        assert "401" in answers and "422" not in answers, key
        assert operation["operationId"] and operation["summary"], key
    assert "content" not in found[("DELETE", "/whisperer/hooks/{hook_id}/")]["responses"]["204"]
    assert set(found[("POST", "/whisperer/hooks/")]["responses"]) == {"201", "400", "401", "403", "406", "413", "415"}
    assert set(found[("GET", "/whisperer/hooks/{hook_id}/")]["responses"]) == {"200", "401", "404"}
    # A read-only portal session's writes are 403, but for the request that ends it.
    writes = {key for key in found if key[0] != "GET"} - {("DELETE", "/whisperer/portal/sessions/current/")}
    assert all("403" in found[key]["responses"] for key in writes)
    assert "403" not in found[("DELETE", "/whisperer/portal/sessions/current/")]["responses"]
    assert "content" not in found[("DELETE", "/whisperer/portal/sessions/current/")]["responses"]["204"]


def test_security_info_and_servers(generated: dict[str, Any]) -> None:
    assert generated["info"] == {
        "title": "OMS Webhooks",
        "version": api_schema.VERSION,
        "description": api_schema.DESCRIPTION,
    }
    assert generated["servers"] == [{"url": ".."}]
    assert generated["security"] == [{"TokenAuth": []}]
    scheme = generated["components"]["securitySchemes"]["TokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


def test_no_unused_or_powertools_only_schemas(generated: dict[str, Any]) -> None:
    schemas = generated["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(schemas)
    text = json.dumps(generated)
    assert all(f'"#/components/schemas/{name}"' in text for name in schemas)
    assert '"ge":' not in text and '"le":' not in text  # bounds are JSON Schema's minimum/maximum


def test_query_parameters_are_typed_and_never_null(generated: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in generated["paths"]["/whisperer/hook_events/"]["get"]["parameters"]}
    assert list(parameters) == ["limit", "cursor", *FILTERS]  # the delivery log's filters, in whisperer's order
    assert {"uuid", "webhook", "created_date", "created_date__gt", "created_date__lt", "object_id"} <= set(parameters)
    assert parameters["webhook"]["schema"]["type"] == "integer"
    assert parameters["uuid"]["schema"]["format"] == "uuid"
    assert parameters["delivered"]["schema"]["type"] == "boolean"
    assert parameters["created_date__gte"]["schema"]["format"] == "date-time"
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert "enum" not in parameters["event_type"]["schema"]  # any text: a type not in the catalog matches nothing
    assert "null" not in json.dumps([p["schema"] for p in parameters.values()])


def test_written_hook_fields_say_what_is_checked(generated: dict[str, Any]) -> None:
    fields = generated["components"]["schemas"]["HookPatch"]["properties"]
    assert fields["event_type"]["enum"] == api_schema.EVENT_TYPE_NAMES
    assert fields["target_url"]["format"] == "uri"
    assert fields["is_active"]["type"] == "boolean"  # null is refused, though the field is optional
    headers = next(branch for branch in fields["additional_headers"]["anyOf"] if branch.get("type") == "object")
    assert headers["maxProperties"] == 20


def test_hook_ids_and_delivery_statuses_are_the_domains(generated: dict[str, Any]) -> None:
    hook_id = generated["paths"]["/whisperer/hooks/{hook_id}/"]["get"]["parameters"][0]
    assert hook_id["schema"]["pattern"] == HOOK_ID_PATTERN
    filters = {p["name"]: p for p in generated["paths"]["/whisperer/hook_events/"]["get"]["parameters"]}
    statuses = list(get_args(Status))
    assert filters["status"]["schema"]["enum"] == statuses
    assert generated["components"]["schemas"]["HookEvent"]["properties"]["status"]["enum"] == statuses


def test_schemathesis_reads_every_operation() -> None:
    schema = schemathesis.openapi.from_path(COMMITTED)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == len(OPERATIONS)
    labels = {operation.label for operation in operations}
    assert labels == {f"{method} {path}" for method, path in OPERATIONS}


def test_the_answer_models_match_what_the_handlers_send(generated: dict[str, Any]) -> None:
    """`Hook.public()` and `Delivery.public()` shape the answers; the document describes them exactly."""
    moment = datetime(2024, 5, 1, 12, tzinfo=UTC)
    hook = Hook(
        id=1,
        owner="o",
        event_type="package.created",
        target_url="http://r.test/",
        created_date=moment,
        modified_date=moment,
    )
    assert_documented(hook.public(), "Hook")
    delivery = Delivery(
        uuid="0" * 32,
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="http://r.test/",
        created_date=moment,
        modified_date=moment,
    )
    pending = delivery.public()
    assert_documented(pending, "HookEvent")
    delivery.record(Attempt(at=moment, status_code=500, duration=0.5), "boom")
    delivery.record(Attempt(at=moment, error="timed out", duration=15.0, manual=True), None)
    delivery.status, delivery.next_attempt_at = "retrying", moment + timedelta(minutes=5)
    assert_documented(delivery.public(), "HookEvent")
    assert set(api_schema.HookEvent.model_fields) == set(pending)
    assert set(generated["components"]["schemas"]["Hook"]["properties"]) == set(hook.public())
