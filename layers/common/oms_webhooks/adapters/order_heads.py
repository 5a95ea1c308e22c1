"""The delivery each waiting object's queue is held by: one small item per group whose first delivery waits.

Kept in the deliveries table under `ORDER#<group>` (no owner: no index holds it). The sequencer writes it when a
group's first delivery has to wait (a failed attempt with retries left, a rate limit, an open circuit) and removes it
when that delivery ends, so a group that never waits costs nothing here. Readers use it to say which delivery the
others of the group wait for, and a manual retry that ends the waiting delivery uses its receipt handle to let the
group go on at once. A queue that goes on without waiting leaves an item behind only if its removal failed: readers
check that the delivery it names is still unfinished, and the item expires after the ordered queue's retention.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.adapters.dynamodb_batches import batch_get
from oms_webhooks.domain.deliveries import UNFINISHED
from oms_webhooks.domain.ordering import ORDERED_QUEUE_RETENTION_SECONDS

PREFIX = "ORDER#"


@dataclass(frozen=True)
class Head:
    """The delivery an object's queue waits for, and the receipt handle its message was last hidden with."""

    group: str
    uuid: str
    receipt_handle: str
    since: float  # epoch seconds: when it was last hidden


class OrderHeads(DynamoDBTable):
    def hold(self, group: str, uuid: str, receipt_handle: str) -> None:
        now = time.time()
        self.client.put_item(
            TableName=self.table,
            Item={
                "uuid": {"S": PREFIX + group},
                "head": {"S": uuid},
                "handle": {"S": receipt_handle},
                "since": {"N": repr(now)},
                "expires_at": {"N": str(int(now) + ORDERED_QUEUE_RETENTION_SECONDS)},
            },
        )

    def release(self, group: str, uuid: str) -> None:
        """The group no longer waits for `uuid` (it ended); a newer head's item is left alone."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"uuid": {"S": PREFIX + group}},
                ConditionExpression="head = :u",
                ExpressionAttributeValues={":u": {"S": uuid}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def waiting(self, groups: Iterable[str]) -> dict[str, Head]:
        """The heads these groups wait for, whose deliveries are still unfinished: a call per 100 groups, and one per
        100 heads for their status."""
        keys = [{"uuid": {"S": PREFIX + group}} for group in dict.fromkeys(groups)]
        if not keys:
            return {}
        heads = [_head(item) for item in batch_get(self.client, self.table, keys, ConsistentRead=True)]
        if not heads:
            return {}
        records = [{"uuid": {"S": head.uuid}} for head in heads]
        names = {"#u": "uuid", "#s": "status"}
        found = batch_get(
            self.client, self.table, records, ProjectionExpression="#u, #s", ExpressionAttributeNames=names
        )
        unfinished = {item["uuid"]["S"] for item in found if item.get("status", {}).get("S") in UNFINISHED}
        return {head.group: head for head in heads if head.uuid in unfinished}


def _head(item: dict[str, Any]) -> Head:
    return Head(
        item["uuid"]["S"].removeprefix(PREFIX), item["head"]["S"], item["handle"]["S"], float(item["since"]["N"])
    )
