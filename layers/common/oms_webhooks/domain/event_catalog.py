"""The OMS event catalog: the event types a hook may subscribe to, and what each one's payload looks like (a
description, a JSON Schema and an example), for integrators.

Built from the OMS payloads (OMS-PAYLOADS.md in the design notes). The OMS is the source of truth: the schemas
describe what it sends and allow more (`additionalProperties: true` throughout), and the dispatcher never
validates payloads against them. Create and update events of an object share its shape; status events differ by
the object's `state`.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from oms_webhooks.domain.operational_events import OPERATIONAL_CATALOG, OPERATIONAL_EVENT_TYPES, is_operational

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TEST_EVENT_TYPE = "webhook.test"  # not subscribable: only `POST .../hooks/{id}/test/` sends it (trial.py)

Schema = dict[str, Any]


def _object(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": True}


def _nullable(schema: Schema) -> Schema:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"]}


INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object", "additionalProperties": True}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
ID_AND_NAME = _object({"id": INTEGER, "name": STRING}, ("id", "name"))
ADDRESS = _object(
    {"city": STRING, "township": STRING, "district": STRING, "line": STRING, "postcode": STRING},
)
STOCK_LOCATION_REF = _object(
    {
        "id": INTEGER,
        "conf": OBJECT,
        "name": STRING,
        "email": STRING,
        "engine": _nullable(INTEGER),
        "address": ADDRESS,
        "erp_code": _nullable(STRING),
        "priority": INTEGER,
        "is_active": BOOLEAN,
    },
    ("id", "name"),
)
CARGO_COMPANY = _object({"id": INTEGER, "name": STRING, "erp_code": STRING}, ("id", "name"))


def _state(enum_class: str) -> Schema:
    return _object(
        {
            "id": INTEGER,
            "name": STRING,
            "config": OBJECT,
            "enum_class": {"type": "string", "const": enum_class},
            "enum_value": STRING,
            "content_type": INTEGER,
            "created_date": DATE_TIME,
            "modified_date": DATE_TIME,
        },
        ("name", "enum_value"),
    )


PACKAGE_SHIPMENT = _object(
    {
        "id": INTEGER,
        "package": INTEGER,
        "cargo_company": CARGO_COMPANY,
        "tracking_number": _nullable(STRING),
        "awb_number": _nullable(STRING),
        "tracking_url": _nullable(STRING),
        "created_date": DATE_TIME,
    },
    ("id",),
)
PACKAGE = _object(
    {
        "id": INTEGER,
        "city": _nullable(STRING),
        "number": STRING,
        "order_id": INTEGER,
        "order_number": STRING,
        "channel_name": _nullable(STRING),
        "payment_type": _nullable(STRING),
        "state": _state("PackageStatus"),
        "commands": {"type": "array"},
        "shipment": _nullable(PACKAGE_SHIPMENT),
        "remote_id": _nullable(STRING),
        "date_placed": _nullable(DATE_TIME),
        "order_notes": _nullable(STRING),
        "shipment_date": _nullable(DATE_TIME),
        "delivery_range": {"type": ["object", "string", "null"]},
        "invoice_number": _nullable(STRING),
        "shipping_label": _nullable(STRING),
        "stock_location": STOCK_LOCATION_REF,
    },
    ("id", "number", "order_id", "order_number", "state", "stock_location"),
)
TRANSFER = _object(
    {
        "id": INTEGER,
        "order": _nullable(INTEGER),
        "number": STRING,
        "state": _state("TransferStatus"),
        "source": STOCK_LOCATION_REF,
        "destination": STOCK_LOCATION_REF,
    },
    ("id", "number", "state", "source", "destination"),
)
STOCK_LOCATION = _object(
    {
        "id": INTEGER,
        "name": STRING,
        "stock_location_type": STRING,
        "address": ADDRESS,
        "engine": _nullable(INTEGER),
        "erp_code": _nullable(STRING),
        "created_date": DATE_TIME,
        "modified_date": DATE_TIME,
        "is_fulfillment_center": BOOLEAN,
        "is_pickup_location": BOOLEAN,
        "is_delivery_location": BOOLEAN,
        "is_return_available": BOOLEAN,
    },
    ("id", "name", "stock_location_type"),
)
SHIPMENT = _object(
    {
        "id": INTEGER,
        "package": _nullable(INTEGER),
        "transfer": _nullable(INTEGER),
        "cargo_company": CARGO_COMPANY,
        "tracking_number": _nullable(STRING),
        "awb_number": _nullable(STRING),
        "tracking_url": _nullable(STRING),
        "status": _object({"name": STRING, "enum_value": STRING}, ("enum_value",)),
        "weight": {"type": ["string", "number", "null"]},
        "desi": {"type": ["string", "number", "null"]},
        "sender_stock_location": ID_AND_NAME,
        "created_date": DATE_TIME,
        "modified_date": DATE_TIME,
        "shipping_date": _nullable(DATE_TIME),
        "delivery_date": _nullable(DATE_TIME),
    },
    ("id", "cargo_company", "status"),
)
# package.shipment.awb_number: a package whose shipment has its air waybill number.
PACKAGE_WITH_AWB = copy.deepcopy(PACKAGE)
PACKAGE_WITH_AWB["properties"]["shipment"] = {**PACKAGE_SHIPMENT, "required": ["id", "awb_number"]}
PACKAGE_WITH_AWB["required"] = [*PACKAGE["required"], "shipment"]

# --- examples, after OMS-PAYLOADS.md -----------------------------------------------------------------------------

_MAIN_WAREHOUSE = {
    "id": 8,
    "conf": {},
    "name": "Main Warehouse",
    "email": "",
    "engine": 1,
    "address": {"city": "İstanbul", "line": "Organize Sanayi Bölgesi, 3. Cadde No: 12"},
    "erp_code": "369",
    "priority": 10,
    "is_active": True,
}
_PACKAGE_EXAMPLE: dict[str, Any] = {
    "id": 73,
    "city": "İstanbul",
    "number": "000000000",
    "order_id": 73,
    "order_number": "00000000000",
    "channel_name": "Shop",
    "payment_type": "credit_card",
    "state": {
        "id": 50,
        "name": "Contains out of stock products",
        "config": {},
        "enum_class": "PackageStatus",
        "enum_value": "920",
        "content_type": 26,
        "created_date": "2025-01-07T10:21:33.123456Z",
        "modified_date": "2025-01-07T10:21:33.123456Z",
    },
    "commands": [],
    "shipment": None,
    "remote_id": None,
    "date_placed": "2025-01-07T10:21:30Z",
    "order_notes": None,
    "shipment_date": None,
    "delivery_range": None,
    "invoice_number": None,
    "shipping_label": None,
    "stock_location": _MAIN_WAREHOUSE,
}
_PACKAGE_SHIPMENT_EXAMPLE = {
    "id": 886,
    "package": 73,
    "cargo_company": {"id": 3, "name": "Yurtiçi Kargo", "erp_code": "YK"},
    "tracking_number": "YK703100073",
    "awb_number": "7301000073",
    "tracking_url": "https://tracking.example.com/yk/703100073",
    "created_date": "2025-01-07T10:15:02Z",
}
_TRANSFER_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "order": 2,
    "number": "R4384418660812P1T1",
    "state": {
        "id": 63,
        "name": "Waiting for transfer",
        "enum_class": "TransferStatus",
        "enum_value": "waiting",
        "content_type": 27,
    },
    "source": {"id": 262, "conf": {}, "name": "Warehouse", "engine": 1, "address": {"city": "İstanbul"}},
    "destination": {"id": 8, "name": "Store 1"},
}
_STOCK_LOCATION_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "Test Store StockLocation 1",
    "stock_location_type": "store",
    "address": {"city": "İstanbul"},
    "engine": None,
    "created_date": "2025-01-07T10:21:33Z",
    "is_fulfillment_center": False,
    "is_pickup_location": True,
    "is_delivery_location": True,
    "is_return_available": False,
}
_SHIPMENT_EXAMPLE: dict[str, Any] = {
    "id": 1450,
    "package": 73,
    "transfer": None,
    "cargo_company": {"id": 5, "name": "Aras Kargo", "erp_code": "ARAS"},
    "tracking_number": "ARAS812401450",
    "awb_number": "8124010150",
    "tracking_url": "https://tracking.example.com/aras/812401450",
    "status": {"name": "Created", "enum_value": "created"},
    "weight": "1.85",
    "desi": "3",
    "sender_stock_location": {"id": 8, "name": "Main Warehouse"},
    "created_date": "2025-01-07T10:21:33Z",
    "modified_date": "2025-01-07T10:21:33Z",
    "shipping_date": None,
    "delivery_date": None,
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base`; a dict change is merged into the field's dict (e.g. a new `state` name)."""
    example = copy.deepcopy(base)
    for name, value in changes.items():
        example[name] = {**example[name], **value} if isinstance(value, dict) and example.get(name) else value
    return example


def _state_named(name: str, enum_value: str) -> dict[str, Any]:
    """The fields of `state` that change with the status (merged into the example's state by `_with`)."""
    return {"name": name, "enum_value": enum_value}


# event type: (description, schema, example)
_CATALOG: dict[str, tuple[str, Schema, dict[str, Any]]] = {
    "package.created": (
        "A package (the part of an order one stock location fulfils) was created. The payload is the package.",
        PACKAGE,
        _PACKAGE_EXAMPLE,
    ),
    "package.status.transitioned": (
        "A package moved to another status; `state` is the new one.",
        PACKAGE,
        _with(_PACKAGE_EXAMPLE, state=_state_named("Picking", "300")),
    ),
    "package.status.packed": (
        "A package was packed and is ready to be handed to the cargo company.",
        PACKAGE,
        _with(_PACKAGE_EXAMPLE, state=_state_named("Packed", "400"), invoice_number="INV2025000073"),
    ),
    "package.status.cancelled": (
        "A package was cancelled.",
        PACKAGE,
        _with(_PACKAGE_EXAMPLE, state=_state_named("Cancelled", "950")),
    ),
    "package.status.shipped": (
        "A package was shipped; `shipment` names the cargo company and tracking number.",
        PACKAGE,
        _with(
            _PACKAGE_EXAMPLE,
            state=_state_named("Shipped", "600"),
            shipment=_PACKAGE_SHIPMENT_EXAMPLE,
            shipment_date="2025-01-07T10:21:30Z",
        ),
    ),
    "package.status.packed_for_refund": (
        "A returned package was packed to go back (a refund).",
        PACKAGE,
        _with(_PACKAGE_EXAMPLE, state=_state_named("Packed for refund", "560")),
    ),
    "package.shipment.awb_number": (
        "A package's shipment got its air waybill (AWB) number, in `shipment.awb_number`.",
        PACKAGE_WITH_AWB,
        _with(_PACKAGE_EXAMPLE, state=_state_named("Ready for shipment", "500"), shipment=_PACKAGE_SHIPMENT_EXAMPLE),
    ),
    "shipment.created": (
        "A shipment (of a package or of a transfer) was created at a cargo company.",
        SHIPMENT,
        _SHIPMENT_EXAMPLE,
    ),
    "shipment.status.updated": (
        "A shipment's status changed (e.g. in transit, delivered); `status` is the new one.",
        SHIPMENT,
        _with(
            _SHIPMENT_EXAMPLE,
            status={"name": "In transit", "enum_value": "in_transit"},
            shipping_date="2025-01-07T12:00:00Z",
        ),
    ),
    "shipment.cancelled": (
        "A shipment was cancelled.",
        SHIPMENT,
        _with(_SHIPMENT_EXAMPLE, status={"name": "Cancelled", "enum_value": "cancelled"}),
    ),
    "transfer.status.created": (
        "A stock transfer between two stock locations was created. The payload is the transfer.",
        TRANSFER,
        _TRANSFER_EXAMPLE,
    ),
    "transfer.status.transitioned": (
        "A transfer moved to another status; `state` is the new one.",
        TRANSFER,
        _with(_TRANSFER_EXAMPLE, state=_state_named("Preparing", "preparing")),
    ),
    "transfer.status.in_transit": (
        "A transfer left its source and is on its way.",
        TRANSFER,
        _with(_TRANSFER_EXAMPLE, state=_state_named("In transit", "in_transit")),
    ),
    "transfer.status.transferred": (
        "A transfer arrived at its destination.",
        TRANSFER,
        _with(_TRANSFER_EXAMPLE, state=_state_named("Transferred", "transferred")),
    ),
    "transfer.status.cancelled": (
        "A transfer was cancelled.",
        TRANSFER,
        _with(_TRANSFER_EXAMPLE, state=_state_named("Cancelled", "cancelled")),
    ),
    "transfer.status.ready_to_shipment": (
        "A transfer is ready to be handed to a cargo company.",
        TRANSFER,
        _with(_TRANSFER_EXAMPLE, state=_state_named("Ready to shipment", "ready_to_shipment")),
    ),
    "stock_location.created": (
        "A stock location (warehouse, store, ...) was created. The payload is the stock location.",
        STOCK_LOCATION,
        _STOCK_LOCATION_EXAMPLE,
    ),
    "stock_location.updated": (
        "A stock location changed.",
        STOCK_LOCATION,
        _with(_STOCK_LOCATION_EXAMPLE, name="Test Store StockLocation 1 (renovated)", is_return_available=True),
    ),
}
EVENT_TYPES: tuple[str, ...] = tuple(_CATALOG)
_BY_ALIAS: dict[str, str] = {name.replace(".", "-"): name for name in EVENT_TYPES}


def canonical_event_type(name: str) -> str | None:
    """Whisperer clients may send `package-created` for `package.created`; both name one event."""
    if name in _CATALOG:
        return name
    return _BY_ALIAS.get(name)


# What a hook may subscribe to: the OMS's types, then the service's operational events about the owner's own hooks.
SUBSCRIBABLE_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES, *OPERATIONAL_EVENT_TYPES)


def subscribable_event_type(name: str) -> str | None:
    """An OMS type (its dashed form too) or an operational one, as a hook stores it; None for anything else."""
    return canonical_event_type(name) or (name if is_operational(name) else None)


def _entry(event_type: str) -> tuple[str, Schema, dict[str, Any]]:
    """The OMS's types, then the service's own operational ones (operational_events.py)."""
    return _CATALOG[event_type] if event_type in _CATALOG else OPERATIONAL_CATALOG[event_type]


def schema_of(event_type: str) -> Schema:
    _, schema, _ = _entry(event_type)
    return {"$schema": SCHEMA_DIALECT, "title": f"{event_type} payload", **copy.deepcopy(schema)}


def example_payload(event_type: str) -> dict[str, Any]:
    return copy.deepcopy(_entry(event_type)[2])


@cache
def _entries() -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "event_type": event_type,
            "description": description,
            "schema": schema_of(event_type),
            "example": example_payload(event_type),
        }
        for event_type, (description, _, _) in {**_CATALOG, **OPERATIONAL_CATALOG}.items()
    )


def event_types() -> list[dict[str, Any]]:
    """The catalog in order, each type with its description, payload schema and example: the OMS's types, then the
    operational events a hook may subscribe to (`whisperer.*`)."""
    return copy.deepcopy(list(_entries()))
