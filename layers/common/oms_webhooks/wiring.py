"""The core's parts assembled from settings, once per process, so warm invocations reuse pools and clients.

Each function's own rules (the dispatcher's, the retrier's, the sequencer's, ordering's) are imported by the
factory that makes them: a function's cold start then imports only what it runs.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.circuit_store import CircuitStore
from oms_webhooks.adapters.cpu_affinity import keep_to_one_cpu
from oms_webhooks.adapters.delivery_index import DeliveryIndex
from oms_webhooks.adapters.delivery_store import OWNER_INDEX, PREVIOUS_OWNER_INDEX, DeliveryStore
from oms_webhooks.adapters.event_bus import EventBus
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import FanoutQueue, RetryQueue
from oms_webhooks.adapters.rate_limit_store import RateLimitStore
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.circuit import CircuitRules
from oms_webhooks.rules.circuit_breaker import Breaker
from oms_webhooks.rules.parking import Parking
from oms_webhooks.rules.rate_limiter import DISPATCH_HOLD_SECONDS, RETRY_HOLD_SECONDS, RateLimiter
from oms_webhooks.settings import settings

if TYPE_CHECKING:
    from oms_webhooks.rules.dispatch import Dispatcher
    from oms_webhooks.rules.ordering import OrderedDeliveries
    from oms_webhooks.rules.retrier import Retrier
    from oms_webhooks.rules.sequencer import Sequencer


def delivery_store() -> DeliveryStore:
    return DeliveryStore(settings().deliveries_table, owner_index=_owner_index())


def delivery_index() -> DeliveryIndex:
    return DeliveryIndex(settings().deliveries_table, owner_index=_owner_index())


def _owner_index() -> str:
    return PREVIOUS_OWNER_INDEX if settings().owner_log_from_previous_index else OWNER_INDEX


def address_policy() -> AddressPolicy:
    return AddressPolicy(allow_loopback=settings().allow_loopback_targets)


@cache
def sender() -> Sender:
    """The process's sender; a process that sends deliveries keeps its threads to one CPU from here on, unless
    DELIVERY_THREADS_ON_ONE_CPU is off (cpu_affinity.py)."""
    config = settings()
    if config.delivery_threads_on_one_cpu:
        keep_to_one_cpu()
    return Sender(
        address_policy(),
        connect_timeout=config.connect_timeout,
        total_timeout=config.total_timeout,
        connections_per_host=config.max_connections_per_host,
    )


def circuit_rules() -> CircuitRules:
    config = settings()
    return CircuitRules(
        open_after_failures=config.circuit_open_after_failures,
        open_after_seconds=config.circuit_open_after_seconds,
        probe_seconds=config.circuit_probe_seconds,
        probe_max_seconds=config.circuit_probe_max_seconds,
        disable_after_seconds=config.auto_disable_after_seconds,
        disable_min_attempts=config.auto_disable_min_attempts,
        probe_lease_seconds=config.total_timeout + 5,  # a probe has settled by then, whatever its answer
    )


@cache
def breaker() -> Breaker:
    config = settings()
    health = CircuitStore(config.hooks_table)
    parking = Parking(delivery_index(), RetryQueue(config.retry_queue_url), health)
    return Breaker(circuit_rules(), health, HookStore(config.hooks_table), parking)


def event_bus() -> EventBus | None:
    """The stack's bus, where operational events go (None without EVENT_BUS_NAME: they are only logged)."""
    name = settings().event_bus_name
    return EventBus(name) if name else None


@cache
def rate_limit_buckets() -> RateLimitStore:
    config = settings()
    return RateLimitStore(config.deliveries_table, keep_seconds=config.retention_days * 86400)


@cache
def dispatcher() -> Dispatcher:
    from oms_webhooks.rules.dispatch import Dispatcher

    config = settings()
    return Dispatcher(
        hooks=HookStore(config.hooks_table),
        deliveries=delivery_store(),
        sender=sender(),
        retries=RetryQueue(config.retry_queue_url),
        workers=config.dispatch_concurrency,
        retention_days=config.retention_days,
        fanout=FanoutQueue(config.fanout_queue_url),
        batch_size=config.fanout_batch_size,
        breaker=breaker(),
        rate_limits=RateLimiter(rate_limit_buckets(), hold=DISPATCH_HOLD_SECONDS),
        bus=event_bus(),
        ordering=ordered_deliveries(),
    )


@cache
def retrier() -> Retrier:
    from oms_webhooks.rules.retrier import Retrier

    config = settings()
    return Retrier(
        hooks=HookStore(config.hooks_table),
        deliveries=delivery_store(),
        sender=sender(),
        queue=RetryQueue(config.retry_queue_url),
        resend_after_receives=config.retry_resend_after_receives,
        breaker=breaker(),
        rate_limits=RateLimiter(rate_limit_buckets(), hold=RETRY_HOLD_SECONDS),
        bus=event_bus(),
    )


def ordered_deliveries() -> OrderedDeliveries:
    from oms_webhooks.adapters.order_heads import OrderHeads
    from oms_webhooks.adapters.ordered_queue import OrderedQueue
    from oms_webhooks.rules.ordering import OrderedDeliveries

    config = settings()
    return OrderedDeliveries(
        delivery_store(),
        delivery_index(),
        OrderedQueue(config.ordered_queue_url),
        OrderHeads(config.deliveries_table),
    )


@cache
def sequencer() -> Sequencer:
    """Attempts as the retrier does, with a breaker that never parks: an ordered delivery keeps its place."""
    from oms_webhooks.adapters.order_heads import OrderHeads
    from oms_webhooks.adapters.ordered_queue import OrderedQueue
    from oms_webhooks.adapters.owner_places import OwnerPlaces
    from oms_webhooks.rules.retrier import Retrier
    from oms_webhooks.rules.sequencer import Sequencer

    config = settings()
    health = CircuitStore(config.hooks_table)
    attempts = Retrier(
        hooks=HookStore(config.hooks_table),
        deliveries=delivery_store(),
        sender=sender(),
        queue=RetryQueue(config.retry_queue_url),
        breaker=Breaker(circuit_rules(), health, HookStore(config.hooks_table), parking=None),
        rate_limits=RateLimiter(rate_limit_buckets(), hold=RETRY_HOLD_SECONDS),
        bus=event_bus(),
    )
    return Sequencer(
        attempts,
        OrderedQueue(config.ordered_queue_url),
        OrderHeads(config.deliveries_table),
        RetryQueue(config.retry_queue_url),
        window=config.ordering_window_seconds,
        places=OwnerPlaces(config.deliveries_table, config.sequencer_concurrency_per_owner),
    )
