"""`/whisperer/event_types/`: the OMS event catalog, each type with a description, a JSON Schema and an example."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

import api_schema as doc
import self_service_schema as self_service_doc
from answers import answer
from oms_webhooks.domain.event_catalog import event_types

router = Router()


@router.get(
    "/whisperer/event_types",
    summary="The event types with a description, a JSON Schema and an example of each payload",
    operation_id="event_types_list",
    tags=["event_types"],
    responses=doc.responses(200, "The OMS event catalog, in detail.", self_service_doc.EventTypeCatalog),
)
def list_event_types() -> Response[self_service_doc.EventTypeCatalog]:
    results = event_types()
    return answer(200, {"count": len(results), "next": None, "previous": None, "results": results})
