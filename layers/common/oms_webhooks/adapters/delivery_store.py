"""DynamoDB access for deliveries (the `hook_events` log) and for the claims that make dispatch idempotent.

Keys: `uuid` (a delivery's 32-hex uuid, `EVENT#<event id>` for an event's claim, `CLAIM#...` for an attempt's).
A delivery's item and the indexes it appears in are delivery_items.py's; an event's claim, which also holds the
payload its deliveries share, is event_claims.py's. Reads give each delivery its payload. `recovery` marks a delivery
queued by a recovery (delivery_index.py); every whole-record write here drops it, which is what ends the mark once
the retrier has saved its attempt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.adapters.delivery_items import delivery_from_item, delivery_item
from oms_webhooks.adapters.dynamodb_batches import batch_get, batch_write
from oms_webhooks.adapters.event_claims import EventClaim, claim_event, event_payloads
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.errors import NotFound

OWNER_INDEX = "ByOwnerLog"  # projects what the log's filters read; a page's records are then read by key
PREVIOUS_OWNER_INDEX = "ByOwner"  # the previous release's, same keys, every attribute: read while an upgrade fills
NUMBER_INDEX = "ByOwnerId"
PARKED_INDEX = "Parked"
# Query calls one page may make: a filter that matches little of a long log gives a short (even empty) page and a
# cursor to continue from, rather than reading the whole log in one request.
MAX_PAGE_QUERIES = 10
SORT_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{32}$")
CLAIM_KEPT_SECONDS = 86400  # a claim outlives any copy of its message still in flight
SAVE_TRIES = 5  # a record written by others this many times while one writer replays its change: give up loudly
NEWEST_END = "~"  # `after` it: from the newest delivery on (the sort keys are digits and below it)
OLDEST_END = ""  # `before` it: from the oldest delivery on


class RecordChanged(RuntimeError):
    """The delivery's record was written by someone else since it was read, and the change could not be replayed."""


@dataclass
class OwnerPage:
    """A page of an owner's deliveries, newest first, and where the pages beside it start (None: no such page)."""

    items: list[Delivery]
    older: str | None  # the sort key the next page continues after
    newer: str | None  # the sort key the previous page lies before (OLDEST_END: from the oldest on)


class DeliveriesTable(DynamoDBTable):
    """The deliveries table, and the index an owner's log is read from: `ByOwnerLog`, or while the upgrade from the
    previous release fills it (DynamoDB refuses to read an index it fills), that release's `ByOwner` (README,
    "Upgrading a deployed stack")."""

    def __init__(self, table: str, client: Any = None, owner_index: str = OWNER_INDEX) -> None:
        super().__init__(table, client)
        self.owner_index = owner_index


class DeliveryStore(DeliveriesTable):
    # --- event claims -------------------------------------------------------------------------

    def claim_event(self, key: str, expires_at: int, payload: Any) -> EventClaim:
        """This run's claim on an event (or a fan-out batch of it), holding the payload its deliveries name: first, or
        how long ago an earlier run began. `expires_at`: the deliveries'; the claim outlives them."""
        return claim_event(self.client, self.table, key, expires_at, payload)

    def event_payload(self, event_id: str) -> Any:
        """The payload an event's claim holds, for the invocations that deliver its fan-out batches."""
        found = event_payloads(self.client, self.table, [event_id])
        if event_id not in found:
            raise NotFound(f"the payload of event {event_id}")
        return found[event_id]

    def existing(self, uuids: Sequence[str]) -> set[str]:
        """Which of these deliveries are already recorded (used only when resuming a crashed dispatch)."""
        keys = [{"uuid": {"S": u}} for u in uuids]
        names = {"#u": "uuid"}
        found = batch_get(self.client, self.table, keys, ProjectionExpression="#u", ExpressionAttributeNames=names)
        return {item["uuid"]["S"] for item in found}

    # --- deliveries ---------------------------------------------------------------------------

    def save_many(self, deliveries: Iterable[Delivery]) -> int:
        """Writes in batches of 25, retrying what DynamoDB leaves unprocessed; returns the calls made."""
        written = list(deliveries)
        for delivery in written:
            delivery.version += 1  # a new record: nobody else writes it before this
        return batch_write(self.client, self.table, [{"PutRequest": {"Item": delivery_item(d)}} for d in written])

    def claim_attempt(self, delivery: Delivery, claimant: str) -> bool:
        """Claims the delivery's next scheduled attempt before it is sent, so that two copies of one retry message
        cannot both send it. The claim is a small item of its own (`CLAIM#<uuid>#<retries made>#<deferrals>`, kept
        a day): one write unit, no index write. The same claimant (a message whose earlier run crashed) claims it
        again; a manual retry claims nothing, so it never takes a scheduled attempt's place."""
        now = time.time()
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "uuid": {"S": f"CLAIM#{delivery.uuid}#{delivery.retries_made}#{delivery.deferral_count}"},
                    "claimant": {"S": claimant},
                    "expires_at": {"N": str(int(now) + CLAIM_KEPT_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(#u) OR claimant = :me",
                ExpressionAttributeNames={"#u": "uuid"},
                ExpressionAttributeValues={":me": {"S": claimant}},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def save(self, delivery: Delivery, replay: Callable[[Delivery], Delivery] | None = None) -> Delivery:
        """Writes the whole record if no one wrote it since `delivery` was read (its version). Otherwise `replay`
        makes this writer's changes again on the record as it is now, and that is written: concurrent attempts on
        one delivery (a manual retry beside the retrier) all land. Returns what was written."""
        for _ in range(SAVE_TRIES):
            try:
                self.client.put_item(TableName=self.table, **_versioned_put(delivery))
                delivery.version += 1
                return delivery
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                if replay is None:
                    raise RecordChanged(delivery.uuid) from exc
            delivery = replay(self.get(delivery.uuid))
        raise RecordChanged(delivery.uuid)

    def get(self, uuid: str, owner: str | None = None) -> Delivery:
        """One delivery; with `owner`, another owner's delivery is not found either."""
        answer = self.client.get_item(TableName=self.table, Key={"uuid": {"S": uuid}}, ConsistentRead=True)
        item = answer.get("Item")
        if not item or "owner" not in item or (owner is not None and item["owner"]["S"] != owner):
            raise NotFound(uuid)
        [delivery] = self._read([item])
        return delivery

    def get_many(self, uuids: Sequence[str]) -> dict[str, Delivery]:
        """These deliveries by uuid, read consistently in one call per 100 (those not found are left out)."""
        keys = [{"uuid": {"S": u}} for u in dict.fromkeys(uuids)]
        items = batch_get(self.client, self.table, keys, ConsistentRead=True)
        return {delivery.uuid: delivery for delivery in self._read(item for item in items if "owner" in item)}

    def get_matching(
        self, owner: str, uuid: str, filters: dict[str, Any], low: str | None, high: str | None
    ) -> Delivery | None:
        """One delivery by uuid, if it is the owner's and meets the filters: the `uuid` filter, without a Query."""
        item = self.client.get_item(TableName=self.table, Key={"uuid": {"S": uuid}}).get("Item")
        if not item or item.get("owner", {}).get("S") != owner:
            return None
        sort_key = item["created_sk"]["S"]
        if (low is not None and sort_key < low) or (high is not None and sort_key > high):
            return None
        [delivery] = self._read([item])
        if any(getattr(delivery, name) != value for name, value in filters.items()):
            return None  # the filters name the delivery's own fields
        return delivery

    def uuids_numbered(self, owner: str, number: int) -> list[str]:
        """The owner's deliveries with this integer id: one, unless two uuids share it (see `delivery_number`)."""
        answer = self.client.query(
            TableName=self.table,
            IndexName=NUMBER_INDEX,
            KeyConditionExpression="#o = :o AND #n = :n",
            ExpressionAttributeNames={"#o": "owner", "#n": "id"},
            ExpressionAttributeValues={":o": {"S": owner}, ":n": {"N": str(number)}},
        )
        return sorted(item["uuid"]["S"] for item in answer.get("Items", []))

    def query_owner(
        self,
        owner: str,
        filters: dict[str, Any],
        low: str | None,
        high: str | None,
        limit: int,
        after: str | None = None,
        before: str | None = None,
    ) -> OwnerPage:
        """One page of an owner's deliveries, newest first: those older than `after`, or the `limit` newer than
        `before`. `low` and `high` bound the sort key (both included); `filters` are equalities on attributes."""
        backward = before is not None
        start = before if backward else after
        if start == (OLDEST_END if backward else NEWEST_END):
            start = None
        elif start is not None and (
            (low is not None and start < low and not backward) or (high is not None and start > high and backward)
        ):
            return OwnerPage([], None, None)  # the cursor lies beyond the range, on the side it moves to
        elif start is not None and ((low is not None and start < low) or (high is not None and start > high)):
            start = None  # ... or before the range begins: from the range's first item
        request = self._owner_query(owner, filters, low, high, limit, backward)
        entries: list[dict[str, Any]] = []
        resume: dict[str, Any] | None = _owner_key(owner, start) if start else None
        for _ in range(MAX_PAGE_QUERIES):
            if resume:
                request["ExclusiveStartKey"] = resume
            answer = self.client.query(**request)
            entries.extend(answer.get("Items", []))
            resume = answer.get("LastEvaluatedKey")
            if len(entries) > limit or not resume:
                break
        shown = entries[:limit]
        last_read = resume["created_sk"]["S"] if resume else None
        onward = _sort_key(shown[-1]) if len(entries) > limit else last_read
        page = self._records(shown)
        if backward:  # read from old to new: `onward` is where newer pages go on
            older = _sort_key(shown[0]) if shown else (last_read or NEWEST_END)
            return OwnerPage(page[::-1], older=older, newer=onward)
        if after is None:
            return OwnerPage(page, older=onward, newer=None)
        # An empty page after `after`: the previous one ends at `after`, past what was read in vain.
        newer = _sort_key(shown[0]) if shown else (last_read or OLDEST_END)
        return OwnerPage(page, older=onward, newer=newer)

    def _records(self, entries: list[dict[str, Any]]) -> list[Delivery]:
        """The records of these index entries, in their order, read by key in one call per 100 (a record gone since
        the index was read, by its TTL, is left out)."""
        uuids = [entry["uuid"]["S"] for entry in entries]
        items = batch_get(self.client, self.table, [{"uuid": {"S": u}} for u in uuids])
        by_uuid = {item["uuid"]["S"]: item for item in items if "owner" in item}
        return self._read(by_uuid[u] for u in uuids if u in by_uuid)

    def _read(self, items: Iterable[dict[str, Any]]) -> list[Delivery]:
        """The deliveries these items hold, each with its payload: those stored once per event read from the events'
        claims, in one call per 100 events."""
        deliveries = [delivery_from_item(item) for item in items]
        claims = {d.payload_claim for d in deliveries if d.payload_claim is not None}
        if claims:
            payloads = event_payloads(self.client, self.table, claims)
            for delivery in deliveries:
                if delivery.payload_claim is not None:
                    delivery.request_payload = payloads.get(delivery.payload_claim)
        return deliveries

    def _owner_query(
        self, owner: str, filters: dict[str, Any], low: str | None, high: str | None, limit: int, backward: bool
    ) -> dict[str, Any]:
        names = {"#o": "owner"}
        values: dict[str, Any] = {":o": {"S": owner}}
        key = "#o = :o"
        if low is not None or high is not None:
            names["#c"] = "created_sk"
        if low is not None and high is not None:
            key += " AND #c BETWEEN :lo AND :hi"
            values[":lo"], values[":hi"] = {"S": low}, {"S": high}
        elif low is not None:
            key += " AND #c >= :lo"
            values[":lo"] = {"S": low}
        elif high is not None:
            key += " AND #c <= :hi"
            values[":hi"] = {"S": high}
        conditions = []
        for name, value in filters.items():
            if name == "delivered":  # the index holds the status, which says it
                names["#status"], values[":delivered"] = "status", {"S": "delivered"}
                conditions.append("#status = :delivered" if value else "#status <> :delivered")
                continue
            names[f"#{name}"] = name
            values[f":{name}"] = _attribute(value)
            conditions.append(f"#{name} = :{name}")
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": self.owner_index,
            "KeyConditionExpression": key,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": backward,
            "Limit": limit + 1 if not conditions else max(limit * 2, 100),
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        return request


def _owner_key(owner: str, sort_key: str) -> dict[str, Any]:
    return {"owner": {"S": owner}, "created_sk": {"S": sort_key}, "uuid": {"S": sort_key.rpartition("#")[2]}}


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": str(value)}


def _sort_key(entry: dict[str, Any]) -> str:
    return str(entry["created_sk"]["S"])


def _versioned_put(delivery: Delivery) -> dict[str, Any]:
    """The record one version on, written only over the version it was read at (a record of before versions has
    none: version 0)."""
    item = delivery_item(delivery, version=delivery.version + 1)
    if delivery.version == 0:
        return {"Item": item, "ConditionExpression": "attribute_not_exists(version)"}
    return {
        "Item": item,
        "ConditionExpression": "version = :v",
        "ExpressionAttributeValues": {":v": {"N": str(delivery.version)}},
    }
