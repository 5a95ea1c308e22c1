"""A delivering process's threads kept to one CPU, as in a Lambda sandbox that has it to itself.

The delivery threads take turns at the interpreter (the GIL): only one runs Python at a time. On two CPUs a turn
handed to a thread that waits on the other one costs a wake-up there (a futex call, a context switch, cold caches),
on every send and every answer. On one CPU the next thread simply runs. Measured with moto and the receivers on the
other CPU, alternating (README, "The HTTP client"): context switches per delivery 9.6 → 2.8, system time 0.10 →
0.05 ms, CPU per delivery at 20 hooks per event 0.54-0.59 → 0.48-0.54 ms, and at a fan-out of 1,000 0.50-0.59 →
0.42-0.44 ms, with 1,177-1,373 → 1,639-1,751 deliveries/s. Lambda bills and throttles CPU time: that is what counts.

On a machine shared with other work (a laptop, CI) a process fixed to one CPU cannot move off a busy one: the local
stack and the tests leave it off (`DELIVERY_THREADS_ON_ONE_CPU`). So might a large function whose deliveries are
mostly HTTPS: TLS encrypts outside the GIL, and a second CPU could do that while the first runs Python.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

_TASKS = Path("/proc/self/task")


def keep_to_one_cpu(cpu: int | None = None) -> frozenset[int] | None:
    """Every thread of this process, and every thread they start, on `cpu` (default: the one this thread runs on
    now). Returns the CPUs the process had (to give them back: `allow_cpus`), or None where a process cannot choose
    (not Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    had = frozenset(os.sched_getaffinity(0))
    cpu = _running_on(had) if cpu is None else cpu
    for thread in _threads():
        with suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(thread, {cpu})
    return had


def allow_cpus(cpus: frozenset[int]) -> None:
    """Every thread of this process free to run on `cpus` again."""
    for thread in _threads():
        with suppress(OSError):
            os.sched_setaffinity(thread, cpus)


def _running_on(allowed: frozenset[int]) -> int:
    """The CPU this thread last ran on (where the scheduler placed the process), else the first it may use."""
    with suppress(OSError, ValueError, IndexError):
        cpu = int(Path("/proc/thread-self/stat").read_text().rsplit(")", 1)[1].split()[36])
        if cpu in allowed:
            return cpu
    return min(allowed)


def _threads() -> list[int]:
    with suppress(OSError):
        return [int(task.name) for task in _TASKS.iterdir()]
    return [0]  # no /proc: this thread
