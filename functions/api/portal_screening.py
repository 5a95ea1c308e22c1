"""What a portal session may do, checked before routing on every request made with one.

API Gateway caches the authorizer's answer per token for `ReauthorizeEvery` (60 s), so a session revoked or expired
within that minute would still pass it. Here the session is read again (one consistent GetItem, only for session
tokens): a session that is gone or past `expires_at` is 401 at once, and a read-only one is 403 on every request
that would change anything, except the one that ends it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from oms_webhooks.adapters.portal_sessions import PortalSessionStore
from oms_webhooks.settings import settings
from request_screening import answer_now

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_OUT = re.compile(r"^/whisperer/portal/sessions/current/?$")
ENDED = "The portal session has ended (it expired or was signed out); ask the owner for a new link."


def session_of(authorizer: Mapping[str, Any] | None) -> str | None:
    """The hash of the portal session a request is made with (from the authorizer's context); None for an owner's
    own token."""
    return str((authorizer or {}).get("portal_session") or "") or None


def session_refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    hashed = session_of(authorizer)
    if hashed is None:
        return None
    session = PortalSessionStore(settings().portal_sessions_table).find(hashed, consistent=True)
    if session is None or session.owner != (authorizer or {}).get("principalId"):
        return answer_now(401, {"detail": ENDED})
    method = event.get("httpMethod") or ""
    signing_out = method == "DELETE" and SIGN_OUT.match(event.get("path") or "")
    if session.read_only and method not in READ_METHODS and not signing_out:
        detail = f"This portal session is read-only: it may look but not change anything ({method} refused)."
        return answer_now(403, {"detail": detail})
    return None
