"""The portal session routes' answers for the OpenAPI document, beside api_schema.py in its style."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api_schema import DateTime


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenedPortalSession(_Answer):
    """A new portal session: a link to hand to the integrator, and the token it carries (shown this once)."""

    url: str = Field(
        description="The console, signing in by itself: the token is in the URL's fragment (`#session=...`), which "
        "browsers never send to a server, so it reaches no log."
    )
    token: str = Field(
        pattern="^portal[0-9a-f]{48}$",
        description="The session's token: `Authorization: Token <token>` works for this API too, as the owner, "
        "until `expires_at`. Only its SHA-256 is kept.",
    )
    expires_at: DateTime
    read_only: bool = Field(description="Whether every request that would change anything is refused (403).")


class PortalSessionInfo(_Answer):
    """The portal session a request is made with (never its token)."""

    owner: str
    read_only: bool
    expires_at: DateTime
    created_date: DateTime
