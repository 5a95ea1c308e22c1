"""The whisperer REST API: hooks and hook_events. Thin: parse, call the core, shape the answer."""

import base64
import binascii
import json
import re
from datetime import timedelta
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

import api_schema as doc
import self_service_schema as self_service_doc
from field_errors import field_errors
from form_body import FORM_MEDIA_TYPES, MalformedForm, form_fields, media_type
from oms_webhooks import telemetry
from oms_webhooks.adapters.delivery_index import DeliveryIndex
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.clock import iso
from oms_webhooks.domain import json_text
from oms_webhooks.domain.errors import (
    AlreadyDelivered,
    AmbiguousNumber,
    DuplicateHook,
    InvalidField,
    InvalidFields,
    NotFound,
    StillRetrying,
)
from oms_webhooks.domain.event_catalog import event_types
from oms_webhooks.domain.form_values import boolean_value
from oms_webhooks.domain.hook_config import MissingPassword
from oms_webhooks.domain.hooks import HookIn, HookPatch
from oms_webhooks.domain.pagination import FIRST_PAGE, Page, page_size
from oms_webhooks.rules.delivery_log import DeliveryFilters, DeliveryLog
from oms_webhooks.rules.hook_stats import HookStats, Period
from oms_webhooks.rules.recovery import OwnerRecoverRequest, RecoverRequest, Recovery
from oms_webhooks.rules.secret_rotation import ConcurrentChange, RotateSecretRequest, SecretRotation
from oms_webhooks.rules.subscriptions import HookFilters, Subscriptions
from oms_webhooks.rules.trial import Trial, TrialRequest, outcome
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer
from oms_webhooks.wiring import address_policy, breaker, sender

MAX_BODY_BYTES = 64 * 1024
MAX_HOOK_ID = 10**12 - 1  # hook ids have at most 12 digits (see hook_number)
RETRY_PATH = re.compile(r"^/whisperer/hook_events/[^/]+/retry/?$")

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it


def json_body(text: str) -> Any:
    """Powertools' body parser: JSON within json_text's limits; a string that is not text names its field."""
    try:
        return json_text.loads(text)
    except json_text.NotText as refused:
        error = {"type": "string_unicode", "loc": ("body", *refused.path), "msg": refused.message, "input": None}
        raise RequestValidationError([error]) from None


app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
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
DeliveryKey = Annotated[str, Path(description=doc.DELIVERY_KEY_DESCRIPTION)]
Limit = Annotated[int | None, Query(description=doc.LIMIT_DESCRIPTION, json_schema_extra={"minimum": 1})]
Cursor = Annotated[str | None, Query(description=doc.CURSOR_DESCRIPTION)]
EventTypeFilter = Annotated[
    str | None, Query(description=doc.EVENT_TYPE_DESCRIPTION, json_schema_extra={"enum": doc.EVENT_TYPE_NAMES})
]


def delivery_filter(name: str) -> Any:
    """A filter of the delivery log: read as text here, by whisperer's rules in the core (DeliveryFilters)."""
    description, schema = doc.DELIVERY_FILTERS[name]
    return Query(description=description, json_schema_extra=schema)


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
    """DRF's page: `count` where the core counted, and `next` and `previous` repeating this request's query with
    their cursors (the first page's with none)."""
    counted = {} if result.count is None else {"count": result.count}
    return {**counted, "next": page_url(result.cursor), "previous": page_url(result.previous), "results": results}


def page_url(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    event = app.current_event
    query = {name: value for name, value in (event.query_string_parameters or {}).items() if name != "cursor"}
    if cursor != FIRST_PAGE:
        query["cursor"] = cursor
    host = event.headers.get("Host") or event.headers.get("host") or "localhost"
    scheme = event.headers.get("X-Forwarded-Proto") or event.headers.get("x-forwarded-proto") or "https"
    path = event.request_context.path or event.path
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query)}" if query else "")


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
    target_url: Annotated[str | None, Query(description=doc.HOOK_TARGET_URL_FILTER_DESCRIPTION)] = None,
    event_type: Annotated[str | None, Query(description=doc.HOOK_EVENT_TYPE_FILTER_DESCRIPTION)] = None,
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
    summary="Unsubscribe: deactivate a hook, as whisperer does (it stays readable, with its delivery log)",
    operation_id="hooks_destroy",
    tags=["hooks"],
    responses=doc.responses(204, "Deactivated; no body.", errors=(404,)),
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
    filters = DeliveryFilters.from_query(app.current_event.query_string_parameters or {})
    log = delivery_log()
    result = log.find(owner(), filters, limit, cursor)
    return answer(200, page(result, log.public(owner(), result.items)))


@app.get(
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


@app.post(
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


@app.get(
    "/whisperer/event_queues",
    summary="Whisperer's outbox: always empty here",
    description=doc.EVENT_QUEUES_DESCRIPTION,
    operation_id="event_queues_list",
    tags=["event_queues"],
    responses=doc.responses(200, "An empty page.", doc.EventQueuePage, errors=(400,)),
)
def list_event_queues(
    limit: Limit = None,
    event_type: Annotated[str | None, Query(description="Whisperer's filter; nothing is queued to match it.")] = None,
) -> Response[Any]:
    page_size(limit)
    return answer(200, page(Page([], count=0), []))


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


@app.exception_handler(InvalidFields)
def invalid_fields(error: InvalidFields) -> Response[Any]:
    return answer(400, error.errors)


@app.exception_handler(AmbiguousNumber)
def ambiguous_number(error: AmbiguousNumber) -> Response[Any]:
    detail = f"Several deliveries have the id {error.number}; name one by its uuid."
    return answer(409, {"detail": detail, "uuids": error.uuids})


@app.exception_handler(MissingPassword)
def missing_password(error: MissingPassword) -> Response[Any]:
    return answer(400, error.errors())


@app.exception_handler(NotFound)
def not_found(error: NotFound) -> Response[Any]:
    return answer(404, {"detail": "Not found."})


@app.exception_handler(AlreadyDelivered)
def already_delivered(error: AlreadyDelivered) -> Response[Any]:
    return answer(406, {"code": "event_100_3", "en": "Event already delivered"})


@app.exception_handler(StillRetrying)
def still_retrying(error: StillRetrying) -> Response[Any]:
    return answer(406, {"code": "event_100_6", "en": "Event is still in retry process"})


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
    refusal = form_as_json(event) or unacceptable_body(event) or unacceptable_query(event)
    if refusal:
        return refusal
    return app.resolve(event, context)


def form_as_json(event: dict[str, Any]) -> dict[str, Any] | None:
    """Whisperer's clients send a retry's `force` as a form, which DRF parses; the route validates JSON, so the
    form becomes the JSON object it says (`force=True` -> `{"force": true}`). Other routes take JSON only."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    if (
        event.get("httpMethod") != "POST"
        or not RETRY_PATH.match(event.get("path") or "")
        or media_type(content_type) not in FORM_MEDIA_TYPES
    ):
        return None
    body = event.get("body") or ""
    try:
        data = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (binascii.Error, ValueError):
        return answer_now(400, {"non_field_errors": ["Form parse error - the body is not valid base64."]})
    if len(data) > MAX_BODY_BYTES:
        return plain_answer(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        fields: dict[str, Any] = form_fields(content_type, data)
    except MalformedForm as malformed:
        return answer_now(400, {"non_field_errors": [str(malformed)]})
    if "force" in fields:
        try:
            fields["force"] = boolean_value(fields["force"]) if fields["force"].strip() else False
        except ValueError as refused:
            return answer_now(400, {"force": [str(refused)]})
    plain = {name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "content-type"}
    event["headers"] = {**plain, "Content-Type": "application/json"}
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    event["body"], event["isBase64Encoded"] = json.dumps(fields), False
    return None


def unacceptable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are JSON text of modest size; say so plainly before anything tries to parse one."""
    body = event.get("body") or ""
    try:
        data = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except UnicodeEncodeError:  # a lone surrogate in a text body
        return answer_now(400, {"non_field_errors": ["JSON parse error - the body is not UTF-8 text."]})
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


def unacceptable_query(event: dict[str, Any]) -> dict[str, Any] | None:
    """Query values are text: a lone surrogate (which a client can percent-encode) must never reach AWS."""
    single = event.get("queryStringParameters") or {}
    multi = event.get("multiValueQueryStringParameters") or {}
    for name, values in [*((k, [v]) for k, v in single.items()), *multi.items()]:
        name_problem = json_text.lone_surrogate(str(name))
        if name_problem:
            message = json_text.not_text_message(name_problem, "a query parameter name holds")
            return answer_now(400, {"non_field_errors": [message]})
        for value in values or ():
            problem = json_text.lone_surrogate(str(value))
            if problem:
                return answer_now(400, {name: [json_text.not_text_message(problem)]})
    return None


def answer_now(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def plain_answer(status: int, detail: str) -> dict[str, Any]:
    return answer_now(status, {"detail": detail})


# --- Self-service (issue 12): secret rotation, test events, recovery, stats, the event catalog ----------------------


def recovery() -> Recovery:
    config = settings()
    return Recovery(
        DeliveryIndex(config.deliveries_table), HookStore(config.hooks_table), RetryQueue(config.retry_queue_url)
    )


@app.post(
    "/whisperer/hooks/<hook_id>/rotate_secret",
    summary="Rotate the hook's signing secret; the old one keeps signing for an overlap",
    operation_id="hooks_rotate_secret",
    tags=["hooks"],
    responses=doc.responses(
        200,
        "The new secret (only when generated), the old one's expiry and the hook.",
        self_service_doc.RotatedSecret,
        errors=(400, 404, 413, 415),
        e409=("Other rotations of this hook at the same moment; try again.", doc.Detail),
    ),
)
def rotate_secret(hook_id: HookId, request: Annotated[RotateSecretRequest | None, Body()] = None) -> Response[Any]:
    rotation = SecretRotation(HookStore(settings().hooks_table)).rotate(
        owner(), hook_number(hook_id), request or RotateSecretRequest()
    )
    expires = rotation.hook.previous_secret_expires_at
    logger.info(
        "Secret rotated",
        extra={"hook_id": rotation.hook.id, "generated": bool(rotation.generated_secret), "overlap_until": expires},
    )
    body: dict[str, Any] = {"secret_key": rotation.generated_secret} if rotation.generated_secret else {}
    body["previous_secret_expires_at"] = iso(expires) if expires else None
    body["hook"] = rotation.hook.public()
    return answer(200, body)


@app.post(
    "/whisperer/hooks/<hook_id>/test",
    summary="Send a signed `webhook.test` event to the hook now, and record it",
    operation_id="hooks_test",
    tags=["hooks"],
    responses=doc.responses(
        200,
        "Delivered: the recorded test delivery and what came of it.",
        self_service_doc.TrialDelivery,
        errors=(400, 404, 406, 413, 415),
        e406=("Not delivered: the recorded test delivery and what came of it.", self_service_doc.TrialDelivery),
    ),
)
def send_test_event(hook_id: HookId, request: Annotated[TrialRequest | None, Body()] = None) -> Response[Any]:
    config = settings()
    trial = Trial(
        HookStore(config.hooks_table), DeliveryStore(config.deliveries_table), sender(), config.retention_days
    )
    delivery, result = trial.send(owner(), hook_number(hook_id))
    logger.info(
        "Test event sent",
        extra={"delivery_uuid": delivery.uuid, "hook_id": delivery.webhook, "delivered": delivery.delivered},
    )
    [shown] = delivery_log().public(owner(), [delivery])  # nested as the delivery log shows it
    body = {**shown, "detail": outcome(delivery, result), "test": True}
    return answer(200 if delivery.delivered else 406, body)


@app.post(
    "/whisperer/hooks/<hook_id>/recover",
    summary="Re-send, once each, the hook's deliveries that failed in a window (through the retry queue)",
    operation_id="hooks_recover",
    tags=["hooks"],
    responses=doc.responses(
        202, "Queued; the retrier sends them.", self_service_doc.Recovered, errors=(400, 404, 413, 415)
    ),
)
def recover_hook(hook_id: HookId, request: Annotated[RecoverRequest, Body()]) -> Response[Any]:
    report = recovery().recover_hook(owner(), hook_number(hook_id), request)
    logger.info("Recovery queued", extra={"hook_id": hook_id, "queued": report.queued})
    return answer(202, report.public())


@app.post(
    "/whisperer/hook_events/recover",
    summary="Re-send, once each, the owner's deliveries that failed in a window (through the retry queue)",
    operation_id="hook_events_recover",
    tags=["hook_events"],
    responses=doc.responses(202, "Queued; the retrier sends them.", self_service_doc.Recovered, errors=(400, 413, 415)),
)
def recover_deliveries(request: Annotated[OwnerRecoverRequest, Body()]) -> Response[Any]:
    report = recovery().recover_owner(owner(), request)
    logger.info("Recovery queued", extra={"event_type": request.event_type, "queued": report.queued})
    return answer(202, report.public())


@app.get(
    "/whisperer/hooks/<hook_id>/stats",
    summary="How the hook's endpoint did over a period: outcomes, latency, a series for a chart",
    operation_id="hooks_stats",
    tags=["hooks"],
    responses=doc.responses(200, "The hook's figures.", self_service_doc.HookStats, errors=(400, 404)),
)
def hook_stats(
    hook_id: HookId,
    period: Annotated[
        Period | None, Query(description="24h (hourly series, the default), 7d (hourly) or 30d (daily).")
    ] = None,
) -> Response[Any]:
    stats = HookStats(DeliveryIndex(settings().deliveries_table), HookStore(settings().hooks_table))
    return answer(200, stats.stats(owner(), hook_number(hook_id), period or "24h"))


@app.get(
    "/whisperer/event_types",
    summary="The event types with a description, a JSON Schema and an example of each payload",
    operation_id="event_types_list",
    tags=["event_types"],
    responses=doc.responses(200, "The OMS event catalog, in detail.", self_service_doc.EventTypeCatalog),
)
def list_event_types() -> Response[Any]:
    results = event_types()
    return answer(200, {"count": len(results), "next": None, "previous": None, "results": results})


@app.exception_handler(ConcurrentChange)
def concurrent_change(error: ConcurrentChange) -> Response[Any]:
    return answer(409, {"detail": "The hook changed meanwhile; try again."})
