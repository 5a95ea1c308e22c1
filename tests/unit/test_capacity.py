"""The capacity table's arithmetic, checked by hand on rows whose figures are easy to follow."""

from __future__ import annotations

import pytest

from bench.capacity import (
    EVENTBRIDGE_INVOCATIONS,
    LAMBDA_CONCURRENCY,
    OWNER_PARTITION,
    TABLE_WRITES,
    Measured,
    owner_ceiling,
    render,
    row,
    table,
)
from bench.cost import kept_per_month

MEASURED = Measured(
    seconds_per_event=0.02,
    seconds_per_delivery=0.001,
    write_units_per_delivery=3,
    owner_index_units_per_delivery=1,
    calls_fixed=5,
    event_write_units=2,
    cost_per_delivery={20: 1.0e-6, 1_000: 0.8e-6},
)


def test_a_row_at_100_events_per_second_and_20_hooks() -> None:
    r = row(MEASURED, 100, 20)
    assert r.deliveries_per_second == 2_000
    assert r.lambda_concurrency == pytest.approx(100 * (0.02 + 20 * 0.001))  # 4 functions busy
    assert r.write_units_per_second == 2_000 * 3 + 100 * 2
    assert r.dynamodb_calls_per_second == 100 * (1 + 5)  # one batch of records, five other calls
    assert r.sqs_requests_per_second == 0  # 20 hooks fit one invocation
    assert r.invocations_per_second == 100
    assert r.monthly_cost == pytest.approx(2_000 * 2_592_000 * 1.0e-6)  # $5,184
    assert (r.binding, r.binding_use) == (TABLE_WRITES, pytest.approx(6_200 / 40_000))  # the nearest, at 16 %


def test_a_fan_out_beyond_one_invocation_goes_through_sqs_and_more_invocations() -> None:
    wide = Measured(**{**MEASURED.__dict__, "cost_per_delivery": {2_500: 1e-6}})
    r = row(wide, 10, 2_500)
    assert r.invocations_per_second == 10 * 3  # the dispatcher and two fan-out batches
    assert r.sqs_requests_per_second == 10 * 3  # one send, one receive, one delete of those two messages
    assert r.lambda_concurrency == pytest.approx(10 * (3 * 0.02 + 2_500 * 0.001))
    assert r.dynamodb_calls_per_second == 10 * (100 + 5)


def test_the_binding_quota_is_the_one_most_used() -> None:
    r = row(MEASURED, 10_000, 1_000)
    assert r.lambda_concurrency == pytest.approx(10_000 * 1.02)  # 10,200: ten times the default
    assert r.write_units_per_second == pytest.approx(10_000 * 1_000 * 3 + 10_000 * 2)
    uses = {
        LAMBDA_CONCURRENCY: 10.2,
        TABLE_WRITES: 30_020_000 / 40_000,
        EVENTBRIDGE_INVOCATIONS: 10_000 / 18_750,
    }
    assert r.binding == max(uses, key=lambda quota: uses[quota]) == TABLE_WRITES
    assert r.binding_use == pytest.approx(750.5)


def test_one_owner_takes_as_many_records_as_its_index_key_takes_writes() -> None:
    assert owner_ceiling(MEASURED) == OWNER_PARTITION.limit == 1_000
    assert owner_ceiling(Measured(**{**MEASURED.__dict__, "owner_index_units_per_delivery": 2})) == 500


def test_the_rendered_table_has_a_row_per_rate_and_hook_count() -> None:
    lines = render(MEASURED)
    assert len(lines) == 2 + len(table(MEASURED)) + 2 == 10
    assert "at most 1,000 records a second for one owner" in lines[-1]
    assert "| 100 | 20 | 2,000 | 4 |" in lines[2]


def test_storage_kept_a_month_with_and_without_the_logs_point_in_time_recovery() -> None:
    record = {"record_stored_bytes": 1_500, "record_table_bytes": 800, "event_stored_bytes": 2_000}
    stored_gb, table_gb = (1_500 + 2_000 / 20) * 1e6 / 1e9, (800 + 2_000 / 20) * 1e6 / 1e9  # a million, 20 hooks
    assert kept_per_month(record, 20) == pytest.approx(stored_gb * 0.25 + table_gb * 0.20)  # $0.40 + $0.18
    assert kept_per_month(record, 20, recovery=False) == pytest.approx(stored_gb * 0.25)  # $0.40
