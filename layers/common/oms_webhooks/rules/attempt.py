"""One attempt at one delivery: the signed POST and its record. Shared by dispatch, retries and manual retry.

Whatever goes wrong while building, signing or sending one delivery is that delivery's failed attempt, recorded
with a reason its owner can read; it never escapes to fail the other deliveries of the same run.
"""

from __future__ import annotations

import re
import time

from aws_lambda_powertools import Logger

from oms_webhooks.adapters.sender import RESPONSE_CONTENT_LIMIT, USER_AGENT, Sender, SendResult
from oms_webhooks.clock import now
from oms_webhooks.domain.asymmetric_signing import asymmetric_signature
from oms_webhooks.domain.deliveries import Attempt, Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.domain.signing import RESERVED_HEADERS, STANDARD_SECRET_PREFIX, signature_headers
from oms_webhooks.rules.secret_rotation import live_previous_secret, live_previous_signing_key

logger = Logger(child=True)

NOT_SENT = "Not sent: "
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
_LINE_BREAK_OR_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Recorded with each attempt as sent, except credentials to the target: their scheme is kept, the rest is not.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})


class NotSendable(ValueError):
    """This delivery cannot be made into an HTTP request as its hook stands; the message says why."""


def delivery_headers(delivery: Delivery, hook: HookTarget, body: bytes) -> dict[str, str]:
    """The hook's own headers first, so the service's headers (signatures above all) always win."""
    headers = _hook_headers(hook)
    headers.update(
        {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Whisperer-Event": delivery.event_type}
    )
    if hook.config.auth:  # replaces additional_headers' Authorization, as requests' auth does in whisperer
        headers = {name: value for name, value in headers.items() if name.lower() != "authorization"}
        headers["Authorization"] = hook.config.auth.header()
    # Standard Webhooks' id (the same on every attempt) and timestamp (this attempt's) go with every delivery, signed
    # or not: the id is the receiver's idempotency key.
    timestamp = int(time.time())
    headers.update({"webhook-id": delivery.uuid, "webhook-timestamp": str(timestamp)})
    if hook.secret_key:
        previous = live_previous_secret(hook)  # during a rotation's overlap the old secret signs as well
        headers.update(_signatures(body, hook.secret_key, delivery.uuid, timestamp, previous))
    if hook.signature_scheme == "asymmetric":
        signatures = [headers["webhook-signature"]] if "webhook-signature" in headers else []
        headers["webhook-signature"] = " ".join([*signatures, *_asymmetric(hook, delivery.uuid, timestamp, body)])
    return headers


def recorded_headers(headers: dict[str, str]) -> dict[str, str]:
    """What an attempt keeps of its request headers: all of them (signatures too; never a secret)."""
    return {
        name: value.split(" ", 1)[0] + " [redacted]" if name.lower() in CREDENTIAL_HEADERS else value
        for name, value in headers.items()
    }


def attempt_delivery(
    delivery: Delivery, hook: HookTarget, sender: Sender, manual: bool = False, body: bytes | None = None
) -> SendResult:
    """One POST, recorded on `delivery` whatever happens; raises nothing that is this delivery's own fault.
    `body`: the delivery's body when the caller made it already (the dispatcher, from its event's `EventBody`)."""
    started, clock = now(), time.perf_counter()
    headers: dict[str, str] = {}  # none were sent when the request could not be made
    try:
        body = delivery.body() if body is None else body
        headers = delivery_headers(delivery, hook, body)
        result = sender.post(hook.target_url, body, headers)
    except NotSendable as unsendable:
        reason = str(unsendable)
        logger.warning("Delivery not sent", extra={"uuid": delivery.uuid, "hook_id": hook.id, "reason": reason})
        result = SendResult(started, time.perf_counter() - clock, error=_not_sent(reason))
    except Exception as fault:  # a fault of ours or of a library: logged in full, recorded in one line
        logger.exception("Delivery failed unexpectedly", extra={"uuid": delivery.uuid, "hook_id": hook.id})
        result = SendResult(started, time.perf_counter() - clock, error=_not_sent(_describe(fault)))
    delivery.record(
        Attempt(
            at=result.started,
            status_code=result.status_code,
            error=result.error or _failure(result),
            duration=result.duration,
            manual=manual,
            request_headers=recorded_headers(headers),
            response_headers=result.headers,
            response_content=result.content,
        ),
        result.content,
    )
    return result


def _hook_headers(hook: HookTarget) -> dict[str, str]:
    """The hook's additional headers, if each can be sent as it is; stored hooks may predate today's validation."""
    if not isinstance(hook.additional_headers, dict):
        raise NotSendable("additional_headers is not an object of header names and values")
    headers: dict[str, str] = {}
    for name, value in hook.additional_headers.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise NotSendable(f"header name {name!r} is not a valid HTTP field name")
        if name.lower() in RESERVED_HEADERS:
            raise NotSendable(f"header {name} is set by the service and cannot be overridden")
        if not isinstance(value, str):
            raise NotSendable(f"header {name} value is not sendable (it is not text)")
        try:
            value.encode("latin-1")  # what http.client puts on the wire
        except UnicodeEncodeError as outside:
            where = f"U+{ord(value[outside.start]):04X} at position {outside.start}"
            raise NotSendable(f"header {name} value is not sendable ({where} is outside ISO-8859-1)") from None
        if _LINE_BREAK_OR_CONTROL.search(value):
            raise NotSendable(f"header {name} value is not sendable (it contains a line break or control character)")
        headers[name] = value
    return headers


def _asymmetric(hook: HookTarget, delivery_uuid: str, timestamp: int, body: bytes) -> list[str]:
    """`v1a,` signatures: the hook's Ed25519 key's, and during a rotation's overlap the old key's too."""
    if not hook.signing_key:
        raise NotSendable("signature_scheme is asymmetric but the hook has no key pair (set signature_scheme again)")
    signed_content = f"{delivery_uuid}.{timestamp}.".encode() + body
    keys = [hook.signing_key, live_previous_signing_key(hook)]
    try:
        return [asymmetric_signature(key, signed_content) for key in keys if key]
    except ValueError as unusable:
        raise NotSendable(f"the hook's signing key cannot sign ({unusable})") from None


def _signatures(
    body: bytes, secret: str, delivery_uuid: str, timestamp: int, previous: str | None = None
) -> dict[str, str]:
    """The signature headers; a secret no key can be made of is named, never shown."""
    try:
        return signature_headers(body, secret, delivery_uuid, timestamp, previous)
    except ValueError as unusable:  # binascii.Error and UnicodeError are ValueErrors
        if previous is not None:  # an old secret that cannot sign is left out: the current one decides
            return _signatures(body, secret, delivery_uuid, timestamp)
        why = "it cannot be encoded as UTF-8" if isinstance(unusable, UnicodeError) else str(unusable)
        if secret.startswith(STANDARD_SECRET_PREFIX):
            must = f"after {STANDARD_SECRET_PREFIX} it must be the base64 of a non-empty key"
            raise NotSendable(f"secret_key cannot sign: {must} ({why})") from None
        raise NotSendable(f"secret_key cannot sign ({why})") from None


def _not_sent(reason: str) -> str:
    return (NOT_SENT + " ".join(reason.split()))[:RESPONSE_CONTENT_LIMIT]


def _describe(fault: BaseException) -> str:
    return f"{type(fault).__name__}: {fault}" if str(fault) else type(fault).__name__


def _failure(result: SendResult) -> str | None:
    if result.succeeded or result.status_code is None:
        return None
    if 300 <= result.status_code < 400:
        return f"HTTP {result.status_code}: redirects are not followed"
    return f"HTTP {result.status_code}"
