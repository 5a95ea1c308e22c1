"""The whisperer REST API: hooks and hook_events. Thin: parse, call the core, shape the answer."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from oms_webhooks.delivery_log import DeliveryFilters, DeliveryLog
from oms_webhooks.delivery_store import DeliveryStore
from oms_webhooks.errors import AlreadyDelivered, DuplicateHook, InvalidField, NotFound, StillRetrying
from oms_webhooks.field_errors import field_errors
from oms_webhooks.hook_store import HookStore
from oms_webhooks.hooks import HookIn, HookPatch
from oms_webhooks.pagination import Page
from oms_webhooks.settings import settings
from oms_webhooks.subscriptions import HookFilters, Subscriptions
from oms_webhooks.wiring import address_policy, sender

MAX_BODY_BYTES = 64 * 1024

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)


def subscriptions() -> Subscriptions:
    return Subscriptions(HookStore(settings().hooks_table), address_policy())


def delivery_log() -> DeliveryLog:
    return DeliveryLog(DeliveryStore(settings().deliveries_table), HookStore(settings().hooks_table), sender())


def owner() -> str:
    """Set by the authorizer; API Gateway never calls us without it."""
    return app.current_event.request_context.authorizer.principal_id


def answer(status: int, body: Any = None) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def page(result: Page[Any], results: list[Any]) -> dict[str, Any]:
    """DRF's cursor page; `next` repeats this request's query with the new cursor."""
    next_url = None
    if result.cursor:
        event = app.current_event
        query = {**(event.query_string_parameters or {}), "cursor": result.cursor}
        host = event.headers.get("Host") or event.headers.get("host") or "localhost"
        scheme = event.headers.get("X-Forwarded-Proto") or event.headers.get("x-forwarded-proto") or "https"
        path = event.request_context.path or event.path
        next_url = f"{scheme}://{host}{path}?{urlencode(query)}"
    return {"next": next_url, "results": results}


@app.get("/whisperer/hooks/registry")
def registry() -> Response[Any]:
    return answer(200, Subscriptions.registry())


@app.get("/whisperer/hooks")
def list_hooks(
    limit: Annotated[int | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    target_url: Annotated[str | None, Query()] = None,
    event_type: Annotated[str | None, Query()] = None,
    is_active: Annotated[bool | None, Query()] = None,
) -> Response[Any]:
    filters = HookFilters(target_url=target_url, event_type=event_type, is_active=is_active)
    result = subscriptions().find(owner(), filters, limit, cursor)
    return answer(200, page(result, [hook.public() for hook in result.items]))


@app.post("/whisperer/hooks")
def create_hook(hook: Annotated[HookIn, Body()]) -> Response[Any]:
    return answer(201, subscriptions().create(owner(), hook).public())


@app.get("/whisperer/hooks/<hook_id>")
def get_hook(hook_id: str) -> Response[Any]:
    return answer(200, subscriptions().get(owner(), hook_number(hook_id)).public())


@app.put("/whisperer/hooks/<hook_id>")
def replace_hook(hook_id: str, hook: Annotated[HookIn, Body()]) -> Response[Any]:
    return answer(200, subscriptions().update(owner(), hook_number(hook_id), hook).public())


@app.patch("/whisperer/hooks/<hook_id>")
def update_hook(hook_id: str, hook: Annotated[HookPatch, Body()]) -> Response[Any]:
    return answer(200, subscriptions().update(owner(), hook_number(hook_id), hook).public())


@app.delete("/whisperer/hooks/<hook_id>")
def delete_hook(hook_id: str) -> Response[Any]:
    subscriptions().delete(owner(), hook_number(hook_id))
    return Response(status_code=204)


@app.get("/whisperer/hook_events")
def list_deliveries(
    limit: Annotated[int | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    webhook: Annotated[int | None, Query()] = None,
    event_type: Annotated[str | None, Query()] = None,
    delivered: Annotated[bool | None, Query()] = None,
    response_http_status: Annotated[int | None, Query()] = None,
    created_date__gte: Annotated[datetime | None, Query()] = None,
    created_date__lte: Annotated[datetime | None, Query()] = None,
) -> Response[Any]:
    filters = DeliveryFilters(
        webhook, event_type, delivered, response_http_status, aware(created_date__gte), aware(created_date__lte)
    )
    result = delivery_log().find(owner(), filters, limit, cursor)
    return answer(200, page(result, [delivery.public() for delivery in result.items]))


@app.get("/whisperer/hook_events/<uuid>")
def get_delivery(uuid: str) -> Response[Any]:
    return answer(200, delivery_log().get(owner(), uuid).public())


class RetryRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    force: bool = False


@app.post("/whisperer/hook_events/<uuid>/retry")
def retry_delivery(uuid: str, request: Annotated[RetryRequest | None, Body()] = None) -> Response[Any]:
    delivery, result = delivery_log().retry(owner(), uuid, force=bool(request and request.force))
    outcome = {
        "response_status": result.status_code,
        "response_content": delivery.response_content,
        "delivered": delivery.delivered,
        "response_time": result.duration,
    }
    return answer(200 if delivery.delivered else 406, outcome)


def aware(moment: datetime | None) -> datetime | None:
    """A filter date without a zone is read as UTC, as Django does with USE_TZ."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def hook_number(hook_id: str) -> int:
    """Hook ids are integers; anything else names no hook."""
    if not hook_id.isdecimal() or len(hook_id) > 12:
        raise NotFound(hook_id)
    return int(hook_id)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[Any]:
    return answer(400, field_errors(error.errors()))


@app.exception_handler(InvalidField)
def invalid_field(error: InvalidField) -> Response[Any]:
    return answer(400, {error.field: [error.message]})


@app.exception_handler(NotFound)
def not_found(error: NotFound) -> Response[Any]:
    return answer(404, {"detail": "Not found."})


@app.exception_handler(AlreadyDelivered)
def already_delivered(error: AlreadyDelivered) -> Response[Any]:
    return answer(406, {"code": "event_100_3", "en": "Event already delivered"})


@app.exception_handler(StillRetrying)
def still_retrying(error: StillRetrying) -> Response[Any]:
    return answer(406, {"code": "event_100_6", "en": "Event is still being retried; send force to retry now"})


@app.exception_handler(DuplicateHook)
def duplicate(error: DuplicateHook) -> Response[Any]:
    return answer(406, {"code": "webhook_100_2", "en": "Webhook already registered"})


@app.not_found
def no_route(error: Exception) -> Response[Any]:
    return answer(404, {"detail": "Not found."})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = unacceptable_body(event)
    if refusal:
        return refusal
    return app.resolve(event, context)


def unacceptable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are JSON of modest size; say so plainly before anything tries to parse one."""
    body = event.get("body") or ""
    if len(body) > MAX_BODY_BYTES:
        return plain_answer(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if body and media_type not in ("application/json", ""):
        return plain_answer(415, f'Unsupported media type "{media_type}" in request; send application/json.')
    if body and not media_type:
        event["headers"] = {**(event.get("headers") or {}), "Content-Type": "application/json"}
    return None


def plain_answer(status: int, detail: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"detail": detail}),
    }
