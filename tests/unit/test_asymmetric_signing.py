"""Ed25519 signatures as Standard Webhooks sends them (`v1a,`), checked with `cryptography` (OpenSSL), an
implementation independent of the PyNaCl (libsodium) that signs; and a delivery's headers with each scheme."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from oms_webhooks.domain.asymmetric_signing import asymmetric_signature, generate_key_pair
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.rules.attempt import NotSendable, delivery_headers

T0 = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)
SIGNED = b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.1674087231." + b'{"type":"contact.created"}'


def verify(public: str, signature: str, content: bytes) -> None:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public.removeprefix("whpk_")))
    version, encoded = signature.split(",", 1)
    assert version == "v1a"
    key.verify(base64.b64decode(encoded), content)


def test_a_generated_pair_signs_what_openssl_verifies_and_nothing_else() -> None:
    private, public = generate_key_pair()
    assert private.startswith("whsk_") and public.startswith("whpk_")
    assert len(base64.b64decode(private[5:])) == len(base64.b64decode(public[5:])) == 32
    signature = asymmetric_signature(private, SIGNED)
    verify(public, signature, SIGNED)
    with pytest.raises(InvalidSignature):
        verify(public, signature, SIGNED.replace(b"1674087231", b"1674087232"))
    assert generate_key_pair() != generate_key_pair()


def test_keys_made_by_openssl_sign_alike_in_both_forms() -> None:
    """The RFC 8032 32-byte private key, and libsodium's 64-byte form (seed then public key)."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    expected = "v1a," + base64.b64encode(key.sign(SIGNED)).decode()  # Ed25519 is deterministic
    for private in (seed, seed + public):
        text = "whsk_" + base64.b64encode(private).decode()
        assert asymmetric_signature(text, SIGNED) == expected


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("whsec_" + base64.b64encode(b"x" * 32).decode(), 'starts with "whsk_"'),
        ("whsk_not base64!", "standard base64"),
        ("whsk_" + base64.b64encode(b"x" * 31).decode(), "32 bytes"),
    ],
)
def test_a_key_that_cannot_sign_is_named(key: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        asymmetric_signature(key, SIGNED)


def hook(**fields: Any) -> HookTarget:
    values = {"id": 7, "owner": "a", "event_type": "package.created", "target_url": "http://r.test/"}
    return HookTarget.model_construct(**{"additional_headers": {}, "secret_key": None, **values, **fields})


DELIVERY = Delivery(
    uuid="d" * 32,
    owner="a",
    webhook=7,
    event_id="e",
    event_type="package.created",
    request_payload={"id": 1},
    target_url="http://r.test/",
    created_date=T0,
    modified_date=T0,
)


def test_every_delivery_has_its_id_and_timestamp_and_an_unsigned_one_no_signature() -> None:
    headers = delivery_headers(DELIVERY, hook(), DELIVERY.body())
    assert headers["webhook-id"] == DELIVERY.uuid and headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in headers and "X-Whisperer-Signature" not in headers


def test_an_asymmetric_delivery_carries_v1a_after_v1_and_the_old_key_during_the_overlap() -> None:
    private, public = generate_key_pair()
    old_private, old_public = generate_key_pair()
    overlap = hook(
        signature_scheme="asymmetric",
        signing_key=private,
        secret_key="whsec_" + base64.b64encode(b"k" * 24).decode(),
        previous_signing_key=old_private,
        previous_signing_key_expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    body = DELIVERY.body()
    headers = delivery_headers(DELIVERY, overlap, body)
    v1, new, old = headers["webhook-signature"].split(" ")
    assert v1.startswith("v1,") and "X-Whisperer-Signature" in headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    verify(public, new, signed)
    verify(old_public, old, signed)
    expired = overlap.model_copy(update={"previous_signing_key_expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    assert len(delivery_headers(DELIVERY, expired, body)["webhook-signature"].split(" ")) == 2


def test_an_asymmetric_hook_without_its_key_is_not_sent() -> None:
    with pytest.raises(NotSendable, match="no key pair"):
        delivery_headers(DELIVERY, hook(signature_scheme="asymmetric"), DELIVERY.body())
