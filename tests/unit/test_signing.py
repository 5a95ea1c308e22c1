"""Signatures must verify the way receivers verify them: Whisperer's hex HMAC and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from oms_webhooks.domain.signing import RESERVED_HEADERS, signature_headers, standard_webhooks_key

BODY = json.dumps(
    {"event": {"type": "package.created", "uuid": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}, "payload": {"id": 7}},
    separators=(",", ":"),
).encode()
DELIVERY_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
PLAIN = "plain-secret-with-ünïcode"


def now() -> int:
    return int(time.time())


def verifier_for(secret: str) -> Webhook:
    """The official verifier keyed exactly as we sign: a plain secret's raw UTF-8 bytes are the key.

    Webhook("plain") would base64-decode the text, so the plain secret is handed over as bytes.
    """
    if secret.startswith("whsec_"):
        return Webhook(secret)
    return Webhook(secret.encode("utf-8"))


def test_headers_are_exactly_the_four_signature_headers() -> None:
    headers = signature_headers(BODY, PLAIN, DELIVERY_ID, 1_700_000_000)
    assert set(headers) == {"X-Whisperer-Signature", "webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == DELIVERY_ID
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["X-Whisperer-Signature"].startswith("sha256=")
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("secret", [WHSEC, PLAIN], ids=["whsec", "plain"])
def test_official_standardwebhooks_verifier_accepts(secret: str) -> None:
    headers = signature_headers(BODY, secret, DELIVERY_ID, now())
    assert verifier_for(secret).verify(BODY, headers) == json.loads(BODY)


def test_plain_secret_also_verifies_via_whsec_wrapping() -> None:
    """A receiver that only takes `whsec_` strings can wrap a plain secret's bytes in base64."""
    headers = signature_headers(BODY, PLAIN, DELIVERY_ID, now())
    wrapped = "whsec_" + base64.b64encode(PLAIN.encode("utf-8")).decode()
    Webhook(wrapped).verify(BODY, headers)


def test_plain_secret_is_not_base64_decoded() -> None:
    """The verifier's default reading of a non-whsec string (base64) is not our key; say so plainly."""
    secret = "c2VjcmV0"  # valid base64, so the verifier would silently decode it to b"secret"
    headers = signature_headers(BODY, secret, DELIVERY_ID, now())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)
    Webhook(secret.encode()).verify(BODY, headers)


@pytest.mark.parametrize("secret", [WHSEC, PLAIN], ids=["whsec", "plain"])
def test_receiver_side_hmac_compare_digest(secret: str) -> None:
    timestamp = now()
    headers = signature_headers(BODY, secret, DELIVERY_ID, timestamp)

    whisperer = "sha256=" + hmac.new(secret.encode("utf-8"), BODY, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Whisperer-Signature"], whisperer)

    signed = f"{DELIVERY_ID}.{timestamp}.".encode() + BODY
    expected = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    version, _, encoded = headers["webhook-signature"].partition(",")
    assert version == "v1"
    assert hmac.compare_digest(base64.b64decode(encoded), expected)


def test_whsec_key_is_the_decoded_remainder() -> None:
    assert standard_webhooks_key(WHSEC) == b"0123456789abcdef0123456789abcdef"
    assert standard_webhooks_key(PLAIN) == PLAIN.encode("utf-8")
    # Unpadded base64 after the prefix decodes the same way the official verifier decodes it.
    unpadded = "whsec_" + base64.b64encode(b"abcd").decode().rstrip("=")
    assert standard_webhooks_key(unpadded) == b"abcd"
    assert Webhook(unpadded)._whsecret == b"abcd"


def test_whisperer_signature_uses_the_whole_secret_text_even_for_whsec() -> None:
    headers = signature_headers(BODY, WHSEC, DELIVERY_ID, now())
    expected = hmac.new(WHSEC.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers["X-Whisperer-Signature"] == f"sha256={expected}"


@pytest.mark.parametrize("secret", [WHSEC, PLAIN], ids=["whsec", "plain"])
def test_tampered_body_fails(secret: str) -> None:
    headers = signature_headers(BODY, secret, DELIVERY_ID, now())
    tampered = BODY.replace(b'"id":7', b'"id":8')
    assert tampered != BODY
    with pytest.raises(WebhookVerificationError):
        verifier_for(secret).verify(tampered, headers)
    whisperer = "sha256=" + hmac.new(secret.encode(), tampered, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(headers["X-Whisperer-Signature"], whisperer)


@pytest.mark.parametrize("secret", [WHSEC, PLAIN], ids=["whsec", "plain"])
def test_tampered_timestamp_fails(secret: str) -> None:
    timestamp = now()
    headers = signature_headers(BODY, secret, DELIVERY_ID, timestamp)
    # Still inside the verifier's 5-minute tolerance, so only the signature can reject it.
    headers["webhook-timestamp"] = str(timestamp - 1)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verifier_for(secret).verify(BODY, headers)


def test_tampered_delivery_id_fails() -> None:
    headers = signature_headers(BODY, WHSEC, DELIVERY_ID, now())
    headers["webhook-id"] = "f" * 32
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(WHSEC).verify(BODY, headers)


def test_stale_timestamp_is_rejected_by_the_verifier() -> None:
    headers = signature_headers(BODY, WHSEC, DELIVERY_ID, now() - 3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(WHSEC).verify(BODY, headers)


def test_same_inputs_same_signature_so_retries_are_stable() -> None:
    assert signature_headers(BODY, PLAIN, DELIVERY_ID, 42) == signature_headers(BODY, PLAIN, DELIVERY_ID, 42)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_!!!"])
def test_empty_key_is_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        signature_headers(BODY, secret, DELIVERY_ID, 42)


def test_reserved_headers() -> None:
    assert {
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
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "content-encoding",
    } == RESERVED_HEADERS
    assert all(name == name.lower() for name in RESERVED_HEADERS)
    assert {name.lower() for name in signature_headers(BODY, PLAIN, DELIVERY_ID, 42)} <= RESERVED_HEADERS
