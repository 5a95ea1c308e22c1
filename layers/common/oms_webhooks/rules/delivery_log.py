"""The `hook_events` API's rules: an owner's delivery log, filtered as whisperer's filterset filters it, and
retrying one delivery by hand."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import BaseModel, Field

from oms_webhooks.adapters.delivery_store import NEWEST_END, OLDEST_END, SORT_KEY, DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.domain.catalog import canonical_event_type
from oms_webhooks.domain.deliveries import UNFINISHED, Delivery, Status
from oms_webhooks.domain.errors import (
    AlreadyDelivered,
    AmbiguousNumber,
    InvalidField,
    InvalidFields,
    NotFound,
    StillRetrying,
)
from oms_webhooks.domain.form_values import boolean_value, datetime_value, integer_value, uuid_value
from oms_webhooks.domain.hooks import MAX_HOOK_ID, Hook
from oms_webhooks.domain.pagination import Page, decode_cursor, encode_cursor, page_size
from oms_webhooks.rules.breaker import Breaker
from oms_webhooks.rules.delivery_step import take_step

INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."
MAX_NUMBER_DIGITS = 16  # a delivery's integer id is below 2**53; a uuid is 32 hex digits
_AT = "ISO 8601 or one of Django's input formats (`2024-05-01`, `2024-05-01 10:00`, `05/01/2024`); without a zone, UTC."
_TIME = {"format": "date-time"}


def _text(description: str, **schema: Any) -> Any:
    """A filter: text, absent by default; `schema` is what the text holds (JSON Schema), for the API's document."""
    return Field(None, description=description, json_schema_extra=schema)


class DeliveryLogQuery(BaseModel):
    """The delivery log's filters as a query names them: whisperer's WebhookEventFilter in its order, then this
    service's `status`. Each is text, read as django-filter reads it (`DeliveryFilters.from_query`): an empty value
    filters nothing, a malformed one is 400. The API's query parameters are these fields."""

    uuid: str | None = _text("Only the delivery with this uuid (any form of a uuid).", format="uuid")
    webhook: str | None = _text(
        "Only this hook's deliveries; a hook id the owner does not have is 400.", type="integer"
    )
    event_type: str | None = _text(
        "Only deliveries of this event type, in any case; the dashed form (`package-created`) names the same type. "
        "A type not in the catalog matches nothing."
    )
    delivered: str | None = _text("Only delivered (`true`) or undelivered (`false`) ones.", type="boolean")
    response_http_status: str | None = _text("Only those whose last answer had this HTTP status.", type="integer")
    created_date: str | None = _text(f"Only those created at exactly this time. {_AT}", **_TIME)
    created_date__gt: str | None = _text(f"Only those created after this time. {_AT}", **_TIME)
    created_date__gte: str | None = _text(f"Only those created at or after this time. {_AT}", **_TIME)
    created_date__lt: str | None = _text(f"Only those created before this time. {_AT}", **_TIME)
    created_date__lte: str | None = _text(f"Only those created at or before this time. {_AT}", **_TIME)
    object_id: str | None = _text("Only those about this OMS object: the `id` in the payload.")
    content_type: str | None = _text(
        "Whisperer's Django content type. Deliveries here have none, so any value is 400, as an unknown content "
        "type is in whisperer.",
        type="integer",
    )
    status: str | None = _text("Only those in this state.", enum=list(get_args(Status)))


FILTERS = tuple(DeliveryLogQuery.model_fields)


@dataclass
class DeliveryFilters:
    """What a list of deliveries is narrowed to: equalities, the uuid, and bounds on the `ByOwner` sort key."""

    uuid: str | None = None
    conditions: dict[str, Any] = field(default_factory=dict)  # attribute name -> the value it must equal
    low: str | None = None  # sort keys from this one on (included) ...
    high: str | None = None  # ... up to this one (included)
    nothing: bool = False  # a filter no delivery can meet (an event type not in the catalog, a status of 1000)

    @property
    def webhook(self) -> int | None:
        return self.conditions.get("webhook")

    @classmethod
    def from_query(cls, query: Mapping[str, str | None]) -> DeliveryFilters:
        """Read as django-filter reads whisperer's filterset: an empty value filters nothing; a malformed one is
        refused (400) with Django's message, every malformed one at once."""
        filters = cls()
        errors: dict[str, list[str]] = {}
        for name in FILTERS:
            text = (query.get(name) or "").strip()
            if not text:
                continue
            try:
                filters._add(name, text)
            except ValueError as refused:
                errors[name] = [str(refused)]
        if errors:
            raise InvalidFields(errors)
        if filters.low is not None and filters.high is not None and filters.low > filters.high:
            filters.nothing = True
        return filters

    def _add(self, name: str, text: str) -> None:
        if name == "uuid":
            self.uuid = uuid_value(text)
        elif name == "webhook":
            if not (text.isascii() and text.isdecimal()) or int(text) > MAX_HOOK_ID:
                raise ValueError(INVALID_CHOICE)
            self.conditions["webhook"] = int(text)
        elif name == "event_type":  # whisperer: the hook's event type, ignoring case
            canonical = canonical_event_type(text.lower())
            self.conditions["event_type"] = canonical
            self.nothing |= canonical is None
        elif name == "delivered":
            self.conditions["delivered"] = boolean_value(text)
        elif name == "response_http_status":
            status = integer_value(text)
            self.conditions["response_http_status"] = status
            self.nothing |= not 0 <= status <= 999
        elif name == "object_id":
            self.conditions["object_id"] = text
        elif name == "content_type":  # a Django content type in whisperer; deliveries here have none
            raise ValueError(INVALID_CHOICE)
        elif name == "status":
            if text not in get_args(Status):
                raise ValueError(f'"{text}" is not a valid choice.')
            self.conditions["status"] = text
        else:
            self._bound(name.removeprefix("created_date").removeprefix("__") or "exact", datetime_value(text))

    def _bound(self, lookup: str, moment: datetime) -> None:
        """created_date's lookups as bounds on sort keys, `<created iso>#<uuid>`: `$` sorts after `#`."""
        at = _sort_key_time(moment)
        if lookup in ("exact", "gte", "gt"):
            low = at + "$" if lookup == "gt" else at
            self.low = low if self.low is None else max(self.low, low)
        if lookup in ("exact", "lte", "lt"):
            high = at if lookup == "lt" else at + "$"
            self.high = high if self.high is None else min(self.high, high)


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
        self, deliveries: DeliveryStore, hooks: HookStore, sender: Sender | None = None, breaker: Breaker | None = None
    ) -> None:
        self.deliveries = deliveries
        self.hooks = hooks
        self.sender = sender
        self.breaker = breaker  # a manual retry that delivers ends its hook's failure streak
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
            return self.deliveries.get(uuid_value(key), owner)
        except ValueError:
            raise NotFound(key) from None

    def public(self, owner: str, deliveries: Iterable[Delivery]) -> list[dict[str, Any]]:
        """The answers, each with its hook nested: the page's hooks read in one BatchGetItem per 100."""
        shown = list(deliveries)
        wanted = {d.webhook for d in shown} - set(self.known_hooks)
        if wanted:
            self.known_hooks.update(self.hooks.get_many(owner, wanted))
        return [d.public(_hook_answer(self.known_hooks.get(d.webhook))) for d in shown]

    def retry(self, owner: str, key: str, force: bool) -> tuple[Delivery, SendResult]:
        """Whisperer's manual retry: one attempt now, recorded with the others; the schedule is left as it is."""
        delivery = self.get(owner, key)
        if delivery.delivered:
            raise AlreadyDelivered(delivery.uuid)
        if delivery.status in UNFINISHED and not force:
            raise StillRetrying(delivery.uuid)
        try:
            hook = self.hooks.get(owner, delivery.webhook)
        except NotFound:
            raise NotFound(f"the hook of delivery {delivery.uuid} no longer exists") from None
        assert self.sender is not None, "a DeliveryLog that retries needs a Sender"
        gate = self.breaker.for_hook(hook) if self.breaker and hook.is_active else None
        seen = len(delivery.attempts), delivery.deferral_count
        step = take_step(delivery, hook, self.sender, self.hooks, manual=True, gates=(gate,) if gate else ())
        mine = delivery  # a success marked it delivered; the retrier may have written the record meanwhile
        delivery = self.deliveries.save(delivery, replay=lambda fresh: mine.replayed_onto(fresh, *seen))
        if gate:
            gate.flush()
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
