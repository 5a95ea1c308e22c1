"""Attempt deadlines: one watchdog thread ends any attempt still running at its deadline, in whatever phase.

Socket timeouts bound each read, not the whole: a subscriber that trickles its status line and headers a byte
at a time would hold an attempt far past the total timeout. At the deadline the watchdog shuts the attempt's
socket down, so the blocked read returns at once and the attempt fails as timed out.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import socket
import threading
import time
from typing import Any

_current = threading.local()


class Ticket:
    """One attempt's deadline; the connection it runs on is attached once the request starts."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection: Any = None
        self.cancelled = False
        self.expired = False

    def cancel(self) -> None:
        self.cancelled = True
        _current.ticket = None

    def fire(self) -> None:
        if self.cancelled:
            return
        self.expired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Ticket]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf  # the deadline the watchdog sleeps until

    def arm(self, seconds: float) -> Ticket:
        """A ticket for an attempt starting now on this thread; cancel it when the attempt ends."""
        ticket = Ticket(time.monotonic() + seconds)
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="attempt-deadlines", daemon=True)
                self._thread.start()
            while self._heap and self._heap[0][2].cancelled:  # ended attempts leave: the watchdog waits for a live one
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (ticket.deadline, next(self._order), ticket))
            if ticket.deadline < self._wakes_at:  # else it wakes before this one is due anyway
                self._changed.notify()
        _current.ticket = ticket
        return ticket

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._heap:
                    self._wakes_at = math.inf
                    self._changed.wait()
                deadline, _, ticket = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._wakes_at = deadline
                    self._changed.wait(left)
                    continue
                heapq.heappop(self._heap)
            ticket.fire()


WATCHDOG = Watchdog()


def attach(connection: Any) -> None:
    """Called by a connection as a request starts on it: the current attempt's ticket now knows its socket."""
    ticket = getattr(_current, "ticket", None)
    if ticket is not None:
        ticket.connection = connection
