"""DynamoDB calls per event as N grows, counted (not timed), for a cold dispatcher and a warm one."""

from __future__ import annotations

import math
import uuid
from typing import Any

from bench.fanout import PAYLOAD, CallCounter, breaker, make_stack, seed_hooks
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.dispatch import Dispatcher


def budget(n: int) -> int:
    return math.ceil(n / 25) + 5


def count_calls(endpoint: str, receiver_port: int, n: int) -> dict[str, Any]:
    stack = make_stack(endpoint, f"calls-{n}-{uuid.uuid4().hex[:6]}")
    seed_hooks(stack, n, receiver_port, "package.created")
    dispatcher = Dispatcher(
        stack.hooks,
        stack.deliveries,
        Sender(AddressPolicy(allow_loopback=True)),
        stack.retries,
        workers=64,
        breaker=breaker(stack),
    )
    counter = CallCounter()
    found = {}
    for label in ("cold", "warm"):
        counter.calls.clear()
        dispatcher.dispatch(OmsEvent(str(uuid.uuid4()), "package.created", PAYLOAD))
        found[label] = counter.dynamodb_calls()
        found[f"{label}_operations"] = {k: v for k, v in counter.calls.items() if k.startswith("dynamodb.")}
    dispatcher.pool.shutdown()
    return {"n": n, "budget": budget(n), **found}
