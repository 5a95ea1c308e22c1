"""Where a soak's time goes: CPU of each process (the stack, moto, the soak's own receiver and publishers), and,
with py-spy installed, the functions that take it in the stack and in moto.

`python -m tests.load.profile --rate 50 --hooks 20 --seconds 30` (`make soak-profile`; figures in
docs/RELIABILITY.md). py-spy samples from outside the processes, so they run unchanged; without it the
per-process figures are still printed. Bounded by count and time; receivers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.load.processes import CLOCK_TICKS, cpu_ticks, tree
from tests.load.soak import soak_stack

SAMPLES_PER_SECOND = 50
TOP = 25
# Leaves that mean a thread is waiting (for a lock, a socket, a timer), not running Python.
WAITING = {"wait", "readinto", "recv_into", "select", "poll", "sleep", "acquire", "accept", "send", "sendall"}
WAITING |= {"_worker"}  # a pool's idle thread, blocked in its queue's get (C code, so the leaf is the caller)
THREAD_FRAMES = {"<module>", "Thread.run", "Thread._bootstrap", "Thread._bootstrap_inner", "_WorkItem.run", "_worker"}


@dataclass
class ProcessShare:
    name: str
    cpu_seconds: float
    cores: float  # mean cores busy over the soak
    ms_per_delivery: float


def folded(path: Path) -> Counter[str]:
    """py-spy's raw output: one stack per line, frames `function (file:line)` joined by `;`, then a count."""
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def top_frames(stacks: Counter[str], top: int = TOP) -> tuple[int, list[tuple[str, float, float]]]:
    """Each frame's share of the running samples: inclusive (it or its callees were running) and self (it was)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = [_short(frame) for frame in stack.split(";")]
        if frames[-1].split(" ")[0].rsplit(".", 1)[-1] in WAITING:
            continue  # a thread blocked in a call py-spy could not tell from running
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    total = sum(own.values()) or 1
    rows = [(frame, 100.0 * n / total, 100.0 * own[frame] / total) for frame, n in inclusive.most_common(top * 4)]
    rows = [row for row in rows if row[0].split(" ")[0] not in THREAD_FRAMES]
    return total, rows[:top]


def _short(frame: str) -> str:
    """`send (.../http/client.py:1234)` → `send (http/client.py)`: the function and the last two path parts."""
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{function} ({'/'.join(Path(path).parts[-2:])})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=None, help="keep py-spy's raw stacks here")
    args = parser.parse_args()
    from bench.services import local_stack

    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    with tempfile.TemporaryDirectory() as home, local_stack(Path(home)) as state:
        out = args.out or Path(home)
        out.mkdir(parents=True, exist_ok=True)
        stack_pid = int(state["pid"])
        moto_pid = next(pid for pid in tree(stack_pid) if pid != stack_pid)
        pids = {
            "stack (gateway, triggers, functions)": stack_pid,
            "moto (AWS)": moto_pid,
            "soak (receiver)": os.getpid(),
        }
        spies = []
        if spy:
            for name, pid in list(pids.items())[:2]:
                raw = out / f"{name.split()[0]}.folded"
                spies.append((name, raw, _spy(spy, pid, raw, args.seconds)))
        before = {name: cpu_ticks(pid) for name, pid in pids.items()}
        result = soak_stack(state, args.rate, args.hooks, args.seconds, drain_timeout=max(60.0, 2 * args.seconds))
        spent = {name: (cpu_ticks(pid) - before[name]) / CLOCK_TICKS for name, pid in pids.items()}
        profiles = {}
        for name, raw, process in spies:  # read before the stack's home (their default folder) goes
            process.wait(timeout=args.seconds + 60)
            profiles[name] = top_frames(folded(raw)) if raw.exists() else (0, [])
    wall = args.seconds + result.drain_seconds
    delivered = max(result.delivered, 1)
    shares = [
        ProcessShare(n, round(s, 1), round(s / wall, 2), round(1000 * s / delivered, 3)) for n, s in spent.items()
    ]
    report: dict[str, object] = {"soak": {**asdict(result), "ok": result.ok}, "processes": [asdict(s) for s in shares]}
    for name, (total, rows) in profiles.items():
        report[name] = {"samples": total, "top": [f"{i:5.1f}% incl {o:5.1f}% self  {f}" for f, i, o in rows]}
    if not spy:
        report["py-spy"] = "not installed: `pip install py-spy` for the function profiles"
    print(json.dumps(report, indent=2))
    return 0


def _spy(spy: str, pid: int, raw: Path, seconds: float) -> subprocess.Popen[bytes]:
    command = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(SAMPLES_PER_SECOND)]
    command += ["--format", "raw", "--output", str(raw), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
