"""`/whisperer/event_queues/`: whisperer's outbox, which here is always empty."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

import api_schema as doc
from answers import answer, page
from oms_webhooks.domain.pagination import Page, page_size
from parameters import Limit

router = Router()


@router.get(
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
) -> Response[doc.EventQueuePage]:
    page_size(limit)
    return answer(200, page(Page([], count=0), []))
