"""The `hook_events` API's rules: an owner's delivery log, filtered as whisperer's filterset filters it, and
retrying one delivery by hand.

One event's deliveries (`event_id`) are found by key, not by a scan: a delivery's uuid derives from the event's id
and its hook's (`delivery_id`), so the owner's hooks name every uuid the event can have, read in one BatchGetItem
per 100 hooks after one Query of the owner's hooks (per 1 MB of them). Dispatch writes nothing for this."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oms_webhooks.adapters.delivery_store import NEWEST_END, OLDEST_END, SORT_KEY, DeliveryStore
from oms_webhooks.adapters.event_bus import EventBus
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.domain.deliveries import UNFINISHED, Delivery, delivery_id, uuid_hex
from oms_webhooks.domain.errors import (
    AlreadyDelivered,
    AmbiguousNumber,
    HeldInOrder,
    InvalidField,
    InvalidFields,
    NotFound,
    StillRetrying,
)
from oms_webhooks.domain.hooks import Hook
from oms_webhooks.domain.ordering import Ordering
from oms_webhooks.domain.pagination import Page, decode_cursor, encode_cursor, page_size
from oms_webhooks.rules.circuit_breaker import Breaker
from oms_webhooks.rules.delivery_step import take_step
from oms_webhooks.rules.operational_outbox import OperationalOutbox
from oms_webhooks.rules.ordering import OrderedDeliveries, ordering_of

INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."
HOOKS_PER_QUERY = 1000  # an event's deliveries: the owner's hooks read this many a Query page
TEST_EVENT_PREFIX = "test:"  # a test delivery's event id is this and its own uuid (trial.py)
MAX_NUMBER_DIGITS = 16  # a delivery's integer id is below 2**53; a uuid is 32 hex digits


@dataclass
class DeliveryFilters:
    """What a list of deliveries is narrowed to: equalities, the uuid, and bounds on the `ByOwner` sort key."""

    uuid: str | None = None
    event_id: str | None = None  # one event's deliveries, read by key (DeliveryLog._of_event)
    conditions: dict[str, Any] = field(default_factory=dict)  # attribute name -> the value it must equal
    low: str | None = None  # sort keys from this one on (included) ...
    high: str | None = None  # ... up to this one (included)
    nothing: bool = False  # a filter no delivery can meet (an event type not in the catalog, a status of 1000)

    @property
    def webhook(self) -> int | None:
        return self.conditions.get("webhook")

    def matches(self, delivery: Delivery) -> bool:
        """What DynamoDB checks in a query of the log, checked on a delivery read by its key."""
        key = f"{_sort_key_time(delivery.created_date)}#{delivery.uuid}"
        within = (self.low is None or key >= self.low) and (self.high is None or key <= self.high)
        wanted = self.uuid is None or delivery.uuid == self.uuid
        return within and wanted and all(getattr(delivery, name) == value for name, value in self.conditions.items())

    def bound(self, lookup: str, moment: datetime) -> None:
        """created_date's lookups as bounds on sort keys, `<created iso>#<uuid>`: `$` sorts after `#`."""
        at = _sort_key_time(moment)
        if lookup in ("exact", "gte", "gt"):
            low = at + "$" if lookup == "gt" else at
            self.low = low if self.low is None else max(self.low, low)
        if lookup in ("exact", "lte", "lt"):
            high = at if lookup == "lt" else at + "$"
            self.high = high if self.high is None else min(self.high, high)
        self.nothing |= self.low is not None and self.high is not None and self.low > self.high


def _sort_key_time(moment: datetime) -> str:
    """The time part of a sort key (`clock.iso`, zero-padded for any year); times beyond the calendar in UTC
    sort below or above every key."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return "0" if moment.year < 5000 else "~"
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
        f".{utc.microsecond:06d}Z"
    )


class DeliveryLog:
    def __init__(
        self,
        deliveries: DeliveryStore,
        hooks: HookStore,
        sender: Sender | None = None,
        breaker: Breaker | None = None,
        bus: EventBus | None = None,
        ordering: OrderedDeliveries | None = None,
    ) -> None:
        self.deliveries = deliveries
        self.hooks = hooks
        self.sender = sender
        self.breaker = breaker  # a manual retry that delivers ends its hook's failure streak
        self.bus = bus  # where what a manual retry changes (a 410, a circuit it closes) is told
        self.ordering = ordering  # ordered hooks' deliveries: what each waits for, and retries that keep the order
        self.known_hooks: dict[int, Hook] = {}  # hooks read while answering this request

    def find(self, owner: str, filters: DeliveryFilters, limit: int | None, cursor: str | None) -> Page[Delivery]:
        """A page of the owner's deliveries, newest first. `next` and `previous` are cursors on the sort key."""
        size = page_size(limit)
        after, before = _position(cursor)
        if filters.webhook is not None:
            try:
                self.known_hooks[filters.webhook] = self.hooks.get(owner, filters.webhook)
            except NotFound:
                raise InvalidFields({"webhook": [INVALID_CHOICE]}) from None
        if filters.nothing:
            return Page([])
        if filters.event_id is not None:
            return Page(self._of_event(owner, filters.event_id, filters))
        if filters.uuid is not None:
            one = self.deliveries.get_matching(owner, filters.uuid, filters.conditions, filters.low, filters.high)
            return Page([one] if one else [])
        found = self.deliveries.query_owner(
            owner, filters.conditions, filters.low, filters.high, size, after=after, before=before
        )
        return Page(
            found.items,
            cursor=encode_cursor({"after": found.older}) if found.older is not None else None,
            previous=encode_cursor({"before": found.newer}) if found.newer is not None else None,
        )

    def _of_event(self, owner: str, event_id: str, filters: DeliveryFilters) -> list[Delivery]:
        """The event's deliveries to the owner's hooks, newest first (a test event's id names its one delivery)."""
        if event_id.startswith(TEST_EVENT_PREFIX):
            uuids = [event_id.removeprefix(TEST_EVENT_PREFIX)]
        else:
            uuids, after = [], None
            while True:
                hooks, after = self.hooks.query_owner(owner, {}, HOOKS_PER_QUERY, after)
                uuids += [delivery_id(event_id, hook.id) for hook in hooks]
                if after is None:
                    break
        found = self.deliveries.get_many(uuids).values()
        mine = [d for d in found if d.owner == owner and d.event_id == event_id and filters.matches(d)]
        return sorted(mine, key=lambda d: (d.created_date, d.uuid), reverse=True)

    def get(self, owner: str, key: str) -> Delivery:
        """One delivery by its integer id or its uuid (32 hex digits, or dashed)."""
        if key.isascii() and key.isdecimal() and len(key) <= MAX_NUMBER_DIGITS:
            uuids = self.deliveries.uuids_numbered(owner, int(key))
            if len(uuids) > 1:
                raise AmbiguousNumber(int(key), uuids)
            if not uuids:
                raise NotFound(key)
            return self.deliveries.get(uuids[0], owner)
        try:
            return self.deliveries.get(uuid_hex(key), owner)
        except ValueError:
            raise NotFound(key) from None

    def public(self, owner: str, deliveries: Iterable[Delivery]) -> list[dict[str, Any]]:
        """The answers, each with its hook nested: the page's hooks read in one BatchGetItem per 100, and for the
        unfinished ordered deliveries among them, what each waits for (a call or two)."""
        shown = list(deliveries)
        wanted = {d.webhook for d in shown} - set(self.known_hooks)
        if wanted:
            self.known_hooks.update(self.hooks.get_many(owner, wanted))
        held = self.ordering.waits_for(shown) if self.ordering else {}
        return [d.public(_hook_answer(self.known_hooks.get(d.webhook)), held.get(d.uuid)) for d in shown]

    def retry(self, owner: str, key: str, force: bool) -> tuple[Delivery, SendResult | None]:
        """Whisperer's manual retry: one attempt now, recorded with the others; the schedule is left as it is. An
        ordered hook's delivery keeps its place (`_retry_in_order`): no result when it was queued instead."""
        delivery = self.get(owner, key)
        if delivery.delivered:
            raise AlreadyDelivered(delivery.uuid)
        try:
            hook: Hook | None = self.hooks.get(owner, delivery.webhook)
        except NotFound:
            hook = None
        ordering = ordering_of(hook, delivery) if hook is not None and self.ordering is not None else None
        if hook is not None and ordering is not None and ordering.group is not None:
            return self._retry_in_order(delivery, hook, ordering, force)
        if delivery.status in UNFINISHED and not force:
            raise StillRetrying(delivery.uuid)
        if hook is None:
            raise NotFound(f"the hook of delivery {delivery.uuid} no longer exists")
        return self._attempt_now(delivery, hook)

    def _retry_in_order(
        self, delivery: Delivery, hook: Hook, ordering: Ordering, force: bool
    ) -> tuple[Delivery, SendResult | None]:
        """The delivery its object's queue waits for is tried now (forced, as any unfinished one), and the queue goes
        on at once if it is delivered; one waiting behind another is refused, naming it (sending it would overtake
        it); a failed one is queued again behind what waits in its object's queue."""
        assert self.ordering is not None
        if delivery.status not in UNFINISHED:
            self.ordering.queue_ended([(delivery, ordering)])
            return self.deliveries.get(delivery.uuid), None
        head = self.ordering.head(delivery.model_copy(update={"ordering": ordering}))
        if head is None or head.uuid != delivery.uuid:
            raise HeldInOrder(delivery.uuid, head.uuid if head else None)
        if not force:
            raise StillRetrying(delivery.uuid)
        delivery, result = self._attempt_now(delivery, hook)
        if delivery.delivered:
            self.ordering.let_go(head)
        return delivery, result

    def _attempt_now(self, delivery: Delivery, hook: Hook) -> tuple[Delivery, SendResult]:
        assert self.sender is not None, "a DeliveryLog that retries needs a Sender"
        outbox = OperationalOutbox()
        gate = self.breaker.for_hook(hook, outbox) if self.breaker and hook.is_active else None
        seen = len(delivery.attempts), delivery.deferral_count
        gates = (gate,) if gate else ()
        step = take_step(delivery, hook, self.sender, self.hooks, manual=True, gates=gates, outbox=outbox)
        mine = delivery  # a success marked it delivered; the retrier may have written the record meanwhile
        delivery = self.deliveries.save(delivery, replay=lambda fresh: mine.replayed_onto(fresh, *seen))
        if gate:
            gate.flush()
        outbox.publish(self.bus)
        assert step.result is not None, "a manual attempt is never deferred"
        return delivery, step.result


def _hook_answer(hook: Hook | None) -> dict[str, Any] | None:
    return hook.public() if hook is not None else None


def _position(cursor: str | None) -> tuple[str | None, str | None]:
    """A cursor names a sort key to continue after (towards older) or before (towards newer)."""
    key = decode_cursor(cursor)
    if key is None:
        return None, None
    if set(key) == {"after"} and (key["after"] == NEWEST_END or SORT_KEY.match(key["after"])):
        return key["after"], None
    if set(key) == {"before"} and (key["before"] == OLDEST_END or SORT_KEY.match(key["before"])):
        return None, key["before"]
    raise InvalidField("cursor", "Invalid cursor.")
