"""The REST API's contract for its OpenAPI document: answer models, error bodies, per-route responses.

A hook's answer is the domain's `Hook` as JSON (`Hook.public()`), so the document describes it with that model
itself; the request bodies are `HookIn` and `HookPatch`, made from the same fields. The handler shapes the other
answers with `Delivery.public()` and the like; the models here describe those (the tests check the two agree), so
the document says what the API really sends.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from oms_webhooks.domain.deliveries import Status
from oms_webhooks.domain.event_catalog import EVENT_TYPES, SUBSCRIBABLE_EVENT_TYPES, TEST_EVENT_TYPE
from oms_webhooks.domain.hooks import EVENT_TYPE_NAMES as EVENT_TYPE_NAMES  # what app.py offers as event types
from oms_webhooks.domain.hooks import Hook
from oms_webhooks.domain.moment import MomentText
from oms_webhooks.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT

TITLE = "OMS Webhooks"
VERSION = "0.1.0"  # the package's version (pyproject.toml); tests/integration/test_openapi.py keeps them equal
DESCRIPTION = (
    "Webhooks of the order-management system, compatible with Akinon OMS's whisperer API: subscribe URLs to OMS "
    "events, inspect every delivery and retry it by hand. Every call needs `Authorization: Token <token>`; an owner "
    "sees and changes only its own hooks and deliveries."
)
# Relative to where this document is served (`<api root>/whisperer/openapi.json`), so it names the API root with
# or without a stage prefix (`/prod`) or custom domain.
SERVER_URL = ".."
SECURITY_SCHEME = "TokenAuth"
SECURITY_SCHEME_DESCRIPTION = (
    "`Authorization: Token <token>` (tokens come from `oms-webhooks token create --owner NAME`), or the token of a "
    "portal session (`POST /whisperer/portal/sessions/`) until it expires. A missing, unknown or expired token is "
    "answered 401; a read-only session's writes 403."
)
# On every answer. API Gateway serves only HTTPS, so browsers that remember this never try plain HTTP (browsers
# ignore it over HTTP, as on the local stack); no includeSubDomains, which a custom domain's siblings could not keep.
TRANSPORT_HEADERS = {"Strict-Transport-Security": "max-age=31536000"}
JSON = "application/json"

DateTime = MomentText
EventType = Annotated[str, Field(json_schema_extra={"enum": list(EVENT_TYPES)})]  # the OMS's: whisperer's registry
# What a hook may subscribe to and the catalog describes: the OMS's types and this service's operational ones.
SubscribableEventType = Annotated[str, Field(json_schema_extra={"enum": list(SUBSCRIBABLE_EVENT_TYPES)})]
# A delivery's type: a subscribable type, or the test event's (`POST /whisperer/hooks/{id}/test/`).
DeliveryEventType = Annotated[str, Field(json_schema_extra={"enum": [*SUBSCRIBABLE_EVENT_TYPES, TEST_EVENT_TYPE]})]
DeliveryUuid = Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
NextPage = Annotated[
    str | None,
    Field(description="The URL of the next page (this request's query with a new `cursor`), or null on the last."),
]
PreviousPage = Annotated[
    str | None,
    Field(description="The URL of the previous page (the first page's has no `cursor`), or null on the first."),
]
Count = Annotated[int, Field(description="How many results all the pages hold together.")]
Duration = Annotated[
    str,
    Field(
        pattern=r"^(-?\d+ )?\d{2}:\d{2}:\d{2}(\.\d{6})?$",
        description="Django REST framework's duration, `[DD ]HH:MM:SS[.ffffff]`, as whisperer shows it.",
        examples=["00:00:00.080303"],
    ),
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HookPage(_Answer):
    """One page of the owner's hooks, in id order."""

    count: Count
    next: NextPage
    previous: PreviousPage
    results: list[Hook]


class DeletedHook(_Answer):
    """What a delivery's record knows of its hook, shown once the hook itself is gone."""

    id: int
    event_type: DeliveryEventType  # the delivery's own type: `webhook.test` for a test delivery
    target_url: str


class DeliveryEvent(_Answer):
    type: DeliveryEventType
    uuid: DeliveryUuid


class RequestPayload(_Answer):
    """Exactly the body POSTed to the subscriber."""

    event: DeliveryEvent
    payload: Any = Field(description="The OMS event's payload, as published.")


class Attempt(_Answer):
    """One attempt to deliver: an HTTP status, or an error when there was no answer (timeout, refused, ...)."""

    at: DateTime
    status_code: int | None
    error: str | None
    duration: float = Field(description="Seconds.")
    manual: bool = Field(description="Made by `POST .../retry/` (or `.../test/`), not by the retry schedule.")
    request_headers: dict[str, str] = Field(
        description="The headers sent, signatures included (never a secret; credentials to the target are redacted)."
    )
    response_headers: dict[str, str] = Field(
        description="The answer's headers in the order they came: at most 20, 4 KB of names and values in all "
        "(a name repeated is one entry, its values joined by `, `); `Set-Cookie`'s value redacted. Only a delivery's "
        "latest 10 attempts keep their answers. Empty when no answer came, and on attempts recorded before answers "
        "were kept per attempt."
    )
    response_content: str | None = Field(
        description="The first 1 KiB of this attempt's answer body (null: no answer, or recorded before answers were "
        "kept per attempt)."
    )


class Deferral(_Answer):
    """A time the delivery was queued instead of attempted: its hook's circuit was open, or its rate limit said
    later. Not an attempt."""

    at: DateTime
    until: DateTime = Field(description="When it was due again (the hook's next probe, or its rate-limit slot).")
    reason: str


class DeliveryOrdering(_Answer):
    """Where an ordered hook's delivery stands in its object's order."""

    object: str | None = Field(description="The OMS object: the event type's first segment and the payload's `id`.")
    note: str | None = Field(description="Why it is not ordered (a payload without `id`); null when it is.")


class HookEvent(_Answer):
    """One delivery: an OMS event sent to one hook, with every attempt it took (whisperer's `hook_events`)."""

    id: int = Field(
        ge=0,
        lt=2**53,
        description="Whisperer's integer id, derived from the uuid (53 bits: exact in JavaScript). Two of an "
        "owner's n deliveries share one with a chance of about n²/2⁵⁴; `/hook_events/{id}/` then answers 409.",
    )
    uuid: DeliveryUuid
    webhook: Hook | DeletedHook = Field(description="The hook, as `/hooks/{id}/` shows it (never its secret).")
    event_type: DeliveryEventType
    request_payload: RequestPayload
    response_http_status: int | None
    response_content: str | None = Field(description="The start of the last answer's body, or the last error.")
    response_time: Duration | None = Field(description="How long the last attempt took.")
    delivered: bool
    retry_count: int
    request_datetimes: list[DateTime] = Field(description="When each attempt started, the latest first.")
    content_type: None = Field(description="A Django content type in whisperer; OMS events carry none.")
    object_id: str | None = Field(description="The `id` of the OMS object in the payload (whisperer's object_id).")
    event_id: str = Field(
        description="The OMS event's id (EventBridge's; a test event's is `test:` and its uuid): "
        "`?event_id=` lists the event's delivery to each hook."
    )
    status: Status = Field(
        description="`deferred`: not attempted: parked while the hook's circuit is open (until a probe succeeds), "
        "or queued for its turn under the hook's `rate_limit`."
    )
    next_attempt_at: DateTime | None
    attempts: list[Attempt]
    deferrals: list[Deferral] = Field(description="The latest ten times it was queued instead of attempted.")
    deferral_count: int = Field(description="How many times it was queued instead of attempted, in all.")
    parked: bool = Field(
        description="True while its hook's open circuit holds it: it waits for a probe to succeed, not for a time."
    )
    held: bool = Field(
        description="True while it waits behind an earlier delivery of its object (a hook with `ordering` "
        '`"object"`): it is sent once that one has been delivered, failed after its last retry, or had its hook '
        "disabled."
    )
    waits_for: DeliveryUuid | None = Field(description="While held: the uuid of the earlier delivery it waits for.")
    ordering: DeliveryOrdering | None = Field(
        description='For a delivery of a hook with `ordering` `"object"`: its object, or why it is not ordered.'
    )
    created_date: DateTime
    modified_date: DateTime
    test: bool = Field(description="A test event (`POST /whisperer/hooks/{id}/test/`): never retried or recovered.")


class HookEventDetail(HookEvent):
    """One delivery as `GET /whisperer/hook_events/{id}/` shows it: the log's fields and the exact body sent."""

    request_body: str = Field(
        description="The body POSTed, byte for byte (UTF-8 text), as it was signed: what a signature check needs. "
        "`request_payload` is the same JSON parsed, which a client may re-serialise differently (`1.0`, integers "
        "above 2⁵³)."
    )


class HookEventPage(_Answer):
    """One page of the owner's deliveries, newest first: Django REST framework's cursor page, which has no count
    (counting would read the owner's whole log on every request)."""

    next: NextPage
    previous: PreviousPage
    results: list[HookEvent]


class RetryOutcome(_Answer):
    """What one manual attempt got: 200 when delivered, 406 when not."""

    detail: Literal["Webhook event delivered successfully", "Webhook event delivery failed"]
    response_status: int | None
    response_content: str | None
    delivered: bool
    response_time: str = Field(
        pattern=r"^\d+(\.\d+)?(e-\d+)?$",
        description="Seconds, as text (`\"0.080303\"`): whisperer's timedelta as DRF's JSON encoder writes it.",
    )


class QueuedInOrder(_Answer):
    """A manual retry of an ordered hook's failed delivery: queued again behind what waits in its object's queue."""

    detail: Literal["Queued behind the earlier deliveries of its object"]
    queued: Literal[True]
    delivered: Literal[False]
    waits_for: DeliveryUuid | None = Field(description="The earlier delivery its object's queue waits for now.")


class HeldInOrder(_Answer):
    """A manual retry of an ordered hook's delivery that waits behind an earlier one of its object."""

    code: Literal["ordered_100_1"]
    en: str
    waits_for: DeliveryUuid | None = Field(description="The earlier delivery it waits for (null: it is next).")


class EventQueue(_Answer):
    """An event waiting in whisperer's outbox for its first attempt. Never shown here: see `event_queues`."""

    id: int
    uuid: str
    hook_id: int
    event_type: str
    app_label: str | None
    model_name: str | None
    object_id: str | None
    instance_dict: dict[str, Any]
    created_date: DateTime
    modified_date: DateTime


class EventQueuePage(_Answer):
    """Whisperer's outbox, always empty here."""

    count: Count
    next: NextPage
    previous: PreviousPage
    results: list[EventQueue] = Field(max_length=0)


class Ambiguous(_Answer):
    """Two of the owner's deliveries share the integer id asked for (rare: see `HookEvent.id`)."""

    detail: str
    uuids: list[DeliveryUuid]


class ErrorCode(_Answer):
    """Whisperer's coded refusal, e.g. `{"code": "webhook_100_2", "en": "Webhook already registered"}`."""

    code: str
    en: str


class Detail(_Answer):
    """A refusal that names no field, e.g. `{"detail": "Not found."}`."""

    detail: str


class GatewayMessage(_Answer):
    """What API Gateway itself answers, e.g. `{"message": "Request Too Long"}` for a body over its 10 MB."""

    message: str


class FieldErrors(RootModel[dict[str, "list[str] | FieldErrors"]]):
    """Django REST framework's validation errors: field (nested for nested fields) to messages, e.g.
    `{"retry_countdown_config": {"choice": ["\\"x\\" is not a valid choice."]}}`; a body that is not a JSON object
    is named `non_field_errors`."""


class EventTypes(RootModel[list[EventType]]):
    """The event types a hook may subscribe to (the OMS catalog)."""


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """This OpenAPI document."""


_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("Invalid input; the body names each offending field (or query parameter).", FieldErrors),
    401: ("No `Authorization: Token <token>` header, or an unknown token, or a portal session that ended.", Detail),
    403: ("A read-only portal session changes nothing: this request was refused.", Detail),
    404: ("No such object for this owner (another owner's objects are not found either).", Detail),
    406: ("Refused by whisperer's rules.", ErrorCode),
    409: ("Several of the owner's deliveries have this integer id: name one by its uuid.", Ambiguous),
    413: ("The body is larger than 64 KiB (over 10 MB, API Gateway says so itself).", Detail | GatewayMessage),
    415: ("The body is not `application/json`.", Detail),
}


def responses(
    status: int, description: str, model: Any = None, errors: tuple[int, ...] = (), **described: Any
) -> dict[int, Any]:
    """A route's `responses=`: its success (no body when `model` is None), 401 always, and the given errors.

    `described` overrides an error's description and model by name, e.g. `e406=("...", ErrorCode | RetryOutcome)`.
    """
    answers: dict[int, Any] = {status: _answer(description, model)}
    for code in sorted({401, *errors}):
        text, body = described[f"e{code}"] if f"e{code}" in described else _ERRORS[code]
        answers[code] = _answer(text, body)
    return answers


def _answer(description: str, model: Any) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    return {"description": description, "content": {JSON: {"model": model}}}


LIMIT_DESCRIPTION = f"Page size: default {DEFAULT_LIMIT}; larger values are read as {MAX_LIMIT}."
CURSOR_DESCRIPTION = "Where the page starts: the opaque value in the previous page's `next`."
HOOK_ID_DESCRIPTION = "The hook's id (an integer); anything else names no hook (404)."
DELIVERY_KEY_DESCRIPTION = (
    "The delivery's integer `id`, or its uuid (32 hex digits; the dashed form is read too); anything else is 404."
)
EVENT_QUEUES_DESCRIPTION = (
    "Whisperer keeps an event in its outbox (`EventQueue`) from the moment it is enqueued until its first attempt. "
    "Here the dispatcher attempts every delivery as the event arrives and records it in `hook_events`, so nothing "
    "ever waits in such an outbox: the answer is always an empty page. `event_type` (whisperer's filter) and "
    "`limit` are read and checked as on the other lists."
)
FORM_BODIES = ("application/x-www-form-urlencoded", "multipart/form-data")
EVENT_TYPE_DESCRIPTION = "An OMS event type; the dashed form (`package-created`) names the same one."
HOOK_TARGET_URL_FILTER_DESCRIPTION = "Only hooks with this target_url, ignoring case (whisperer's `iexact`)."
HOOK_EVENT_TYPE_FILTER_DESCRIPTION = (
    "Only hooks of this event type, ignoring case (whisperer's `iexact`); the dashed form (`package-created`) names "
    "the same one, and a name outside the catalog matches no hook."
)


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Powertools' document, made to say what this API does.

    - Paths end in `/` as whisperer clients call them; Powertools' REST resolver strips the slash from routes (and
      then serves both forms), so the document gets it back here. `openapi.json` is a file name and keeps none.
    - No 422: request validation errors are answered 400 with field errors (see `invalid_request`), so Powertools'
      422 answers and their schemas go. Nor its 500 for an answer that fails its model: that is a fault of ours,
      answered as any other (see `error_answers.server_error`).
    - A 204 has no body, and an optional query parameter is absent rather than null.
    - A manual retry's body may be a form too (`force=True`), as whisperer's clients send it.
    - Every request that changes something may meet a read-only portal session's 403 (but the one ending it).
    """
    paths = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operation["responses"].pop("422", None)
            operation["responses"].pop("500", None)
            if method != "get" and path != "/whisperer/portal/sessions/current":
                operation["responses"].setdefault("403", _read_only_refusal())
                operation["responses"] = dict(sorted(operation["responses"].items()))
            for code, answer in operation["responses"].items():
                if code == "204":
                    answer.pop("content", None)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["schema"] = _not_null(parameter["schema"])
        paths[path if path.endswith(".json") else f"{path}/"] = item
    document["paths"] = paths
    retry = paths["/whisperer/hook_events/{id}/retry/"]["post"]["requestBody"]["content"]
    retry.update({media_type: retry[JSON] for media_type in FORM_BODIES})
    components = document.get("components", {})
    schemas = components.get("schemas", {})
    used = _reachable(document["paths"], schemas)
    components["schemas"] = {name: schema for name, schema in schemas.items() if name in used}
    return document


def _read_only_refusal() -> dict[str, Any]:
    description, _ = _ERRORS[403]
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Detail"}}}}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) != 1 or len(schema["anyOf"]) != 2:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**branches[0], **rest}


def _reachable(paths: Any, schemas: dict[str, Any]) -> set[str]:
    """The component schemas the paths use, directly or through other components."""
    found: set[str] = set()
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name not in found and name in schemas:
            found.add(name)
            todo |= _refs(schemas[name])
    return found


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return {name for value in node for name in _refs(value)}
    return set()
