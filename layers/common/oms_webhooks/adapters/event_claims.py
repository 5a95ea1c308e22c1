"""An event's claim: the item (`EVENT#<event id>`, or `EVENT#<event id>#<first>-<last>` for a fan-out batch) whose
conditional write makes a dispatch run the event's first, or tells a later run how long ago an earlier one began.

One run holds one `EventClaim`: it says whether the run is the first, takes the event over from a run that died, and
releases it when the run fails, so that the next run resumes at once instead of waiting the dead one out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

RELEASE_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between tries to release a failed run's claim


@dataclass
class EventClaim:
    client: Any
    table: str
    key: str  # the event's id, or a fan-out batch's `<event id>#<first>-<last>`
    age: float | None  # None: this run is the first; else seconds since an earlier run claimed it

    @property
    def first(self) -> bool:
        return self.age is None

    def stale(self, after: float) -> bool:
        """An earlier run began more than `after` seconds ago: it died (a live one would have finished)."""
        return self.age is not None and self.age >= after

    def take_over(self) -> None:
        """An earlier run is stale (it died): this run goes on from where it stopped."""
        self._set_claimed_at(time.time())

    def release(self) -> None:
        """This run failed: the next one resumes at once. The fault may be DynamoDB itself, so keep trying a while;
        if it stays away, the claim goes stale after the dispatcher's `stale_after` and the event's retries resume."""
        for pause in RELEASE_PAUSES:
            try:
                self._set_claimed_at(0.0)
                return
            except Exception:
                time.sleep(pause)

    def _set_claimed_at(self, moment: float) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=claim_key(self.key),
            UpdateExpression="SET claimed_at = :t",
            ExpressionAttributeValues={":t": {"N": repr(moment)}},
        )


def claim_event(client: Any, table: str, key: str, expires_at: int) -> EventClaim:
    """Claims the event for this run: one conditional write, and a read when an earlier run holds it."""
    now = time.time()
    try:
        client.put_item(
            TableName=table,
            Item={**claim_key(key), "claimed_at": {"N": repr(now)}, "expires_at": {"N": str(expires_at)}},
            ConditionExpression="attribute_not_exists(#u)",
            ExpressionAttributeNames={"#u": "uuid"},
        )
        return EventClaim(client, table, key, None)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    answer = client.get_item(TableName=table, Key=claim_key(key), ConsistentRead=True)
    return EventClaim(client, table, key, now - float(answer.get("Item", {}).get("claimed_at", {}).get("N", "0")))


def claim_key(key: str) -> dict[str, Any]:
    return {"uuid": {"S": f"EVENT#{key}"}}
