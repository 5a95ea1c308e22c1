"""A hook's `config`, as in whisperer: free-form JSON whose `auth` makes every delivery carry HTTP Basic auth.

Whisperer sends `config["auth"]` with `requests`' HTTPBasicAuth when `auth_type` is `"basic"` (its only kind) and
ignores the other keys when sending. Here `auth` is checked when written, and its password is write-only, like
`secret_key`: answers show the rest of `config`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from oms_webhooks.domain.errors import WebhookError

MAX_CONFIG_BYTES = 4096
MAX_CREDENTIAL_LENGTH = 256
AUTH_TYPES = ("basic",)

# RFC 7617: neither part may hold a control character, and the user-id no colon (the receiver splits at the first).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The same rules for the OpenAPI document: printable Latin-1, and no colon in the username.
_PASSWORD = r"^[\x20-\x7e\xa0-\xff]*$"
_USERNAME = r"^[\x20-\x39\x3b-\x7e\xa0-\xff]*$"


class MissingPassword(WebhookError):
    """`config.auth` without a password, and none stored to keep (a new hook, or one that had no auth)."""


def _credential(value: str, name: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"The {name} may not contain a line break or control character.")
    try:
        value.encode("latin-1")  # how requests (and so whisperer) and urllib3 encode Basic credentials
    except UnicodeEncodeError:
        raise ValueError(f"The {name} must be Latin-1 text, as HTTP Basic auth sends it.") from None
    return value


class BasicAuth(BaseModel):
    """`{"auth_type": "basic", "username": ..., "password": ...}`; a password left out keeps the stored one."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    auth_type: Annotated[str, Field(json_schema_extra={"enum": list(AUTH_TYPES)})]
    username: Annotated[str, Field(max_length=MAX_CREDENTIAL_LENGTH, json_schema_extra={"pattern": _USERNAME})]
    password: (
        Annotated[str, Field(max_length=MAX_CREDENTIAL_LENGTH, json_schema_extra={"pattern": _PASSWORD})] | None
    ) = None

    @field_validator("auth_type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if value not in AUTH_TYPES:
            raise ValueError(f'"{value}" is not a valid choice.')
        return value

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("The username may not contain a colon.")
        return _credential(value, "username")

    @field_validator("password")
    @classmethod
    def _check_password(cls, value: str | None) -> str | None:
        return None if value is None else _credential(value, "password")

    def header(self) -> str:
        """The `Authorization` value, encoded as requests' HTTPBasicAuth does."""
        pair = f"{self.username}:{self.password or ''}".encode("latin-1")
        return f"Basic {base64.b64encode(pair).decode('ascii')}"

    def public(self) -> BasicAuthAnswer:
        return {"auth_type": "basic", "username": self.username}


@with_config(extra="forbid")
class BasicAuthAnswer(TypedDict):
    """`config.auth` without its write-only password."""

    auth_type: Literal["basic"]
    username: str


@with_config(extra="allow")
class HookConfigAnswer(TypedDict, total=False):
    """The hook's `config` as written, its password left out; keys other than `auth` are the client's own."""

    auth: BasicAuthAnswer


class HookConfig(BaseModel):
    """`auth` is checked; any other key is the client's own, stored and shown as sent (whisperer's hosts use
    such keys to pick hooks when publishing; nothing here reads them)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    # Kept whole, the password included (what the hooks table and a dispatch card hold); no auth, no key.
    auth: Annotated[BasicAuth | None, Field(exclude_if=lambda auth: auth is None)] = None

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_CONFIG_BYTES:
                raise ValueError(f"Ensure this field has no more than {MAX_CONFIG_BYTES} bytes of JSON.")
            if value.get("auth") == {}:  # whisperer sends no auth for an empty one
                value = {key: item for key, item in value.items() if key != "auth"}
        return value

    def completed(self, stored: HookConfig | None) -> HookConfig:
        """The config to keep: an auth without a password (answers never show it) keeps the stored password."""
        if self.auth is None or self.auth.password is not None:
            return self
        if stored is not None and stored.auth is not None and stored.auth.password is not None:
            auth = self.auth.model_copy(update={"password": stored.auth.password})
            return self.model_copy(update={"auth": auth})
        raise MissingPassword()

    def public(self) -> HookConfigAnswer:
        extra: Any = dict(self.model_extra or {})
        return {"auth": self.auth.public(), **extra} if self.auth else extra
