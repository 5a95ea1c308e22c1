"""The whisperer REST API: one router per resource, assembled, behind a screen for what no route should see."""

from http import HTTPStatus
from typing import Any

import portal_session_routes
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from portal_screening import session_refusal

import api_schema as doc
import error_answers
import event_queue_routes
import event_type_routes
import hook_event_routes
import hook_routes
import openapi_routes
import self_service_routes
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer
from openapi_routes import openapi_document as openapi_document  # `make openapi` reads it here
from request_screening import json_body, refusal

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it
# Answers are validated too, where a route's return type names a model; one that fails it raises, and the error
# answers' catch-all makes that a logged 500.
app = APIGatewayRestResolver(
    enable_validation=True,
    response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
    json_body_deserializer=json_body,
)
ROUTERS = [
    hook_routes.router,
    hook_event_routes.router,
    event_queue_routes.router,
    openapi_routes.router,
    self_service_routes.router,
    event_type_routes.router,
    portal_session_routes.router,
]
for router in ROUTERS:  # in this order, docs/openapi.json lists their paths
    app.include_router(router)
app.include_router(error_answers.router)  # its exception handlers answer for every route


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = session_refusal(event) or refusal(event) or app.resolve(event, context)
    return {**result, "headers": {**(result.get("headers") or {}), **doc.TRANSPORT_HEADERS}}
