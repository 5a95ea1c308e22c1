"""An OMS event as it arrives from EventBridge: id, type (the detail-type) and the payload in `detail`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from oms_webhooks.domain.errors import problems
from oms_webhooks.domain.event_catalog import canonical_event_type

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


@dataclass(frozen=True)
class OmsEvent:
    id: str
    event_type: str
    payload: Any

    @classmethod
    def from_eventbridge(cls, raw: Any) -> OmsEvent:
        """Raises MalformedEvent naming every field that is wrong (`detail.payload: ...`)."""
        try:
            envelope = parse(event=raw, model=OmsEventBridgeModel)
        except ValidationError as invalid:
            raise MalformedEvent(problems(invalid)) from None
        return cls(envelope.id, envelope.detail_type, envelope.detail.payload)
