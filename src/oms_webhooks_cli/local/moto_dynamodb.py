"""moto's DynamoDB one request at a time; applied in the moto process before it serves.

moto 5.2's DynamoDB is not thread-safe: `update_item` deep-copies an item while another request's thread
changes it ("RuntimeError: dictionary changed size during iteration", a 500 that botocore retries quietly;
seen once in eight minutes of a soak beside 5,000 pending retries), and answers are built from live items.
Each request, from parsing to its answer, holds one lock; they shared one interpreter lock anyway.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.responses import DynamoHandler

# What this patch replaces in moto; tests/unit/test_moto_internals.py checks each still has the shape used here.
PATCHED = ("moto.dynamodb.responses.DynamoHandler.call_action",)

_requests = threading.RLock()


def _serialized(call_action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call_action)
    def call(handler: Any) -> Any:
        with _requests:
            return call_action(handler)

    return call


def apply() -> None:
    """Patches moto's DynamoDB request handler in this process; call once, before the server handles a request."""
    handler: Any = DynamoHandler
    if not getattr(handler, "_oms_serialized", False):
        handler.call_action = _serialized(handler.call_action)
        handler._oms_serialized = True
