"""Signature headers for a delivery: Whisperer's own and the Standard Webhooks trio.

Both are computed over the exact body bytes that are sent, so the body must not be
re-serialised after signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

STANDARD_SECRET_PREFIX = "whsec_"

# Headers the service owns; a hook's additional_headers may never set them.
RESERVED_HEADERS: frozenset[str] = frozenset(
    {
        "x-whisperer-signature",
        "x-whisperer-event",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "transfer-encoding",
        "connection",
    }
)


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key Standard Webhooks uses: base64-decoded after `whsec_`, else the UTF-8 bytes.

    The `whsec_` branch decodes exactly as the official verifier does (padding added, lenient).
    """
    if secret.startswith(STANDARD_SECRET_PREFIX):
        key = base64.b64decode(secret[len(STANDARD_SECRET_PREFIX) :] + "==")
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def signature_headers(
    body: bytes, secret: str, delivery_id: str, timestamp: int, previous_secret: str | None = None
) -> dict[str, str]:
    """Sign `body` so a receiver can check it with either the Whisperer or the Standard Webhooks scheme.

    During a rotation's overlap `previous_secret` signs too, as a second `webhook-signature` entry (Standard
    Webhooks: space-separated); `X-Whisperer-Signature` holds one signature, always the current secret's.
    """
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    whisperer = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    signed_content = f"{delivery_id}.{timestamp}.".encode() + body
    signatures = [_standard_signature(secret, signed_content)]
    if previous_secret and previous_secret != secret:
        signatures.append(_standard_signature(previous_secret, signed_content))
    return {
        "X-Whisperer-Signature": f"sha256={whisperer}",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def _standard_signature(secret: str, signed_content: bytes) -> str:
    digest = hmac.new(standard_webhooks_key(secret), signed_content, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode('ascii')}"
