"""Cursor pages in Django REST framework's shape: `{"count": n, "next": url, "previous": url, "results": [...]}`
(`next` and `previous` null where there is no such page; `count` where it is affordable)."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from oms_webhooks.domain.errors import InvalidField

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_KEY_LENGTH = 512  # a genuine cursor's key is far shorter; DynamoDB refuses keys over 2 KB with a 500

FIRST_PAGE = ""  # a `previous` that is the first page: its URL carries no cursor, as DRF's does

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursor: str | None = None  # opaque: where the next page starts, None on the last page
    previous: str | None = None  # opaque: where the previous page starts (FIRST_PAGE), None on the first page
    count: int | None = None  # results on every page together; None where counting is not affordable


def previous_start(keys: Sequence[str], after: str | None, size: int) -> str | None:
    """In the ordered keys of every result, the key the page before the one after `after` continues after:
    FIRST_PAGE when that page is the first, None when this page is."""
    if after is None:
        return None
    begins = bisect.bisect_right(keys, after) - size
    return keys[begins - 1] if begins > 0 else FIRST_PAGE


def page_size(limit: int | None) -> int:
    """DRF clamps a large limit to the maximum rather than refusing it."""
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise InvalidField("limit", "Ensure this value is greater than or equal to 1.")
    return min(limit, MAX_LIMIT)


def encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidField("cursor", "Invalid cursor.") from None
    if not isinstance(key, dict) or not all(_key_part(v) for v in key.values()):
        raise InvalidField("cursor", "Invalid cursor.")
    return key


def _key_part(value: Any) -> bool:
    """A cursor's values go to DynamoDB as string keys: short, and text it can encode (no lone surrogate)."""
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
