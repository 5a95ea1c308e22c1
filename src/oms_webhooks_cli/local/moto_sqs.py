"""moto's SQS made safe and cheap for a long-running local stack; applied in the moto process before it serves.

moto 5.2's SQS is not thread-safe: `receive_message` iterates the queue's set of in-flight messages while other
requests' threads add to it and remove from it ("RuntimeError: Set changed size during iteration", a 500 that
botocore retries quietly), and a delete rebuilds the message list while a send appends to it (a lost message).
Every call that changes a queue's messages here holds that queue's lock; long polls wait outside it.

moto also scans every message of a queue on every receive (and nine times more for each message it hands out,
to check its retention), and remembers every receipt handle it ever deleted. With thousands of retries hidden
until due, polling cost a core and memory grew without end; here an idle receive answers without a scan until
the earliest hidden or delayed message can be visible, a message handed out costs no scan, and a queue keeps
the most recent deleted receipt handles only.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from moto.sqs import models

DELETED_HANDLES_KEPT = 10_000  # deleting an already-deleted message stays a no-op for this many recent handles
LONGEST_IDLE_WAIT = 1.0  # seconds a long poll sleeps before looking again, whatever it was told


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


def _lock(queue: Any) -> Any:
    return queue._oms_lock


def _now_ms() -> float:
    return time.time() * 1000.0


def _visible_messages(queue: Any) -> list[Any]:
    """moto's `Queue.messages`, reading the clock once instead of twice per message."""
    now = _now_ms()
    return [m for m in queue._messages if m.visible_at < now and m.delayed_until <= now]


def _delayed_count(queue: Any) -> int:
    now = _now_ms()
    return sum(1 for m in queue._messages if now < m.delayed_until)


def _not_visible_count(queue: Any) -> int:
    now = _now_ms()
    return sum(1 for m in queue._messages if m.visible_at >= now)


def _visible_count(queue: Any) -> int:
    return len(_visible_messages(queue))


def _retained(backend: Any, queue_name: str, message: Any) -> bool:
    """moto's retention check, without computing every attribute of the queue (three scans of all its
    messages, and moto did it three times) for each message it hands out."""
    queue = backend.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()


def _earliest_visible_ms(queue: Any) -> float:
    """When the first of the queue's messages can be visible (epoch ms); infinity for an empty queue."""
    return min((max(m.visible_at, m.delayed_until) for m in queue._messages), default=math.inf)


def _wake(queue: Any) -> None:
    """A message may be visible now: the next receive scans, and waiting long polls look again."""
    queue._oms_next_visible_ms = 0.0
    with queue._messages_lock:
        queue._messages_lock.notify_all()


def _locked(method: Callable[..., Any], wakes: bool = False) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(queue: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock(queue):
            if wakes:
                queue._oms_next_visible_ms = 0.0  # before the append and its notify: no long poll can miss it
            return method(queue, *args, **kwargs)

    return call


def _backend_locked(method: Callable[..., Any], wakes: bool = False) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = backend.get_queue(queue_name)
        with _lock(queue):
            result = method(backend, queue_name, *args, **kwargs)
        if wakes:
            _wake(queue)
        return result

    return call


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
                    result = original(backend, queue_name, count, 0, visibility_timeout, message_attribute_names)
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


def _init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(queue: Any, *args: Any, **kwargs: Any) -> None:
        queue._oms_lock = threading.RLock()
        queue._oms_next_visible_ms = 0.0
        original(queue, *args, **kwargs)
        queue.deleted_messages = RecentHandles()

    return __init__


def apply() -> None:
    """Patches moto's SQS classes in this process; call once, before the server handles a request."""
    queue: Any = models.Queue
    backend: Any = models.SQSBackend
    if getattr(queue, "_oms_patched", False):
        return
    queue.__init__ = _init(queue.__init__)
    queue.messages = property(_visible_messages)
    queue.approximate_number_of_messages = property(_visible_count)
    queue.approximate_number_of_messages_delayed = property(_delayed_count)
    queue.approximate_number_of_messages_not_visible = property(_not_visible_count)
    backend.is_message_valid_based_on_retention_period = _retained
    queue.add_message = _locked(queue.add_message, wakes=True)
    queue.delete_message = _locked(queue.delete_message)
    backend.receive_message = _receive(backend.receive_message)
    backend.change_message_visibility = _backend_locked(backend.change_message_visibility, wakes=True)
    backend.purge_queue = _backend_locked(backend.purge_queue)
    queue._oms_patched = True
