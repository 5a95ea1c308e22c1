"""A child process that stops with its parent, however the parent ends: its standard input is a pipe from the parent,
and the pipe's end (the parent gone, even killed) is the signal to stop."""

from __future__ import annotations

import sys
import threading


def stop_at_end_of_input(stop: threading.Event) -> None:
    """Sets `stop` once standard input ends, watched by a daemon thread."""

    def watch() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
