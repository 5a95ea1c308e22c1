"""Time as the service records and shows it: aware UTC, formatted as Django REST framework does.

Every rule that goes by the time (retry schedules, the circuit breaker, auto-disable) asks this module, so a
test can put a `SimulatedClock` in place and live through days in seconds (`use_clock`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def real_seconds(self, seconds: float) -> float:
        """How long a wait of `seconds` on this clock lasts in real time (an SQS delay or visibility)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds(self, seconds: float) -> float:
        return seconds


class SimulatedClock:
    """A clock that moves only when told to. Real waits collapse to nothing: a message comes back at once and
    the delivery record, which is the truth about when it is due, decides whether it is due yet."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def real_seconds(self, seconds: float) -> float:
        return 0.0


_clock: Clock = SystemClock()


def use_clock(clock: Clock) -> Clock:
    """Puts `clock` in place for the whole process; returns the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def clock() -> Clock:
    return _clock


def now() -> datetime:
    return _clock.now()


def epoch() -> float:
    """Now in epoch seconds, on the same clock."""
    return _clock.now().timestamp()


def iso(moment: datetime) -> str:
    """Django REST framework's datetime format, so clients parse it as before."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
