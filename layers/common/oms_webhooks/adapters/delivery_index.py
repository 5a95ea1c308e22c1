"""DynamoDB access for the self-service reads and writes on deliveries: by hook (the `ByHook` index), the window
of an owner's (its log's index, `ByOwnerLog`), and the conditional mark that queues a delivery for recovery once.

`ByHook` is keyed by `webhook` (the hook's id; ids are unique across owners) and `created_sk`, and projects only
`status`, `test` and `attempt_log` (a compact line per attempt, written beside `attempts`): a stats call reads
small index items, never whole records. Nothing here scans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.delivery_items import PARKED_KEY
from oms_webhooks.adapters.delivery_store import PARKED_INDEX, DeliveriesTable
from oms_webhooks.clock import iso

HOOK_INDEX = "ByHook"


@dataclass(frozen=True)
class DeliverySummary:
    """What the `ByHook` index holds of a delivery: enough for stats."""

    uuid: str
    created_sk: str  # `<created iso>#<uuid>`
    status: str
    attempt_log: str


@dataclass(frozen=True)
class Candidate:
    """A delivery a recovery may queue."""

    uuid: str
    webhook: int


class DeliveryIndex(DeliveriesTable):
    def hook_summaries(self, hook_id: int, since: datetime, until: datetime) -> Iterator[list[DeliverySummary]]:
        """The hook's deliveries created in [since, until], newest first, a Query page at a time; tests left out."""
        request = {
            "TableName": self.table,
            "IndexName": HOOK_INDEX,
            "KeyConditionExpression": "webhook = :h AND created_sk BETWEEN :lo AND :hi",
            "FilterExpression": "attribute_not_exists(test)",
            "ExpressionAttributeNames": {"#s": "status", "#u": "uuid"},
            "ProjectionExpression": "#u, created_sk, #s, attempt_log",
            "ExpressionAttributeValues": {":h": {"N": str(hook_id)}, **_window(since, until)},
            "ScanIndexForward": False,
        }
        for page in self.client.get_paginator("query").paginate(**request):
            yield [
                DeliverySummary(
                    item["uuid"]["S"],
                    item["created_sk"]["S"],
                    item["status"]["S"],
                    item.get("attempt_log", {}).get("S", ""),
                )
                for item in page.get("Items", [])
            ]

    def recoverable(
        self,
        since: datetime,
        until: datetime,
        statuses: tuple[str, ...],
        limit: int,
        hook_id: int | None = None,
        owner: str | None = None,
        event_type: str | None = None,
    ) -> list[Candidate]:
        """Up to `limit` deliveries in [since, until] with one of `statuses`, not tests and not queued already:
        of one hook (`ByHook`) or of one owner (its log's index), oldest first."""
        names = {"#s": "status", "#u": "uuid"}
        values: dict[str, Any] = {**_window(since, until), **{f":s{i}": {"S": s} for i, s in enumerate(statuses)}}
        conditions = [
            f"#s IN ({', '.join(f':s{i}' for i in range(len(statuses)))})",
            "attribute_not_exists(test)",
            "attribute_not_exists(recovery)",
        ]
        if hook_id is not None:
            index, key = HOOK_INDEX, "webhook = :k AND created_sk BETWEEN :lo AND :hi"
            values[":k"] = {"N": str(hook_id)}
        else:
            assert owner is not None
            index, key = self.owner_index, "#o = :k AND created_sk BETWEEN :lo AND :hi"
            names["#o"] = "owner"
            values[":k"] = {"S": owner}
            if event_type is not None:
                conditions.append("event_type = :t")
                values[":t"] = {"S": event_type}
        request = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": key,
            "FilterExpression": " AND ".join(conditions),
            "ProjectionExpression": "#u, webhook",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        found: list[Candidate] = []
        for page in self.client.get_paginator("query").paginate(**request):
            found.extend(Candidate(item["uuid"]["S"], int(item["webhook"]["N"])) for item in page.get("Items", []))
            if len(found) >= limit:
                return found[:limit]
        return found

    def parked(self, hook_id: int, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Up to `limit` of the hook's parked deliveries, oldest first, and the sort key to go on after (None: no
        more). The sparse `Parked` index holds nothing else, so this reads only what waits."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": PARKED_INDEX,
            "KeyConditionExpression": "#p = :h",
            "ExpressionAttributeNames": {"#p": PARKED_KEY},
            "ExpressionAttributeValues": {":h": {"S": str(hook_id)}},
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {
                PARKED_KEY: {"S": str(hook_id)},
                "created_sk": {"S": after},
                "uuid": {"S": after.rpartition("#")[2]},
            }
        answer = self.client.query(**request)
        resume = answer.get("LastEvaluatedKey")
        return [item["uuid"]["S"] for item in answer.get("Items", [])], resume["created_sk"]["S"] if resume else None

    def mark_for_recovery(
        self, uuid: str, statuses: tuple[str, ...], marker: str, due: datetime
    ) -> dict[str, Any] | None:
        """Queue one delivery for one more attempt: `retrying`, due now, marked. Conditional, so that a delivery is
        marked once until the retrier saves its attempt (a whole-record write, which drops the mark). Returns the
        changed attributes as they were (to undo the mark), or None when another recovery (or a change of status)
        came first."""
        values: dict[str, Any] = {f":s{i}": {"S": s} for i, s in enumerate(statuses)}
        values.update({":retrying": {"S": "retrying"}, ":due": {"S": due.isoformat()}, ":mark": {"S": marker}})
        values.update({":zero": {"N": "0"}, ":one": {"N": "1"}})  # a write: whole-record writers replay onto it
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"uuid": {"S": uuid}},
                UpdateExpression=(
                    "SET #s = :retrying, next_attempt_at = :due, recovery = :mark, "
                    "version = if_not_exists(version, :zero) + :one REMOVE parked"
                ),
                ConditionExpression=(
                    f"#s IN ({', '.join(f':s{i}' for i in range(len(statuses)))}) "
                    "AND attribute_not_exists(recovery) AND attribute_not_exists(test)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD",  # the old status and next_attempt_at: what `unmark` puts back
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return dict(answer.get("Attributes", {}))

    def unmark(self, uuid: str, old: dict[str, Any], marker: str) -> None:
        """Undo `mark_for_recovery` (its retry message could not be sent), if nothing else changed the record."""
        update = "SET #s = :old REMOVE recovery"
        values: dict[str, Any] = {":old": old["status"], ":mark": {"S": marker}}
        if "next_attempt_at" in old:
            update = "SET #s = :old, next_attempt_at = :next REMOVE recovery"
            values[":next"] = old["next_attempt_at"]
        else:
            update += ", next_attempt_at"
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"uuid": {"S": uuid}},
                UpdateExpression=update,
                ConditionExpression="recovery = :mark",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def _window(since: datetime, until: datetime) -> dict[str, Any]:
    """`created_sk` bounds: `<iso>#<uuid>` sorts after `<iso>`, and before `<iso>#~`."""
    return {":lo": {"S": iso(since)}, ":hi": {"S": iso(until) + "#~"}}
