"""What routes read from a request beyond their own body: the owner the authorizer named, and the path and query
parameters several routes share."""

from __future__ import annotations

from typing import Annotated, cast

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

import api_schema as doc
from oms_webhooks.domain.errors import NotFound
from oms_webhooks.domain.hooks import HOOK_ID_PATTERN, MAX_HOOK_ID

HookId = Annotated[str, Path(description=doc.HOOK_ID_DESCRIPTION, json_schema_extra={"pattern": HOOK_ID_PATTERN})]
DeliveryKey = Annotated[str, Path(description=doc.DELIVERY_KEY_DESCRIPTION)]
Limit = Annotated[int | None, Query(description=doc.LIMIT_DESCRIPTION, json_schema_extra={"minimum": 1})]
Cursor = Annotated[str | None, Query(description=doc.CURSOR_DESCRIPTION)]


def current_event() -> APIGatewayProxyEvent:
    """The request being answered: Powertools' resolver keeps it where all its routers read it."""
    return cast(APIGatewayProxyEvent, BaseRouter.current_event)


def owner() -> str:
    """Set by the authorizer; API Gateway never calls us without it."""
    return current_event().request_context.authorizer.principal_id


def hook_number(hook_id: str) -> int:
    """Hook ids are integers; anything else names no hook."""
    if not (hook_id.isascii() and hook_id.isdecimal()) or len(hook_id) > len(str(MAX_HOOK_ID)):
        raise NotFound(hook_id)
    return int(hook_id)
