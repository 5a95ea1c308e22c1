"""The core's services the routes call, on the tables and queue this function is configured with."""

from __future__ import annotations

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.rules.delivery_log import DeliveryLog
from oms_webhooks.rules.recovery import Recovery
from oms_webhooks.rules.subscriptions import Subscriptions
from oms_webhooks.settings import settings
from oms_webhooks.wiring import (
    address_policy,
    breaker,
    delivery_index,
    delivery_store,
    event_bus,
    ordered_deliveries,
    sender,
)


def subscriptions() -> Subscriptions:
    return Subscriptions(HookStore(settings().hooks_table), address_policy())


def delivery_log() -> DeliveryLog:
    return DeliveryLog(
        delivery_store(),
        HookStore(settings().hooks_table),
        sender(),
        breaker(),
        event_bus(),
        ordered_deliveries(),
    )


def recovery() -> Recovery:
    config = settings()
    return Recovery(
        delivery_index(),
        HookStore(config.hooks_table),
        RetryQueue(config.retry_queue_url),
        ordering=ordered_deliveries(),
    )
