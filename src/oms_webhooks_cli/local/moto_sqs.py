"""moto's SQS made safe, cheap and fair for a long-running local stack; applied in the moto process before it serves.

Safe: moto 5.2's SQS is not thread-safe: `receive_message` iterates the queue's set of in-flight messages while other
requests' threads add to it and remove from it ("RuntimeError: Set changed size during iteration", a 500 that
botocore retries quietly), and a delete rebuilds the message list while a send appends to it (a lost message).
Every call that changes a queue's messages here holds that queue's lock; long polls wait outside it.

Cheap: moto keeps a queue's messages in a list and scans it on every receive, every send (the queue's attributes
count its messages three times) and every change of visibility or delete (to find the receipt handle), and
remembers every receipt handle it ever deleted. With thousands of retries hidden until due, polling cost a core and
memory grew without end. Here a standard queue's messages are a `MessageBook`: found by receipt handle in a dict,
the hidden and delayed ones in a heap by when they come due, the visible ones in a heap per tenant, and counted as
they change state; a call costs O(log n) for each message it touches. A queue keeps the most recent deleted receipt
handles only.

Fair: on AWS a standard queue is a fair queue (since July 2025) as soon as its messages carry a MessageGroupId, which
names the message's tenant (a message without one is a tenant of its own). A tenant with more than 10 % of the
queue's in-flight messages and at least 30 of them is a noisy neighbour. A receive hands out quiet tenants' messages
first, oldest first, then noisy tenants', the one with the fewest in flight first. AWS's second measure, a tenant's
share of consumer processing time, is not emulated (moto does not see processing), nor its memory of a noisy tenant
for five minutes: here a tenant is noisy while its messages in flight make it so.

FIFO queues keep moto's list, order and message groups (a group's messages in order, none of a group while one of
them is in flight), with two of AWS's rules moto lacks: a deduplication id is remembered for five minutes after the
send whether or not the message was deleted since (per group with `DeduplicationScope: messageGroup`; moto looked
only at the messages still queued), and the twelve hours a message may stay hidden count from its last receive.
"""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from moto.sqs import models
from moto.sqs.exceptions import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameterValue,
    ReceiptHandleIsInvalid,
    TooManyEntriesInBatchRequest,
)

DELETED_HANDLES_KEPT = 10_000  # deleting an already-deleted message stays a no-op for this many recent handles
LONGEST_IDLE_WAIT = 1.0  # seconds a long poll sleeps before looking again, whatever it was told
NOISY_SHARE = 0.10  # AWS: a tenant with more than this share of the queue's in-flight messages ...
NOISY_IN_FLIGHT = 30  # ... and at least this many of them in flight is a noisy neighbour
LONGEST_VISIBILITY_MS = 43_200_000  # AWS: a message is hidden at most 12 hours after it was received
DEDUPLICATION_MS = 300_000  # AWS: a FIFO queue drops a message whose deduplication id it saw this recently
BATCH_ENTRIES = 10  # AWS: entries of a batch call

# moto's own, replaced by apply(): a moto without one of them fails apply(), and tests/unit/test_moto_sqs.py, naming it.
REPLACED = (
    "Queue.__init__",
    "Queue.messages",
    "Queue.approximate_number_of_messages",
    "Queue.approximate_number_of_messages_delayed",
    "Queue.approximate_number_of_messages_not_visible",
    "Queue.add_message",
    "Queue.delete_message",
    "SQSBackend.receive_message",
    "SQSBackend.change_message_visibility",
    "SQSBackend.change_message_visibility_batch",
    "SQSBackend.purge_queue",
    "SQSBackend.is_message_valid_based_on_retention_period",
)
# moto's own, used as they are by what replaces the above; the same test checks them.
RELIED_ON = (
    "Queue._messages",
    "Queue._messages_lock",
    "Queue.fifo_queue",
    "Queue.dead_letter_queue",
    "Queue.redrive_policy",
    "Queue.message_retention_period",
    "Queue.deleted_messages",
    "Queue.pending_messages",
    "Queue.attributes",
    "Message.id",
    "Message.group_id",
    "Message.deduplication_id",
    "Message.had_receipt_handle",
    "Message.receipt_handle",
    "Message.all_receipt_handles",
    "Message.visible_at",
    "Message.delayed_until",
    "Message.sent_timestamp",
    "Message.approximate_receive_count",
    "Message.message_attributes",
    "Message.mark_received",
    "Message.change_visibility",
    "SQSBackend.get_queue",
    "models._filter_message_attributes",
)
MOTO_CLASSES: dict[str, Any] = {"Queue": models.Queue, "SQSBackend": models.SQSBackend, "Message": models.Message}


class RecentHandles:
    """The `deleted_messages` set of a moto queue, bounded: membership and update, oldest forgotten first."""

    def __init__(self, limit: int = DELETED_HANDLES_KEPT) -> None:
        self.limit = limit
        self._handles: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, handle: object) -> bool:
        return handle in self._handles

    def __len__(self) -> int:
        return len(self._handles)

    def update(self, handles: Iterable[str | None]) -> None:
        for handle in handles:
            if handle is not None:
                self._handles[handle] = None
        while len(self._handles) > self.limit:
            self._handles.popitem(last=False)


WAITING, VISIBLE, IN_FLIGHT, GONE = "waiting", "visible", "in flight", "gone"  # WAITING: delayed, never received


class Slot:
    """A message in a MessageBook: its place in the queue's order, its tenant and state. Heap entries carry the
    `stamp` they were made with; one whose stamp is no longer the slot's is stale and skipped."""

    __slots__ = ("message", "received_ms", "seq", "stamp", "state", "tenant")

    def __init__(self, message: Any, seq: int) -> None:
        self.message = message
        self.seq = seq  # order of arrival: "oldest first"
        group = message.group_id
        self.tenant: Hashable = ("group", group) if group is not None else ("message", message.id)
        self.state = GONE
        self.stamp = 0
        self.received_ms = 0.0


class MessageBook:
    """A standard queue's messages (moto's `Queue._messages`), indexed so that no call scans them.

    moto's own code uses it as the list it replaces (append, remove, iteration, len); the patched calls use
    `hand_out`, `place` and `discard`. Every method is called with the queue's lock held.
    """

    def __init__(self) -> None:
        self.slots: dict[str, Slot] = {}  # by message id, oldest first
        self.by_handle: dict[str, Slot] = {}  # every receipt handle each message has had
        self.waiting: list[tuple[float, int, int, Slot]] = []  # (due ms, seq, stamp, slot): hidden or delayed
        self.visible: dict[Hashable, list[tuple[int, int, Slot]]] = {}  # tenant -> heap of (seq, stamp, slot)
        self.heads: list[tuple[int, Hashable]] = []  # (seq, tenant): each tenant's oldest visible message
        self.head_of: dict[Hashable, int] = {}  # tenant -> the seq of its one live entry in `heads`
        self.in_flight: Counter[Hashable] = Counter()  # tenant -> its messages in flight
        self.crowded: set[Hashable] = set()  # tenants with NOISY_IN_FLIGHT or more in flight
        self.counts: Counter[str] = Counter()  # slots by state
        self._arrivals = itertools.count()

    # moto's list interface (its add_message appends; its own receive, for FIFO queues only, removes)
    def append(self, message: Any) -> None:
        now = _now_ms()
        slot = Slot(message, next(self._arrivals))
        self.slots[message.id] = slot
        for handle in message.all_receipt_handles:  # a message come from another queue, as to a dead-letter queue
            if handle is not None:
                self.by_handle[handle] = slot
                slot.received_ms = now
        self.place(slot, now)

    def remove(self, message: Any) -> None:
        self.discard(self.slots[message.id])

    def __iter__(self) -> Iterator[Any]:
        return iter([slot.message for slot in self.slots.values()])

    def __len__(self) -> int:
        return len(self.slots)

    def state_count(self, state: str, now: float) -> int:
        self.come_due(now)
        return self.counts[state]

    def visible_messages(self, now: float) -> list[Any]:
        self.come_due(now)
        return [slot.message for slot in self.slots.values() if slot.state == VISIBLE]

    def place(self, slot: Slot, now: float) -> bool:
        """Files a message where its times say (visible now, or waiting in the heap until due); True if visible."""
        message = slot.message
        due = max(message.visible_at, message.delayed_until)
        slot.stamp += 1
        if due <= now:
            self._set_state(slot, VISIBLE)
            heapq.heappush(self.visible.setdefault(slot.tenant, []), (slot.seq, slot.stamp, slot))
            self._refresh_head(slot.tenant)
            return True
        self._set_state(slot, IN_FLIGHT if message.receipt_handle is not None else WAITING)
        heapq.heappush(self.waiting, (due, slot.seq, slot.stamp, slot))
        if len(self.waiting) > 2 * (self.counts[IN_FLIGHT] + self.counts[WAITING]) + 1000:
            self.waiting = [entry for entry in self.waiting if entry[2] == entry[3].stamp]
            heapq.heapify(self.waiting)
        return False

    def discard(self, slot: Slot) -> None:
        """The message leaves the queue: deleted, gone to the dead-letter queue, or past retention."""
        self.slots.pop(slot.message.id, None)
        for handle in slot.message.all_receipt_handles:
            if handle is not None:
                self.by_handle.pop(handle, None)
        self._set_state(slot, GONE)
        slot.stamp += 1

    def come_due(self, now: float) -> None:
        """Hidden and delayed messages whose time has come become visible."""
        while self.waiting and self.waiting[0][0] <= now:
            _, _, stamp, slot = heapq.heappop(self.waiting)
            if stamp == slot.stamp:
                self.place(slot, now)

    def next_due_ms(self, now: float) -> float:
        """When the next message can be visible (epoch ms): now if one is; infinity for an empty queue."""
        self.come_due(now)
        if self.counts[VISIBLE]:
            return now
        while self.waiting and self.waiting[0][2] != self.waiting[0][3].stamp:
            heapq.heappop(self.waiting)
        return self.waiting[0][0] if self.waiting else math.inf

    def hand_out(self, count: int, now: float, visibility_timeout: int, diverted: Callable[[Any], bool]) -> list[Any]:
        """Receives up to `count` visible messages, quiet tenants' first; a message for which `diverted` is true
        (it has gone to the dead-letter queue, or is past retention) leaves the queue instead."""
        self.come_due(now)
        noisy = self.noisy()
        set_aside: set[Hashable] = set()
        received: list[Any] = []
        visible_again: list[Slot] = []  # received with no visibility timeout: visible after this receive
        while len(received) < count:
            slot = self._next_quiet(noisy, set_aside) or self._next_noisy(noisy)
            if slot is None:
                break
            if diverted(slot.message):
                self.discard(slot)
                continue
            slot.message.mark_received(visibility_timeout=visibility_timeout)
            slot.received_ms = now
            self.by_handle[slot.message.receipt_handle] = slot
            if max(slot.message.visible_at, slot.message.delayed_until) <= now:
                visible_again.append(slot)
            else:
                self.place(slot, now)
            received.append(slot.message)
        for slot in visible_again:
            self.place(slot, now)
        for tenant in set_aside:
            self._refresh_head(tenant)
        return received

    def noisy(self) -> set[Hashable]:
        """Tenants with more than NOISY_SHARE of the messages in flight, and at least NOISY_IN_FLIGHT (at most 9)."""
        share = NOISY_SHARE * self.counts[IN_FLIGHT]
        return {tenant for tenant in self.crowded if self.in_flight[tenant] > share}

    def _next_quiet(self, noisy: set[Hashable], set_aside: set[Hashable]) -> Slot | None:
        """The oldest visible message of a tenant not noisy, taken from its heap; noisy tenants met on the way are
        set aside, their heads restored after the receive."""
        while self.heads:
            seq, tenant = heapq.heappop(self.heads)
            if self.head_of.get(tenant) != seq:
                continue  # stale: the tenant's head has changed since
            del self.head_of[tenant]
            oldest = self._oldest(tenant)
            if oldest is None or oldest.seq != seq:
                self._refresh_head(tenant)
                continue
            if tenant in noisy:
                set_aside.add(tenant)
                continue
            heapq.heappop(self.visible[tenant])
            self._refresh_head(tenant)
            return oldest
        return None

    def _next_noisy(self, noisy: set[Hashable]) -> Slot | None:
        """The oldest visible message of the noisy tenant with the fewest in flight."""
        waiting = [tenant for tenant in noisy if self._oldest(tenant) is not None]
        if not waiting:
            return None
        tenant = min(waiting, key=lambda t: (self.in_flight[t], self.visible[t][0][0]))
        _, _, slot = heapq.heappop(self.visible[tenant])
        self._refresh_head(tenant)
        return slot

    def _oldest(self, tenant: Hashable) -> Slot | None:
        heap = self.visible.get(tenant)
        while heap and heap[0][1] != heap[0][2].stamp:
            heapq.heappop(heap)
        if not heap:
            self.visible.pop(tenant, None)
            return None
        return heap[0][2]

    def _refresh_head(self, tenant: Hashable) -> None:
        """Keeps one live entry in `heads` for a tenant with visible messages: its oldest one's."""
        oldest = self._oldest(tenant)
        if oldest is None:
            self.head_of.pop(tenant, None)
        elif self.head_of.get(tenant) != oldest.seq:
            self.head_of[tenant] = oldest.seq
            heapq.heappush(self.heads, (oldest.seq, tenant))

    def _set_state(self, slot: Slot, state: str) -> None:
        if slot.state == state:
            return
        if slot.state != GONE:
            self.counts[slot.state] -= 1
        if state != GONE:
            self.counts[state] += 1
        tenant = slot.tenant
        if slot.state == IN_FLIGHT:
            self.in_flight[tenant] -= 1
            if self.in_flight[tenant] < NOISY_IN_FLIGHT:
                self.crowded.discard(tenant)
            if not self.in_flight[tenant]:
                del self.in_flight[tenant]
        if state == IN_FLIGHT:
            self.in_flight[tenant] += 1
            if self.in_flight[tenant] >= NOISY_IN_FLIGHT:
                self.crowded.add(tenant)
        slot.state = state


def _lock(queue: Any) -> Any:
    return queue._oms_lock


def _now_ms() -> float:
    return time.time() * 1000.0


def _book(queue: Any) -> MessageBook | None:
    messages = queue._messages
    return messages if isinstance(messages, MessageBook) else None


def _visible_messages(queue: Any) -> list[Any]:
    """moto's `Queue.messages`, reading the clock once instead of twice per message."""
    now = _now_ms()
    book = _book(queue)
    if book is not None:
        with _lock(queue):
            return book.visible_messages(now)
    return [m for m in queue._messages if m.visible_at < now and m.delayed_until <= now]


def _counted(state: str, fifo_count: Callable[[Any, float], bool]) -> property:
    """A count of moto's queue attributes: the book's own count, or (FIFO queues) one scan reading the clock once."""

    def count(queue: Any) -> int:
        now = _now_ms()
        book = _book(queue)
        if book is not None:
            with _lock(queue):
                return book.state_count(state, now)
        return sum(1 for m in queue._messages if fifo_count(m, now))

    return property(count)


def _retained(backend: Any, queue_name: str, message: Any) -> bool:
    """moto's retention check, without computing every attribute of the queue (three scans of all its
    messages, and moto did it three times) for each message it hands out."""
    queue = backend.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()


def _earliest_visible_ms(queue: Any) -> float:
    """When the first of the queue's messages can be visible (epoch ms); infinity for an empty queue. Asked after a
    receive found nothing: in a FIFO queue a visible message then waits behind its group's message in flight, so it
    is the hidden and delayed ones that count (a delete or a visibility change wakes the polls sooner)."""
    book = _book(queue)
    if book is not None:
        return book.next_due_ms(_now_ms())
    now = _now_ms()
    due = (max(m.visible_at, m.delayed_until) for m in queue._messages)
    return min((moment for moment in due if moment > now), default=math.inf)


def _wake(queue: Any, at_ms: float = 0.0) -> None:
    """A message may be visible at `at_ms` (epoch ms; now by default): receives look for it from then on, and
    waiting long polls look again."""
    queue._oms_next_visible_ms = min(queue._oms_next_visible_ms, at_ms)
    with queue._messages_lock:
        queue._messages_lock.notify_all()


def _fair_receive(queue: Any, book: MessageBook, count: int, visibility_timeout: int, names: list[str]) -> list[Any]:
    """A standard queue's receive, as moto's but fair and without a scan: copies of the messages handed out, with
    the message attributes asked for."""
    dead_letters: list[Any] = []
    now = _now_ms()
    retention_ms = int(queue.message_retention_period) * 1000

    def diverted(message: Any) -> bool:
        redrive = queue.redrive_policy
        if (
            queue.dead_letter_queue is not None
            and redrive
            and message.approximate_receive_count >= redrive["maxReceiveCount"]
        ):
            dead_letters.append(message)
            return True
        return bool(message.sent_timestamp + retention_ms <= now)

    received = book.hand_out(count, now, visibility_timeout, diverted)
    for message in dead_letters:
        queue.dead_letter_queue.add_message(message)
    copies = []
    for message in received:
        handed = copy.copy(message)  # moto deep-copies; the answer reads the copy's fields, and attributes are new
        models._filter_message_attributes(handed, names)
        copies.append(handed)
    return copies


def _receive(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    @functools.wraps(original)
    def receive_message(
        backend: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = backend.get_queue(queue_name)
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with _lock(queue):
                result: list[Any] = []
                if _now_ms() >= queue._oms_next_visible_ms:
                    book = _book(queue)
                    if book is not None:
                        names = message_attribute_names or []
                        result = _fair_receive(queue, book, count, visibility_timeout, names)
                    else:
                        result = original(backend, queue_name, count, 0, visibility_timeout, message_attribute_names)
                        _received_now(queue, result)
                    if not result:
                        queue._oms_next_visible_ms = _earliest_visible_ms(queue)
            left = deadline - time.monotonic()
            if result or left <= 0:
                return result
            with queue._messages_lock:  # a send notifies it; so does any change that can make a message visible
                until_visible = (queue._oms_next_visible_ms - _now_ms()) / 1000.0
                if until_visible > 0:
                    queue._messages_lock.wait(min(left, until_visible, LONGEST_IDLE_WAIT))

    return receive_message


def _delete(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def delete_message(queue: Any, receipt_handle: str) -> None:
        with _lock(queue):
            book = _book(queue)
            if book is None:  # a FIFO queue: the delete may let its group go on, so polls look again
                original(queue, receipt_handle)
                queue._oms_next_visible_ms = 0.0
                with queue._messages_lock:
                    queue._messages_lock.notify_all()
                return None
            if receipt_handle in queue.deleted_messages:
                return None  # already deleted: a no-op, as moto's
            slot = book.by_handle.get(receipt_handle)
            if slot is None:
                raise ReceiptHandleIsInvalid()
            queue.deleted_messages.update(slot.message.all_receipt_handles)
            book.discard(slot)
            return None

    return delete_message


def _change_visibility(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def change_message_visibility(backend: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = backend.get_queue(queue_name)
        visible_at = 0.0
        with _lock(queue):
            book = _book(queue)
            if book is None:
                visible_at = _change_fifo_visibility(queue, receipt_handle, visibility_timeout)
            else:
                slot = book.by_handle.get(receipt_handle)
                if slot is None:
                    raise ReceiptHandleIsInvalid()
                _check_visibility(visibility_timeout, slot.received_ms)
                slot.message.change_visibility(visibility_timeout)
                book.place(slot, _now_ms())
                visible_at = slot.message.visible_at
            if visible_at >= queue._oms_next_visible_ms:
                return  # long polls will look by then anyway
        _wake(queue, visible_at)

    return change_message_visibility


def _check_visibility(visibility_timeout: int, received_ms: float) -> None:
    if int(visibility_timeout) < 0:
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: must be >= 0"
        )
    if _now_ms() + int(visibility_timeout) * 1000 - received_ms > LONGEST_VISIBILITY_MS:
        raise InvalidParameterValue(  # AWS counts the 12 hours from the receive (moto: from the send)
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )


def _received_now(queue: Any, handed: list[Any]) -> None:
    """Notes when a FIFO queue's messages were received (what moto hands out are copies): the 12 hours count from it."""
    if handed:
        now = _now_ms()
        ids = {message.id for message in handed}
        for message in queue._messages:
            if message.id in ids:
                message._oms_received_ms = now


def _change_fifo_visibility(queue: Any, receipt_handle: str, visibility_timeout: int) -> float:
    """moto's, with the 12 hours counted from the last receive; returns when the message is visible again."""
    message = next((m for m in queue._messages if m.had_receipt_handle(receipt_handle)), None)
    if message is None:
        raise ReceiptHandleIsInvalid()
    _check_visibility(visibility_timeout, getattr(message, "_oms_received_ms", message.sent_timestamp))
    message.change_visibility(visibility_timeout)
    if message.visible and message in queue.pending_messages:
        queue.pending_messages.remove(message)
    elif int(visibility_timeout) > 0:  # hidden again (AWS refuses once it is visible): in flight, holding its group
        queue.pending_messages.add(message)
    return float(message.visible_at)


def _add(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def add_message(queue: Any, message: Any) -> None:
        with _lock(queue):
            queue._oms_next_visible_ms = 0.0  # before the append and its notify: no long poll can miss it
            if queue.fifo_queue and _seen_lately(queue, message):
                return None  # as AWS, which answers the send as if it were taken
            return original(queue, message)

    return add_message


def _seen_lately(queue: Any, message: Any) -> bool:
    """Whether a FIFO message's deduplication id was sent in the last five minutes (in its group, with the
    messageGroup scope); remembers it if not."""
    if message.deduplication_id is None:
        return False
    scope = message.group_id if queue.attributes.get("DeduplicationScope") == "messageGroup" else None
    seen: OrderedDict[tuple[Any, str], float] = queue._oms_deduplication
    now = float(message.sent_timestamp or _now_ms())
    while seen and next(iter(seen.values())) <= now - DEDUPLICATION_MS:
        seen.popitem(last=False)
    key = (scope, message.deduplication_id)
    if key in seen:
        return True
    seen[key] = now
    return False


def _change_visibility_batch(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def change_message_visibility_batch(
        backend: Any, queue_name: str, entries: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        """moto's, under one hold of the queue's lock, with AWS's checks of the batch as a whole."""
        if not entries:
            raise EmptyBatchRequest(action="ChangeMessageVisibility")
        if len(entries) > BATCH_ENTRIES:
            raise TooManyEntriesInBatchRequest(len(entries))
        ids = [entry["Id"] for entry in entries]
        if any(not re.fullmatch(r"[\w-]{1,80}", str(i)) for i in ids):
            raise InvalidBatchEntryId()
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate is not None:
            raise BatchEntryIdsNotDistinct(duplicate)
        queue = backend.get_queue(queue_name)
        with _lock(queue):
            return original(backend, queue_name, entries)

    return change_message_visibility_batch


def _purge(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def purge_queue(backend: Any, queue_name: str) -> None:
        queue = backend.get_queue(queue_name)
        with _lock(queue):
            fair = _book(queue) is not None
            original(backend, queue_name)
            if fair:
                queue._messages = MessageBook()

    return purge_queue


def _init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(queue: Any, *args: Any, **kwargs: Any) -> None:
        queue._oms_lock = threading.RLock()
        queue._oms_next_visible_ms = 0.0
        queue._oms_deduplication = OrderedDict()  # FIFO: (group or None, deduplication id) -> sent, oldest first
        original(queue, *args, **kwargs)
        queue.deleted_messages = RecentHandles()
        if not queue.fifo_queue:
            queue._messages = MessageBook()

    return __init__


def missing_from_moto(names: Iterable[str] = REPLACED) -> list[str]:
    """Those of `names` ("Queue.add_message") that moto lacks, on its class or on a new instance of it.
    Meaningful before apply() only: apply() puts its own in place of the REPLACED ones."""
    samples: dict[str, Any] = {}

    def has(name: str) -> bool:
        owner, attribute = name.split(".", 1)
        if owner == "models":
            return hasattr(models, attribute)
        if any(attribute in vars(cls) for cls in MOTO_CLASSES[owner].__mro__):
            return True
        if owner not in samples:
            samples[owner] = _SAMPLES[owner]()
        return hasattr(samples[owner], attribute)

    return [name for name in names if not has(name)]


_SAMPLES: dict[str, Callable[[], Any]] = {
    "Queue": lambda: MOTO_CLASSES["Queue"]("moto-sqs-guard", "us-east-1", "123456789012"),
    "Message": lambda: models.Message("moto-sqs-guard", "body"),
    "SQSBackend": lambda: models.SQSBackend("us-east-1", "123456789012"),
}


def apply() -> None:
    """Patches moto's SQS classes in this process; call once, before the server handles a request."""
    queue: Any = models.Queue
    backend: Any = models.SQSBackend
    if getattr(queue, "_oms_patched", False):
        return
    missing = missing_from_moto(REPLACED)
    if missing:
        raise RuntimeError(f"moto_sqs replaces {', '.join(missing)}, which this moto ({models.__file__}) lacks")
    queue.__init__ = _init(queue.__init__)
    queue.messages = property(_visible_messages)
    queue.approximate_number_of_messages = _counted(
        VISIBLE, lambda m, now: m.visible_at < now and m.delayed_until <= now
    )
    queue.approximate_number_of_messages_delayed = _counted(WAITING, lambda m, now: now < m.delayed_until)
    queue.approximate_number_of_messages_not_visible = _counted(IN_FLIGHT, lambda m, now: m.visible_at >= now)
    backend.is_message_valid_based_on_retention_period = _retained
    queue.add_message = _add(queue.add_message)
    queue.delete_message = _delete(queue.delete_message)
    backend.receive_message = _receive(backend.receive_message)
    backend.change_message_visibility = _change_visibility(backend.change_message_visibility)
    backend.change_message_visibility_batch = _change_visibility_batch(backend.change_message_visibility_batch)
    backend.purge_queue = _purge(backend.purge_queue)
    queue._oms_patched = True
