"""The attempt deadlines: a live attempt is ended on time, whatever other attempts armed and ended around it."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

from oms_webhooks.adapters.deadline import Ticket, Watchdog

PEERS: list[socket.socket] = []  # the other ends, kept open: a read on ours ends only when the watchdog ends it


def armed_on_a_socket(watchdog: Watchdog, seconds: float) -> tuple[Ticket, socket.socket]:
    """A ticket whose connection is one end of a socket pair; returns it and that end, which a read blocks on."""
    ours, theirs = socket.socketpair()
    PEERS.append(theirs)
    ticket = watchdog.arm(seconds)
    ticket.connection = SimpleNamespace(sock=ours)
    return ticket, ours


def test_a_blocked_read_is_ended_at_the_deadline_after_many_attempts_came_and_went() -> None:
    watchdog = Watchdog()
    for _ in range(5000):  # attempts that ended long before their deadline
        watchdog.arm(15.0).cancel()
    ticket, ours = armed_on_a_socket(watchdog, 0.3)
    started = time.monotonic()
    ours.settimeout(10)
    assert ours.recv(1) == b""  # the watchdog shut the socket down
    assert ticket.expired
    assert time.monotonic() - started < 5


def test_a_shorter_deadline_armed_after_a_longer_one_is_kept() -> None:
    watchdog = Watchdog()
    armed_on_a_socket(watchdog, 30.0)  # live, far off: the watchdog sleeps until it
    ticket, ours = armed_on_a_socket(watchdog, 0.3)
    ours.settimeout(10)
    assert ours.recv(1) == b""
    assert ticket.expired


def test_an_ended_attempt_is_never_cut() -> None:
    watchdog = Watchdog()
    ticket, ours = armed_on_a_socket(watchdog, 0.2)
    ticket.cancel()
    time.sleep(0.5)
    assert not ticket.expired
    ours.setblocking(False)
    ours.send(b"x")  # still open
