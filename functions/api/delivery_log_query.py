"""The delivery log's filters as a query names them (whisperer's WebhookEventFilter), read as django-filter reads
them: an empty value filters nothing, a malformed one is 400 with Django's message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from form_values import boolean_value, datetime_value, integer_value, uuid_value
from pydantic import BaseModel, Field

from oms_webhooks.domain.deliveries import Status
from oms_webhooks.domain.errors import InvalidFields
from oms_webhooks.domain.event_catalog import subscribable_event_type
from oms_webhooks.domain.hooks import MAX_HOOK_ID
from oms_webhooks.rules.delivery_log import INVALID_CHOICE, DeliveryFilters

_AT = "ISO 8601 or one of Django's input formats (`2024-05-01`, `2024-05-01 10:00`, `05/01/2024`); without a zone, UTC."
_TIME = {"format": "date-time"}


def _text(description: str, **schema: Any) -> Any:
    """A filter: text, absent by default; `schema` is what the text holds (JSON Schema), for the API's document."""
    return Field(None, description=description, json_schema_extra=schema)


class DeliveryLogQuery(BaseModel):
    """The delivery log's filters as a query names them: whisperer's WebhookEventFilter in its order, then this
    service's `status`. Each is text, read as django-filter reads it (`delivery_filters`): an empty value
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
    event_id: str | None = _text(
        "Only the deliveries of this OMS event (a delivery's `event_id`), one per hook it reached: found by key "
        "(one Query of the owner's hooks and one BatchGetItem per 100 of them), not by reading the log."
    )


FILTERS = tuple(DeliveryLogQuery.model_fields)


def delivery_filters(query: Mapping[str, str | None]) -> DeliveryFilters:
    """Read as django-filter reads whisperer's filterset: an empty value filters nothing; a malformed one is
    refused (400) with Django's message, every malformed one at once."""
    filters = DeliveryFilters()
    errors: dict[str, list[str]] = {}
    for name in FILTERS:
        text = (query.get(name) or "").strip()
        if not text:
            continue
        try:
            _add(filters, name, text)
        except ValueError as refused:
            errors[name] = [str(refused)]
    if errors:
        raise InvalidFields(errors)
    return filters


def _add(filters: DeliveryFilters, name: str, text: str) -> None:
    if name == "uuid":
        filters.uuid = uuid_value(text)
    elif name == "webhook":
        if not (text.isascii() and text.isdecimal()) or int(text) > MAX_HOOK_ID:
            raise ValueError(INVALID_CHOICE)
        filters.conditions["webhook"] = int(text)
    elif name == "event_type":  # whisperer: the hook's event type, ignoring case
        canonical = subscribable_event_type(text.lower())
        filters.conditions["event_type"] = canonical
        filters.nothing |= canonical is None
    elif name == "delivered":
        filters.conditions["delivered"] = boolean_value(text)
    elif name == "response_http_status":
        status = integer_value(text)
        filters.conditions["response_http_status"] = status
        filters.nothing |= not 0 <= status <= 999
    elif name == "object_id":
        filters.conditions["object_id"] = text
    elif name == "content_type":  # a Django content type in whisperer; deliveries here have none
        raise ValueError(INVALID_CHOICE)
    elif name == "event_id":
        filters.event_id = text
    elif name == "status":
        if text not in get_args(Status):
            raise ValueError(f'"{text}" is not a valid choice.')
        filters.conditions["status"] = text
    else:
        filters.bound(name.removeprefix("created_date").removeprefix("__") or "exact", datetime_value(text))
