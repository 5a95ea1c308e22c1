"""DynamoDB access for hooks: one item per hook, plus one per (owner, event_type, target_url) to keep it unique.

Keys: `owner` (partition) and `sk` (`HOOK#<id>` or `UNIQUE#<digest>`). Active hooks also carry
`active_event_type`, the partition key of the sparse `ActiveByEventType` index that the dispatcher queries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from oms_webhooks.aws import dynamodb
from oms_webhooks.countdown import RetryCountdownConfig
from oms_webhooks.errors import DuplicateHook, NotFound
from oms_webhooks.hooks import Hook, now

ACTIVE_INDEX = "ActiveByEventType"
_COUNTER_OWNER = "#counter"  # owner names never start with '#'
_HOOK_PREFIX = "HOOK#"
_COUNTDOWN = TypeAdapter(RetryCountdownConfig)


def hook_sk(hook_id: int) -> str:
    return f"{_HOOK_PREFIX}{hook_id:012d}"


def unique_sk(event_type: str, target_url: str) -> str:
    digest = hashlib.sha256(f"{event_type}\n{target_url}".encode()).hexdigest()
    return f"UNIQUE#{digest}"


class HookStore:
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or dynamodb()

    def next_id(self) -> int:
        """Whisperer ids are integers; an atomic counter keeps them so."""
        answer = self.client.update_item(
            TableName=self.table,
            Key={"owner": {"S": _COUNTER_OWNER}, "sk": {"S": "HOOK_ID"}},
            UpdateExpression="ADD next_id :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["next_id"]["N"])

    def get(self, owner: str, hook_id: int) -> Hook:
        answer = self.client.get_item(
            TableName=self.table,
            Key={"owner": {"S": owner}, "sk": {"S": hook_sk(hook_id)}},
            ConsistentRead=True,
        )
        if "Item" not in answer:
            raise NotFound(f"hook {hook_id}")
        return _from_item(answer["Item"])

    def add(self, hook: Hook) -> None:
        self._transact(
            [
                {"Put": {**self._put_hook(hook), "ConditionExpression": "attribute_not_exists(sk)"}},
                {"Put": self._put_unique(hook)},
            ]
        )

    def replace(self, old: Hook, new: Hook) -> None:
        """Write `new` over `old`, moving the uniqueness item when event_type or target_url changed."""
        writes: list[dict[str, Any]] = [{"Put": {**self._put_hook(new), "ConditionExpression": "attribute_exists(sk)"}}]
        old_unique = unique_sk(old.event_type, old.target_url)
        if unique_sk(new.event_type, new.target_url) != old_unique:
            writes.append({"Delete": self._key(old.owner, old_unique)})
            writes.append({"Put": self._put_unique(new)})
        self._transact(writes)

    def delete(self, hook: Hook) -> None:
        self._transact(
            [
                {
                    "Delete": {
                        **self._key(hook.owner, hook_sk(hook.id)),
                        "ConditionExpression": "attribute_exists(sk)",
                    }
                },
                {"Delete": self._key(hook.owner, unique_sk(hook.event_type, hook.target_url))},
            ]
        )

    def deactivate(self, hook: Hook) -> None:
        """A subscriber answered 410 Gone: stop sending it anything until its owner turns it back on."""
        try:
            self.client.update_item(
                **self._key(hook.owner, hook_sk(hook.id)),
                UpdateExpression="SET is_active = :false, modified_date = :now REMOVE active_event_type",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":false": {"BOOL": False}, ":now": {"S": now().isoformat()}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # a hook deleted meanwhile needs no deactivating

    def query_owner(
        self, owner: str, filters: dict[str, Any], limit: int, after: str | None
    ) -> tuple[list[Hook], str | None]:
        """One page of an owner's hooks in id order, and the sort key to continue after (None at the end)."""
        names: dict[str, str] = {"#o": "owner", "#sk": "sk"}
        values: dict[str, Any] = {":o": {"S": owner}, ":p": {"S": _HOOK_PREFIX}}
        conditions = []
        for name, value in filters.items():
            names[f"#{name}"] = name
            values[f":{name}"] = {"BOOL": value} if isinstance(value, bool) else {"S": value}
            conditions.append(f"#{name} = :{name}")
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#o = :o AND begins_with(#sk, :p)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit + 1 if not conditions else max(limit * 2, 100),
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        hooks: list[Hook] = []
        start = {"owner": {"S": owner}, "sk": {"S": after}} if after else None
        while True:
            if start:
                request["ExclusiveStartKey"] = start
            answer = self.client.query(**request)
            hooks.extend(_from_item(item) for item in answer.get("Items", []))
            start = answer.get("LastEvaluatedKey")
            if len(hooks) > limit:
                return hooks[:limit], hook_sk(hooks[limit - 1].id)
            if not start:
                return hooks, None

    def active_hooks(self, event_type: str) -> Iterator[Hook]:
        """Every active hook of an event type, page by page from the sparse index."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=ACTIVE_INDEX,
            KeyConditionExpression="active_event_type = :t",
            ExpressionAttributeValues={":t": {"S": event_type}},
        )
        for page in pages:
            for item in page.get("Items", []):
                yield _from_item(item)

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise NotFound("hook") from None  # the hook itself went away meanwhile
            if "ConditionalCheckFailed" in reasons:
                raise DuplicateHook() from None  # only the uniqueness item has a condition
            raise

    def _key(self, owner: str, sk: str) -> dict[str, Any]:
        return {"TableName": self.table, "Key": {"owner": {"S": owner}, "sk": {"S": sk}}}

    def _put_unique(self, hook: Hook) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": {
                "owner": {"S": hook.owner},
                "sk": {"S": unique_sk(hook.event_type, hook.target_url)},
                "hook_id": {"N": str(hook.id)},
            },
            "ConditionExpression": "attribute_not_exists(sk)",
        }

    def _put_hook(self, hook: Hook) -> dict[str, Any]:
        return {"TableName": self.table, "Item": _to_item(hook)}


def _to_item(hook: Hook) -> dict[str, Any]:
    item: dict[str, Any] = {
        "owner": {"S": hook.owner},
        "sk": {"S": hook_sk(hook.id)},
        "id": {"N": str(hook.id)},
        "event_type": {"S": hook.event_type},
        "target_url": {"S": hook.target_url},
        "retry_countdown_config": {"S": hook.retry_countdown_config.model_dump_json()},
        "additional_headers": {"S": json.dumps(hook.additional_headers)},
        "is_active": {"BOOL": hook.is_active},
        "created_date": {"S": hook.created_date.isoformat()},
        "modified_date": {"S": hook.modified_date.isoformat()},
    }
    if hook.secret_key:
        item["secret_key"] = {"S": hook.secret_key}
    if hook.is_active:
        item["active_event_type"] = {"S": hook.event_type}
    return item


def _from_item(item: dict[str, Any]) -> Hook:
    return Hook(
        id=int(item["id"]["N"]),
        owner=item["owner"]["S"],
        event_type=item["event_type"]["S"],
        target_url=item["target_url"]["S"],
        retry_countdown_config=_COUNTDOWN.validate_json(item["retry_countdown_config"]["S"]),
        additional_headers=json.loads(item["additional_headers"]["S"]),
        secret_key=item.get("secret_key", {}).get("S"),
        is_active=item["is_active"]["BOOL"],
        created_date=datetime.fromisoformat(item["created_date"]["S"]),
        modified_date=datetime.fromisoformat(item["modified_date"]["S"]),
    )
