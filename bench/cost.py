"""Cost per million deliveries, computed from measured figures and list prices: the README's cost table.

Inputs, all measured: the dispatcher's warm rates at 50 ms receivers for N = 100 and 1,000 (section 1), fitted as a
fixed time per event plus a time per delivery; the write and read units, stored bytes, SQS requests and seconds that
`record_size` metered on real dispatches and a real retrier batch (the median sample event); the log bytes a dispatch
writes (measured by capturing the dispatcher handler's output: about 0.9 KB per event plus 10 bytes per delivery, and
Lambda's own START/END/REPORT lines, about 0.3 KB per invocation). Memory sizes are the template's. Prices: us-east-1
on-demand list prices.
"""

from __future__ import annotations

from typing import Any

PRICES = {
    "lambda_request": 0.20 / 1e6,
    "gb_second": 0.0000166667,
    "event": 1.00 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "write_unit": 0.625 / 1e6,
    "read_unit": 0.125 / 1e6,
    "gb_month": 0.25,
    "recovery_gb_month": 0.20,
    "log_gb": 0.50,
}
LOG_BYTES_PER_EVENT = 900 + 300
LOG_BYTES_PER_DELIVERY = 10
SHAPES = ((20, 50_000), (1_000, 1_000))  # hooks per event, events: a million deliveries each
MILLION = 1e6


def memory_gb(function: str) -> float:
    """A function's MemorySize in template.yaml (its own, else the template's Globals), in GB."""
    from oms_webhooks_cli.template import Template

    template = Template()
    size = template.resources[function]["Properties"].get("MemorySize")
    if size is None:
        size = template.doc.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return float(template.resolve(size)) / 1024


def dispatch_seconds(fanout: list[dict[str, Any]]) -> tuple[float, float]:
    """(seconds per event, seconds per delivery) from the warm medians at 50 ms, N = 100 and 1,000."""
    rows = {row["n"]: row for row in fanout if row["delay_ms"] == 50}
    small, large = (rows[n]["n"] / rows[n]["service"]["median"] for n in (100, 1000))
    per_delivery = (large - small) / 900
    return small - 100 * per_delivery, per_delivery


def kept_per_month(record: dict[str, Any], hooks: int, recovery: bool = True) -> float:
    """A million deliveries kept a month: their items and index entries stored, point-in-time recovery on the table's
    share (unless the stack turns it off: `DeliveryLogPointInTimeRecovery`), each event's claim shared by its hooks."""
    stored = record["record_stored_bytes"] + record["event_stored_bytes"] / hooks
    table = record["record_table_bytes"] + record["event_stored_bytes"] / hooks if recovery else 0
    return MILLION * (stored * PRICES["gb_month"] + table * PRICES["recovery_gb_month"]) / 1e9


def retry_cost(retry: dict[str, Any]) -> dict[str, float]:
    """A million retries, from the metered batch: its units, SQS requests, a tenth of an invocation each."""
    gb = memory_gb("RetrierFunction")
    return {
        "DynamoDB writes": MILLION * retry["write_units"] * PRICES["write_unit"],
        "DynamoDB reads": MILLION * retry["read_units"] * PRICES["read_unit"],
        "SQS requests": MILLION * retry["sqs_requests"] * PRICES["sqs_request"],
        "Lambda": MILLION * (PRICES["lambda_request"] / retry["retries"] + retry["seconds"] * gb * PRICES["gb_second"]),
    }


def costs(fanout: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    per_event, per_delivery = dispatch_seconds(fanout)
    gb = memory_gb("DispatcherFunction")
    event_units = record["event_write_units"] * PRICES["write_unit"] + record["event_read_units"] * PRICES["read_unit"]
    log_price = PRICES["log_gb"] / 1e9
    shapes = []
    for hooks, events in SHAPES:
        seconds = per_event + hooks * per_delivery
        lines = {
            "EventBridge events": events * PRICES["event"],
            "Lambda requests": events * PRICES["lambda_request"],
            "Lambda duration": events * seconds * gb * PRICES["gb_second"],
            "DynamoDB records": MILLION * record["record_write_units"] * PRICES["write_unit"],
            "DynamoDB per event": events * event_units,
            "CloudWatch Logs": (events * LOG_BYTES_PER_EVENT + MILLION * LOG_BYTES_PER_DELIVERY) * log_price,
        }
        total = sum(lines.values())
        shapes.append(
            {
                "hooks": hooks,
                "events": events,
                "seconds_per_event": seconds,
                "lines": lines,
                "total": total,
                "records_share": lines["DynamoDB records"] / total,
                "storage_per_month": kept_per_month(record, hooks),
                "storage_per_month_unrecovered": kept_per_month(record, hooks, recovery=False),
            }
        )
    return shapes


def render(fanout: list[dict[str, Any]], record: dict[str, Any]) -> list[str]:
    shapes = costs(fanout, record)
    lines = [
        "## 5. Cost per million deliveries",
        "",
        "From the figures above (`bench/cost.py`): dispatch time fitted on section 1's warm medians at 50 ms; the",
        f"median sample event's records as metered ({record['record_bytes']:,.0f} bytes,",
        f"{record['record_write_units']:.2f} write units each with its index entries,",
        f"{record['record_stored_bytes']:,.0f} bytes stored; per event {record['event_write_units']:.0f} write units",
        f"and {record['event_read_units']:.1f} read units), us-east-1 list prices; each one delivered at its first",
        "attempt.",
        "",
        "| | " + " | ".join(f"{s['hooks']:,} hooks per event ({s['events']:,} events)" for s in shapes) + " |",
        "|---|" + "---:|" * len(shapes),
    ]
    for name in shapes[0]["lines"]:
        lines.append(f"| {name} | " + " | ".join(f"${s['lines'][name]:,.4f}" for s in shapes) + " |")
    lines += [
        "| **total, paid once** | " + " | ".join(f"**${s['total']:,.2f}**" for s in shapes) + " |",
        "| storage while kept, a month | " + " | ".join(f"${s['storage_per_month']:,.2f}" for s in shapes) + " |",
        "| ... without the log's point-in-time recovery | "
        + " | ".join(f"${s['storage_per_month_unrecovered']:,.2f}" for s in shapes)
        + " |",
    ]
    retry = record.get("retry")
    if retry:
        again = {**retry["again"], "seconds": retry["seconds"]}
        for label, found in (("a retry that delivers", retry), ("a retry that fails again", again)):
            total = sum(retry_cost(found).values())
            lines.append(f"| {label} (per million) | " + " | ".join(f"${total:,.2f}" for _ in shapes) + " |")
        for label, found in (("that delivers", retry), ("that fails again", again)):
            parts = retry_cost(found)
            lines += [
                "",
                f"A retry {label}, from a metered retrier batch of {found['retries']}: "
                + ", ".join(f"{name} ${value:,.3f}" for name, value in parts.items())
                + f" ({found['write_units']:.2f} write units: "
                + ", ".join(f"{u:g} in {place}" for place, u in found["units_by_place"].items())
                + f"; {found['read_units']:.2f} read units).",
            ]
    lines += [
        "",
        "DynamoDB's record writes: "
        + ", ".join(f"{s['records_share'] * 100:.0f} % at {s['hooks']:,} hooks per event" for s in shapes)
        + "; Lambda duration is "
        + ", ".join(f"${s['lines']['Lambda duration']:,.3f}" for s in shapes)
        + ".",
        "",
    ]
    return lines


if __name__ == "__main__":  # section 1's figures of bench/RESULTS.md's last run, and records metered now
    from bench.record_size import measure_record_sizes, median_row

    measured = [
        {"n": 100, "delay_ms": 50, "service": {"median": 635.0}},
        {"n": 1000, "delay_ms": 50, "service": {"median": 953.0}},
    ]
    print("\n".join(render(measured, median_row(measure_record_sizes()))))
