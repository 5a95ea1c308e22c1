"""An ordered delivery's object, its queue, and the retry schedules an ordered hook may have."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter

from oms_webhooks.domain.ordering import (
    MAX_ORDERED_SCHEDULE_SECONDS,
    NO_ID,
    Ordering,
    object_key,
    order_group,
    placed,
    schedule_refusal,
    schedule_seconds,
)
from oms_webhooks.domain.retry_countdown import RetryCountdownConfig

COUNTDOWN: TypeAdapter[RetryCountdownConfig] = TypeAdapter(RetryCountdownConfig)


def test_the_object_is_the_event_types_first_segment_and_the_payloads_id() -> None:
    assert object_key("package.status.packed", "73") == object_key("package.status.shipped", "73") == "package:73"
    assert object_key("stock_location.updated", "abc") == "stock_location:abc"
    assert object_key("shipment.created", "73") != object_key("package.created", "73")
    assert object_key("package.created", None) is None and object_key("package.created", "") is None


def test_an_objects_queue_is_one_per_owner_and_url_and_a_valid_message_group_id() -> None:
    group = order_group("acme", "https://erp.example/hooks", "package:73")
    assert group == order_group("acme", "https://erp.example/hooks", "package:73")
    assert len({group, order_group("other", "https://erp.example/hooks", "package:73")}) == 2
    assert len({group, order_group("acme", "https://erp.example/other", "package:73")}) == 2
    long = order_group("o" * 500, "https://" + "x" * 2000, "package:" + "9" * 5000)
    assert re.fullmatch(r"[0-9a-f]{40}", long)  # SQS: at most 128 characters of alphanumerics and punctuation


def test_a_payload_without_an_id_is_placed_nowhere_with_the_reason() -> None:
    assert placed("package.created", None, "acme", "https://r.example/") == Ordering(note=NO_ID)
    long_id = "7" * 1000
    place = placed("package.created", long_id, "acme", "https://r.example/")
    assert place.object is not None and len(place.object) == 200 and place.group is not None
    assert place.group == order_group("acme", "https://r.example/", f"package:{long_id}")  # the whole key


@pytest.mark.parametrize(
    ("config", "seconds"),
    [
        ({"choice": "exponential", "kwargs": {"base": 2}}, 1023),  # the default: 1 + 2 + ... + 512
        ({"choice": "fixed", "kwargs": {"seconds": 60}, "max_retries": 3}, 180),
        ({"choice": "linear", "kwargs": {"base": 10, "limit": 25}, "max_retries": 4}, 0 + 10 + 20 + 25),
        ({"choice": "random", "kwargs": {"min_value": 1, "max_value": 9}, "max_retries": 5}, 45),  # at its longest
        ({"choice": "fixed", "kwargs": {"seconds": 5}, "max_retries": 0}, 0),
    ],
)
def test_a_schedule_waits_its_countdowns_in_all(config: dict[str, object], seconds: float) -> None:
    assert schedule_seconds(COUNTDOWN.validate_python(config)) == seconds


def test_only_schedules_longer_than_a_week_are_refused() -> None:
    week = COUNTDOWN.validate_python({"choice": "fixed", "kwargs": {"seconds": 86400}, "max_retries": 7})
    assert schedule_seconds(week) == MAX_ORDERED_SCHEDULE_SECONDS and schedule_refusal(week) is None
    longer = COUNTDOWN.validate_python({"choice": "exponential", "kwargs": {"base": 10, "factor": 3}})
    refusal = schedule_refusal(longer)
    assert refusal is not None and "7 days" in refusal and "14 days" in refusal
