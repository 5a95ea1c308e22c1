"""Listing and fan-out are Queries on keys and indexes: no code path scans a table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.domain.hooks import HookIn
from oms_webhooks.rules.subscriptions import HookFilters, Subscriptions
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction


@pytest.fixture
def operations(deployed: dict[str, LocalFunction]) -> Iterator[list[str]]:
    seen: list[str] = []
    client = dynamodb()

    def record(model: object, **_: object) -> None:
        seen.append(model.name)  # type: ignore[attr-defined]

    client.meta.events.register("before-call.dynamodb", record)
    yield seen
    client.meta.events.unregister("before-call.dynamodb", record)


def test_lists_and_fan_out_use_queries(operations: list[str]) -> None:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    store = HookStore(settings().hooks_table)
    subscriptions = Subscriptions(store, AddressPolicy(allow_loopback=True))
    for i in range(12):
        data = HookIn.model_validate({"event_type": "shipment.cancelled", "target_url": f"http://r.test/{i}"})
        subscriptions.create(owner, data)
    operations.clear()

    page = subscriptions.find(owner, HookFilters(is_active=True), limit=5, cursor=None)
    assert len(page.items) == 5 and page.cursor
    rest = subscriptions.find(owner, HookFilters(), limit=50, cursor=page.cursor)
    assert len(rest.items) == 7
    assert sum(len(page) for page in store.active_hooks("shipment.cancelled")) >= 12
    DeliveryStore(settings().deliveries_table).query_owner(owner, {"delivered": True}, None, None, 10, None)

    assert operations and set(operations) == {"Query"}
