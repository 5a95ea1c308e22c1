"""The delivery log's filters, read as django-filter reads whisperer's WebhookEventFilter."""

from __future__ import annotations

import pytest
from delivery_log_query import delivery_filters

from oms_webhooks.domain.errors import InvalidFields
from oms_webhooks.rules.delivery_log import INVALID_CHOICE


def test_created_date_lookups_are_bounds_on_sort_keys() -> None:
    day = "2024-05-01T00:00:00.000000Z"
    assert (
        delivery_filters({"created_date": "2024-05-01"}).low,
        delivery_filters({"created_date": "2024-05-01"}).high,
    ) == (day, day + "$")
    gt = delivery_filters({"created_date__gt": "2024-05-01"})
    assert (gt.low, gt.high) == (day + "$", None)
    lt = delivery_filters({"created_date__lt": "2024-05-01", "created_date__lte": "2024-06-01"})
    assert (lt.low, lt.high) == (None, day)  # the tighter bound wins
    # A sort key of that moment is `<day>#<uuid>`: inside [day, day$], above day, below day$.
    key = day + "#" + "f" * 32
    assert day < key < day + "$"


def test_bounds_that_exclude_each_other_match_nothing() -> None:
    assert delivery_filters({"created_date__gt": "2024-05-02", "created_date__lt": "2024-05-01"}).nothing
    assert not delivery_filters({"created_date__gte": "2024-05-01", "created_date__lte": "2024-05-01"}).nothing


def test_times_beyond_the_utc_calendar_sort_below_or_above_every_key() -> None:
    early = delivery_filters({"created_date__lte": "0001-01-01T00:00:00+01:00"})
    late = delivery_filters({"created_date__gte": "9999-12-31T23:59:59-01:00"})
    assert early.high is not None and early.high < "1000" and late.low is not None and late.low > "9999"
    old = delivery_filters({"created_date__gte": "0999-01-01"})
    assert old.low == "0999-01-01T00:00:00.000000Z"  # zero-padded, so it sorts as a time


def test_filters_become_equalities() -> None:
    filters = delivery_filters(
        {
            "webhook": " 12 ",
            "event_type": "Package-Created",
            "delivered": "False",
            "response_http_status": "500.0",
            "object_id": "73",
            "status": "failed",
            "limit": "5",
        }
    )
    assert filters.conditions == {
        "webhook": 12,
        "event_type": "package.created",
        "delivered": False,
        "response_http_status": 500,
        "object_id": "73",
        "status": "failed",
    }
    assert not filters.nothing and filters.webhook == 12


@pytest.mark.parametrize("query", [{"event_type": "order-created"}, {"response_http_status": "1000"}])
def test_values_no_delivery_can_have_match_nothing(query: dict[str, str]) -> None:
    assert delivery_filters(query).nothing


def test_every_malformed_filter_is_named_at_once() -> None:
    with pytest.raises(InvalidFields) as refused:
        delivery_filters({"uuid": "x", "webhook": "1.0", "content_type": "3", "delivered": "", "status": "?"})
    assert refused.value.errors == {
        "uuid": ["Enter a valid UUID."],
        "webhook": [INVALID_CHOICE],
        "content_type": [INVALID_CHOICE],
        "status": ['"?" is not a valid choice.'],
    }
