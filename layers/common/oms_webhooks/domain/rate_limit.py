"""A hook's rate limit: at most `rate_limit` attempts a second, paced as one slot every 1/rate_limit seconds.

Every attempt at a rate-limited hook starts in a slot of its own, taken from the hook's bucket, which all
invocations share (rate_limit_store.py). A delivery whose slot is later is deferred until it through the retry
queue and keeps the slot: when it comes back it is attempted in it without asking again. One that comes back
more than half an interval after its slot takes a new one, so late deliveries never bunch up. Attempts therefore
start at most `SLACK` of an interval after distinct slots one interval apart: at most ⌈rate + ½⌉ start in any
one-second window (rate + 1 for whole rates), however many invocations deliver to the hook.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from oms_webhooks.domain.deliveries import Delivery

MIN_RATE = 0.01  # deliveries per second: one per 100 s; a slower pace would outlast any sane retry schedule
MAX_RATE = 1000  # a bucket is one DynamoDB item, and one item takes at most 1,000 writes a second
SLACK = 0.5  # of an interval: how late after its slot a deferred delivery may still start in it
REASON = "rate limit"  # how a deferral by the rate limit starts its reason, in the delivery log and here
_MICROSECOND = Decimal("0.000001")


def _whole(value: object) -> object:
    """JSON has one number type: `10.0` is the integer 10, as the answers show it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Kept as the client wrote it (`10` reads back as `10`); bounds on each member, so the OpenAPI document has them.
RateLimit = Annotated[
    Annotated[int, Field(ge=1, le=MAX_RATE)] | Annotated[float, Field(ge=MIN_RATE, le=MAX_RATE, allow_inf_nan=False)],
    BeforeValidator(_whole),
]


def interval(rate: float) -> Decimal:
    """Seconds between two slots, to the microsecond and rounded up, so the pace never exceeds the rate."""
    return (Decimal(1) / Decimal(str(rate))).quantize(_MICROSECOND, rounding=ROUND_CEILING)


def deferral_reason(rate: float) -> str:
    return f"{REASON} of {rate:g} per second: queued for its turn"


def held_slot(delivery: Delivery) -> float | None:
    """The slot (epoch seconds) a delivery holds because its rate limit deferred it last, if it does."""
    if delivery.status != "deferred" or not delivery.deferrals:
        return None
    last = delivery.deferrals[-1]
    return last.until.timestamp() if last.reason.startswith(REASON) else None


def still_usable(slot: float, rate: float, now: float) -> bool:
    """A held slot may be used from its start until SLACK of an interval after it."""
    return now <= slot + SLACK * float(interval(rate))


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
