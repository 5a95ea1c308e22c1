"""The OMS event catalog: the event types a hook may subscribe to."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "package.created",
    "package.status.transitioned",
    "package.status.packed",
    "package.status.cancelled",
    "package.status.shipped",
    "package.status.packed_for_refund",
    "package.shipment.awb_number",
    "shipment.created",
    "shipment.status.updated",
    "shipment.cancelled",
    "transfer.status.created",
    "transfer.status.transitioned",
    "transfer.status.in_transit",
    "transfer.status.transferred",
    "transfer.status.cancelled",
    "transfer.status.ready_to_shipment",
    "stock_location.created",
    "stock_location.updated",
)

_BY_ALIAS: dict[str, str] = {name.replace(".", "-"): name for name in EVENT_TYPES}
_KNOWN = frozenset(EVENT_TYPES)


def canonical_event_type(name: str) -> str | None:
    """Whisperer clients may send `package-created` for `package.created`; both name one event."""
    if name in _KNOWN:
        return name
    return _BY_ALIAS.get(name)
