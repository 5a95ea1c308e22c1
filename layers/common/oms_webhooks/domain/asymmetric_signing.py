"""Standard Webhooks' asymmetric signatures: Ed25519 over `id.timestamp.body`, sent as `v1a,<base64>`.

Keys in the spec's form: `whsk_` + base64 of the 32-byte private key (RFC 8032's seed; the 64-byte form libsodium
writes, seed then public key, is read too) and `whpk_` + base64 of the 32-byte public key. The service makes the
pair, keeps the private key and shows only the public one, which a receiver trusts to verify.

PyNaCl (libsodium) signs; it is imported on first use, so a process that signs no asymmetric hook never loads it.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nacl.signing import SigningKey

SECRET_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
SIGNATURE_VERSION = "v1a"
SEED_BYTES = 32


def generate_key_pair() -> tuple[str, str]:
    """A new pair: (`whsk_...`, `whpk_...`)."""
    from nacl.signing import SigningKey

    key = SigningKey.generate()
    return _secret_text(bytes(key)), _public_text(bytes(key.verify_key))


def asymmetric_signature(secret_key: str, signed_content: bytes) -> str:
    """`v1a,<base64 of the 64-byte Ed25519 signature>`; a key that cannot sign is a ValueError naming why."""
    signature = _signing_key(secret_key).sign(signed_content).signature
    return f"{SIGNATURE_VERSION},{base64.b64encode(signature).decode('ascii')}"


@lru_cache(maxsize=1024)
def _signing_key(secret_key: str) -> SigningKey:
    """Each hook's key is expanded once per process (libsodium hashes the seed on every construction)."""
    from nacl.signing import SigningKey

    return SigningKey(_seed(secret_key))


def _seed(secret_key: str) -> bytes:
    if not secret_key.startswith(SECRET_KEY_PREFIX):
        raise ValueError(f'an asymmetric signing key starts with "{SECRET_KEY_PREFIX}"')
    try:
        raw = base64.b64decode(secret_key[len(SECRET_KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"an asymmetric signing key is standard base64 after {SECRET_KEY_PREFIX}") from None
    if len(raw) not in (SEED_BYTES, 2 * SEED_BYTES):
        raise ValueError(f"an Ed25519 private key is {SEED_BYTES} bytes (or 64 with its public key), not {len(raw)}")
    return raw[:SEED_BYTES]


def _secret_text(seed: bytes) -> str:
    return SECRET_KEY_PREFIX + base64.b64encode(seed).decode("ascii")


def _public_text(public: bytes) -> str:
    return PUBLIC_KEY_PREFIX + base64.b64encode(public).decode("ascii")
