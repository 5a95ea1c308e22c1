"""An OMS event as it arrives from EventBridge: id, type (the detail-type) and the payload in `detail`; or one of
the service's operational events (Source `oms.webhooks`), which names in its detail the owner it is about."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from oms_webhooks.clock import epoch
from oms_webhooks.domain.errors import problems
from oms_webhooks.domain.event_catalog import canonical_event_type
from oms_webhooks.domain.operational_events import OPERATIONAL_SOURCE, is_operational

MAX_PAYLOAD_BYTES = 256 * 1024  # EventBridge's own limit for a whole event


class MalformedEvent(ValueError):
    """An event that cannot be delivered as it is; retrying it would not help."""


def _catalogued(detail_type: str) -> str:
    """Whisperer's dashed names (`package-created`) are read as the dotted ones."""
    event_type = canonical_event_type(detail_type)
    if event_type is None:
        raise PydanticCustomError("event_type", "unknown event type {name}", {"name": repr(detail_type)})
    return event_type


def _deliverable(payload: Any) -> Any:
    if not isinstance(payload, dict | list):
        raise PydanticCustomError("payload", "the payload must be a JSON object or array")
    if len(json.dumps(payload, ensure_ascii=False).encode()) > MAX_PAYLOAD_BYTES:
        raise PydanticCustomError("payload", "the payload is larger than {limit} bytes", {"limit": MAX_PAYLOAD_BYTES})
    return payload


class OmsEventDetail(BaseModel):
    """What the OMS puts in an event's `detail`: the payload every subscribed hook receives as it is."""

    payload: Annotated[Any, AfterValidator(_deliverable)]


class OmsEventBridgeModel(EventBridgeModel):
    """EventBridge's envelope of an OMS event, its detail-type a catalogued event type."""

    id: str = Field(min_length=1, max_length=128)
    detail_type: Annotated[str, AfterValidator(_catalogued)] = Field(alias="detail-type")
    detail: OmsEventDetail


def _operational(detail_type: str) -> str:
    if not is_operational(detail_type):
        raise PydanticCustomError("event_type", "unknown operational event type {name}", {"name": repr(detail_type)})
    return detail_type


class OperationalEventDetail(BaseModel):
    """What the service puts in an operational event's `detail`: the owner it is about, and the payload."""

    owner: str = Field(min_length=1)
    payload: dict[str, Any]


class OperationalEventBridgeModel(EventBridgeModel):
    """EventBridge's envelope of an operational event (operational_events.py): only the service's own Source."""

    id: str = Field(min_length=1, max_length=128)
    source: Literal["oms.webhooks"]
    detail_type: Annotated[str, AfterValidator(_operational)] = Field(alias="detail-type")
    detail: OperationalEventDetail


@dataclass(frozen=True)
class OmsEvent:
    id: str
    event_type: str
    payload: Any
    owner: str | None = None  # an operational event's: only this owner's hooks receive it
    # When it was published (EventBridge's `time`, whole seconds) and when the dispatcher received it: what orders the
    # deliveries of one object to an ordered hook (domain/ordering.py).
    published: float | None = None
    received: float | None = None

    @classmethod
    def from_eventbridge(cls, raw: Any) -> OmsEvent:
        """Raises MalformedEvent naming every field that is wrong (`detail.payload: ...`). An operational type is
        read only from the service's own Source: from the OMS's it is an unknown type, so no one else names owners."""
        try:
            if isinstance(raw, dict) and raw.get("source") == OPERATIONAL_SOURCE:
                operational = parse(event=raw, model=OperationalEventBridgeModel)
                detail = operational.detail
                published = operational.time.timestamp()
                return cls(operational.id, operational.detail_type, detail.payload, detail.owner, published, epoch())
            envelope = parse(event=raw, model=OmsEventBridgeModel)
        except ValidationError as invalid:
            raise MalformedEvent(problems(invalid)) from None
        return cls(envelope.id, envelope.detail_type, envelope.detail.payload, None, envelope.time.timestamp(), epoch())
