"""Recover after an outage: one more attempt for every delivery of a hook (or of an owner) that failed in a window.

Each delivery is marked (`recovery`), made `retrying` and due now with one conditional update, then named in a
message on the retry queue; the retrier sends it as any retry. A delivery whose retries were spent gets exactly
one more attempt (and ends `failed` again if that fails); one still in its schedule (`include_retrying`) is tried
now and then keeps its schedule. The mark lasts until the retrier saves the attempt, so a second identical call
meanwhile queues nothing twice; after that, a delivery that failed again can be recovered again.

An ordered hook's deliveries keep their order (ordering.py): failed ones are queued again in their object's queue,
oldest first, behind whatever waits there; retrying ones are made due now where they wait, and the one its queue
waits for shows again at once.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oms_webhooks.adapters.delivery_index import Candidate, DeliveryIndex
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import SEND_BATCH_SIZE, RetryMessage, RetryQueue
from oms_webhooks.clock import iso, now
from oms_webhooks.domain.errors import InvalidField, NotFound
from oms_webhooks.domain.event_catalog import subscribable_event_type
from oms_webhooks.domain.hooks import Hook
from oms_webhooks.rules.ordering import OrderedDeliveries, ordering_of

MAX_PER_CALL = 1000  # deliveries one call queues (the API has 28 s); call again for the rest
MARK_WORKERS = 8
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Moment = Annotated[datetime, Field(strict=False)]  # ISO 8601 text, as every time in this API


class RecoverRequest(BaseModel):
    """`POST /whisperer/hooks/{id}/recover/`: the window (by creation time) and whether to include retrying ones."""

    model_config = ConfigDict(strict=True, extra="forbid")

    since: Annotated[Moment, Field(description="Deliveries created at or after this time (ISO 8601; no zone: UTC).")]
    until: Annotated[Moment | None, Field(description="... and at or before this one (default: now).")] = None
    include_retrying: Annotated[bool, Field(description="Also those still on their retry schedule: tried now.")] = False

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """In UTC (a time without a zone is read as UTC, as the delivery log's filters read it); nothing was
        delivered before 1970, so an earlier time means the same as 1970."""
        if value is None:
            return None
        try:
            moment = (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
        except OverflowError:
            raise ValueError("Enter a valid date/time.") from None
        return max(moment, EPOCH)

    def window(self) -> tuple[datetime, datetime]:
        """[since, until], until at most now: the answer says which window was looked at."""
        until = min(self.until or now(), now())
        if until < self.since:
            raise InvalidField("until" if self.until else "since", "The window must not end before it starts.")
        return self.since, until

    def statuses(self) -> tuple[str, ...]:
        return ("failed", "retrying") if self.include_retrying else ("failed",)


class OwnerRecoverRequest(RecoverRequest):
    """`POST /whisperer/hook_events/recover/`: every hook of the owner, optionally one event type."""

    event_type: Annotated[str | None, Field(description="Only deliveries of this event type (dashed form too).")] = None

    @field_validator("event_type")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        canonical = subscribable_event_type(value)
        if canonical is None:
            raise ValueError(f'"{value}" is not a valid choice.')
        return canonical


@dataclass(frozen=True)
class RecoveryReport:
    queued: int
    since: datetime
    until: datetime

    def public(self) -> dict[str, Any]:
        return {"queued": self.queued, "since": iso(self.since), "until": iso(self.until)}


class Recovery:
    def __init__(
        self,
        index: DeliveryIndex,
        hooks: HookStore,
        queue: RetryQueue,
        limit: int = MAX_PER_CALL,
        ordering: OrderedDeliveries | None = None,
    ) -> None:
        self.index = index
        self.hooks = hooks
        self.queue = queue
        self.limit = limit
        self.ordering = ordering

    def recover_hook(self, owner: str, hook_id: int, request: RecoverRequest) -> RecoveryReport:
        hook = self.hooks.get(owner, hook_id)  # another owner's hook is not found
        if not hook.is_active:
            raise InvalidField("is_active", "The hook is inactive: activate it before recovering its deliveries.")
        since, until = request.window()
        candidates = self.index.recoverable(since, until, request.statuses(), self.limit, hook_id=hook_id)
        return RecoveryReport(self._queue_each(owner, candidates, request.statuses(), {hook_id: hook}), since, until)

    def recover_owner(self, owner: str, request: OwnerRecoverRequest) -> RecoveryReport:
        """Deliveries of hooks since deleted or switched off are left alone: the retrier would not send them."""
        since, until = request.window()
        candidates = self.index.recoverable(
            since, until, request.statuses(), self.limit, owner=owner, event_type=request.event_type
        )
        hooks: dict[int, Hook] = {}
        for hook_id in {c.webhook for c in candidates}:
            try:
                hooks[hook_id] = self.hooks.get(owner, hook_id)
            except NotFound:
                continue
        sendable = [c for c in candidates if c.webhook in hooks and hooks[c.webhook].is_active]
        return RecoveryReport(self._queue_each(owner, sendable, request.statuses(), hooks), since, until)

    def _queue_each(
        self, owner: str, candidates: list[Candidate], statuses: tuple[str, ...], hooks: dict[int, Hook]
    ) -> int:
        """Ordered hooks' deliveries in their objects' queues, the others on the retry queue."""
        ordered = [c for c in candidates if self.ordering is not None and hooks[c.webhook].ordering == "object"]
        if not ordered:
            return self._queue(owner, candidates, statuses)
        assert self.ordering is not None
        records = self.ordering.deliveries.get_many([c.uuid for c in ordered])
        ended, waiting, unordered = [], [], [c for c in candidates if c not in ordered]
        for candidate in ordered:
            delivery = records.get(candidate.uuid)
            place = ordering_of(hooks[candidate.webhook], delivery) if delivery else None
            if delivery is None or place is None or place.group is None:  # no id: as an unordered hook's
                unordered.append(candidate)
            elif delivery.status == "failed":
                ended.append((delivery, place))
            else:
                waiting.append(delivery.model_copy(update={"ordering": place}))
        queued = self.ordering.queue_ended(ended) + self.ordering.hurry(waiting, statuses)
        return queued + self._queue(owner, unordered, statuses)

    def _queue(self, owner: str, candidates: list[Candidate], statuses: tuple[str, ...]) -> int:
        """Mark, then send; a message that cannot be sent has its mark undone, so nothing is left marked unsent."""
        if not candidates:
            return 0
        marker = f"{iso(now())}#{uuid.uuid4().hex[:8]}"
        due = now()

        def mark(candidate: Candidate) -> dict[str, Any] | Exception | None:
            try:
                return self.index.mark_for_recovery(candidate.uuid, statuses, marker, due)
            except Exception as exc:  # sent after the others are sent, so those marked are not stranded
                return exc

        with ThreadPoolExecutor(min(MARK_WORKERS, len(candidates)), thread_name_prefix="recover") as pool:
            outcomes = list(pool.map(mark, candidates))
        marked = [(c, old) for c, old in zip(candidates, outcomes, strict=True) if isinstance(old, dict)]
        for start in range(0, len(marked), SEND_BATCH_SIZE):
            chunk = marked[start : start + SEND_BATCH_SIZE]
            try:
                self.queue.schedule([RetryMessage(uuid=c.uuid, due=due.timestamp(), owner=owner) for c, _ in chunk])
            except Exception:
                for c, old in marked[start:]:
                    self.index.unmark(c.uuid, old, marker)
                raise
        failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        if failures:
            raise failures[0]
        return len(marked)
