"""The rate limit's rules and the deferral it leaves on a delivery (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from oms_webhooks.domain.deliveries import KEPT_DEFERRALS, Attempt, Delivery
from oms_webhooks.domain.hooks import HookIn
from oms_webhooks.domain.rate_limit import MAX_RATE, MIN_RATE, deferral_reason, held_slot, interval, still_usable

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOOK = {"event_type": "package.created", "target_url": "https://a.test/"}


def delivery() -> Delivery:
    return Delivery(
        uuid="a" * 32,
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={},
        target_url="https://a.test/",
        created_date=NOW,
        modified_date=NOW,
    )


@pytest.mark.parametrize(
    ("rate", "seconds"),
    [(10, "0.1"), (1, "1"), (3, "0.333334"), (0.01, "100"), (MAX_RATE, "0.001"), (7.5, "0.133334")],
)
def test_the_interval_is_rounded_up_to_the_microsecond(rate: float, seconds: str) -> None:
    assert interval(rate) == Decimal(seconds)
    assert interval(rate) * Decimal(str(rate)) >= 1  # never faster than the rate


@pytest.mark.parametrize("value", [MIN_RATE, 0.5, 1, 10, MAX_RATE, None])
def test_a_hook_takes_a_rate_limit_within_bounds(value: float | None) -> None:
    hook = HookIn.model_validate(
        {"event_type": "package.created", "target_url": "https://a.test/", "rate_limit": value}
    )
    assert hook.rate_limit == value


@pytest.mark.parametrize("value", [0, -5, MIN_RATE / 2, MAX_RATE + 1, float("inf"), float("nan"), "5", False])
def test_a_hook_refuses_a_rate_limit_out_of_bounds_or_not_a_number(value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        HookIn.model_validate({**HOOK, "rate_limit": value})
    assert {error["loc"][0] for error in refused.value.errors()} == {"rate_limit"}


def test_a_whole_float_reads_back_as_an_integer() -> None:
    hook = HookIn.model_validate({**HOOK, "rate_limit": 4.0})
    assert hook.rate_limit == 4 and isinstance(hook.rate_limit, int)


def test_a_deferral_is_no_attempt_and_keeps_the_schedule() -> None:
    d = delivery()
    d.record(Attempt(at=NOW, status_code=500, duration=0.1), "boom")
    d.schedule(30)
    until = NOW + timedelta(seconds=40)
    d.defer(until, deferral_reason(2), NOW + timedelta(seconds=31))
    assert d.status == "deferred" and d.next_attempt_at == until
    assert d.retry_count == 1 and d.retries_made == 0 and len(d.attempts) == 1
    assert d.response_http_status == 500  # the last answer stays what the subscriber said
    shown = d.public()
    assert shown["deferrals"] == [
        {"at": "2026-05-01T12:00:31.000000Z", "until": "2026-05-01T12:00:40.000000Z", "reason": deferral_reason(2)}
    ]
    assert shown["deferral_count"] == 1 and shown["status"] == "deferred"


def test_only_the_latest_deferrals_are_kept_but_all_are_counted() -> None:
    d = delivery()
    for n in range(KEPT_DEFERRALS + 5):
        d.defer(NOW + timedelta(seconds=n + 1), f"reason {n}", NOW + timedelta(seconds=n))
    assert d.deferral_count == KEPT_DEFERRALS + 5
    assert [x.reason for x in d.deferrals] == [f"reason {n}" for n in range(5, KEPT_DEFERRALS + 5)]


def test_a_delivery_holds_a_slot_only_while_deferred_by_its_rate_limit() -> None:
    d = delivery()
    assert held_slot(d) is None
    until = NOW + timedelta(seconds=5)
    d.defer(until, deferral_reason(1), NOW)
    assert held_slot(d) == until.timestamp()
    d.defer(until, "the hook's circuit is open", NOW)  # another gate deferred it last: no slot of its own
    assert held_slot(d) is None
    d.defer(until, deferral_reason(1), NOW)
    d.mark_delivered()
    assert held_slot(d) is None


def test_a_held_slot_is_usable_until_half_an_interval_after_it() -> None:
    slot = 1_000.0
    assert still_usable(slot, 10, slot - 3)  # early: usable, to be waited for
    assert still_usable(slot, 10, slot + 0.05)
    assert not still_usable(slot, 10, slot + 0.051)
    assert still_usable(slot, 0.5, slot + 1.0) and not still_usable(slot, 0.5, slot + 1.01)
