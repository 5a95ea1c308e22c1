"""One attempt at one delivery: the signed POST and its record. Shared by dispatch, retries and manual retry."""

from __future__ import annotations

import time

from oms_webhooks.deliveries import Attempt, Delivery
from oms_webhooks.hooks import HookTarget
from oms_webhooks.secret_rotation import live_previous_secret
from oms_webhooks.sender import USER_AGENT, Sender, SendResult
from oms_webhooks.signing import signature_headers

# Recorded with each attempt as sent, except credentials to the target: their scheme is kept, the rest is not.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})


def delivery_headers(delivery: Delivery, hook: HookTarget, body: bytes) -> dict[str, str]:
    """The hook's own headers first, so the service's headers (signatures above all) always win."""
    headers = dict(hook.additional_headers)
    headers.update(
        {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Whisperer-Event": delivery.event_type}
    )
    if hook.secret_key:
        previous = live_previous_secret(hook)  # during a rotation's overlap the old secret signs as well
        headers.update(signature_headers(body, hook.secret_key, delivery.uuid, int(time.time()), previous))
    return headers


def recorded_headers(headers: dict[str, str]) -> dict[str, str]:
    """What an attempt keeps of its request headers: all of them (signatures too; never a secret)."""
    return {
        name: value.split(" ", 1)[0] + " [redacted]" if name.lower() in CREDENTIAL_HEADERS else value
        for name, value in headers.items()
    }


def attempt_delivery(delivery: Delivery, hook: HookTarget, sender: Sender, manual: bool = False) -> SendResult:
    body = delivery.body()
    headers = delivery_headers(delivery, hook, body)
    result = sender.post(hook.target_url, body, headers)
    delivery.record(
        Attempt(
            at=result.started,
            status_code=result.status_code,
            error=result.error or _failure(result),
            duration=result.duration,
            manual=manual,
            request_headers=recorded_headers(headers),
        ),
        result.content,
    )
    return result


def _failure(result: SendResult) -> str | None:
    if result.succeeded or result.status_code is None:
        return None
    if 300 <= result.status_code < 400:
        return f"HTTP {result.status_code}: redirects are not followed"
    return f"HTTP {result.status_code}"
