"""Delivery record sizes as DynamoDB bills them, for each sample event: what the cost table in the README uses.

Sizes follow DynamoDB's rules (attribute name bytes, plus UTF-8 bytes of a string, one byte per two significant
digits of a number plus one, one byte for a boolean). Each global secondary index of the deliveries table (read
from template.yaml) holds an entry of the table's key, its own keys and what it projects, plus 100 bytes; a write
request unit covers 1 KB, in the table and in each index the record appears in.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oms_webhooks.adapters.delivery_store import _to_item
from oms_webhooks.domain.deliveries import Attempt, Delivery, delivery_id
from oms_webhooks_cli.template import Template

EVENTS = Path(__file__).resolve().parents[1] / "events" / "eventbridge"
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to every index entry
EVENT_ID = "0f8a3c1e-5b2d-4c6e-9a1f-3d7e8b2c4a60"  # an EventBridge event id's shape


def item_size(item: dict[str, Any]) -> int:
    total = 0
    for name, typed in item.items():
        total += len(name.encode())
        [(kind, value)] = typed.items()
        if kind == "S":
            total += len(value.encode())
        elif kind == "N":
            digits = value.lstrip("-").replace(".", "").strip("0") or "0"
            total += math.ceil(len(digits) / 2) + 1
        elif kind == "BOOL":
            total += 1
        else:
            raise ValueError(f"no size rule here for {kind}")
    return total


def indexes() -> dict[str, tuple[set[str], set[str] | None]]:
    """The deliveries table's indexes: name → (key attributes with the table's, projected attributes or None: all)."""
    table = Template().resources["DeliveriesTable"]["Properties"]
    base = {key["AttributeName"] for key in table["KeySchema"]}
    found = {}
    for index in table.get("GlobalSecondaryIndexes", []):
        keys = base | {key["AttributeName"] for key in index["KeySchema"]}
        projection = index["Projection"]
        kind = projection["ProjectionType"]
        found[index["IndexName"]] = (keys, None if kind == "ALL" else set(projection.get("NonKeyAttributes", [])))
    return found


def stored_sizes(item: dict[str, Any]) -> dict[str, int]:
    """Bytes `item` takes in the table and in each index it has the keys of (a sparse index holds no entry)."""
    sizes = {"table": item_size(item)}
    for name, (keys, projected) in indexes().items():
        if keys <= set(item):
            entry = item if projected is None else {k: v for k, v in item.items() if k in keys | projected}
            sizes[name] = item_size(entry) + INDEX_ENTRY_OVERHEAD
    return sizes


def record(event_type: str, payload: Any) -> Delivery:
    """A typical record: delivered at its first attempt, its subscriber's URL of a usual length."""
    moment = datetime.now(UTC)
    delivery = Delivery(
        uuid=delivery_id(EVENT_ID, 12345),
        owner="acme-istanbul",
        webhook=12345,
        event_id=EVENT_ID,
        event_type=event_type,
        request_payload=payload,
        target_url="https://hooks.example-shop.com/oms/webhooks/orders",
        created_date=moment,
        modified_date=moment,
        expires_at=int(moment.timestamp()) + 90 * 86400,
    )
    delivery.record(Attempt(at=moment, status_code=200, duration=0.0523), "ok")
    return delivery


def measure_record_sizes() -> list[dict[str, Any]]:
    rows = []
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        payload = event["detail"]["payload"]
        item = _to_item(record(event["detail-type"], payload))
        sizes = stored_sizes(item)
        units = {place: math.ceil(size / 1024) for place, size in sizes.items()}
        rows.append(
            {
                "event_type": event["detail-type"],
                "payload_bytes": len(json.dumps(payload, ensure_ascii=False).encode()),
                "record_bytes": item_size(item),
                "write_units": sum(units.values()),
                "units_by_place": units,
                "stored_bytes": sum(sizes.values()),
            }
        )
    return rows


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(rows, key=lambda row: row["record_bytes"])[len(rows) // 2]


def render(rows: list[dict[str, Any]]) -> list[str]:
    sizes = sorted(row["record_bytes"] for row in rows)
    payloads = sorted(row["payload_bytes"] for row in rows)
    middle = median_row(rows)
    places = ", ".join(f"{units} in {place}" for place, units in middle["units_by_place"].items())
    totals = " or ".join(map(str, sorted({row["write_units"] for row in rows})))
    return [
        "### Delivery record sizes",
        "",
        f"A record delivered at its first attempt, for each of the {len(rows)} sample events (`events/eventbridge/`),",
        "sized by DynamoDB's rules (`python -m bench.record_size`): payloads of "
        f"{payloads[0]:,}-{payloads[-1]:,} bytes",
        f"make records of {sizes[0]:,}-{sizes[-1]:,} bytes (median {middle['record_bytes']:,}). Writing one takes",
        f"{totals} write request units in all: for the median, {places}",
        "(`ByOwner` projects every attribute; the others hold keys and a few small attributes).",
        "",
    ]


if __name__ == "__main__":
    found = measure_record_sizes()
    for row in found:
        print(
            f"{row['event_type']:40} payload {row['payload_bytes']:5} record {row['record_bytes']:5} "
            f"write units {row['write_units']} {row['units_by_place']}"
        )
    print("\n".join(render(found)))
