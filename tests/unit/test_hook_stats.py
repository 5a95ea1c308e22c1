"""Stats from the attempt log the ByHook index projects: counts, percentiles, buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_webhooks.adapters.delivery_index import DeliverySummary
from oms_webhooks.clock import iso
from oms_webhooks.domain.attempt_log import attempt_log, parse_attempt_log
from oms_webhooks.domain.deliveries import Attempt
from oms_webhooks.rules.hook_stats import percentile, summarize

UNTIL = datetime(2026, 1, 7, 12, 30, tzinfo=UTC)
SINCE = UNTIL - timedelta(hours=24)


def summary(created: datetime, status: str, *attempts: Attempt) -> DeliverySummary:
    return DeliverySummary("u", f"{iso(created)}#u", status, attempt_log(attempts))


def test_the_attempt_log_round_trips_in_a_few_bytes() -> None:
    attempts = [
        Attempt(at=UNTIL, status_code=200, duration=0.0123),
        Attempt(at=UNTIL + timedelta(seconds=1), error="timed out", duration=15.0),
    ]
    log = attempt_log(attempts)
    assert len(log) < 60
    parsed = parse_attempt_log(log)
    assert [(p.status_code, p.duration_ms, p.succeeded) for p in parsed] == [(200, 12.3, True), (0, 15000.0, False)]
    assert parsed[0].at == UNTIL.timestamp()
    assert parse_attempt_log("") == []


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_summarize_counts_by_outcome_and_buckets_by_hour() -> None:
    two_hours_ago = UNTIL - timedelta(hours=2)
    summaries = [
        summary(two_hours_ago, "delivered", Attempt(at=two_hours_ago, status_code=200, duration=0.1)),
        summary(
            two_hours_ago,
            "delivered",
            Attempt(at=two_hours_ago, status_code=503, duration=0.2),
            Attempt(at=UNTIL - timedelta(minutes=5), status_code=200, duration=0.3),
        ),
        summary(UNTIL - timedelta(minutes=1), "failed", Attempt(at=UNTIL, error="refused", duration=0.0)),
        summary(UNTIL - timedelta(minutes=1), "pending"),
    ]
    stats = summarize(summaries, SINCE, UNTIL, "hour")
    assert stats["attempts"] == {"total": 4, "succeeded": 2, "failed": 2}
    assert stats["deliveries"] == {"delivered": 2, "retrying": 0, "failed": 1, "pending": 1, "deferred": 0}
    assert stats["success_rate"] == 0.5
    assert stats["last_success_at"] == iso(UNTIL - timedelta(minutes=5))
    assert stats["last_failure_at"] == iso(UNTIL)
    series = stats["series"]
    assert len(series) == 25 and series[0]["start"] == iso(datetime(2026, 1, 6, 12, tzinfo=UTC))
    assert series[-1]["start"] == iso(datetime(2026, 1, 7, 12, tzinfo=UTC))
    by_start = {row["start"]: row for row in series}
    two = by_start[iso(datetime(2026, 1, 7, 10, tzinfo=UTC))]
    assert (two["delivered"], two["attempts"], two["p95_ms"]) == (2, 2, 200.0)
    last = series[-1]
    assert (last["failed"], last["attempts"], last["delivered"]) == (1, 2, 0)
    assert sum(row["attempts"] for row in series) == 4


def test_summarize_by_day_for_a_month() -> None:
    since = UNTIL - timedelta(days=30)
    stats = summarize([summary(since, "failed", Attempt(at=since, status_code=500, duration=1))], since, UNTIL, "day")
    assert stats["bucket"] == "day" and len(stats["series"]) == 31
    assert stats["series"][0]["failed"] == 1 and stats["latency_ms"]["p50"] == 1000.0
