"""How healthy a hook's endpoint is over a period: attempts and deliveries by outcome, latency, a chart's series.

Read from the `ByHook` index (delivery_index.py), whose items carry each delivery's status and `attempt_log`
(attempt_log.py), written with the record itself: dispatch makes no extra call for stats. A stats call costs one
Query per 1 MB of index items (about 6,000 deliveries) and reads at most `MAX_DELIVERIES`, the newest; past that,
`since` says where the figures start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from oms_webhooks.adapters.delivery_index import DeliveryIndex, DeliverySummary
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.clock import iso, now
from oms_webhooks.domain.attempt_log import parse_attempt_log

Period = Literal["24h", "7d", "30d"]
PERIODS: dict[str, tuple[timedelta, Literal["hour", "day"]]] = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "hour"),
    "30d": (timedelta(days=30), "day"),
}
BUCKET_SECONDS = {"hour": 3600, "day": 86400}
BUCKETED = ("delivered", "failed", "retrying", "pending", "deferred")  # a chart's bars, by creation time
MAX_DELIVERIES = 200_000  # read at most this many (about 35 Query calls of 1 MB); the newest ones


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values, None when there are none."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


@dataclass
class _Bucket:
    start: float
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    pending: int = 0
    deferred: int = 0
    attempts: int = 0

    def __post_init__(self) -> None:
        self.durations: list[float] = []


def summarize(
    summaries: Iterable[DeliverySummary], since: datetime, until: datetime, bucket: Literal["hour", "day"]
) -> dict[str, Any]:
    """The stats answer from the deliveries created in [since, until] (newest first, as the index gives them)."""
    size = BUCKET_SECONDS[bucket]
    first = math.floor(since.timestamp() / size) * size
    buckets = [_Bucket(start) for start in range(first, math.floor(until.timestamp()) + 1, size)]

    def bucket_of(moment: float) -> _Bucket:
        return buckets[min(max(0, int((moment - first) // size)), len(buckets) - 1)]

    deliveries = {"delivered": 0, "retrying": 0, "failed": 0, "pending": 0, "deferred": 0}
    durations: list[float] = []
    succeeded = failed = 0
    last_success = last_failure = None
    for summary in summaries:
        created = datetime.fromisoformat(summary.created_sk.partition("#")[0].replace("Z", "+00:00")).timestamp()
        deliveries[summary.status] = deliveries.get(summary.status, 0) + 1
        if summary.status in BUCKETED:
            row = bucket_of(created)
            setattr(row, summary.status, getattr(row, summary.status) + 1)
        for attempt in parse_attempt_log(summary.attempt_log):
            row = bucket_of(attempt.at)
            row.attempts += 1
            row.durations.append(attempt.duration_ms)
            durations.append(attempt.duration_ms)
            if attempt.succeeded:
                succeeded += 1
                last_success = max(last_success or attempt.at, attempt.at)
            else:
                failed += 1
                last_failure = max(last_failure or attempt.at, attempt.at)
    durations.sort()
    total = succeeded + failed
    return {
        "since": iso(since),
        "until": iso(until),
        "bucket": bucket,
        "attempts": {"total": total, "succeeded": succeeded, "failed": failed},
        "deliveries": deliveries,
        "success_rate": round(succeeded / total, 4) if total else None,
        "latency_ms": {f"p{p}": percentile(durations, p) for p in (50, 95, 99)},
        "last_success_at": _iso_at(last_success),
        "last_failure_at": _iso_at(last_failure),
        "series": [
            {
                "start": _iso_at(row.start),
                "delivered": row.delivered,
                "failed": row.failed,
                "retrying": row.retrying,
                "pending": row.pending,
                "deferred": row.deferred,
                "attempts": row.attempts,
                "p95_ms": percentile(sorted(row.durations), 95),
            }
            for row in buckets
        ],
    }


def _iso_at(moment: float | None) -> str | None:
    return iso(datetime.fromtimestamp(moment, UTC)) if moment is not None else None


class HookStats:
    def __init__(self, index: DeliveryIndex, hooks: HookStore, max_deliveries: int = MAX_DELIVERIES) -> None:
        self.index = index
        self.hooks = hooks
        self.max_deliveries = max_deliveries

    def stats(self, owner: str, hook_id: int, period: Period) -> dict[str, Any]:
        self.hooks.get(owner, hook_id)  # another owner's hook is not found
        length, bucket = PERIODS[period]
        until = now()
        since = until - length
        read: list[DeliverySummary] = []
        for page in self.index.hook_summaries(hook_id, since, until):
            read.extend(page)
            if len(read) >= self.max_deliveries:  # the newest ones; the figures start at the oldest read
                read = read[: self.max_deliveries]
                since = datetime.fromisoformat(read[-1].created_sk.partition("#")[0].replace("Z", "+00:00"))
                break
        return {"period": period, **summarize(read, since, until, bucket)}
