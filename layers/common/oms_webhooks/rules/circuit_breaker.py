"""The circuit breaker around each attempt: a gate (delivery_step.Gate) that queues a failing hook's deliveries
while its circuit is open, lets one probe through at a time, keeps the streaks, and disables a hook whose every
attempt has failed for too long.

Deliveries the circuit holds back are parked (parking.py): the gate's flush sends the probe message of a circuit it
opens, and the release of one it closes or whose hook it disables.

A gate serves one run: a dispatch (the streaks of its event type, read with the hooks' version), a fan-out batch
(read once), or one retry (one hook's streak). It collects outcomes as attempts settle, and `flush` writes those of
a batch of records in one UpdateItem; healthy hooks with no streak write nothing.

What its writes change is told to the run's outbox as operational events, each by the one write that made it so:
`circuit_opened` by the write that set the probe time (`open` says which it set), `circuit_closed` by the write that
removed it (`clear` says which it removed), `hook.disabled` by the write that turned an active hook off.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools import Logger

from oms_webhooks.adapters.circuit_store import Changes, CircuitStore, health_of
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.sender import SendResult
from oms_webhooks.clock import epoch
from oms_webhooks.domain.circuit import CircuitRules, Health, at_epoch
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.domain.operational_events import circuit_closed, circuit_opened, hook_disabled
from oms_webhooks.rules.delivery_step import GONE, Defer
from oms_webhooks.rules.operational_outbox import OperationalOutbox
from oms_webhooks.rules.parking import Parking, new_token

logger = Logger(child=True)


@dataclass(frozen=True)
class Disabled:
    hook: HookTarget
    reason: str


@dataclass
class GateReport:
    """What a flush changed, for the run's report and metrics."""

    opened: list[int] = field(default_factory=list)  # hooks whose circuit this flush opened
    closed: list[int] = field(default_factory=list)  # hooks whose open circuit this flush closed
    disabled: list[Disabled] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    hook: HookTarget
    succeeded: bool
    failures: int = 0  # failed attempts since this run's last success of the hook (a retry batch has several)


class Breaker:
    def __init__(
        self, rules: CircuitRules, health: CircuitStore, hooks: HookStore, parking: Parking | None = None
    ) -> None:
        self.rules = rules
        self.health = health
        self.hooks = hooks
        self.parking = parking  # without it, held deliveries go round the retry queue until the next probe time

    def for_event(
        self, event_type: str, circuits_item: dict[str, Any] | None, outbox: OperationalOutbox | None = None
    ) -> CircuitGate:
        """For a dispatch: the circuits item came with the hooks' version, in the same call."""
        return CircuitGate(self, event_type, health_of(circuits_item), outbox)

    def for_batch(self, event_type: str, outbox: OperationalOutbox | None = None) -> CircuitGate:
        """For a fan-out batch: one read of its type's circuits item."""
        return CircuitGate(self, event_type, self.health.read(event_type), outbox)

    def for_hook(self, hook: HookTarget, outbox: OperationalOutbox | None = None) -> CircuitGate:
        """For one retry or manual retry: that hook's streak alone."""
        return CircuitGate(self, hook.event_type, {hook.id: self.health.read_hook(hook.event_type, hook.id)}, outbox)


class CircuitGate:
    def __init__(
        self, breaker: Breaker, event_type: str, seen: dict[int, Health], outbox: OperationalOutbox | None = None
    ) -> None:
        self.breaker = breaker
        self.rules = breaker.rules
        self.event_type = event_type
        self.seen = seen  # the streaks as read at the start of this run; a hook not in it had none
        self.outbox = OperationalOutbox() if outbox is None else outbox  # the run's; without one, told to no one
        self._outcomes: dict[int, _Outcome] = {}
        self._probing: set[int] = set()
        # Hooks whose probe this run delivered, until one of their attempts fails: their circuit is closing (the flush
        # clears it), so this run's later deliveries to them go now instead of waiting out the probe's lease.
        self._recovered: set[int] = set()
        self._unprobed: dict[int, tuple[HookTarget, float]] = {}  # parked here, and their circuit had no probe message
        self._lock = threading.Lock()

    def admit(self, hook: HookTarget, delivery: Delivery) -> Defer | None:
        health = self.seen.get(hook.id)
        if health is None or health.probe_at is None or hook.id in self._recovered:
            return None
        now = epoch()
        decision = self.rules.admission(health, now)
        if decision == "attempt":
            return None
        if decision == "wait":
            return self._hold(hook, health, health.probe_at, self.rules.wait_reason(health, health.probe_at))
        lease_end = now + self.rules.probe_lease_seconds
        if self.breaker.health.take_probe(self.event_type, hook.id, health.probe_at, lease_end):
            with self._lock:
                self._probing.add(hook.id)
            logger.info("Circuit probe", extra={"hook_id": hook.id, "owner": hook.owner, "uuid": delivery.uuid})
            return None
        return self._hold(hook, health, lease_end, self.rules.probing_reason(lease_end))

    def _hold(self, hook: HookTarget, health: Health, until: float, reason: str) -> Defer:
        park = self.breaker.parking is not None
        if park and health.probe_message is None:
            with self._lock:
                self._unprobed[hook.id] = (hook, until)
        return Defer(at_epoch(until), reason, park=park)

    def settled(self, hook: HookTarget, delivery: Delivery, result: SendResult) -> None:
        if result.status_code == GONE:
            return  # the hook is turned off instead; it counts in no streak (turned back on, it starts afresh)
        with self._lock:
            before = self._outcomes.get(hook.id)
            failures = before.failures if before and not result.succeeded else 0
            self._outcomes[hook.id] = _Outcome(hook, result.succeeded, failures + (not result.succeeded))
            if result.succeeded and (hook.id in self._probing or hook.id in self._recovered):
                self._recovered.add(hook.id)
            else:
                self._recovered.discard(hook.id)

    def flush(self, hook_ids: Iterable[int] | None = None) -> GateReport:
        """Writes the streaks of these hooks' settled attempts (all, without ids). Never raises: the breaker's
        bookkeeping failing must not fail deliveries that are already recorded; it is logged."""
        with self._lock:
            ids = list(self._outcomes) if hook_ids is None else [i for i in hook_ids if i in self._outcomes]
            outcomes = [self._outcomes.pop(i) for i in ids]
            probing = {o.hook.id for o in outcomes if o.hook.id in self._probing}
            self._probing -= probing
            unprobed, self._unprobed = list(self._unprobed.values()), {}
        try:
            report = self._write(outcomes, probing)
            self._park(report, [o.hook for o in outcomes], unprobed)
            return report
        except Exception:
            logger.exception("Circuit breaker state not updated", extra={"event_type": self.event_type})
            return GateReport()

    def _park(self, report: GateReport, hooks: list[HookTarget], unprobed: list[tuple[HookTarget, float]]) -> None:
        """What a change of circuits means for the parked deliveries: released when closed or disabled."""
        parking = self.breaker.parking
        if parking is None:
            return
        ended = set(report.closed) | {d.hook.id for d in report.disabled}
        parking.release({hook.id: hook for hook in hooks if hook.id in ended}.values())
        for hook, due in unprobed:
            if hook.id not in ended:
                parking.ensure_probe(hook, due)

    def _write(self, outcomes: list[_Outcome], probing: set[int]) -> GateReport:
        now = epoch()
        failed = [o.hook for o in outcomes if not o.succeeded]
        # A success ends the streak this run saw and closes the hook's circuit, whether this run saw it open (or
        # probed it) or another run opened it meanwhile: the endpoint answered. `clear` says which circuits it closed
        # and the streaks it removed, so one run alone tells, with the failures of the streak that opened it.
        cleared = [o.hook for o in outcomes if o.succeeded and self._had_streak(o.hook.id, probing)]
        changes = Changes(
            failed={o.hook.id: o.failures for o in outcomes if not o.succeeded},
            failed_probes={
                hook.id: now + self.rules.probe_interval(self._seen(hook.id).probes + 1)
                for hook in failed
                if hook.id in probing
            },
        )
        if not changes and not cleared:
            return GateReport()
        report = GateReport()
        health = self.breaker.health
        if cleared:
            closed = health.clear(self.event_type, [hook.id for hook in cleared])
            report.closed = sorted(closed)
            for hook in cleared:
                if hook.id in closed:
                    self.outbox.add(circuit_closed(hook, closed[hook.id].failures))
        if not changes:
            return report
        known = [hook.id for hook in failed if self._seen(hook.id).since is not None]
        returned = health.record(self.event_type, changes, now, starts_known=known)
        streaks = {hook.id: self._streak(hook.id, returned) for hook in failed}
        to_open = {
            hook.id: now + self.rules.probe_interval(0)
            for hook in failed
            if hook.id not in probing
            and not self._seen(hook.id).is_open
            and self.rules.should_open(streaks.get(hook.id, Health()), now)
        }
        if to_open:
            tokens = {hook_id: new_token() for hook_id in to_open}
            opened = health.open(self.event_type, to_open, tokens)
            if self.breaker.parking is not None:
                self.breaker.parking.probe((h, tokens[h.id], to_open[h.id]) for h in failed if h.id in opened)
            report.opened = sorted(opened)
            for hook in failed:
                if hook.id in opened:
                    streak = streaks[hook.id]
                    logger.warning(
                        "Circuit opened", extra={"owner": hook.owner, "hook_id": hook.id, "failures": streak.failures}
                    )
                    since = at_epoch(streak.since) if streak.since is not None else None
                    self.outbox.add(circuit_opened(hook, streak.failures, since, at_epoch(to_open[hook.id])))
        to_disable = []
        for hook in failed:
            streak = streaks.get(hook.id, Health())
            if self.rules.should_disable(streak, now):
                to_disable.append((hook, self.rules.disable_reason(streak, now), streak.failures))
        for hook, reason, failures in to_disable:
            disabled_at = self.breaker.hooks.deactivate(hook, reason=reason)
            if disabled_at is None:
                continue  # another run turned it off first, and told
            report.disabled.append(Disabled(hook, reason))
            self.outbox.add(hook_disabled(hook, "failing", reason, disabled_at, failures=failures))
            logger.warning(
                "Hook disabled",
                extra={
                    "owner": hook.owner,
                    "hook_id": hook.id,
                    "event_type": self.event_type,
                    "target_url": hook.target_url,
                    "reason": reason,
                },
            )
        if to_disable:
            health.clear(self.event_type, [hook.id for hook, _, _ in to_disable])
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
