"""`/whisperer/hooks/`: an owner's subscriptions, as whisperer's hooks API reads and writes them."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

import api_schema as doc
from answers import answer, page
from oms_webhooks.domain.hooks import HookIn, HookPatch
from oms_webhooks.rules.subscriptions import HookFilters, Subscriptions
from parameters import Cursor, HookId, Limit, hook_number, owner
from services import subscriptions

router = Router()
CHANGED_HOOK = doc.responses(  # what PUT and PATCH answer
    200,
    "The changed hook.",
    doc.Hook,
    errors=(400, 404, 406, 413, 415),
    e406=("Another of the owner's hooks has this target_url and event_type (`webhook_100_2`).", doc.ErrorCode),
)


@router.get(
    "/whisperer/hooks/registry",
    summary="The event types a hook may subscribe to",
    operation_id="hooks_registry",
    tags=["hooks"],
    responses=doc.responses(200, "The OMS event catalog.", doc.EventTypes),
)
def registry() -> Response[doc.EventTypes]:
    return answer(200, Subscriptions.registry())


@router.get(
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


@router.post(
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


@router.get(
    "/whisperer/hooks/<hook_id>",
    summary="Retrieve a hook",
    operation_id="hooks_retrieve",
    tags=["hooks"],
    responses=doc.responses(200, "The hook.", doc.Hook, errors=(404,)),
)
def get_hook(hook_id: HookId) -> Response[Any]:
    return answer(200, subscriptions().get(owner(), hook_number(hook_id)).public())


@router.put(
    "/whisperer/hooks/<hook_id>",
    summary="Replace a hook (fields left out keep their value, the secret included)",
    operation_id="hooks_update",
    tags=["hooks"],
    responses=CHANGED_HOOK,
)
def replace_hook(hook_id: HookId, hook: Annotated[HookIn, Body()]) -> Response[Any]:
    return answer(200, subscriptions().update(owner(), hook_number(hook_id), hook).public())


@router.patch(
    "/whisperer/hooks/<hook_id>",
    summary="Change some of a hook's fields (null puts an optional field back to its default)",
    operation_id="hooks_partial_update",
    tags=["hooks"],
    responses=CHANGED_HOOK,
)
def update_hook(hook_id: HookId, hook: Annotated[HookPatch, Body()]) -> Response[Any]:
    return answer(200, subscriptions().update(owner(), hook_number(hook_id), hook).public())


@router.delete(
    "/whisperer/hooks/<hook_id>",
    summary="Unsubscribe: deactivate a hook, as whisperer does (it stays readable, with its delivery log)",
    operation_id="hooks_destroy",
    tags=["hooks"],
    responses=doc.responses(204, "Deactivated; no body.", errors=(404,)),
)
def delete_hook(hook_id: HookId) -> Response[Any]:
    subscriptions().delete(owner(), hook_number(hook_id))
    return Response(status_code=204, body="")  # not None: `"body": null` is more than emulators can send
