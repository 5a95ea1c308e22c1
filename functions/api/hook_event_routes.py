"""`/whisperer/hook_events/`: an owner's delivery log, one delivery with its attempts, and a retry by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict

import api_schema as doc
from answers import answer, page
from oms_webhooks import telemetry
from oms_webhooks.rules.delivery_log import DeliveryFilters
from parameters import Cursor, DeliveryKey, Limit, current_event, owner
from services import delivery_log

router = Router()
logger = Logger(child=True)


def delivery_filter(name: str) -> Any:
    """A filter of the delivery log: read as text here, by whisperer's rules in the core (DeliveryFilters)."""
    description, schema = doc.DELIVERY_FILTERS[name]
    return Query(description=description, json_schema_extra=schema)


@router.get(
    "/whisperer/hook_events",
    summary="The owner's delivery log, newest first",
    operation_id="hook_events_list",
    tags=["hook_events"],
    responses=doc.responses(200, "A page of deliveries.", doc.HookEventPage, errors=(400,)),
)
def list_deliveries(
    limit: Limit = None,
    cursor: Cursor = None,
    uuid: Annotated[str | None, delivery_filter("uuid")] = None,
    webhook: Annotated[str | None, delivery_filter("webhook")] = None,
    event_type: Annotated[str | None, delivery_filter("event_type")] = None,
    delivered: Annotated[str | None, delivery_filter("delivered")] = None,
    response_http_status: Annotated[str | None, delivery_filter("response_http_status")] = None,
    created_date: Annotated[str | None, delivery_filter("created_date")] = None,
    created_date__gt: Annotated[str | None, delivery_filter("created_date__gt")] = None,
    created_date__gte: Annotated[str | None, delivery_filter("created_date__gte")] = None,
    created_date__lt: Annotated[str | None, delivery_filter("created_date__lt")] = None,
    created_date__lte: Annotated[str | None, delivery_filter("created_date__lte")] = None,
    object_id: Annotated[str | None, delivery_filter("object_id")] = None,
    content_type: Annotated[str | None, delivery_filter("content_type")] = None,
    status: Annotated[str | None, delivery_filter("status")] = None,
) -> Response[Any]:
    filters = DeliveryFilters.from_query(current_event().query_string_parameters or {})
    log = delivery_log()
    result = log.find(owner(), filters, limit, cursor)
    return answer(200, page(result, log.public(owner(), result.items)))


@router.get(
    "/whisperer/hook_events/<id>",
    summary="One delivery with all its attempts",
    operation_id="hook_events_retrieve",
    tags=["hook_events"],
    responses=doc.responses(200, "The delivery.", doc.HookEvent, errors=(404, 409)),
)
def get_delivery(id: DeliveryKey) -> Response[Any]:
    log = delivery_log()
    [shown] = log.public(owner(), [log.get(owner(), id)])
    return answer(200, shown)


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
        errors=(400, 404, 406, 409, 413, 415),
        e406=(
            "Already delivered (`event_100_3`); still being retried and not forced (`event_100_6`); "
            "or this attempt failed too (the outcome).",
            doc.ErrorCode | doc.RetryOutcome,
        ),
    ),
)
def retry_delivery(id: DeliveryKey, request: Annotated[RetryRequest | None, Body()] = None) -> Response[Any]:
    delivery, result = delivery_log().retry(owner(), id, force=bool(request and request.force))
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
