"""API Gateway TOKEN authorizer: `Authorization: Token <t>` → the token's owner, or 401."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    scheme, _, token = (event.authorization_token or "").partition(" ")
    owner = TokenStore(settings().tokens_table).owner_of(token.strip()) if scheme == "Token" else None
    if not owner:
        logger.info("Refused a request with a missing or unknown token")
        raise Exception("Unauthorized")  # API Gateway's contract for a 401 answer
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=owner,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"owner": owner},
    )
    policy.allow_all_routes()  # cached per token, so it must cover every route
    return policy.asdict()
