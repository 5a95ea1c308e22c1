"""Batch reads and writes when DynamoDB answers only part of a batch: completed, or an error, never a partial answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from oms_webhooks.adapters import dynamodb_batches
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.dynamodb_batches import MAX_PAUSE, ROUNDS, UnprocessedLeft
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.domain.deliveries import Delivery, delivery_id
from oms_webhooks.domain.hooks import HookIn
from oms_webhooks.rules.subscriptions import Subscriptions
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.throttled_dynamodb import HoldingBack


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The helper's pauses between rounds, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(dynamodb_batches, "sleep", slept.append)
    return slept


@pytest.fixture
def deliveries(deployed: dict[str, LocalFunction]) -> DeliveryStore:
    return DeliveryStore(settings().deliveries_table)


def recorded(store: DeliveryStore, count: int) -> list[str]:
    """`count` deliveries of one new event, written; their uuids."""
    event_id, moment = uuid.uuid4().hex, datetime.now(UTC)
    made = [
        Delivery(
            uuid=delivery_id(event_id, hook),
            owner="batches",
            webhook=hook,
            event_id=event_id,
            event_type="package.created",
            request_payload={"id": hook},
            target_url="http://r.test/",
            created_date=moment,
            modified_date=moment,
        )
        for hook in range(1, count + 1)
    ]
    store.save_many(made)
    return [d.uuid for d in made]


def test_a_lookup_that_dynamodb_keeps_answering_in_part_raises_instead_of_answering_part(
    deliveries: DeliveryStore, pauses: list[float]
) -> None:
    """A resumed dispatch skips what `existing` finds: a partial answer would have it send those deliveries again."""
    uuids = recorded(deliveries, 150)
    client = HoldingBack(hold=1)
    with pytest.raises(UnprocessedLeft, match=r"DynamoDB left 1 of a BatchGetItem .* unprocessed after 8 rounds"):
        DeliveryStore(deliveries.table, client).existing(uuids)
    assert client.calls == [100, *[1] * (ROUNDS - 1)]  # the first chunk's rounds, then it gave up on the whole lookup
    assert len(pauses) == ROUNDS - 1


def test_a_lookup_answered_in_part_a_few_times_is_completed_after_growing_bounded_pauses(
    deliveries: DeliveryStore, pauses: list[float]
) -> None:
    uuids = recorded(deliveries, 150)
    client = HoldingBack(hold=30, times=4)
    assert DeliveryStore(deliveries.table, client).existing([*uuids, uuid.uuid4().hex]) == set(uuids)
    assert client.calls == [100, 30, 30, 30, 30, 51]  # the first chunk in five rounds, the second in one
    assert len(pauses) == 4
    assert all(0 < pause <= MAX_PAUSE for pause in pauses)
    assert pauses[-1] > pauses[0]


def test_writes_handed_back_are_written_and_each_call_is_counted(
    deliveries: DeliveryStore, pauses: list[float]
) -> None:
    client = HoldingBack(hold=5, times=2)
    uuids = recorded(DeliveryStore(deliveries.table, client), 30)
    assert client.calls == [25, 5, 5, 5]  # 25 in three rounds, then 5 in one
    assert deliveries.existing(uuids) == set(uuids)
    assert len(pauses) == 2


def test_writes_dynamodb_keeps_handing_back_raise_naming_how_many(
    deliveries: DeliveryStore, pauses: list[float]
) -> None:
    client = HoldingBack(hold=3)
    with pytest.raises(UnprocessedLeft, match=r"DynamoDB left 3 of a BatchWriteItem .* unprocessed after 8 rounds"):
        recorded(DeliveryStore(deliveries.table, client), 10)
    assert client.calls == [10, *[3] * (ROUNDS - 1)]


def test_hooks_nested_in_a_page_are_all_read_or_the_page_fails(
    deployed: dict[str, LocalFunction], pauses: list[float]
) -> None:
    store, owner = HookStore(settings().hooks_table), f"owner-{uuid.uuid4().hex[:10]}"
    subscriptions = Subscriptions(store, AddressPolicy(allow_loopback=True))
    ids = [
        subscriptions.create(
            owner, HookIn.model_validate({"event_type": "package.created", "target_url": f"http://r.test/{n}"})
        ).id
        for n in range(3)
    ]
    assert set(HookStore(store.table, HoldingBack(hold=1, times=2)).get_many(owner, ids)) == set(ids)
    with pytest.raises(UnprocessedLeft, match="DynamoDB left 1 of a BatchGetItem"):
        HookStore(store.table, HoldingBack(hold=1)).get_many(owner, ids)
    for hook_id in ids:
        subscriptions.delete(owner, hook_id)
