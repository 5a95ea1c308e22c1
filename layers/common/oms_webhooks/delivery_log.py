"""The `hook_events` API's rules: an owner's delivery log, and retrying one delivery by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms_webhooks.catalog import canonical_event_type
from oms_webhooks.deliveries import Delivery
from oms_webhooks.delivery_step import take_step
from oms_webhooks.delivery_store import DeliveryStore
from oms_webhooks.errors import AlreadyDelivered, InvalidField, NotFound, StillRetrying
from oms_webhooks.hook_store import HookStore
from oms_webhooks.pagination import Page, decode_cursor, encode_cursor, page_size
from oms_webhooks.sender import Sender, SendResult


@dataclass
class DeliveryFilters:
    webhook: int | None = None
    event_type: str | None = None
    delivered: bool | None = None
    response_http_status: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def as_conditions(self) -> dict[str, Any]:
        conditions: dict[str, Any] = {}
        if self.webhook is not None:
            conditions["webhook"] = self.webhook
        if self.event_type is not None:
            canonical = canonical_event_type(self.event_type)
            if canonical is None:
                raise InvalidField("event_type", f'"{self.event_type}" is not a valid choice.')
            conditions["event_type"] = canonical
        if self.delivered is not None:
            conditions["delivered"] = self.delivered
        if self.response_http_status is not None:
            conditions["response_http_status"] = self.response_http_status
        return conditions


class DeliveryLog:
    def __init__(self, deliveries: DeliveryStore, hooks: HookStore, sender: Sender | None = None) -> None:
        self.deliveries = deliveries
        self.hooks = hooks
        self.sender = sender

    def find(self, owner: str, filters: DeliveryFilters, limit: int | None, cursor: str | None) -> Page[Delivery]:
        start = decode_cursor(cursor)
        found, last = self.deliveries.query_owner(
            owner,
            filters.as_conditions(),
            filters.created_from,
            filters.created_to,
            page_size(limit),
            start.get("after") if start else None,
        )
        return Page(found, encode_cursor({"after": last}) if last else None)

    def get(self, owner: str, uuid: str) -> Delivery:
        return self.deliveries.get(uuid, owner)

    def retry(self, owner: str, uuid: str, force: bool) -> tuple[Delivery, SendResult]:
        """Whisperer's manual retry: one attempt now, recorded with the others; the schedule is left as it is."""
        delivery = self.deliveries.get(uuid, owner)
        if delivery.delivered:
            raise AlreadyDelivered(uuid)
        if delivery.status in ("pending", "retrying", "deferred") and not force:
            raise StillRetrying(uuid)
        try:
            hook = self.hooks.get(owner, delivery.webhook)
        except NotFound:
            raise NotFound(f"the hook of delivery {uuid} no longer exists") from None
        assert self.sender is not None, "a DeliveryLog that retries needs a Sender"
        step = take_step(delivery, hook, self.sender, self.hooks, manual=True)  # a success marks it delivered
        self.deliveries.save(delivery)
        assert step.result is not None, "a manual attempt is never deferred"
        return delivery, step.result
