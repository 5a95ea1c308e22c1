"""DynamoDB applies each write to an item atomically, its condition included; moto's threaded server does not: it
checks a condition, then updates, while other requests run in between, so two conditional updates of one item can
both pass. The service relies on that atomicity (event and retry claims, rate-limit buckets), so the local AWS runs
moto's DynamoDB writes one at a time, each with its answer."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_lock = threading.RLock()


def serialise_dynamodb_writes() -> None:
    """Idempotent; call it in the process that serves moto, before it serves."""
    from moto.dynamodb.responses import DynamoHandler

    for name in WRITES:
        handler = getattr(DynamoHandler, name)
        if not getattr(handler, "serialised", False):
            setattr(DynamoHandler, name, _serialised(handler))


def _serialised(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def one_at_a_time(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return handler(self, *args, **kwargs)

    one_at_a_time.serialised = True  # type: ignore[attr-defined]
    return one_at_a_time
