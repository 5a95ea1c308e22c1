"""Cursor pages in Django REST framework's shape: `{"next": url-or-null, "results": [...]}`."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from oms_webhooks.errors import InvalidField
from oms_webhooks.json_text import lone_surrogate

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_KEY_LENGTH = 512  # a genuine cursor's key is far shorter; DynamoDB refuses keys over 2 KB with a 500

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursor: str | None = None  # opaque: where the next page starts, None on the last page


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
    """A cursor's values go to DynamoDB as string keys: short, and text it can encode."""
    return isinstance(value, str) and len(value) <= MAX_KEY_LENGTH and lone_surrogate(value) is None
