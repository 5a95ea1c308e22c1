"""`/whisperer/portal/sessions/`: console links an owner hands to an integrator, and their end.

A session's token is a bearer for this API under the owner until it expires (the authorizer honours it, and
portal_screening checks it again on each request); `current/` is the session a request is made with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import portal_session_schema as portal_doc
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from portal_screening import session_of

import api_schema as doc
from answers import answer
from oms_webhooks.adapters.portal_sessions import PortalSessionStore
from oms_webhooks.adapters.tokens import HASH_PREFIX_LENGTH
from oms_webhooks.clock import iso
from oms_webhooks.rules.portal_sessions import PortalSessionRequest, SessionsOpenNoSessions, open_session
from oms_webhooks.settings import settings
from parameters import current_event, owner

router = Router()
logger = Logger(child=True)

CONSOLE_PATH = "whisperer/console/"
SESSION_FRAGMENT = "session"  # the console reads `#session=<token>`, then takes it out of the address bar
NOT_A_SESSION = "This token is not a portal session: an owner's token is revoked by its operator (`token revoke`)."


def sessions() -> PortalSessionStore:
    return PortalSessionStore(settings().portal_sessions_table)


def moment(epoch_seconds: int) -> str:
    return iso(datetime.fromtimestamp(epoch_seconds, UTC))


def console_url(token: str) -> str:
    """The console beside this API (same host, stage or base path), signing in with `token` by itself."""
    event = current_event()
    host = event.headers.get("Host") or event.headers.get("host") or "localhost"
    scheme = event.headers.get("X-Forwarded-Proto") or event.headers.get("x-forwarded-proto") or "https"
    path = event.request_context.path or event.path
    root = path[: path.find("/whisperer/") + 1] if "/whisperer/" in path else "/"
    return f"{scheme}://{host}{root}{CONSOLE_PATH}#{SESSION_FRAGMENT}={token}"


def caller_session() -> str | None:
    return session_of(current_event().request_context.authorizer.get_context())


@router.post(
    "/whisperer/portal/sessions",
    summary="Open a portal session: a console link, signed in as this owner until it expires",
    operation_id="portal_sessions_create",
    tags=["portal"],
    responses=doc.responses(
        201,
        "The session: its console link and token (shown this once) and when it expires.",
        portal_doc.OpenedPortalSession,
        errors=(400, 403, 413, 415),
        e403=("A portal session opens no sessions; only the owner's own token does.", doc.Detail),
    ),
)
def open_portal_session(
    request: Annotated[PortalSessionRequest | None, Body()] = None,
) -> Response[Any]:
    try:
        token, session = open_session(sessions(), owner(), request or PortalSessionRequest(), caller_session())
    except SessionsOpenNoSessions:
        detail = "A portal session cannot open portal sessions; the owner's own token opens them."
        return answer(403, {"detail": detail})
    logger.info(
        "Portal session opened",
        extra={
            "session": session.token_hash[:HASH_PREFIX_LENGTH],
            "read_only": session.read_only,
            "expires_at": moment(session.expires_at),
        },
    )
    body: dict[str, Any] = {
        "url": console_url(token),
        "token": token,
        "expires_at": moment(session.expires_at),
        "read_only": session.read_only,
    }
    return answer(201, body)


@router.get(
    "/whisperer/portal/sessions/current",
    summary="The portal session this request is made with: its owner, rights and expiry",
    operation_id="portal_sessions_current",
    tags=["portal"],
    responses=doc.responses(
        200,
        "The session (never its token).",
        portal_doc.PortalSessionInfo,
        errors=(404,),
        e404=("The token is an owner's own, not a portal session.", doc.Detail),
    ),
)
def current_portal_session() -> Response[Any]:
    hashed = caller_session()
    session = sessions().find(hashed, consistent=True) if hashed else None
    if session is None:  # an owner's token (a session that ended was refused before routing)
        return answer(404, {"detail": NOT_A_SESSION})
    body = {
        "owner": session.owner,
        "read_only": session.read_only,
        "expires_at": moment(session.expires_at),
        "created_date": session.created_date,
    }
    return answer(200, body)


@router.delete(
    "/whisperer/portal/sessions/current",
    summary="End the portal session this request is made with (the console's Sign out)",
    operation_id="portal_sessions_end",
    tags=["portal"],
    responses=doc.responses(
        204,
        "Ended: its token is refused (401) from now on.",
        errors=(404,),
        e404=("The token is an owner's own, not a portal session.", doc.Detail),
    ),
)
def end_portal_session() -> Response[Any]:
    hashed = caller_session()
    if hashed is None:
        return answer(404, {"detail": NOT_A_SESSION})
    sessions().revoke(hashed)  # gone already (two tabs signing out at once): ended all the same
    logger.info("Portal session ended", extra={"session": hashed[:HASH_PREFIX_LENGTH]})
    return Response(status_code=204, body="")  # as hooks_destroy: `"body": null` is more than emulators can send
