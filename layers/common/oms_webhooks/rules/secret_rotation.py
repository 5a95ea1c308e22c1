"""Rotating a hook's signing secret without downtime: the old secret keeps signing beside the new one for a while.
An asymmetric hook's Ed25519 key pair rotates the same way (`rekeyed`): the old private key keeps signing too.

During the overlap a delivery's `webhook-signature` carries both signatures (new first), so a Standard Webhooks
receiver verifies with either secret; `X-Whisperer-Signature` carries one, the new secret's (README, "When your
endpoint fails"). The old secret is write-only like the new one, never signs after it expires (checked at
signing time), and is removed from storage on the hook's next read or write after that.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.clock import now
from oms_webhooks.domain.asymmetric_signing import generate_key_pair
from oms_webhooks.domain.errors import InvalidField, NotFound, WebhookError
from oms_webhooks.domain.hooks import MAX_SECRET_KEY_LENGTH, Hook, HookTarget
from oms_webhooks.domain.signing import STANDARD_SECRET_PREFIX, standard_webhooks_key

GENERATED_SECRET_BYTES = 24
DEFAULT_OVERLAP_SECONDS = 86400
MAX_OVERLAP_SECONDS = 7 * 86400
SWAP_TRIES = 3  # a concurrent change of the hook makes the conditional write fail; read again and retry


class ConcurrentChange(WebhookError):
    """The hook's secret kept changing under this rotation (other rotations at the same moment)."""


class RotateSecretRequest(BaseModel):
    """`POST .../rotate_secret/`: both optional; without a secret, the service makes one."""

    model_config = ConfigDict(strict=True, extra="forbid")

    secret_key: Annotated[
        Annotated[str, Field(max_length=MAX_SECRET_KEY_LENGTH)] | None,
        Field(description="The new secret (a `whsec_` one is base64 after the prefix); absent or null: generated."),
    ] = None
    overlap_seconds: Annotated[
        int,
        Field(ge=0, le=MAX_OVERLAP_SECONDS, description="Seconds the old secret keeps signing too; 0 ends it at once."),
    ] = DEFAULT_OVERLAP_SECONDS

    @field_validator("secret_key")
    @classmethod
    def _usable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value:
            raise ValueError("This field may not be blank.")
        if value.startswith(STANDARD_SECRET_PREFIX):
            try:
                base64.b64decode(value[len(STANDARD_SECRET_PREFIX) :], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError('A "whsec_" secret must be base64 after the prefix.') from None
        try:
            standard_webhooks_key(value)
        except (binascii.Error, ValueError):
            raise ValueError("This secret has no key bytes to sign with.") from None
        return value


@dataclass(frozen=True)
class RotatedSecret:
    hook: Hook
    generated_secret: str | None  # shown once, in the rotation's answer, when the service made it
    rekeyed: bool = False  # an asymmetric hook's key pair was rotated, not its secret


def generate_secret() -> str:
    """Standard Webhooks' form: `whsec_` + base64 of random bytes (24, as Svix makes them)."""
    return STANDARD_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode("ascii")


def live_previous_secret(hook: HookTarget, at: datetime | None = None) -> str | None:
    """The old secret while its overlap lasts, else None: an expired one never signs, wherever the hook was read."""
    expires = hook.previous_secret_expires_at
    if not hook.previous_secret_key or expires is None:
        return None
    return hook.previous_secret_key if expires > (at or now()) else None


def live_previous_signing_key(hook: HookTarget, at: datetime | None = None) -> str | None:
    """An asymmetric hook's old private key while its overlap lasts, else None."""
    expires = hook.previous_signing_key_expires_at
    if not hook.previous_signing_key or expires is None:
        return None
    return hook.previous_signing_key if expires > (at or now()) else None


def rotated(hook: Hook, new_secret: str, overlap_seconds: int, moment: datetime) -> Hook:
    """The hook signing with `new_secret`; its current secret keeps signing for `overlap_seconds` (replacing any
    older one still in its overlap: only the secret just replaced stays valid)."""
    previous = hook.secret_key if overlap_seconds > 0 else None
    expires = moment + timedelta(seconds=overlap_seconds) if previous else None
    return hook.model_copy(
        update={
            "secret_key": new_secret,
            "previous_secret_key": previous,
            "previous_secret_expires_at": expires,
            "modified_date": moment,
        }
    )


def keyed(hook: Hook) -> Hook:
    """An asymmetric hook has a key pair, made when it becomes asymmetric and kept while it stays so; a symmetric hook
    has none (switched back, its keys are dropped)."""
    if hook.signature_scheme == "asymmetric" and not hook.signing_key:
        private, public = generate_key_pair()
        return hook.model_copy(update={"signing_key": private, "public_key": public})
    if hook.signature_scheme == "symmetric" and (hook.signing_key or hook.public_key or hook.previous_signing_key):
        dropped = dict.fromkeys(
            ("signing_key", "public_key", "previous_signing_key", "previous_signing_key_expires_at")
        )
        return hook.model_copy(update=dropped)
    return hook


def rekeyed(hook: Hook, overlap_seconds: int, moment: datetime) -> Hook:
    """The hook signing with a new key pair; its current private key keeps signing for `overlap_seconds`."""
    private, public = generate_key_pair()
    previous = hook.signing_key if overlap_seconds > 0 else None
    return hook.model_copy(
        update={
            "signing_key": private,
            "public_key": public,
            "previous_signing_key": previous,
            "previous_signing_key_expires_at": moment + timedelta(seconds=overlap_seconds) if previous else None,
            "modified_date": moment,
        }
    )


class SecretRotation:
    def __init__(self, store: HookStore) -> None:
        self.store = store

    def rotate(self, owner: str, hook_id: int, request: RotateSecretRequest) -> RotatedSecret:
        """Conditional on the secret and key read, so two rotations at once cannot both answer with one that is lost.
        An asymmetric hook without a `secret_key` in the request rotates its key pair; any other, its secret."""
        generated = None if request.secret_key is not None else generate_secret()
        new_secret = request.secret_key or generated
        assert new_secret is not None
        for _ in range(SWAP_TRIES):
            hook = self.store.get(owner, hook_id)
            rekey = hook.signature_scheme == "asymmetric" and request.secret_key is None
            if new_secret == hook.secret_key and not rekey:
                raise InvalidField("secret_key", "The new secret must differ from the current one.")
            if rekey:
                changed = rekeyed(hook, request.overlap_seconds, now())
            else:
                changed = rotated(hook, new_secret, request.overlap_seconds, now())
            try:
                self.store.swap_secret(hook, changed)
            except NotFound:
                continue  # changed or deleted meanwhile: the next read says which
            return RotatedSecret(changed, None, rekeyed=True) if rekey else RotatedSecret(changed, generated)
        raise ConcurrentChange(f"hook {hook_id}")
