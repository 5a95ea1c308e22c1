"""`/whisperer/hook_events/`: an owner's delivery log, one delivery with its attempts, and a retry by hand."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from delivery_log_query import DeliveryLogQuery, delivery_filters
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

import api_schema as doc
from answers import answer, page
from oms_webhooks import telemetry
from oms_webhooks.domain.deliveries import Delivery
from parameters import Cursor, DeliveryKey, Limit, owner
from services import delivery_log

router = Router()
logger = Logger(child=True)


def with_delivery_log_query(route: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
    """The route takes the delivery log's filters too, each as a query parameter read as text: Powertools reads a
    route's parameters from its signature, so the model that names the filters (`DeliveryLogQuery`) adds them."""
    signature = inspect.signature(route)
    own = [parameter for parameter in signature.parameters.values() if parameter.kind != parameter.VAR_KEYWORD]
    filters = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=text_query(field))
        for name, field in DeliveryLogQuery.model_fields.items()
    ]
    route.__signature__ = signature.replace(parameters=[*own, *filters])  # type: ignore[attr-defined]
    return route


def text_query(field: FieldInfo) -> Any:
    """A query parameter read as text, with the description and JSON Schema (a dict) of DeliveryLogQuery's field."""
    schema = cast(dict[str, Any], field.json_schema_extra)
    return Annotated[str | None, Query(description=field.description, json_schema_extra=schema)]


@router.get(
    "/whisperer/hook_events",
    summary="The owner's delivery log, newest first",
    operation_id="hook_events_list",
    tags=["hook_events"],
    responses=doc.responses(200, "A page of deliveries.", doc.HookEventPage, errors=(400,)),
)
@with_delivery_log_query
def list_deliveries(limit: Limit = None, cursor: Cursor = None, **query: str | None) -> Response[Any]:
    filters = delivery_filters(query)
    log = delivery_log()
    result = log.find(owner(), filters, limit, cursor)
    return answer(200, page(result, log.public(owner(), result.items)))


@router.get(
    "/whisperer/hook_events/<id>",
    summary="One delivery with all its attempts",
    operation_id="hook_events_retrieve",
    tags=["hook_events"],
    responses=doc.responses(200, "The delivery.", doc.HookEventDetail, errors=(404, 409)),
)
def get_delivery(id: DeliveryKey) -> Response[Any]:
    return answer(200, detail(owner(), delivery_log().get(owner(), id)))


def detail(owner: str, delivery: Delivery) -> dict[str, Any]:
    """A delivery as its own page shows it: the log's fields and `request_body`, the bytes sent, as text (a
    browser copies them as they are, rather than re-serialising `request_payload`)."""
    [shown] = delivery_log().public(owner, [delivery])
    return {**shown, "request_body": delivery.body().decode()}


class RetryRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    force: bool = False


@router.post(
    "/whisperer/hook_events/<id>/retry",
    summary="Retry a delivery by hand, now",
    operation_id="hook_events_retry",
    tags=["hook_events"],
    responses=doc.responses(
        200,
        "Delivered by this attempt.",
        doc.RetryOutcome,
        errors=(202, 400, 404, 406, 409, 413, 415),
        e202=(
            'A failed delivery of a hook with `ordering` `"object"`: queued again behind the earlier deliveries '
            'of its object, not sent now (README, "Ordered delivery").',
            doc.QueuedInOrder,
        ),
        e406=(
            "Already delivered (`event_100_3`); still being retried and not forced (`event_100_6`); waiting behind "
            "an earlier delivery of its object (`ordered_100_1`); or this attempt failed too (the outcome).",
            doc.ErrorCode | doc.HeldInOrder | doc.RetryOutcome,
        ),
    ),
)
def retry_delivery(
    id: DeliveryKey, request: Annotated[RetryRequest | None, Body()] = None
) -> Response[doc.RetryOutcome | doc.QueuedInOrder]:
    log = delivery_log()
    delivery, result = log.retry(owner(), id, force=bool(request and request.force))
    if result is None:
        [shown] = log.public(owner(), [delivery])
        logger.info("Manual retry queued in order", extra={"delivery_uuid": delivery.uuid, "hook_id": delivery.webhook})
        queued = {"detail": "Queued behind the earlier deliveries of its object", "queued": True, "delivered": False}
        return answer(202, {**queued, "waits_for": shown["waits_for"]})
    telemetry.record_attempt(delivery.attempts[-1])
    logger.info(
        "Manual retry attempted",
        extra={
            "delivery_uuid": delivery.uuid,
            "hook_id": delivery.webhook,
            "event_id": delivery.event_id,
            "delivered": delivery.delivered,
            "response_http_status": result.status_code,
        },
    )
    outcome = {
        "detail": "Webhook event delivered successfully" if delivery.delivered else "Webhook event delivery failed",
        "response_status": delivery.response_http_status,  # 500 when no answer came, as in whisperer
        "response_content": delivery.response_content,
        "delivered": delivery.delivered,
        # whisperer answers its serializer's timedelta, which DRF's JSON encoder writes as str(total_seconds())
        "response_time": str(timedelta(seconds=result.duration).total_seconds()),
    }
    return answer(200 if delivery.delivered else 406, outcome)
