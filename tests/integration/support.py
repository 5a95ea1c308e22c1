"""Helpers the integration tests share: hooks written and removed through the core's own rules, and a dispatcher
wired to the session's tables and queues as the Dispatcher function wires it."""

from __future__ import annotations

from typing import Any

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.hooks import HookIn
from oms_webhooks.rules.dispatch import Dispatcher
from oms_webhooks.rules.subscriptions import Subscriptions
from oms_webhooks.settings import settings
from tests.erased_hooks import erase_hooks


def subscribe(owner: str, url: str, event_type: str, **fields: Any) -> int:
    store = HookStore(settings().hooks_table)
    data = HookIn.model_validate({"event_type": event_type, "target_url": url, **fields})
    return Subscriptions(store, AddressPolicy(allow_loopback=True)).create(owner, data).id


def unsubscribe_all(owner: str) -> None:
    """The owner's hooks erased (tests/erased_hooks.py says why not switched off one by one)."""
    erase_hooks(HookStore(settings().hooks_table), owner)


def dispatcher(sender: Sender | None = None, deliveries: DeliveryStore | None = None) -> Dispatcher:
    config = settings()
    return Dispatcher(
        hooks=HookStore(config.hooks_table),
        deliveries=deliveries or DeliveryStore(config.deliveries_table),
        sender=sender or Sender(AddressPolicy(allow_loopback=True), connect_timeout=1, total_timeout=2),
        retries=RetryQueue(config.retry_queue_url),
        workers=8,
    )
