"""A process tree read from /proc: which processes make up the local stack, their memory and CPU, and whether
they are still there. Linux only, as the machines are; no dependency."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Usage:
    rss_mb: float  # all processes of the tree
    cpu_percent: float  # of one core, all processes, over the sample


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree(root: int) -> list[int]:
    """`root` and all its descendants (moto runs in a session of its own, but is still the stack's child)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(_stat_fields(int(entry))[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [root], {root}
    while frontier:
        children = {pid for pid, ppid in parents.items() if ppid in frontier}
        found += sorted(children)
        frontier = children
    return found


def alive(pid: int) -> bool:
    """Running: a zombie (ended, not yet reaped) counts as gone."""
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def cpu_ticks(pid: int) -> int:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_kb(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)


def usage(root: int, seconds: float) -> Usage:
    """Memory of the tree now, and its CPU over the next `seconds`."""
    pids = tree(root)
    before, started = sum(cpu_ticks(p) for p in pids), time.monotonic()
    time.sleep(seconds)
    ticks, took = sum(cpu_ticks(p) for p in pids) - before, time.monotonic() - started
    return Usage(round(sum(_rss_kb(p) for p in pids) / 1024, 1), round(100.0 * ticks / CLOCK_TICKS / took, 1))
