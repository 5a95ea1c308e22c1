"""The API's answers as Django REST framework shapes them: a JSON body, and the cursor page of a list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response, content_types

from oms_webhooks.domain.pagination import FIRST_PAGE, Page
from parameters import current_event


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
    event = current_event()
    query = {name: value for name, value in (event.query_string_parameters or {}).items() if name != "cursor"}
    if cursor != FIRST_PAGE:
        query["cursor"] = cursor
    host = event.headers.get("Host") or event.headers.get("host") or "localhost"
    scheme = event.headers.get("X-Forwarded-Proto") or event.headers.get("x-forwarded-proto") or "https"
    path = event.request_context.path or event.path
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query)}" if query else "")
