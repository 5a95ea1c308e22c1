"""API tokens: random strings handed out once; only their SHA-256 is stored, keyed by that hash.

The request path (the authorizer) only ever reads one token by its hash. Listing and revoking are operator
actions, used by the `oms-webhooks token` commands, never by the API or the functions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.clock import iso, now

OWNER_INDEX = "ByOwner"
_OWNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]+$")
HASH_PREFIX_LENGTH = 12  # how a token is named once created: the start of its hash, never the token itself


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

    @property
    def hash_prefix(self) -> str:
        return self.token_hash[:HASH_PREFIX_LENGTH]

    def public(self) -> dict[str, str]:
        """What may be shown of a token: its hash prefix, never the token (nor its whole hash)."""
        return {
            "token_hash_prefix": self.hash_prefix,
            "owner": self.owner,
            "label": self.label,
            "created_date": self.created_date,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TokenInfo:
        return cls(
            owner=item["owner"]["S"],
            token_hash=item["token_hash"]["S"],
            created_date=item.get("created_date", {}).get("S", ""),
            label=item.get("label", {}).get("S", ""),
        )


class TokenStore(DynamoDBTable):
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

    def list(self, owner: str | None = None) -> list[TokenInfo]:
        """The tokens of `owner` (a Query on the `ByOwner` index), oldest first.

        Without an owner this Scans the tokens table. That is deliberate and confined to the operator's CLI
        (`oms-webhooks token list` without `--owner`): no request path calls it, and the table holds one small
        item per token an operator issued, so an audit of all of them is cheap. Request paths read one token by
        its hash (`owner_of`).
        """
        if owner is not None:
            request: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": OWNER_INDEX,
                "KeyConditionExpression": "#o = :o",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {":o": {"S": owner}},
            }
            pages = self.client.get_paginator("query").paginate(**request)
        else:
            pages = self.client.get_paginator("scan").paginate(TableName=self.table)
        found = [TokenInfo.from_item(item) for page in pages for item in page.get("Items", [])]
        return sorted(found, key=lambda info: (info.created_date, info.owner, info.token_hash))

    def revoke(self, token_or_hash_prefix: str, owner: str | None = None) -> TokenInfo:
        """Delete a token, named by the token itself, its SHA-256, or the start of that hash (at least 12 hex,
        as `list` shows it). A prefix must match exactly one token; `owner` narrows the search (a Query instead
        of the operator-only Scan of `list`). Raises LookupError when nothing matches, ValueError when a
        prefix is ambiguous or malformed. Returns what was revoked."""
        value = token_or_hash_prefix.strip()
        if not value:
            raise ValueError("name the token to revoke: the token itself, or its hash prefix from `token list`")
        for key in dict.fromkeys([token_hash(value), value.lower()]):  # the token itself first, then a whole hash
            if len(key) == 64 and _HEX.match(key):
                revoked = self._delete(key, owner)
                if revoked:
                    return revoked
        prefix = value.lower()
        if not _HEX.match(prefix) or len(prefix) > 64:
            raise LookupError("no such token (it matches neither a token nor a token hash)")
        if len(prefix) < HASH_PREFIX_LENGTH:
            raise ValueError(f"a hash prefix needs at least {HASH_PREFIX_LENGTH} hex characters, as `token list` shows")
        matches = [info for info in self.list(owner) if info.token_hash.startswith(prefix)]
        if not matches:
            raise LookupError(f"no token whose hash starts with {prefix}")
        if len(matches) > 1:
            raise ValueError(f"{len(matches)} tokens have hashes starting with {prefix}; give more of the hash")
        revoked = self._delete(matches[0].token_hash, owner)
        if revoked is None:
            raise LookupError(f"no token whose hash starts with {prefix} (revoked meanwhile)")
        return revoked

    def _delete(self, key: str, owner: str | None) -> TokenInfo | None:
        """Deletes the token with this hash (and this owner, when given); None when there is none."""
        condition = "attribute_exists(token_hash)"
        extra: dict[str, Any] = {}
        if owner is not None:
            condition += " AND #o = :o"
            extra = {"ExpressionAttributeNames": {"#o": "owner"}, "ExpressionAttributeValues": {":o": {"S": owner}}}
        try:
            answer = self.client.delete_item(
                TableName=self.table,
                Key={"token_hash": {"S": key}},
                ConditionExpression=condition,
                ReturnValues="ALL_OLD",
                **extra,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return TokenInfo.from_item(answer["Attributes"])
