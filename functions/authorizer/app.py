"""API Gateway TOKEN authorizer: `Authorization: Token <t>` → the token's owner, or 401.

An owner token is looked up in the tokens table; a portal session token (`portal...`) in the sessions table, and
only while it has not expired. API Gateway caches this answer per token (`ReauthorizeEvery`), so the context names
the session: the API checks it again on every request (request_screening), where a revocation or an expiry within
the cached minute is seen at once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms_webhooks.adapters.portal_sessions import PortalSessionStore, is_session_token
from oms_webhooks.adapters.tokens import TokenStore, token_hash
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
    granted = authorized_as(token.strip()) if scheme == "Token" else None
    if granted is None:
        logger.info("Refused a request with a missing, unknown or expired token")
        raise Exception("Unauthorized")  # API Gateway's contract for a 401 answer
    owner = granted["owner"]
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=owner,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=granted,
    )
    policy.allow_all_routes()  # cached per token, so it must cover every route
    return policy.asdict()


def authorized_as(token: str) -> dict[str, str] | None:
    """The context handed to the API (strings, as API Gateway passes them): the owner, and for a portal session
    its token's hash and whether it is read-only; None for a token that authorizes nothing."""
    if is_session_token(token):
        # Consistent: a link is often opened the moment it is made, before an eventual read would see it.
        session = PortalSessionStore(settings().portal_sessions_table).find(token_hash(token), consistent=True)
        if session is None:
            return None
        read_only = "true" if session.read_only else "false"
        return {"owner": session.owner, "portal_session": session.token_hash, "read_only": read_only}
    owner = TokenStore(settings().tokens_table).owner_of(token)
    return {"owner": owner} if owner else None
