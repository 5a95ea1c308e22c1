"""DynamoDB access for rate limits: one bucket item per rate-limited hook, shared by every invocation.

Key: `uuid` = `RATE#<hook id>` in the deliveries table (which every delivering function already writes).
`next_free` is when the hook's next slot is free (epoch seconds, to the microsecond); `expires_at` lets TTL
remove the buckets of hooks no longer delivered to. Taking a slot is one conditional UpdateItem: `next_free`
moves on by one interval if the bucket is busy (`next_free` ahead of now), or to now plus one interval if it is
idle. Each process remembers which of the two it last saw; when that is out of date (another invocation moved
the bucket meanwhile) the condition fails and the other update is made: two calls instead of one.
DynamoDB adds decimals exactly, so slots never drift, and serialises updates of one item, so no two takers
get the same slot.
"""

from __future__ import annotations

import threading
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.aws import DynamoDBTable

_PREFIX = "RATE#"
_MICROSECOND = Decimal("0.000001")
_TRIES = 4  # busy, idle, busy again: a bucket moved twice between our calls; a fourth for clock skew


class RateLimitStore(DynamoDBTable):
    def __init__(self, table: str, client: Any = None, keep_seconds: int = 90 * 86400) -> None:
        super().__init__(table, client)
        self.keep_seconds = keep_seconds
        self._next_free: dict[int, float] = {}  # hook id → next_free as this process last saw it
        self._lock = threading.Lock()

    def take(self, hook_id: int, interval: Decimal, now: float) -> float:
        """The hook's next free slot, never before `now` (epoch seconds), taken for one attempt."""
        start = Decimal(now).quantize(_MICROSECOND, rounding=ROUND_FLOOR)  # never after `now`
        with self._lock:
            busy = self._next_free.get(hook_id, 0.0) > now
        for _ in range(_TRIES):
            try:
                slot = self._take_busy(hook_id, interval, start) if busy else self._take_idle(hook_id, interval, start)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                busy = not busy  # the bucket is in the other state: its condition tells us which
                continue
            with self._lock:
                self._next_free[hook_id] = float(slot + interval)
            return float(slot)
        raise RuntimeError(f"the rate limit bucket of hook {hook_id} kept changing under {_TRIES} tries")

    def _take_busy(self, hook_id: int, interval: Decimal, now: Decimal) -> Decimal:
        answer = self._update(
            hook_id,
            "SET next_free = next_free + :step, expires_at = :expires",
            "next_free > :now",
            {":step": interval, ":now": now},
        )
        return Decimal(answer["Attributes"]["next_free"]["N"]) - interval

    def _take_idle(self, hook_id: int, interval: Decimal, now: Decimal) -> Decimal:
        self._update(
            hook_id,
            "SET next_free = :next, expires_at = :expires",
            "attribute_not_exists(next_free) OR next_free <= :now",
            {":next": now + interval, ":now": now},
        )
        return now

    def _update(self, hook_id: int, update: str, condition: str, values: dict[str, Decimal]) -> dict[str, Any]:
        expires = int(values[":now"]) + self.keep_seconds
        return dict(
            self.client.update_item(
                TableName=self.table,
                Key={"uuid": {"S": f"{_PREFIX}{hook_id}"}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    **{name: {"N": str(value)} for name, value in values.items()},
                    ":expires": {"N": str(expires)},
                },
                ReturnValues="UPDATED_NEW",
            )
        )
