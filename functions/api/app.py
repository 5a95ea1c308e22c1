"""The whisperer REST API: hooks and hook_events. Thin: parse, call the core, shape the answer."""

import base64
import binascii
import json
import uuid as uuids
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from oms_webhooks import api_schema as doc
from oms_webhooks import telemetry
from oms_webhooks.delivery_log import DeliveryFilters, DeliveryLog
from oms_webhooks.delivery_store import DeliveryStore
from oms_webhooks.errors import AlreadyDelivered, DuplicateHook, InvalidField, NotFound, StillRetrying
from oms_webhooks.field_errors import field_errors
from oms_webhooks.hook_store import HookStore
from oms_webhooks.hooks import HookIn, HookPatch
from oms_webhooks.pagination import Page
from oms_webhooks.settings import settings
from oms_webhooks.subscriptions import HookFilters, Subscriptions
from oms_webhooks.telemetry import metrics, tracer
from oms_webhooks.wiring import address_policy, breaker, sender

MAX_BODY_BYTES = 64 * 1024
MAX_HOOK_ID = 10**12 - 1  # hook ids have at most 12 digits (see hook_number)

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    title=doc.TITLE,
    version=doc.VERSION,
    description=doc.DESCRIPTION,
    servers=[Server(url=doc.SERVER_URL)],
    security_schemes={
        doc.SECURITY_SCHEME: APIKey.model_validate(
            {"in": "header", "name": "Authorization", "description": doc.SECURITY_SCHEME_DESCRIPTION}
        )
    },
    security=[{doc.SECURITY_SCHEME: []}],
)

HookId = Annotated[str, Path(description=doc.HOOK_ID_DESCRIPTION, json_schema_extra={"pattern": "^[0-9]{1,12}$"})]
DeliveryUuid = Annotated[str, Path(description=doc.UUID_DESCRIPTION)]
Limit = Annotated[int | None, Query(description=doc.LIMIT_DESCRIPTION, json_schema_extra={"minimum": 1})]
Cursor = Annotated[str | None, Query(description=doc.CURSOR_DESCRIPTION)]
EventTypeFilter = Annotated[
    str | None, Query(description=doc.EVENT_TYPE_DESCRIPTION, json_schema_extra={"enum": doc.EVENT_TYPE_NAMES})
]


def subscriptions() -> Subscriptions:
    return Subscriptions(HookStore(settings().hooks_table), address_policy())


def delivery_log() -> DeliveryLog:
    return DeliveryLog(
        DeliveryStore(settings().deliveries_table), HookStore(settings().hooks_table), sender(), breaker()
    )


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


@app.get(
    "/whisperer/hooks/registry",
    summary="The event types a hook may subscribe to",
    operation_id="hooks_registry",
    tags=["hooks"],
    responses=doc.responses(200, "The OMS event catalog.", doc.EventTypes),
)
def registry() -> Response[Any]:
    return answer(200, Subscriptions.registry())


@app.get(
    "/whisperer/hooks",
    summary="List the owner's hooks",
    operation_id="hooks_list",
    tags=["hooks"],
    responses=doc.responses(200, "A page of hooks.", doc.HookPage, errors=(400,)),
)
def list_hooks(
    limit: Limit = None,
    cursor: Cursor = None,
    target_url: Annotated[str | None, Query(description="Only hooks with exactly this target_url.")] = None,
    event_type: EventTypeFilter = None,
    is_active: Annotated[bool | None, Query(description="Only active (or only inactive) hooks.")] = None,
) -> Response[Any]:
    filters = HookFilters(target_url=target_url, event_type=event_type, is_active=is_active)
    result = subscriptions().find(owner(), filters, limit, cursor)
    return answer(200, page(result, [hook.public() for hook in result.items]))


@app.post(
    "/whisperer/hooks",
    summary="Subscribe a URL to an event type",
    operation_id="hooks_create",
    tags=["hooks"],
    responses=doc.responses(
        201,
        "The new hook.",
        doc.Hook,
        errors=(400, 406, 413, 415),
        e406=("The owner already has a hook for this target_url and event_type (`webhook_100_2`).", doc.ErrorCode),
    ),
)
def create_hook(hook: Annotated[HookIn, Body()]) -> Response[Any]:
    return answer(201, subscriptions().create(owner(), hook).public())


@app.get(
    "/whisperer/hooks/<hook_id>",
    summary="Retrieve a hook",
    operation_id="hooks_retrieve",
    tags=["hooks"],
    responses=doc.responses(200, "The hook.", doc.Hook, errors=(404,)),
)
def get_hook(hook_id: HookId) -> Response[Any]:
    return answer(200, subscriptions().get(owner(), hook_number(hook_id)).public())


@app.put(
    "/whisperer/hooks/<hook_id>",
    summary="Replace a hook (fields left out keep their value, the secret included)",
    operation_id="hooks_update",
    tags=["hooks"],
    responses=doc.responses(
        200,
        "The changed hook.",
        doc.Hook,
        errors=(400, 404, 406, 413, 415),
        e406=("Another of the owner's hooks has this target_url and event_type (`webhook_100_2`).", doc.ErrorCode),
    ),
)
def replace_hook(hook_id: HookId, hook: Annotated[HookIn, Body()]) -> Response[Any]:
    return answer(200, subscriptions().update(owner(), hook_number(hook_id), hook).public())


@app.patch(
    "/whisperer/hooks/<hook_id>",
    summary="Change some of a hook's fields (null puts an optional field back to its default)",
    operation_id="hooks_partial_update",
    tags=["hooks"],
    responses=doc.responses(
        200,
        "The changed hook.",
        doc.Hook,
        errors=(400, 404, 406, 413, 415),
        e406=("Another of the owner's hooks has this target_url and event_type (`webhook_100_2`).", doc.ErrorCode),
    ),
)
def update_hook(hook_id: HookId, hook: Annotated[HookPatch, Body()]) -> Response[Any]:
    return answer(200, subscriptions().update(owner(), hook_number(hook_id), hook).public())


@app.delete(
    "/whisperer/hooks/<hook_id>",
    summary="Unsubscribe: delete a hook",
    operation_id="hooks_destroy",
    tags=["hooks"],
    responses=doc.responses(204, "Deleted; no body.", errors=(404,)),
)
def delete_hook(hook_id: HookId) -> Response[Any]:
    subscriptions().delete(owner(), hook_number(hook_id))
    return Response(status_code=204)


@app.get(
    "/whisperer/hook_events",
    summary="The owner's delivery log, newest first",
    operation_id="hook_events_list",
    tags=["hook_events"],
    responses=doc.responses(200, "A page of deliveries.", doc.HookEventPage, errors=(400,)),
)
def list_deliveries(
    limit: Limit = None,
    cursor: Cursor = None,
    webhook: Annotated[int | None, Query(ge=0, le=MAX_HOOK_ID, description="Only this hook's deliveries.")] = None,
    event_type: EventTypeFilter = None,
    delivered: Annotated[bool | None, Query(description="Only delivered (or only undelivered) ones.")] = None,
    response_http_status: Annotated[
        int | None, Query(ge=0, le=999, description="Only those whose last answer had this status.")
    ] = None,
    created_date__gte: Annotated[datetime | None, Query(description=doc.CREATED_FROM_DESCRIPTION)] = None,
    created_date__lte: Annotated[datetime | None, Query(description=doc.CREATED_TO_DESCRIPTION)] = None,
) -> Response[Any]:
    filters = DeliveryFilters(
        webhook, event_type, delivered, response_http_status, aware(created_date__gte), aware(created_date__lte)
    )
    result = delivery_log().find(owner(), filters, limit, cursor)
    return answer(200, page(result, [delivery.public() for delivery in result.items]))


@app.get(
    "/whisperer/hook_events/<uuid>",
    summary="One delivery with all its attempts",
    operation_id="hook_events_retrieve",
    tags=["hook_events"],
    responses=doc.responses(200, "The delivery.", doc.HookEvent, errors=(404,)),
)
def get_delivery(uuid: DeliveryUuid) -> Response[Any]:
    return answer(200, delivery_log().get(owner(), delivery_uuid(uuid)).public())


class RetryRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    force: bool = False


@app.post(
    "/whisperer/hook_events/<uuid>/retry",
    summary="Retry a delivery by hand, now",
    operation_id="hook_events_retry",
    tags=["hook_events"],
    responses=doc.responses(
        200,
        "Delivered by this attempt.",
        doc.RetryOutcome,
        errors=(400, 404, 406, 413, 415),
        e406=(
            "Already delivered (`event_100_3`); still being retried and not forced (`event_100_6`); "
            "or this attempt failed too (the outcome).",
            doc.ErrorCode | doc.RetryOutcome,
        ),
    ),
)
def retry_delivery(uuid: DeliveryUuid, request: Annotated[RetryRequest | None, Body()] = None) -> Response[Any]:
    delivery, result = delivery_log().retry(owner(), delivery_uuid(uuid), force=bool(request and request.force))
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
        "response_status": delivery.response_http_status,  # 500 when no answer came, as in whisperer
        "response_content": delivery.response_content,
        "delivered": delivery.delivered,
        "response_time": result.duration,
    }
    return answer(200 if delivery.delivered else 406, outcome)


@app.get(
    "/whisperer/openapi.json",
    summary="This OpenAPI document",
    operation_id="openapi",
    tags=["meta"],
    responses=doc.responses(200, "The API's OpenAPI 3.1 document.", doc.OpenAPIDocument),
)
def openapi() -> Response[Any]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@cache
def openapi_document() -> str:
    """Powertools' document of these routes, finished (see `api_schema.finish`); also the committed docs copy."""
    document = doc.finish(json.loads(app.get_openapi_json_schema()))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def aware(moment: datetime | None) -> datetime | None:
    """A filter date without a zone is read as UTC, as Django does with USE_TZ."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def delivery_uuid(value: str) -> str:
    """Deliveries are stored by their 32-hex uuid; the dashed form names the same one, anything else none."""
    try:
        if value.isascii() and len(value) <= 64:  # uuid.UUID's forms are shorter; longer ones are not parsed
            return uuids.UUID(value).hex
    except ValueError:
        pass
    raise NotFound(value)


def hook_number(hook_id: str) -> int:
    """Hook ids are integers; anything else names no hook."""
    if not (hook_id.isascii() and hook_id.isdecimal()) or len(hook_id) > len(str(MAX_HOOK_ID)):
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
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refusal = unacceptable_body(event)
    if refusal:
        return refusal
    return app.resolve(event, context)


def unacceptable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are JSON text of modest size; say so plainly before anything tries to parse one."""
    body = event.get("body") or ""
    try:
        data = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (binascii.Error, ValueError):
        return answer_now(400, {"non_field_errors": ["JSON parse error - the body is not valid base64."]})
    if len(data) > MAX_BODY_BYTES:
        return plain_answer(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    carries_body = bool(data) or event.get("httpMethod") in ("POST", "PUT", "PATCH")
    if carries_body and media_type not in ("application/json", ""):
        return plain_answer(415, f'Unsupported media type "{media_type}" in request; send application/json.')
    if data and not media_type:
        event["headers"] = {**(event.get("headers") or {}), "Content-Type": "application/json"}
    if event.get("isBase64Encoded"):
        try:
            event["body"], event["isBase64Encoded"] = data.decode(), False
        except UnicodeDecodeError:
            return answer_now(400, {"non_field_errors": ["JSON parse error - the body is not UTF-8 text."]})
    return None


def answer_now(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def plain_answer(status: int, detail: str) -> dict[str, Any]:
    return answer_now(status, {"detail": detail})
