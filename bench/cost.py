"""Cost per million deliveries, computed from measured figures and list prices: the README's cost table.

Inputs: the dispatcher's warm rates at 50 ms receivers for N = 100 and 1,000 (section 1), fitted as a fixed time
per event plus a time per delivery; the median delivery record (`record_size`: its bytes, and the write units and
bytes it takes in the table and its indexes); the log bytes a dispatch writes
(measured by capturing the dispatcher handler's output: about 0.9 KB per event plus 10 bytes per delivery, and
Lambda's own START/END/REPORT lines, about 0.3 KB per invocation). Prices: us-east-1 on-demand list prices.
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
DISPATCHER_GB = 1.0  # MemorySize 1024
LOG_BYTES_PER_EVENT = 900 + 300
LOG_BYTES_PER_DELIVERY = 10
SHAPES = ((20, 50_000), (1_000, 1_000))  # hooks per event, events: a million deliveries each


def dispatch_seconds(fanout: list[dict[str, Any]]) -> tuple[float, float]:
    """(seconds per event, seconds per delivery) from the warm medians at 50 ms, N = 100 and 1,000."""
    rows = {row["n"]: row for row in fanout if row["delay_ms"] == 50}
    small, large = (rows[n]["n"] / rows[n]["service"]["median"] for n in (100, 1000))
    per_delivery = (large - small) / 900
    return small - 100 * per_delivery, per_delivery


def costs(fanout: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    per_event, per_delivery = dispatch_seconds(fanout)
    units = record["write_units"]
    stored_gb = 1e6 * record["stored_bytes"] / 1e9
    table_gb = 1e6 * record["record_bytes"] / 1e9
    shapes = []
    for hooks, events in SHAPES:
        seconds = per_event + hooks * per_delivery
        lines = {
            "EventBridge events": events * PRICES["event"],
            "Lambda requests": events * PRICES["lambda_request"],
            "Lambda duration": events * seconds * DISPATCHER_GB * PRICES["gb_second"],
            "DynamoDB records": 1e6 * units * PRICES["write_unit"],
            "DynamoDB per event": events * (PRICES["write_unit"] + PRICES["read_unit"]),
            "CloudWatch Logs": (events * LOG_BYTES_PER_EVENT + 1e6 * LOG_BYTES_PER_DELIVERY) / 1e9 * PRICES["log_gb"],
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
                "storage_per_month": stored_gb * PRICES["gb_month"] + table_gb * PRICES["recovery_gb_month"],
            }
        )
    return shapes


def render(fanout: list[dict[str, Any]], record: dict[str, Any]) -> list[str]:
    shapes = costs(fanout, record)
    lines = [
        "## 5. Cost per million deliveries",
        "",
        "From the figures above (`bench/cost.py`): dispatch time fitted on section 1's warm medians at 50 ms, the",
        f"median record ({record['record_bytes']:,} bytes, {record['write_units']} write units with its index entries,",
        f"{record['stored_bytes']:,} bytes stored), us-east-1 list prices; each one delivered at its first attempt.",
        "",
        "| | " + " | ".join(f"{s['hooks']:,} hooks per event ({s['events']:,} events)" for s in shapes) + " |",
        "|---|" + "---:|" * len(shapes),
    ]
    for name in shapes[0]["lines"]:
        lines.append(f"| {name} | " + " | ".join(f"${s['lines'][name]:,.4f}" for s in shapes) + " |")
    lines += [
        "| **total, paid once** | " + " | ".join(f"**${s['total']:,.2f}**" for s in shapes) + " |",
        "| storage while kept, a month | " + " | ".join(f"${s['storage_per_month']:,.2f}" for s in shapes) + " |",
        "",
        "DynamoDB's record writes dominate: "
        + ", ".join(f"{s['records_share'] * 100:.0f} % at {s['hooks']:,} hooks per event" for s in shapes)
        + "; Lambda duration is "
        + ", ".join(f"${s['lines']['Lambda duration']:,.3f}" for s in shapes)
        + ".",
        "",
    ]
    return lines


if __name__ == "__main__":  # the figures of bench/RESULTS.md's last run, and today's record sizes
    from bench.record_size import measure_record_sizes, median_row

    measured = [
        {"n": 100, "delay_ms": 50, "service": {"median": 635.0}},
        {"n": 1000, "delay_ms": 50, "service": {"median": 953.0}},
    ]
    print("\n".join(render(measured, median_row(measure_record_sizes()))))
