"""Capacity at 100, 1,000 and 10,000 events/s, worked from measured figures: what a deployed stack needs, and which
AWS quota binds first.

Inputs are measured, not typed in: the dispatcher's seconds per event (section 1's warm medians at 50 ms receivers,
fitted as `bench/cost.py` does), the write units of a delivery record with its index entries and the DynamoDB
calls per event (`bench/record_size.py`, the dispatch budget), and the cost per delivery (`bench/cost.py`). The
quotas are AWS's defaults in us-east-1; all but the per-partition one can be raised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from oms_webhooks.adapters.delivery_store import OWNER_INDEX

SECONDS_PER_MONTH = 30 * 24 * 3600
RATES = (100, 1_000, 10_000)  # events per second
HOOKS = (20, 1_000)  # hooks per event
FANOUT_BATCH = 1_000  # FanoutBatchSize's default: hooks one invocation delivers before the rest go to SQS
SQS_BATCH = 10  # entries per SendMessageBatch / messages per receive


@dataclass(frozen=True)
class Quota:
    name: str
    limit: float
    raise_how: str


# us-east-1 defaults (Service Quotas; DynamoDB's developer guide for the partition limit).
LAMBDA_CONCURRENCY = Quota("Lambda concurrent executions", 1_000, "a Service Quotas request (account, region)")
TABLE_WRITES = Quota("DynamoDB on-demand table writes (WRU/s)", 40_000, "a Service Quotas request (per table)")
OWNER_PARTITION = Quota(
    "DynamoDB writes to one ByOwner key (WCU/s, one owner)", 1_000, "not adjustable: spread the owner's index key"
)
EVENTBRIDGE_INVOCATIONS = Quota("EventBridge target invocations/s", 18_750, "a Service Quotas request")
PUT_EVENTS = Quota("EventBridge PutEvents requests/s (the OMS's)", 10_000, "a Service Quotas request, or 10 a call")


@dataclass(frozen=True)
class Measured:
    """What one delivery and one event cost, as measured."""

    seconds_per_event: float  # dispatcher time of an event, fixed part
    seconds_per_delivery: float  # dispatcher time per delivery (50 ms receivers, concurrent sends)
    write_units_per_delivery: int  # the record in the table and in every index it appears in
    owner_index_units_per_delivery: int  # its entry in ByOwner (one owner's records share its key)
    calls_fixed: int  # DynamoDB calls per event besides the record batches (claim, hooks, circuits, release)
    event_write_units: int  # write units per event besides the records (the claim and its release)
    cost_per_delivery: dict[int, float]  # hooks per event → $ per delivery, paid once


@dataclass(frozen=True)
class Row:
    events_per_second: int
    hooks: int
    deliveries_per_second: int
    lambda_concurrency: float
    write_units_per_second: float
    dynamodb_calls_per_second: float
    sqs_requests_per_second: float
    invocations_per_second: float
    monthly_cost: float
    binding: Quota
    binding_use: float  # of the binding quota: 1.0 = at its limit


def row(measured: Measured, events_per_second: int, hooks: int) -> Row:
    deliveries = events_per_second * hooks
    invocations = events_per_second * max(1, math.ceil(hooks / FANOUT_BATCH))
    batches_per_event = math.ceil(hooks / FANOUT_BATCH) - 1  # the first batch is the dispatcher's own
    # a fan-out batch: sent (in batches of 10), received and deleted (one of each per 10 messages)
    sqs = events_per_second * 3 * math.ceil(batches_per_event / SQS_BATCH) if batches_per_event else 0.0
    seconds = measured.seconds_per_event * invocations / events_per_second + hooks * measured.seconds_per_delivery
    partial = Row(
        events_per_second=events_per_second,
        hooks=hooks,
        deliveries_per_second=deliveries,
        lambda_concurrency=events_per_second * seconds,  # Little's law: arrivals times time in the system
        write_units_per_second=deliveries * measured.write_units_per_delivery
        + events_per_second * measured.event_write_units,
        dynamodb_calls_per_second=events_per_second * (math.ceil(hooks / 25) + measured.calls_fixed),
        sqs_requests_per_second=sqs,
        invocations_per_second=invocations,
        monthly_cost=deliveries * SECONDS_PER_MONTH * measured.cost_per_delivery[hooks],
        binding=LAMBDA_CONCURRENCY,
        binding_use=0.0,
    )
    uses = usage(partial)
    binding = max(uses, key=lambda quota: uses[quota])
    return Row(**{**partial.__dict__, "binding": binding, "binding_use": uses[binding]})


def usage(row: Row) -> dict[Quota, float]:
    """Each account-wide quota's share in use (one owner's index key is `owner_ceiling`'s business)."""
    return {
        LAMBDA_CONCURRENCY: row.lambda_concurrency / LAMBDA_CONCURRENCY.limit,
        TABLE_WRITES: row.write_units_per_second / TABLE_WRITES.limit,
        EVENTBRIDGE_INVOCATIONS: row.invocations_per_second / EVENTBRIDGE_INVOCATIONS.limit,
        PUT_EVENTS: row.events_per_second / PUT_EVENTS.limit,
    }


def owner_ceiling(measured: Measured) -> float:
    """Records a second one owner can take before its ByOwner key's partition throttles (time-ordered sort keys
    give DynamoDB's split-for-heat nothing to split), which slows the dispatch of every event it shares."""
    return OWNER_PARTITION.limit / max(1, measured.owner_index_units_per_delivery)


def table(measured: Measured) -> list[Row]:
    return [row(measured, rate, hooks) for hooks in HOOKS for rate in RATES]


def measured_from(
    shapes: list[dict[str, Any]], record: dict[str, Any], calls_fixed: int, event_write_units: int
) -> Measured:
    """`bench/cost.py`'s shapes (hooks, seconds per event, total per million) and the median record's sizes."""
    by_hooks = {shape["hooks"]: shape for shape in shapes}
    small, large = sorted(by_hooks)
    per_delivery = (by_hooks[large]["seconds_per_event"] - by_hooks[small]["seconds_per_event"]) / (large - small)
    return Measured(
        seconds_per_event=by_hooks[small]["seconds_per_event"] - small * per_delivery,
        seconds_per_delivery=per_delivery,
        write_units_per_delivery=record["record_write_units"],  # the event's claim is event_write_units
        owner_index_units_per_delivery=record["units_by_place"].get(OWNER_INDEX, 0),
        calls_fixed=calls_fixed,
        event_write_units=event_write_units,
        cost_per_delivery={hooks: shape["total"] / 1e6 for hooks, shape in by_hooks.items()},
    )


def from_bench(fanout: list[dict[str, Any]], record: dict[str, Any]) -> Measured:
    """The model's inputs from a `make bench` run: section 1's fan-out rows and the median metered record."""
    from bench.cost import costs
    from bench.record_size import HOOKS_PER_EVENT

    records_batches = math.ceil(HOOKS_PER_EVENT / 25)
    return measured_from(
        costs(fanout, record),
        record,
        calls_fixed=int(record["dynamodb_calls"]) - records_batches,
        event_write_units=math.ceil(record["event_write_units"]),
    )


def section(measured: Measured) -> list[str]:
    """The capacity section of bench/RESULTS.md and docs/BENCHMARKS.md."""
    return [
        "## 7. Capacity",
        "",
        "Worked from the figures above (`bench/capacity.py`, its arithmetic checked in tests/unit/test_capacity.py):",
        f"a dispatch takes {measured.seconds_per_event * 1000:.1f} ms per invocation plus "
        f"{measured.seconds_per_delivery * 1000:.2f} ms per delivery (50 ms receivers, concurrent sends), a record "
        f"{measured.write_units_per_delivery:g} write units with its index entries, an event "
        f"{measured.event_write_units} more and {measured.calls_fixed} DynamoDB calls besides its record batches. "
        "First attempts only; retries add the retry queue's share. Quotas: us-east-1 defaults.",
        "",
        *render(measured),
        "",
    ]


def render(measured: Measured) -> list[str]:
    lines = [
        "| events/s | hooks per event | deliveries/s | Lambda concurrency | DynamoDB WRU/s | DynamoDB calls/s "
        "| SQS requests/s | EventBridge invocations/s | a month | binds first |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in table(measured):
        over = sorted(((use, quota) for quota, use in usage(r).items() if use >= 1), key=lambda x: -x[0])
        bound = (
            "; ".join(f"{quota.name} at {use:,.0%} of {quota.limit:,.0f} ({quota.raise_how})" for use, quota in over)
            if over
            else f"none ({r.binding.name} at {r.binding_use:.0%})"
        )
        lines.append(
            f"| {r.events_per_second:,} | {r.hooks:,} | {r.deliveries_per_second:,} | {r.lambda_concurrency:,.0f} "
            f"| {r.write_units_per_second:,.0f} | {r.dynamodb_calls_per_second:,.0f} "
            f"| {r.sqs_requests_per_second:,.0f} | {r.invocations_per_second:,.0f} | ${r.monthly_cost:,.0f} | {bound} |"
        )
    lines += [
        "",
        f"Per owner, whatever the rate: its records go to one `{OWNER_INDEX}` index key, which takes "
        f"{OWNER_PARTITION.limit:,.0f} write units a second ({OWNER_PARTITION.raise_how}): at most "
        f"{owner_ceiling(measured):,.0f} records a second for one owner.",
    ]
    return lines


if __name__ == "__main__":  # section 1's figures of bench/RESULTS.md's last run, and records metered now
    from bench.record_size import measure_record_sizes, median_row

    measured_rows = [
        {"n": 100, "delay_ms": 50, "service": {"median": 635.0}},
        {"n": 1000, "delay_ms": 50, "service": {"median": 953.0}},
    ]
    print("\n".join(section(from_bench(measured_rows, median_row(measure_record_sizes())))))
