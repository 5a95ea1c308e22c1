"""The circuit breaker's rules: when a hook's failure streak opens its circuit, when it is probed, when it is disabled.

Pure: a hook's `Health` and the time in, a decision out. Where the state lives is adapters/circuit_store.py; who
applies the decisions around each attempt is rules/circuit_breaker.py.

A hook's circuit is closed while it has fewer than `open_after_failures` consecutive failed attempts, or while
its streak is younger than `open_after_seconds`. Open, its deliveries are queued, not attempted, until the next
probe time; then one delivery at a time (the probe) is attempted. A success anywhere ends the streak and closes
the circuit; a failed probe moves the next probe further away, doubling up to `probe_max_seconds`. A hook whose
every attempt has failed for `disable_after_seconds`, at least `disable_min_attempts` of them, is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from oms_webhooks.clock import iso

Admission = Literal["attempt", "probe", "wait"]


@dataclass(frozen=True)
class Health:
    """One hook's failure streak and circuit, as stored. A hook without a streak has the default."""

    failures: int = 0  # consecutive failed attempts
    since: float | None = None  # epoch seconds of the streak's first failed attempt
    probe_at: float | None = None  # while the circuit is open: when the next probe may be attempted
    probes: int = 0  # probes that failed since the circuit opened; the interval grows with them
    probe_message: int | None = None  # while open: the token of the retry-queue message that probes it

    @property
    def is_open(self) -> bool:
        return self.probe_at is not None

    @property
    def streak(self) -> bool:
        return self.failures > 0 or self.is_open


@dataclass(frozen=True)
class CircuitRules:
    open_after_failures: int = 5
    open_after_seconds: float = 60.0
    probe_seconds: float = 30.0
    probe_max_seconds: float = 900.0
    disable_after_seconds: float = 5 * 86400.0
    disable_min_attempts: int = 20
    probe_lease_seconds: float = 20.0  # longer than one attempt may take: a probe settles within it

    def admission(self, health: Health, now: float) -> Admission:
        """Closed: attempt. Open: `probe` once the probe time has come (one delivery wins it), else `wait`."""
        if health.probe_at is None:
            return "attempt"
        return "probe" if now >= health.probe_at else "wait"

    def should_open(self, health: Health, now: float) -> bool:
        if health.is_open or health.since is None:
            return False
        return health.failures >= self.open_after_failures and now - health.since >= self.open_after_seconds

    def probe_interval(self, failed_probes: int) -> float:
        """Seconds from a failure (the one that opened the circuit, or a failed probe) to the next probe."""
        return min(self.probe_max_seconds, self.probe_seconds * 2 ** min(failed_probes, 32))

    def should_disable(self, health: Health, now: float) -> bool:
        if health.since is None:
            return False
        return health.failures >= self.disable_min_attempts and now - health.since >= self.disable_after_seconds

    def disable_reason(self, health: Health, now: float) -> str:
        since = health.since if health.since is not None else now
        return (
            f"every attempt failed for {_duration(now - since)}: {health.failures} consecutive failed attempts "
            f"since {iso(at_epoch(since))} (the limit is {_duration(self.disable_after_seconds)} "
            f"and at least {self.disable_min_attempts} attempts)"
        )

    def wait_reason(self, health: Health, until: float) -> str:
        since = f" since {iso(at_epoch(health.since))}" if health.since is not None else ""
        return (
            f"The hook's circuit is open after {health.failures} consecutive failed attempts{since}: "
            f"parked, not attempted, until a probe succeeds (the next probe is at {iso(at_epoch(until))})"
        )

    def probing_reason(self, until: float) -> str:
        return (
            "The hook's circuit is open and another delivery is probing it now: "
            f"parked until a probe succeeds (this one settles by {iso(at_epoch(until))})"
        )


def at_epoch(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def _duration(seconds: float) -> str:
    """Whole units a person reads at a glance: '5 days 2 h', '3 min', '45 s'."""
    left = timedelta(seconds=round(max(0.0, seconds)))
    days, rest = left.days, left.seconds
    if days:
        hours = rest // 3600
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if rest >= 3600:
        return f"{rest // 3600} h" + (f" {rest % 3600 // 60} min" if rest % 3600 >= 60 else "")
    if rest >= 60:
        return f"{rest // 60} min"
    return f"{rest} s"
