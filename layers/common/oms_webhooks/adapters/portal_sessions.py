"""Portal sessions: short-lived bearer tokens an owner hands to an integrator as a console link.

A session token is `portal` + 48 hex digits (192 random bits). The `portal` prefix has letters no owner token
has (those are 40 hex digits), so the authorizer knows which table to ask without trying both, and the token
still matches the gateway's `^Token [A-Za-z0-9]+$`. As for owner tokens, only its SHA-256 is stored, in a table
of its own (the API writes sessions; only the operator's CLI writes owner tokens). DynamoDB's TTL deletes an
item some time after `expires_at`, lazily, so every reader checks `expires_at` itself.

No pydantic here: the authorizer imports this module, and its cold start stays small.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.adapters.tokens import token_hash
from oms_webhooks.clock import epoch, iso, now

SESSION_PREFIX = "portal"
_SESSION_TOKEN = re.compile(rf"^{SESSION_PREFIX}[0-9a-f]{{48}}$")


def is_session_token(token: str) -> bool:
    return bool(_SESSION_TOKEN.match(token))


@dataclass(frozen=True)
class PortalSession:
    token_hash: str
    owner: str
    read_only: bool
    expires_at: int  # epoch seconds: DynamoDB's TTL attribute
    created_date: str = ""

    def live(self) -> bool:
        """Not yet expired, on the service's clock (an expired item may linger until TTL deletes it)."""
        return epoch() < self.expires_at

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PortalSession:
        return cls(
            token_hash=item["token_hash"]["S"],
            owner=item["owner"]["S"],
            read_only=item.get("read_only", {}).get("BOOL", True),  # unreadable: the safer reading
            expires_at=int(item["expires_at"]["N"]),
            created_date=item.get("created_date", {}).get("S", ""),
        )


class PortalSessionStore(DynamoDBTable):
    def open(self, owner: str, ttl_seconds: int, read_only: bool) -> tuple[str, PortalSession]:
        """A new session of `owner`: the token (shown once: it cannot be read back) and what is stored of it."""
        token = SESSION_PREFIX + secrets.token_hex(24)
        session = PortalSession(
            token_hash=token_hash(token),
            owner=owner,
            read_only=read_only,
            expires_at=math.ceil(epoch()) + ttl_seconds,  # at least the whole ttl
            created_date=iso(now()),
        )
        self.client.put_item(
            TableName=self.table,
            Item={
                "token_hash": {"S": session.token_hash},
                "owner": {"S": owner},
                "read_only": {"BOOL": read_only},
                "expires_at": {"N": str(session.expires_at)},
                "created_date": {"S": session.created_date},
            },
            ConditionExpression="attribute_not_exists(token_hash)",
        )
        return token, session

    def find(self, hashed: str, consistent: bool = False) -> PortalSession | None:
        """The live session with this token hash; None when there is none, or it has expired."""
        answer = self.client.get_item(
            TableName=self.table, Key={"token_hash": {"S": hashed}}, ConsistentRead=consistent
        )
        item = answer.get("Item")
        session = PortalSession.from_item(item) if item else None
        return session if session and session.live() else None

    def revoke(self, hashed: str) -> bool:
        """Deletes the session; False when it was already gone."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"token_hash": {"S": hashed}},
                ConditionExpression="attribute_exists(token_hash)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
