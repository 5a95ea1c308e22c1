"""Portal sessions as the API opens them: how long one may last, and who may open one.

Only an owner's own token opens sessions. A session opens none, whatever its rights: a link handed to an integrator
ends when the owner said, and revoking it (or its expiry) ends everything it gave, with no child session outliving
it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from oms_webhooks.adapters.portal_sessions import PortalSession, PortalSessionStore

MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 86_400
DEFAULT_TTL_SECONDS = 900


class PortalSessionRequest(BaseModel):
    """`POST /whisperer/portal/sessions/`: how long the session lasts and whether it may change anything."""

    model_config = ConfigDict(strict=True, extra="forbid")

    ttl_seconds: Annotated[
        int,
        Field(
            ge=MIN_TTL_SECONDS,
            le=MAX_TTL_SECONDS,
            description=f"Seconds the session lasts, {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS:,} (a day).",
        ),
    ] = DEFAULT_TTL_SECONDS
    read_only: Annotated[
        bool, Field(description="A read-only session is refused (403) every request that would change anything.")
    ] = False


class SessionsOpenNoSessions(Exception):
    """A portal session asked to open another."""


def open_session(
    store: PortalSessionStore, owner: str, request: PortalSessionRequest, caller: str | None
) -> tuple[str, PortalSession]:
    """A new session of `owner`; `caller` is the hash of the session making the request, None for the owner's
    token."""
    if caller is not None:
        raise SessionsOpenNoSessions(caller)
    return store.open(owner, request.ttl_seconds, request.read_only)
