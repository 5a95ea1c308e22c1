"""The event catalog's schemas describe what the OMS sends: every sample event validates, and they still refuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from oms_webhooks.domain.event_catalog import (
    EVENT_TYPES,
    SUBSCRIBABLE_EVENT_TYPES,
    event_types,
    example_payload,
    schema_of,
)

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "events" / "eventbridge").glob("*.json"))


def validator(event_type: str) -> Draft202012Validator:
    schema = schema_of(event_type)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_type_is_described_in_catalog_order() -> None:
    entries = event_types()
    assert [entry["event_type"] for entry in entries] == list(SUBSCRIBABLE_EVENT_TYPES)  # the OMS's, then whisperer.*
    for entry in entries:
        assert set(entry) == {"event_type", "description", "schema", "example"}
        assert entry["description"].endswith(".") and len(entry["description"]) > 20
        assert entry["schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("event_type", SUBSCRIBABLE_EVENT_TYPES)
def test_each_example_validates_against_its_schema(event_type: str) -> None:
    validator(event_type).validate(example_payload(event_type))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_every_eventbridge_sample_validates_against_its_types_schema(path: Path) -> None:
    sample = json.loads(path.read_text())
    assert len(SAMPLES) == len(EVENT_TYPES)
    validator(sample["detail-type"]).validate(sample["detail"]["payload"])


def test_the_oms_may_send_more_fields_than_the_schema_names() -> None:
    payload: dict[str, Any] = example_payload("package.created")
    payload["loyalty_points"] = 12
    payload["state"]["color"] = "red"
    payload["stock_location"]["address"]["floor"] = 3
    validator("package.created").validate(payload)


@pytest.mark.parametrize(
    ("event_type", "change", "reason"),
    [
        ("package.created", {"id": "73"}, "'73' is not of type 'integer'"),
        ("package.created", {"state": None}, "None is not of type 'object'"),
        (
            "package.status.packed",
            {"state": {"name": "Packed", "enum_value": "400", "enum_class": "Transfer"}},
            "'PackageStatus' was expected",
        ),
        ("package.shipment.awb_number", {"shipment": None}, "None is not of type 'object'"),
        ("transfer.status.created", {"destination": "Store 1"}, "'Store 1' is not of type 'object'"),
        ("stock_location.updated", {"is_pickup_location": "yes"}, "'yes' is not of type 'boolean'"),
        ("shipment.created", {"shipping_date": "tomorrow"}, "'tomorrow' is not a 'date-time'"),
    ],
)
def test_a_payload_of_the_wrong_shape_is_refused(event_type: str, change: dict[str, Any], reason: str) -> None:
    payload = {**example_payload(event_type), **change}
    with pytest.raises(ValidationError, match=reason):
        validator(event_type).validate(payload)


@pytest.mark.parametrize("event_type", ["package.created", "transfer.status.created", "shipment.created"])
def test_required_fields_are_required(event_type: str) -> None:
    payload = example_payload(event_type)
    del payload["id"]
    with pytest.raises(ValidationError, match="'id' is a required property"):
        validator(event_type).validate(payload)


def test_examples_are_copies_that_callers_cannot_spoil() -> None:
    example_payload("package.created")["id"] = -1
    event_types()[0]["example"]["id"] = -1
    assert example_payload("package.created")["id"] == 73
    assert event_types()[0]["example"]["id"] == 73
