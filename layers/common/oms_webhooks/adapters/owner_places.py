"""How many sequencer invocations attempt one owner's ordered deliveries at once, bounded across every invocation.

An invocation lasts as long as its slowest attempt, so an owner whose receivers hang would otherwise hold every one
of the sequencer's invocations, and every other owner's ordered deliveries would wait for it. An invocation takes a
place of each owner whose deliveries it attempts, and gives it back when its attempts have ended.

Kept in the deliveries table under `PLACES#<owner>` (no owner attribute: no index holds it), as a string set with one
member per place held: `<until>:<invocation>`, `until` being when that invocation ends at the latest (epoch
seconds). A place an invocation never gave back (it crashed, it timed out) frees itself then. Taking a place is one
conditional UpdateItem (`ADD`), giving it back one (`DELETE`); a full set with places past their `until` loses them
and is tried once more.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.clock import epoch

PREFIX = "PLACES#"
KEEP_SECONDS = 86400  # an owner's item outlives its last place by this much, then TTL removes it


class OwnerPlaces(DynamoDBTable):
    def __init__(self, table: str, limit: int, client: Any = None) -> None:
        super().__init__(table, client)
        self.limit = limit  # places per owner

    def take(self, owner: str, place: str) -> bool:
        """Whether `place` (from `place_name`) is one of the owner's places now; taken if so."""
        for _ in range(2):
            try:
                self._update(
                    owner,
                    "ADD places :place SET expires_at = :expires",
                    ConditionExpression="attribute_not_exists(places) OR size(places) < :limit OR contains(places, :p)",
                    ExpressionAttributeValues={
                        ":place": {"SS": [place]},
                        ":p": {"S": place},
                        ":limit": {"N": str(self.limit)},
                        ":expires": {"N": str(int(time.time()) + KEEP_SECONDS)},  # TTL goes by DynamoDB's own clock
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                held = exc.response.get("Item", {}).get("places", {}).get("SS", [])
                outlived = [member for member in held if _until(member) <= epoch()]  # `until` is on this clock
                if not outlived:
                    return False
                self.give_back(owner, outlived)
        return False

    def give_back(self, owner: str, places: Iterable[str]) -> None:
        members = list(places)
        if members:
            self._update(owner, "DELETE places :places", ExpressionAttributeValues={":places": {"SS": members}})

    def _update(self, owner: str, update: str, **parameters: Any) -> None:
        self.client.update_item(
            TableName=self.table, Key={"uuid": {"S": PREFIX + owner}}, UpdateExpression=update, **parameters
        )


def place_name(invocation: str, until: float) -> str:
    """An invocation's place, named with when it ends at the latest: after that anyone may free it."""
    return f"{int(until) + 1}:{invocation}"


def _until(member: str) -> float:
    until, _, _ = member.partition(":")
    try:
        return float(until)
    except ValueError:
        return 0.0  # not one of ours: free it
