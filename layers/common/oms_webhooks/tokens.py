"""API tokens: random strings handed out once; only their SHA-256 is stored, keyed by that hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from oms_webhooks.aws import dynamodb
from oms_webhooks.hooks import iso, now

OWNER_INDEX = "ByOwner"
_OWNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_owner_name(owner: str) -> str:
    if not _OWNER_NAME.match(owner):
        raise ValueError(
            f"invalid owner {owner!r}: 1-128 characters of letters, digits and _.@+-, starting with a letter or digit"
        )
    return owner


@dataclass(frozen=True)
class TokenInfo:
    owner: str
    token_hash: str
    created_date: str
    label: str = ""


class TokenStore:
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or dynamodb()

    def create(self, owner: str, label: str = "") -> str:
        """A new token for `owner`; the caller shows it once, since it cannot be read back."""
        token = secrets.token_hex(20)  # 40 hex characters, like a DRF token
        self.client.put_item(
            TableName=self.table,
            Item={
                "token_hash": {"S": token_hash(token)},
                "owner": {"S": check_owner_name(owner)},
                "created_date": {"S": iso(now())},
                "label": {"S": label},
            },
            ConditionExpression="attribute_not_exists(token_hash)",
        )
        return token

    def owner_of(self, token: str) -> str | None:
        answer = self.client.get_item(
            TableName=self.table,
            Key={"token_hash": {"S": token_hash(token)}},
            ProjectionExpression="#o",
            ExpressionAttributeNames={"#o": "owner"},
        )
        item = answer.get("Item")
        return item["owner"]["S"] if item else None
