"""A hook: one owner's subscription of one URL to one OMS event type."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oms_webhooks.clock import iso, now
from oms_webhooks.domain.catalog import canonical_event_type
from oms_webhooks.domain.countdown import RetryCountdownConfig, default_countdown
from oms_webhooks.domain.errors import shown
from oms_webhooks.domain.hook_config import HookConfig
from oms_webhooks.domain.rate_limit import RateLimit
from oms_webhooks.domain.signing import RESERVED_HEADERS, check_standard_secret
from oms_webhooks.domain.target_urls import check_target_url

MAX_SECRET_KEY_LENGTH = 256
MAX_HEADERS = 20
MAX_HEADERS_BYTES = 8192

# RFC 9110 token characters; anything else could split or smuggle a header.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# What every HTTP stack sends and reads alike: visible ASCII, with spaces and tabs inside only. RFC 9110's
# obs-text (bytes 0x80-0xFF) is refused: senders encode it differently and receivers may reject it.
HEADER_VALUE = re.compile(r"^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?$")
HEADER_VALUE_RULE = "printable ASCII (0x20-0x7E, or tab) without leading or trailing whitespace"


def _event_type(value: str) -> str:
    canonical = canonical_event_type(value)
    if canonical is None:
        raise ValueError(f'"{value}" is not a valid choice.')
    return canonical


def _target_url(value: str) -> str:
    return check_target_url(value)


def _additional_headers(value: dict[str, str]) -> dict[str, str]:
    """Only headers every delivery can carry: sendable names and values, none the service sets itself."""
    if len(value) > MAX_HEADERS:
        raise ValueError(f"Ensure there are no more than {MAX_HEADERS} headers.")
    size = 0
    seen: dict[str, str] = {}
    for name, header_value in value.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f'"{shown(name)}" is not a valid header name.')
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f'"{name}" is set by the service and cannot be overridden.')
        if name.lower() in seen:
            raise ValueError(f'"{name}" repeats "{seen[name.lower()]}": header names ignore case.')
        seen[name.lower()] = name
        if _HEADER_VALUE_FORBIDDEN.search(header_value):
            raise ValueError(f'The value of "{name}" contains a line break or control character.')
        if not HEADER_VALUE.fullmatch(header_value):
            raise ValueError(f'The value of "{name}" must be {HEADER_VALUE_RULE}{_first_unsendable(header_value)}.')
        size += len(name) + len(header_value)
    if size > MAX_HEADERS_BYTES:
        raise ValueError(f"Headers may not exceed {MAX_HEADERS_BYTES} bytes in total.")
    return value


def _first_unsendable(value: str) -> str:
    for position, ch in enumerate(value):
        if not (" " <= ch <= "~" or ch == "\t"):
            return f"; found U+{ord(ch):04X} at position {position}"
    return ""


def _secret_key(value: str) -> str:
    check_standard_secret(value)
    return value


MAX_CALLBACK_LENGTH = 64  # whisperer's column


class HookPatch(BaseModel):
    """What a client may change; every field optional (PATCH). The answer's read-only fields are ignored, as DRF
    does, so a hook sent back as GET returned it is accepted; any other unknown field is refused."""

    model_config = ConfigDict(strict=True, extra="forbid")

    event_type: str | None = None
    target_url: str | None = None
    retry_countdown_config: RetryCountdownConfig | None = None
    additional_headers: dict[str, str] | None = None
    secret_key: Annotated[str, Field(max_length=MAX_SECRET_KEY_LENGTH)] | None = None
    rate_limit: RateLimit | None = None  # deliveries per second; null: unlimited
    config: HookConfig | None = None
    callback: Annotated[str, Field(max_length=MAX_CALLBACK_LENGTH)] | None = None
    is_active: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _without_read_only_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            ignored = read_only_fields()
            return {name: value for name, value in data.items() if name not in ignored}
        return data

    @field_validator("event_type", "target_url", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value

    @field_validator("event_type")
    @classmethod
    def _check_event_type(cls, value: str) -> str:
        return _event_type(value)

    @field_validator("target_url")
    @classmethod
    def _check_target_url(cls, value: str) -> str:
        return _target_url(value)

    @field_validator("additional_headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else _additional_headers(value)

    @field_validator("secret_key")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        return None if value is None else _secret_key(value)


class HookIn(HookPatch):
    """A whole hook as a client writes it (POST, PUT)."""

    event_type: str
    target_url: str


class HookTarget(BaseModel):
    """What a delivery needs of a hook: where, how to sign, how to retry. The dispatcher reads only this."""

    id: int
    owner: str
    event_type: str
    target_url: str
    retry_countdown_config: RetryCountdownConfig = Field(default_factory=default_countdown)
    additional_headers: dict[str, str] = Field(default_factory=dict)
    secret_key: str | None = None
    rate_limit: int | float | None = None  # deliveries per second (rate_limit.py); None: unlimited
    config: HookConfig = Field(default_factory=HookConfig)  # `auth` signs in to the target
    is_active: bool = True
    # The secret before the last rotation, still signing until it expires (secret_rotation.py); write-only too.
    previous_secret_key: str | None = None
    previous_secret_expires_at: datetime | None = None


class Hook(HookTarget):
    """A stored hook. `secret_key` and the config's password never leave the service: see `public()`."""

    callback: str | None = None  # whisperer runs it as Python after each delivery; here it is only kept
    created_date: datetime
    modified_date: datetime
    disabled_reason: str | None = None  # why the service turned it off (410 Gone, failing too long)
    disabled_at: datetime | None = None

    def changed(self, patch: HookPatch) -> Hook:
        """Apply a client's changes; fields it sent as null fall back to their defaults."""
        updates: dict[str, Any] = {}
        for name in patch.model_fields_set:
            value = getattr(patch, name)
            if value is None:  # only the optional fields may be null: back to their defaults
                value = Hook.model_fields[name].get_default(call_default_factory=True)
            updates[name] = value
        if "config" in updates:
            updates["config"] = updates["config"].completed(self.config)
        if updates.get("secret_key") == "":
            updates["secret_key"] = None
        if updates.get("is_active") is True:  # turned back on: the service's reason for turning it off is gone
            updates.update(disabled_reason=None, disabled_at=None)
        if "secret_key" in updates:  # set by hand: the change is immediate, no old secret keeps signing
            updates["previous_secret_key"] = updates["previous_secret_expires_at"] = None
        return self.model_copy(update={**updates, "modified_date": now()})

    def public(self) -> dict[str, Any]:
        """The hook as the API shows it: whisperer's fields, with the secret replaced by whether one is set."""
        return {
            "id": self.id,
            "event_type": self.event_type,
            "target_url": self.target_url,
            "retry_countdown_config": self.retry_countdown_config.model_dump(exclude_none=True),
            "additional_headers": self.additional_headers,
            "secret_key_set": bool(self.secret_key),
            "rate_limit": self.rate_limit,
            "config": self.config.public(),
            "callback": self.callback,
            "is_active": self.is_active,
            "created_date": iso(self.created_date),
            "modified_date": iso(self.modified_date),
            "disabled_reason": self.disabled_reason,
            "disabled_at": iso(self.disabled_at) if self.disabled_at else None,
        }


@cache
def read_only_fields() -> frozenset[str]:
    """The fields of an answer a client cannot write: whatever `public()` shows beyond HookPatch's fields."""
    moment = now()
    sample = Hook(id=0, owner="", event_type="", target_url="", created_date=moment, modified_date=moment)
    return frozenset(sample.public()) - frozenset(HookPatch.model_fields)
