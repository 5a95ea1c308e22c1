"""The circuit breaker's rules and a deferred delivery, without AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms_webhooks.adapters.circuit_store import health_of
from oms_webhooks.adapters.delivery_items import delivery_from_item, delivery_item
from oms_webhooks.clock import SimulatedClock, epoch, now, use_clock
from oms_webhooks.domain.circuit import CircuitRules, Health
from oms_webhooks.domain.deliveries import KEPT_DEFERRALS, Delivery

RULES = CircuitRules()  # the template's defaults
T0 = 1_800_000_000.0


def test_it_opens_after_five_failures_and_a_minute_not_before_either() -> None:
    assert not RULES.should_open(Health(failures=4, since=T0), T0 + 3600)
    assert not RULES.should_open(Health(failures=500, since=T0), T0 + 59)
    assert RULES.should_open(Health(failures=5, since=T0), T0 + 60)
    assert not RULES.should_open(Health(failures=9, since=T0, probe_at=T0 + 90), T0 + 120)  # already open


def test_probes_come_at_growing_intervals_up_to_the_cap() -> None:
    assert [RULES.probe_interval(n) for n in range(7)] == [30, 60, 120, 240, 480, 900, 900]
    assert RULES.probe_interval(10_000) == 900


def test_an_open_circuit_waits_then_lets_one_probe_decide() -> None:
    assert RULES.admission(Health(), T0) == "attempt"
    assert RULES.admission(Health(failures=3, since=T0), T0) == "attempt"  # a streak alone does not hold anything
    opened = Health(failures=6, since=T0, probe_at=T0 + 150)
    assert RULES.admission(opened, T0 + 149) == "wait"
    assert RULES.admission(opened, T0 + 150) == "probe"


@pytest.mark.parametrize(
    ("failures", "lasted", "disabled"),
    [
        (10_000, 60, False),  # one bad minute never disables, however many attempts
        (19, 6 * 86400, False),  # too few attempts, however long
        (20, 5 * 86400 - 1, False),
        (20, 5 * 86400, True),
    ],
)
def test_it_is_disabled_after_five_days_and_twenty_attempts(failures: int, lasted: float, disabled: bool) -> None:
    assert RULES.should_disable(Health(failures=failures, since=T0), T0 + lasted) is disabled


def test_the_disable_reason_says_how_long_how_many_and_the_limits() -> None:
    reason = RULES.disable_reason(Health(failures=137, since=T0), T0 + 5 * 86400 + 7200)
    assert reason == (
        "every attempt failed for 5 days 2 h: 137 consecutive failed attempts since 2027-01-15T08:00:00.000000Z "
        "(the limit is 5 days and at least 20 attempts)"
    )


def test_health_is_read_from_the_hooks_numbered_attributes() -> None:
    item = {
        "owner": {"S": "#circuits"},
        "sk": {"S": "package.created"},
        "f12": {"N": "7"},
        "s12": {"N": repr(T0)},
        "o12": {"N": repr(T0 + 30)},
        "k12": {"N": "2"},
        "f3": {"N": "1"},
        "s3": {"N": repr(T0)},
    }
    assert health_of(item) == {
        12: Health(failures=7, since=T0, probe_at=T0 + 30, probes=2),
        3: Health(failures=1, since=T0),
    }
    assert health_of(None) == {}


def delivery() -> Delivery:
    moment = now()
    return Delivery(
        uuid="a" * 32,
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="http://r.test/",
        created_date=moment,
        modified_date=moment,
    )


def test_a_deferral_is_not_an_attempt_but_is_kept_and_shown() -> None:
    d = delivery()
    until = now() + timedelta(seconds=30)
    d.defer(until, "circuit open", now())
    assert (d.status, d.next_attempt_at, d.retry_count, d.attempts, d.retries_made) == ("deferred", until, 0, [], 0)
    shown = d.public()
    assert shown["status"] == "deferred" and shown["deferral_count"] == 1 and shown["request_datetimes"] == []
    assert shown["deferrals"][0]["reason"] == "circuit open"
    for _ in range(15):
        d.defer(until, "again", now())
    assert d.deferral_count == 16 and len(d.deferrals) == KEPT_DEFERRALS
    assert delivery_from_item(delivery_item(d)) == d


def test_the_simulated_clock_moves_only_when_told_and_collapses_real_waits() -> None:
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    previous = use_clock(clock)
    try:
        assert now() == datetime(2030, 1, 1, tzinfo=UTC)
        clock.advance(5 * 86400)
        assert epoch() == datetime(2030, 1, 6, tzinfo=UTC).timestamp()
        assert clock.real_seconds(900) == 0.0
    finally:
        use_clock(previous)
    assert abs(epoch() - datetime.now(UTC).timestamp()) < 5
