"""An event's claim: the item (`EVENT#<event id>`, or `EVENT#<event id>#<first>-<last>` for a fan-out batch) whose
conditional write makes a dispatch run the event's first, or tells a later run how long ago an earlier one began.

One run holds one `EventClaim`: it says whether the run is the first, takes the event over from a run that died, and
releases it when the run fails, so that the next run resumes at once instead of waiting the dead one out.

The first run's claim also holds the event's payload (`payload`, its JSON compressed), written with it in one call: the
deliveries the run records name the claim rather than each holding the payload (delivery_items.py), so a payload is
stored once per event, not once per hook. A claim outlives its deliveries by `KEPT_BEYOND_DELIVERIES`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.compressed import PLAIN, compress, decompress
from oms_webhooks.adapters.dynamodb_batches import batch_get

RELEASE_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between tries to release a failed run's claim
KEPT_BEYOND_DELIVERIES = 86400  # a later run (a resumed one) records deliveries that expire after the first run's


@dataclass
class EventClaim:
    client: Any
    table: str
    key: str  # the event's id, or a fan-out batch's `<event id>#<first>-<last>`
    age: float | None  # None: this run is the first; else seconds since an earlier run claimed it
    expires_at: int  # the claim's own expiry: its deliveries' and a day

    @property
    def first(self) -> bool:
        return self.age is None

    def stale(self, after: float) -> bool:
        """An earlier run began more than `after` seconds ago: it died (a live one would have finished)."""
        return self.age is not None and self.age >= after

    def take_over(self) -> None:
        """An earlier run is stale (it died): this run goes on from where it stopped, and the claim (with the payload
        its deliveries read) is kept as long as the deliveries this run records."""
        self.client.update_item(
            TableName=self.table,
            Key=claim_key(self.key),
            UpdateExpression="SET claimed_at = :t, expires_at = :e",
            ExpressionAttributeValues={":t": {"N": repr(time.time())}, ":e": {"N": str(self.expires_at)}},
        )

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


def claim_event(client: Any, table: str, key: str, deliveries_expire_at: int, payload: Any) -> EventClaim:
    """Claims the event for this run, with its payload: one conditional write, and a read when an earlier run holds
    it (which wrote the same payload)."""
    now = time.time()
    expires_at = deliveries_expire_at + KEPT_BEYOND_DELIVERIES
    item = {
        **claim_key(key),
        "claimed_at": {"N": repr(now)},
        "expires_at": {"N": str(expires_at)},
        "payload": {"B": compress(json.dumps(payload, ensure_ascii=False), PLAIN)},
    }
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(#u)",
            ExpressionAttributeNames={"#u": "uuid"},
        )
        return EventClaim(client, table, key, None, expires_at)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    answer = client.get_item(
        TableName=table, Key=claim_key(key), ConsistentRead=True, ProjectionExpression="claimed_at"
    )
    age = now - float(answer.get("Item", {}).get("claimed_at", {}).get("N", "0"))
    return EventClaim(client, table, key, age, expires_at)


def event_payloads(client: Any, table: str, keys: Iterable[str]) -> dict[str, Any]:
    """The payloads these claims hold, by claim key (a claim not found, or one of the previous release without a
    payload, is left out). Read eventually consistent, then again consistently for any a fresh claim may hide."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, Any] = {}
    for consistent in (False, True):
        missing = [key for key in wanted if key not in found]
        if not missing:
            break
        items = batch_get(
            client,
            table,
            [claim_key(key) for key in missing],
            ProjectionExpression="#u, payload",
            ExpressionAttributeNames={"#u": "uuid"},
            ConsistentRead=consistent,
        )
        for item in items:
            if "payload" in item:
                found[item["uuid"]["S"].removeprefix("EVENT#")] = _payload(item["payload"])
    return found


def _payload(attribute: dict[str, Any]) -> Any:
    """Compressed, or JSON text as the previous release kept a large fan-out's payload."""
    return json.loads(decompress(attribute["B"]) if "B" in attribute else attribute["S"])


def claim_key(key: str) -> dict[str, Any]:
    return {"uuid": {"S": f"EVENT#{key}"}}
