"""Signature headers for a delivery: Whisperer's own and the Standard Webhooks trio.

Both are computed over the exact body bytes that are sent, so the body must not be
re-serialised after signing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

STANDARD_SECRET_PREFIX = "whsec_"

# Headers a hook's additional_headers may never set: the service's own (signatures, event, body, agent),
# and those that describe the connection or the message's framing and coding rather than the content
# (RFC 9110 section 7.6.1 hop-by-hop fields, Expect, Host, Content-Encoding), which a receiver would
# obey and so misread the delivery.
RESERVED_HEADERS: frozenset[str] = frozenset(
    {
        "x-whisperer-signature",
        "x-whisperer-event",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "content-encoding",
        "host",
        "user-agent",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)

_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
STANDARD_SECRET_RULE = (
    f'A secret that starts with "{STANDARD_SECRET_PREFIX}" must continue with the standard base64 '
    "(A-Z, a-z, 0-9, + and /, optional = padding) of a non-empty key, as Standard Webhooks secrets do."
)


def check_standard_secret(secret: str) -> None:
    """Refuse a `whsec_` secret whose key would not decode, so signing a delivery cannot fail later.

    Strict base64: what passes decodes to the same key under the lenient reading that signs.
    """
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        return
    encoded = secret[len(STANDARD_SECRET_PREFIX) :]
    if not _BASE64.match(encoded):
        raise ValueError(STANDARD_SECRET_RULE)
    try:
        key = base64.b64decode(encoded.rstrip("=") + "=" * (-len(encoded.rstrip("=")) % 4), validate=True)
    except binascii.Error:
        raise ValueError(STANDARD_SECRET_RULE) from None
    if not key:
        raise ValueError(STANDARD_SECRET_RULE)


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
