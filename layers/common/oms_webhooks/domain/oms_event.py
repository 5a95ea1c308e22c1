"""An OMS event as it arrives from EventBridge: id, type (the detail-type) and the payload in `detail`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from oms_webhooks.domain.catalog import canonical_event_type

MAX_PAYLOAD_BYTES = 256 * 1024  # EventBridge's own limit for a whole event


class MalformedEvent(ValueError):
    """An event that cannot be delivered as it is; retrying it would not help."""


@dataclass(frozen=True)
class OmsEvent:
    id: str
    event_type: str
    payload: Any

    @classmethod
    def from_eventbridge(cls, raw: Any) -> OmsEvent:
        if not isinstance(raw, dict):
            raise MalformedEvent("an EventBridge event must be a JSON object")
        event_id = raw.get("id")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
            raise MalformedEvent("the event has no usable id")
        detail_type = raw.get("detail-type")
        event_type = canonical_event_type(detail_type) if isinstance(detail_type, str) else None
        if event_type is None:
            raise MalformedEvent(f"unknown event type {detail_type!r}")
        detail = raw.get("detail")
        if not isinstance(detail, dict) or "payload" not in detail:
            raise MalformedEvent('the event detail must be an object with a "payload"')
        payload = detail["payload"]
        if not isinstance(payload, dict | list):
            raise MalformedEvent("the payload must be a JSON object or array")
        if len(json.dumps(payload, ensure_ascii=False).encode()) > MAX_PAYLOAD_BYTES:
            raise MalformedEvent(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
        return cls(event_id, event_type, payload)
