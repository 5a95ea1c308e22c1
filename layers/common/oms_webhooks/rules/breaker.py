"""The circuit breaker around each attempt: a gate (delivery_step.Gate) that queues a failing hook's deliveries
while its circuit is open, lets one probe through at a time, keeps the streaks, and disables a hook whose every
attempt has failed for too long.

A gate serves one run: a dispatch (the streaks of its event type, read with the hooks' version), a fan-out batch
(read once), or one retry (one hook's streak). It collects outcomes as attempts settle, and `flush` writes those of
a batch of records in one UpdateItem; healthy hooks with no streak write nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools import Logger

from oms_webhooks.adapters.hook_health import Changes, HookHealthStore, health_of
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import SendResult
from oms_webhooks.clock import epoch
from oms_webhooks.domain.circuit import CircuitRules, Health, at_epoch
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.rules.delivery_step import Defer

logger = Logger(child=True)


@dataclass(frozen=True)
class Disabled:
    hook: HookTarget
    reason: str


@dataclass
class GateReport:
    """What a flush changed, for the run's report and metrics."""

    opened: list[int] = field(default_factory=list)  # hooks whose circuit this flush opened
    disabled: list[Disabled] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    hook: HookTarget
    succeeded: bool


class Breaker:
    def __init__(self, rules: CircuitRules, health: HookHealthStore, hooks: HookStore) -> None:
        self.rules = rules
        self.health = health
        self.hooks = hooks

    def for_event(self, event_type: str, circuits_item: dict[str, Any] | None) -> CircuitGate:
        """For a dispatch: the circuits item came with the hooks' version, in the same call."""
        return CircuitGate(self, event_type, health_of(circuits_item))

    def for_batch(self, event_type: str) -> CircuitGate:
        """For a fan-out batch: one read of its type's circuits item."""
        return CircuitGate(self, event_type, self.health.read(event_type))

    def for_hook(self, hook: HookTarget) -> CircuitGate:
        """For one retry or manual retry: that hook's streak alone."""
        return CircuitGate(self, hook.event_type, {hook.id: self.health.read_hook(hook.event_type, hook.id)})


class CircuitGate:
    def __init__(self, breaker: Breaker, event_type: str, seen: dict[int, Health]) -> None:
        self.breaker = breaker
        self.rules = breaker.rules
        self.event_type = event_type
        self.seen = seen  # the streaks as read at the start of this run; a hook not in it had none
        self._outcomes: dict[int, _Outcome] = {}
        self._probing: set[int] = set()
        self._lock = threading.Lock()

    def admit(self, hook: HookTarget, delivery: Delivery) -> Defer | None:
        health = self.seen.get(hook.id)
        if health is None or health.probe_at is None:
            return None
        now = epoch()
        decision = self.rules.admission(health, now)
        if decision == "attempt":
            return None
        if decision == "wait":
            return Defer(at_epoch(health.probe_at), self.rules.wait_reason(health, health.probe_at))
        lease_end = now + self.rules.probe_lease_seconds
        if self.breaker.health.take_probe(self.event_type, hook.id, health.probe_at, lease_end):
            with self._lock:
                self._probing.add(hook.id)
            logger.info("Circuit probe", extra={"hook_id": hook.id, "owner": hook.owner, "uuid": delivery.uuid})
            return None
        return Defer(at_epoch(lease_end), self.rules.probing_reason(lease_end))

    def settled(self, hook: HookTarget, delivery: Delivery, result: SendResult) -> None:
        with self._lock:
            self._outcomes[hook.id] = _Outcome(hook, result.succeeded)

    def flush(self, hook_ids: Iterable[int] | None = None) -> GateReport:
        """Writes the streaks of these hooks' settled attempts (all, without ids). Never raises: the breaker's
        bookkeeping failing must not fail deliveries that are already recorded; it is logged."""
        with self._lock:
            ids = list(self._outcomes) if hook_ids is None else [i for i in hook_ids if i in self._outcomes]
            outcomes = [self._outcomes.pop(i) for i in ids]
            probing = {o.hook.id for o in outcomes if o.hook.id in self._probing}
            self._probing -= probing
        try:
            return self._write(outcomes, probing)
        except Exception:
            logger.exception("Circuit breaker state not updated", extra={"event_type": self.event_type})
            return GateReport()

    def _write(self, outcomes: list[_Outcome], probing: set[int]) -> GateReport:
        now = epoch()
        failed = [o.hook for o in outcomes if not o.succeeded]
        changes = Changes(
            failed={hook.id: 1 for hook in failed},
            failed_probes={
                hook.id: now + self.rules.probe_interval(self._seen(hook.id).probes + 1)
                for hook in failed
                if hook.id in probing
            },
            cleared=[o.hook.id for o in outcomes if o.succeeded and self._had_streak(o.hook.id, probing)],
        )
        if not changes:
            return GateReport()
        health = self.breaker.health
        returned = health.record(self.event_type, changes, now)
        streaks = {hook.id: self._streak(hook.id, returned) for hook in failed}
        report = GateReport()
        to_open = {
            hook.id: now + self.rules.probe_interval(0)
            for hook in failed
            if hook.id not in probing
            and not self._seen(hook.id).is_open
            and self.rules.should_open(streaks.get(hook.id, Health()), now)
        }
        if to_open:
            health.open(self.event_type, to_open)
            report.opened = sorted(to_open)
            for hook in failed:
                if hook.id in to_open:
                    logger.warning(
                        "Circuit opened",
                        extra={"owner": hook.owner, "hook_id": hook.id, "failures": streaks[hook.id].failures},
                    )
        for hook in failed:
            streak = streaks.get(hook.id, Health())
            if self.rules.should_disable(streak, now):
                report.disabled.append(Disabled(hook, self.rules.disable_reason(streak, now)))
        for disabled in report.disabled:
            self.breaker.hooks.deactivate(disabled.hook, reason=disabled.reason)
            logger.warning(
                "Hook disabled",
                extra={
                    "owner": disabled.hook.owner,
                    "hook_id": disabled.hook.id,
                    "event_type": self.event_type,
                    "target_url": disabled.hook.target_url,
                    "reason": disabled.reason,
                },
            )
        if report.disabled:
            health.clear(self.event_type, [d.hook.id for d in report.disabled])
        return report

    def _streak(self, hook_id: int, returned: dict[int, Health]) -> Health:
        """The streak after this write. DynamoDB may leave an attribute that `if_not_exists` kept out of the
        returned values: the start then comes from what this run read (unknown if the streak began meanwhile)."""
        streak = returned.get(hook_id, Health())
        if streak.since is None:
            streak = replace(streak, since=self._seen(hook_id).since)
        return streak

    def _had_streak(self, hook_id: int, probing: set[int]) -> bool:
        return self._seen(hook_id).streak or hook_id in probing

    def _seen(self, hook_id: int) -> Health:
        return self.seen.get(hook_id) or Health()
