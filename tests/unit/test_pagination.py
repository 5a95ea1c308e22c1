from __future__ import annotations

import pytest

from oms_webhooks.domain.errors import InvalidField
from oms_webhooks.domain.pagination import (
    FIRST_PAGE,
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
    page_size,
    previous_start,
)


def test_cursor_round_trips_and_is_url_safe() -> None:
    cursor = encode_cursor({"sk": "HOOK#000000000042"})
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor) == {"sk": "HOOK#000000000042"}


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WzFd", "eyJzayI6IDF9"])
def test_garbage_cursors_are_a_field_error(cursor: str) -> None:
    with pytest.raises(InvalidField) as raised:
        decode_cursor(cursor)
    assert raised.value.field == "cursor"


def test_page_size_defaults_clamps_and_refuses() -> None:
    assert page_size(None) == 50
    assert page_size(10_000) == MAX_LIMIT
    with pytest.raises(InvalidField):
        page_size(0)


def test_a_forged_cursor_with_a_huge_key_is_refused() -> None:
    with pytest.raises(InvalidField):
        decode_cursor(encode_cursor({"sk": "HOOK#" + "9" * 5000}))


def test_the_previous_page_starts_a_page_size_back() -> None:
    keys = [f"k{n:02d}" for n in range(10)]
    assert previous_start(keys, None, 3) is None  # the first page has none
    assert previous_start(keys, "k02", 3) == FIRST_PAGE  # the second page's is the first
    assert previous_start(keys, "k05", 3) == "k02"  # the third page's continues after the first page's last
    assert previous_start(keys, "k03", 3) == "k00"  # pages need not line up with the ones before
    assert previous_start(keys, "k01", 3) == FIRST_PAGE
    assert previous_start(keys, "k045", 3) == "k01"  # a key no longer among them (a hook deleted meanwhile)
