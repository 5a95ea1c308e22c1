"""A hook: one owner's subscription of one URL to one OMS event type.

`Hook` declares each field once, with its type and limits, its default, its description, and who sets it: the
fields marked `Written` its owner, through the API; the others the service. The request bodies (`HookIn`,
`HookPatch`), the answer (`Hook.public()`, the OpenAPI document's `Hook`), the hooks table's item and the dispatch
card all follow from these fields: docs/ARCHITECTURE.md, "Adding a field".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from oms_webhooks.clock import now
from oms_webhooks.domain.errors import shown
from oms_webhooks.domain.event_catalog import EVENT_TYPES, SUBSCRIBABLE_EVENT_TYPES, subscribable_event_type
from oms_webhooks.domain.event_pattern import (
    MAX_DEPTH,
    MAX_EXPANDED_VALUES,
    MAX_PATTERN_BYTES,
    MAX_VALUES,
    MAX_WILDCARDS,
    EventPattern,
    within_bounds,
)
from oms_webhooks.domain.hook_config import MAX_CONFIG_BYTES, HookConfig, HookConfigAnswer
from oms_webhooks.domain.moment import Moment
from oms_webhooks.domain.rate_limit import MAX_RATE, MIN_RATE, RateLimit
from oms_webhooks.domain.retry_countdown import RetryCountdownConfig, default_countdown
from oms_webhooks.domain.signing import RESERVED_HEADERS, check_standard_secret
from oms_webhooks.domain.target_urls import MAX_TARGET_URL_LENGTH, check_target_url
from oms_webhooks.domain.written import Written, input_model

# A hook's id: a whole number of at most 12 digits. Paths and filters read no longer id, and the hooks table's sort
# key pads it to 12 digits so that keys sort as the ids do.
HOOK_ID_DIGITS = 12
MAX_HOOK_ID = 10**HOOK_ID_DIGITS - 1
HOOK_ID_PATTERN = f"^[0-9]{{1,{HOOK_ID_DIGITS}}}$"

# What a client may write as an event type: the catalog's names, their dashed forms (`package-created`), and the
# operational events (`whisperer.hook.disabled`, ...: domain/operational_events.py).
EVENT_TYPE_NAMES = [*SUBSCRIBABLE_EVENT_TYPES, *(name.replace(".", "-") for name in EVENT_TYPES)]

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
    canonical = subscribable_event_type(value)
    if canonical is None:
        raise ValueError(f'"{value}" is not a valid choice.')
    return canonical


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


def _every_field_shown(schema: dict[str, Any]) -> None:
    """An answer carries every field it shows, defaults too: the document says so (for a Hook's answers, in the
    document's serialization mode, which is the only one it describes a Hook in)."""
    for field in schema["properties"].values():
        field.pop("default", None)
    schema["required"] = list(schema["properties"])


class HookTarget(BaseModel):
    """What a delivery needs of a hook: where, how to sign, how to retry. The dispatcher reads only this: these
    fields make the hook's dispatch card."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_every_field_shown)

    id: int
    owner: Annotated[str, Field(exclude=True)]  # the hooks table's partition key; never shown
    event_type: Annotated[
        str,
        Written(_event_type, nullable=False, accepts={"enum": EVENT_TYPE_NAMES}),
        Field(
            description="An OMS event type (the dashed form, `package-created`, names the same one), or an "
            "operational event about the owner's own hooks (`whisperer.delivery.exhausted`, `whisperer.hook.disabled`, "
            "`whisperer.hook.circuit_opened`, `whisperer.hook.circuit_closed`).",
            json_schema_extra={"enum": list(SUBSCRIBABLE_EVENT_TYPES)},
        ),
    ]
    target_url: Annotated[
        str,
        Written(check_target_url, nullable=False),
        Field(
            description="An absolute http or https URL, port 1-65535; a host name has labels of at most 63 letters, "
            "digits and hyphens (IDNA 2008 for other letters, never normalised) and 253 characters in all. A "
            "literal private, loopback or link-local address is refused (400), and every address is checked again "
            "when a delivery dials it.",
            json_schema_extra={"format": "uri", "maxLength": MAX_TARGET_URL_LENGTH},
        ),
    ]
    retry_countdown_config: Annotated[
        RetryCountdownConfig,
        Written(),
        Field(
            description="When to retry a failed delivery: after n retries, `fixed` waits `seconds`, `linear` "
            "`min(base*n, limit)`, `exponential` `min(base**n * factor, limit)`, `random` an integer in "
            '[min_value, max_value]; at most `max_retries` (default 10). Null or absent: `{"choice": "exponential", '
            '"kwargs": {"base": 2}}`.'
        ),
        PlainSerializer(lambda config: config.model_dump(exclude_none=True), when_used="json"),
    ] = Field(default_factory=default_countdown)
    additional_headers: Annotated[
        dict[str, str],
        Written(_additional_headers),
        Field(
            description=f"Sent with every delivery: at most {MAX_HEADERS} headers and 8 KiB; values are printable "
            "ASCII (spaces and tabs inside only). The signature, event, content, hop-by-hop (Connection, Upgrade, "
            "TE, ...), Expect and Host headers are the service's and refused.",
            json_schema_extra={
                "maxProperties": MAX_HEADERS,
                "propertyNames": {"pattern": _HEADER_NAME.pattern},
                "additionalProperties": {"type": "string", "pattern": HEADER_VALUE.pattern},
            },
        ),
    ] = Field(default_factory=dict)
    secret_key: Annotated[
        Annotated[str, Field(max_length=MAX_SECRET_KEY_LENGTH)] | None,
        Written(_secret_key),
        Field(
            description="The secret that signs every delivery (`X-Whisperer-Signature`, Standard Webhooks "
            "`webhook-signature`; a `whsec_` secret must be base64 of a non-empty key). Write-only: answers carry "
            "`secret_key_set`, whether one is set. Null or empty removes it.",
            serialization_alias="secret_key_set",
        ),
        PlainSerializer(bool, return_type=bool, when_used="json"),
    ] = None
    rate_limit: Annotated[
        RateLimit | None,
        Written(),
        Field(
            description=f"At most this many deliveries a second to this hook, from {MIN_RATE:g} to {MAX_RATE:g} "
            "(null or absent: unlimited). Deliveries beyond it wait for their turn in the retry queue (status "
            "`deferred`, not a failed attempt); attempts start in slots 1/rate_limit seconds apart."
        ),
    ] = None
    config: Annotated[
        HookConfig,
        Written(),
        Field(
            description='Whisperer\'s `config`. `"auth": {"auth_type": "basic", "username": ..., "password": ...}` '
            "makes every delivery carry HTTP Basic auth; the password is write-only (left out, the stored one is "
            f"kept). Other keys are stored and shown as sent. At most {MAX_CONFIG_BYTES} bytes of JSON. Null: `{{}}`."
        ),
        PlainSerializer(HookConfig.public, return_type=HookConfigAnswer, when_used="json"),
    ] = Field(default_factory=HookConfig)  # `auth` signs in to the target
    filter: Annotated[
        EventPattern | None,
        Written(within_bounds),
        Field(
            description="Which events this hook receives: an Amazon EventBridge event pattern matched against the "
            "event's `payload` (what a delivery's body carries under `payload`), with EventBridge's semantics: "
            "exact values, `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but`, `numeric`, "
            "`exists` and `$or`; a payload array matches when any element does. Null or absent: every event. At "
            f"most {MAX_PATTERN_BYTES} bytes of JSON, {MAX_DEPTH} nested objects, {MAX_VALUES} match values "
            f"({MAX_EXPANDED_VALUES} once `$or` is expanded) and {MAX_WILDCARDS} `*` in one wildcard value; `cidr` "
            "is not supported. An event the pattern does not match leaves no delivery.",
            examples=[{"channel": ["web"], "total": [{"numeric": [">=", 100]}]}],
        ),
    ] = None
    ordering: Annotated[
        Literal["none", "object"],
        Written(),
        Field(
            description="`object`: the deliveries of one OMS object (the event type's first segment and the "
            "payload's `id`, e.g. `package:73`) reach this hook's target URL in the order the service queued their "
            "events, across the owner's hooks with `object` on that URL: each waits until every earlier one has "
            "been delivered, failed after its last retry, or had its hook disabled. Other objects and other URLs "
            'are never held back. `none` (the default): as they come. README, "Ordered delivery".'
        ),
    ] = "none"
    # The secret before the last rotation, still signing until it expires (secret_rotation.py); never shown either.
    previous_secret_key: Annotated[str | None, Field(exclude=True)] = None
    previous_secret_expires_at: Annotated[datetime | None, Field(exclude=True)] = None
    signature_scheme: Annotated[
        Literal["symmetric", "asymmetric"],
        Written(),
        Field(
            description="`symmetric` (the default): deliveries are signed with `secret_key` when it is set "
            "(HMAC-SHA256, `v1,` in `webhook-signature`). `asymmetric`: the service makes an Ed25519 key pair and "
            "signs every delivery with its private key as well (`v1a,`, Standard Webhooks); `public_key` shows the key "
            "to verify with. Null: `symmetric`, which drops the key pair."
        ),
    ] = "symmetric"
    # An asymmetric hook's Ed25519 private key (`whsk_`), the service's own, and the one before the last rotation,
    # still signing until it expires (secret_rotation.py). Never shown: answers carry the public key.
    signing_key: Annotated[str | None, Field(exclude=True)] = None
    previous_signing_key: Annotated[str | None, Field(exclude=True)] = None
    previous_signing_key_expires_at: Annotated[datetime | None, Field(exclude=True)] = None


class Hook(HookTarget):
    """A hook as the API shows it. `secret_key` and `config.auth.password` are write-only: answers say only whether
    a secret is set."""

    callback: Annotated[
        Annotated[str, Field(max_length=MAX_CALLBACK_LENGTH)] | None,
        Written(),
        Field(
            description="Stored and shown, never run: in whisperer it names Python code the server calls after each "
            "delivery, which has no meaning here."
        ),
    ] = None
    is_active: Annotated[bool, Written(nullable=False)] = True
    created_date: Moment
    modified_date: Moment
    disabled_reason: Annotated[
        str | None,
        Field(
            description="Why the service turned the hook off (its subscriber answered 410 Gone, or every attempt "
            'failed for AutoDisableAfter); null otherwise. `PATCH {"is_active": true}` clears it.'
        ),
    ] = None
    disabled_at: Annotated[
        Moment | None, Field(description="When the service turned the hook off; null otherwise.")
    ] = None
    public_key: Annotated[
        str | None,
        Field(
            description="An asymmetric hook's Ed25519 public key (`whpk_` and base64, Standard Webhooks' form): the "
            "key a receiver verifies `v1a,` signatures with. Changes only with `rotate_secret` (the old private key "
            "keeps signing for the overlap). Null for a symmetric hook.",
            examples=["whpk_UJSQQ6lZG2f/At1O5Nia7kSLh/XWHGkX/pLO+ljnyoI="],
        ),
    ] = None

    def changed(self, patch: HookPatch) -> Self:
        """Apply a client's changes; fields it sent as null fall back to their defaults."""
        updates: dict[str, Any] = {}
        for name in patch.model_fields_set:
            value = getattr(patch, name)
            if value is None:  # only the optional fields may be null: back to their defaults
                value = type(self).model_fields[name].get_default(call_default_factory=True)
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
        """The hook as the API shows it: its JSON, which leaves out what is never shown."""
        return self.model_dump(mode="json", by_alias=True)


# The request bodies: Hook's Written fields (domain/written.py). Their bases are made at import, so a type checker
# sees them as Any.
_WholeHook: Any = input_model(Hook, "WholeHook", partial=False)
_HookChanges: Any = input_model(Hook, "HookChanges", partial=True)


class HookIn(_WholeHook):
    """A whole hook as a client writes it (POST, PUT)."""


class HookPatch(_HookChanges):
    """What a client may change; every field optional (PATCH). The answer's read-only fields are ignored, as DRF
    does, so a hook sent back as GET returned it is accepted; any other unknown field is refused."""
