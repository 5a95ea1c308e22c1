"""When a failed attempt is tried again: countdown, retry limit, Retry-After, 410 Gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms_webhooks.adapters.sender import SendResult
from oms_webhooks.domain.deliveries import Attempt, Delivery
from oms_webhooks.domain.hooks import Hook
from oms_webhooks.rules.delivery_step import MAX_RETRY_AFTER_SECONDS, settle

T0 = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)


def hook(config: dict) -> Hook:
    return Hook.model_validate(
        {
            "id": 1,
            "owner": "o",
            "event_type": "package.created",
            "target_url": "http://r.test/",
            "retry_countdown_config": config,
            "created_date": T0,
            "modified_date": T0,
        }
    )


def delivery(retries_made: int = 0, manual: int = 0) -> Delivery:
    """A delivery after its first attempt and `retries_made` scheduled retries (then `manual` ones), all failed."""
    d = fresh()
    for _ in range(1 + retries_made):
        d.record(Attempt(at=T0, status_code=500, duration=0.0), None)
    for _ in range(manual):
        d.record(Attempt(at=T0, status_code=500, duration=0.0, manual=True), None)
    return d


def fresh() -> Delivery:
    return Delivery(
        uuid="u" * 32,
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={},
        target_url="http://r.test/",
        created_date=T0,
        modified_date=T0,
    )


def result(status: int | None = 500, retry_after: float | None = None) -> SendResult:
    return SendResult(T0, 0.1, status_code=status, retry_after=retry_after)


def test_a_success_is_delivered_with_nothing_scheduled() -> None:
    d = delivery()
    assert settle(hook({"choice": "fixed", "kwargs": {"seconds": 5}}), d, result(204)) is None
    assert d.status == "delivered" and d.next_attempt_at is None


@pytest.mark.parametrize(("retries_made", "wait"), [(0, 1), (1, 2), (2, 4), (3, 8)])
def test_a_failure_waits_by_the_countdown_of_retries_made(retries_made: int, wait: float) -> None:
    d = delivery(retries_made)
    assert settle(hook({"choice": "exponential", "kwargs": {"base": 2}}), d, result()) == wait
    assert d.status == "retrying"
    assert d.next_attempt_at == T0 + timedelta(seconds=wait)


def test_after_max_retries_it_is_failed() -> None:
    d = delivery(retries_made=3)
    assert settle(hook({"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 3}), d, result()) is None
    assert d.status == "failed" and d.next_attempt_at is None


def test_default_limit_is_ten_retries() -> None:
    config = {"choice": "fixed", "kwargs": {"seconds": 1}}
    assert settle(hook(config), delivery(9), result()) == 1
    assert settle(hook(config), delivery(10), result()) is None


def test_retry_after_is_never_undercut_and_is_capped() -> None:
    config = {"choice": "fixed", "kwargs": {"seconds": 5}}
    assert settle(hook(config), delivery(), result(429, retry_after=30)) == 30
    assert settle(hook(config), delivery(), result(503, retry_after=1)) == 5
    assert settle(hook(config), delivery(), result(429, retry_after=10**7)) == MAX_RETRY_AFTER_SECONDS


def test_410_gone_is_failed_at_once() -> None:
    d = delivery()
    assert settle(hook({"choice": "fixed", "kwargs": {"seconds": 1}}), d, result(410)) is None
    assert d.status == "failed"


@pytest.mark.parametrize(
    ("config", "waits"),
    [
        ({"choice": "exponential", "kwargs": {"base": 2}}, [2**n for n in range(10)]),
        ({"choice": "linear", "kwargs": {"base": 3, "limit": 20}}, [min(3 * n, 20) for n in range(10)]),
        ({"choice": "fixed", "kwargs": {"seconds": 7}, "max_retries": 3}, [7, 7, 7]),
    ],
    ids=["exponential", "linear", "fixed-3"],
)
def test_retry_count_counts_every_attempt_as_whisperer_and_the_waits_go_by_retries_made(
    config: dict, waits: list[float]
) -> None:
    """whisperer: 11 attempts of an always failing delivery (max_retries 10) end at retry_count 11; the countdown
    before retry n+1 is wait(n), n = retries already made (0 before the first retry)."""
    d, h, seen = fresh(), hook(config), []
    for _ in range(60):
        d.record(Attempt(at=T0, status_code=500, duration=0.0), None)
        wait = settle(h, d, result())
        if wait is None:
            break
        seen.append(wait)
    assert seen == waits
    assert d.status == "failed"
    assert d.retry_count == len(d.attempts) == len(waits) + 1  # the first attempt and every retry


def test_a_manual_retry_adds_to_retry_count_but_leaves_the_schedule_alone() -> None:
    config = {"choice": "exponential", "kwargs": {"base": 2}, "max_retries": 3}
    scheduled, with_manual = delivery(retries_made=2), delivery(retries_made=2, manual=2)
    assert (scheduled.retry_count, with_manual.retry_count) == (3, 5)
    assert settle(hook(config), scheduled, result()) == settle(hook(config), with_manual, result()) == 4
    assert settle(hook(config), delivery(retries_made=3, manual=1), result()) is None  # max_retries: scheduled only


def test_a_record_from_before_whispers_count_catches_up_on_its_next_attempt() -> None:
    d = delivery(retries_made=2)
    d.retry_count = 2  # stored when retry_count counted retries only
    d.record(Attempt(at=T0, status_code=500, duration=0.0), None)
    assert d.retry_count == len(d.attempts) == 4
