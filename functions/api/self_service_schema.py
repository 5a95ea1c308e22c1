"""The self-service routes' answers for the OpenAPI document (rotation, test event, recovery, stats, event catalog).

Beside api_schema.py, in its style; tests/integration/test_self_service_api.py checks the handlers' answers
against these models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_schema import DateTime, Hook, HookEventDetail, SubscribableEventType


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RotatedSecret(_Answer):
    """The rotation's outcome. The old secret keeps signing until `previous_secret_expires_at`, then is gone."""

    secret_key: str = Field(
        None,  # type: ignore[assignment]  # absent (never null) when the client chose the secret
        description="The new secret, only when the service generated it (`whsec_` + base64 of 24 random bytes). "
        "Shown this once.",
    )
    previous_secret_expires_at: DateTime | None = Field(
        description="Until when the old secret signs too (null: no overlap, or there was no secret)."
    )
    previous_signing_key_expires_at: DateTime | None = Field(
        description="An asymmetric hook whose key pair this call rotated (no `secret_key` sent): until when the old "
        "private key signs too; the new public key is the hook's `public_key`. Null otherwise."
    )
    hook: Hook


class TrialDelivery(HookEventDetail):
    """The recorded test delivery (as `GET /whisperer/hook_events/{uuid}/` shows it), and what came of it."""

    detail: str = Field(description="What the attempt got, in one sentence.")


class Recovered(_Answer):
    """How many deliveries were queued for one more attempt, and the window looked at."""

    queued: int = Field(description="Deliveries queued now; those queued by an earlier call still in progress are not.")
    since: DateTime
    until: DateTime


class AttemptCounts(_Answer):
    total: int
    succeeded: int
    failed: int


class DeliveryCounts(_Answer):
    delivered: int
    retrying: int
    failed: int
    pending: int
    deferred: int = Field(
        description="Queued, not attempted: the hook's circuit is open, or its `rate_limit` says later (not failures)."
    )


class Latency(_Answer):
    p50: float | None
    p95: float | None
    p99: float | None


class StatsBucket(_Answer):
    start: DateTime
    delivered: int = Field(description="Deliveries created in this bucket and delivered by now.")
    failed: int
    retrying: int
    pending: int = Field(description="Created in this bucket and not attempted yet.")
    deferred: int = Field(description="Created in this bucket and waiting (rate limit, open circuit), not attempted.")
    attempts: int = Field(description="Attempts made in this bucket.")
    p95_ms: float | None


class HookStats(_Answer):
    """A hook's deliveries created in the period (test events left out) and all their attempts."""

    period: Literal["24h", "7d", "30d"]
    since: DateTime = Field(description="Where the figures start (later than the period's start past 200,000).")
    until: DateTime
    bucket: Literal["hour", "day"]
    attempts: AttemptCounts
    deliveries: DeliveryCounts
    success_rate: float | None = Field(description="Share of attempts answered 2xx (null: no attempts).")
    latency_ms: Latency
    last_success_at: DateTime | None
    last_failure_at: DateTime | None
    series: list[StatsBucket]


class EventTypeDescription(_Answer):
    event_type: SubscribableEventType
    description: str
    schema_: dict[str, Any] = Field(alias="schema", description="A JSON Schema (2020-12) of the payload.")
    example: dict[str, Any] = Field(description="An example payload, as the OMS sends it.")


class EventTypeCatalog(_Answer):
    """Every event type a hook may subscribe to, with what its payload looks like (one page)."""

    count: int
    next: None
    previous: None
    results: list[EventTypeDescription]
