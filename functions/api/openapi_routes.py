"""`/whisperer/openapi.json`: the API's OpenAPI document, as Powertools derives it from the routes and models."""

from __future__ import annotations

import json
from functools import cache

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router

import api_schema as doc

router = Router()


@router.get(
    "/whisperer/openapi.json",
    summary="This OpenAPI document",
    operation_id="openapi",
    tags=["meta"],
    responses=doc.responses(200, "The API's OpenAPI 3.1 document.", doc.OpenAPIDocument),
)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@cache
def openapi_document() -> str:
    """The document of every route of the resolver this router is in, finished (see `api_schema.finish`); also the
    committed docs copy."""
    # Imported here, as Powertools itself does: only the document needs its OpenAPI models, ~40 ms of a cold start.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, Server

    resolver = router.api_resolver
    if not isinstance(resolver, ApiGatewayResolver):
        raise RuntimeError("the OpenAPI router is in no resolver yet (app.include_router)")
    schema = resolver.get_openapi_json_schema(
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
    document = doc.finish(json.loads(schema))
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
