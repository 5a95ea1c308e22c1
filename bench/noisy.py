"""Noisy neighbour (issue 20): one owner's retries to dead endpoints, and how late another owner's retry comes.

On a fresh local stack per run: a noisy owner's hooks point at a refused port on 127.0.0.1 (`fixed` 1 s,
`max_retries` 10) and its events leave N failing deliveries retrying; a quiet owner's hook, on a `fixed` 2 s
countdown, answers each delivery's first attempt with a 500 and its retry with a 200. The quiet retry's delay
is (its arrival) - (end of its first attempt + 2 s), over quiet events spread across the run; N = 0 is the
baseline run alongside. Then the retrier's throughput: retry attempts/s to refused endpoints with a backlog of
retry messages due, counted from the stack's log. Every loop is bounded by count and by time.

Run alone: `python -m bench.noisy [--sizes 0 1000 10000] [--no-throughput] [--no-delay]`; it writes its
section into bench/RESULTS.md (also part of `make bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.latency import percentile
from bench.services import ROOT, local_stack
from oms_webhooks_cli.endpoint import Target
from oms_webhooks_cli.local.child import CLI
from tests.load.backlog import refused_url
from tests.receiver import Answer, Received, Receiver

NOISY_TYPE = "transfer.status.cancelled"
QUIET_TYPE = "package.created"
NOISY_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 10}
QUIET_COUNTDOWN = 2.0
QUIET_RETRIES = {"choice": "fixed", "kwargs": {"seconds": QUIET_COUNTDOWN}, "max_retries": 3}
# Noisy failing deliveries -> (hooks, events): the 50 hooks x 20 events, and ten times that.
LOADS = {0: (0, 0), 1000: (50, 20), 5000: (100, 50), 10_000: (200, 50)}
ATTEMPTED, DEFERRED = b'"Retry attempted"', b'"Retry deferred"'
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## 6. Noisy neighbour"
# The retrier's throughput as deployed, and with every circuit held closed (its streak must last a day to open),
# so that each due message is an attempt rather than a deferral: the retrier's capacity.
BREAKERS = {"deployed": {}, "held-closed": {"CircuitOpenAfterSeconds": "86400"}}

Say = Callable[[str], None]


class FirstAttemptFails(Receiver):
    """The quiet owner's receiver: a 500 to each delivery's first attempt, a 200 to the ones after."""

    def answer_for(self, path: str) -> Answer:
        last = delivery_id(self.received[path][-1])
        seen = sum(1 for r in self.received[path] if delivery_id(r) == last)
        return Answer(500, b"not yet") if seen == 1 else Answer(200, b"thanks")


def delivery_id(request: Received) -> str:
    return str(json.loads(request.body)["event"]["uuid"])


class Owner:
    """One owner of the stack as a user is: a token from the CLI, hooks through the API, events on the bus."""

    def __init__(self, state: dict[str, Any], home: Path) -> None:
        self.api = f"{state['api_url']}/whisperer"
        env = {**os.environ, "OMS_WEBHOOKS_HOME": str(home)}
        owner = f"noisy-bench-{uuid.uuid4().hex[:8]}"
        token = subprocess.run(
            [CLI, "token", "create", "--owner", owner], env=env, capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"
        self.bus = state["outputs"]["EventBusName"]
        self.events = Target({}, state["aws_endpoint"]).client("events")

    def subscribe(self, event_type: str, url: str, retries: dict[str, Any]) -> None:
        body = {"event_type": event_type, "target_url": url, "retry_countdown_config": retries}
        self.http.post(f"{self.api}/hooks/", json=body, timeout=30).raise_for_status()

    def publish(self, event_type: str, payloads: list[dict[str, Any]]) -> None:
        for first in range(0, len(payloads), 10):  # PutEvents takes 10 entries a call
            entries = [
                {
                    "EventBusName": self.bus,
                    "Source": "oms",
                    "DetailType": event_type,
                    "Detail": json.dumps({"payload": p}),
                }
                for p in payloads[first : first + 10]
            ]
            self.events.put_events(Entries=entries)

    def delivery(self, key: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.api}/hook_events/{key}/", timeout=30)
        answer.raise_for_status()
        return dict(answer.json())


class StackLog:
    """Counts the retrier's log lines as the stack writes them, reading only what is new each time."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.attempted, self.deferred = path, 0, 0, 0

    def read(self) -> tuple[int, int]:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            new = log.read()
        new = new[: new.rfind(b"\n") + 1]  # a line still being written is counted next time
        self.offset += len(new)
        self.attempted += new.count(ATTEMPTED)
        self.deferred += new.count(DEFERRED)
        return self.attempted, self.deferred


@dataclass
class Stack:
    state: dict[str, Any]
    home: Path
    log: StackLog
    sqs: Any

    def retry_messages(self) -> int:
        """Every message on the retry queue: due, in flight (hidden until due) and delayed."""
        url = self.state["outputs"]["RetryQueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return sum(int(v) for k, v in attributes.items() if k.startswith("ApproximateNumberOfMessages"))


@contextmanager
def fresh_stack(parameters: dict[str, str] | None = None) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory() as home, local_stack(Path(home), parameters) as state:
        sqs = Target({}, state["aws_endpoint"]).client("sqs")
        yield Stack(state, Path(home), StackLog(Path(home) / "stack.log"), sqs)


def revision() -> str:
    """What was measured: the checkout's branch and commit."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()

    return f"{git('rev-parse', '--abbrev-ref', 'HEAD') or 'this checkout'} at {git('rev-parse', '--short', 'HEAD')}"


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def moto_pid(stack_pid: int) -> int | None:
    """The local AWS (moto) process the stack started: its child running `oms_webhooks_cli.local.moto_process`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == stack_pid and b"moto_process" in command:
            return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """A process's CPU time so far (user and system), from /proc: robust to the machine's load, unlike wall time."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_noise(stack: Stack, n: int, deadline: float, say: Say) -> dict[str, Any]:
    """N failing deliveries of a noisy owner, as its hooks and events come through the API and the bus; then
    waits (until `deadline`) for their first attempts, i.e. for the retry queue to hold them."""
    hooks, events = LOADS[n] if n in LOADS else (max(1, n // 50), 50)
    noise: dict[str, Any] = {"hooks": hooks, "events": events, "deliveries": hooks * events}
    if not hooks:
        return {**noise, "retry_messages": 0, "backlog_seconds": 0.0}
    holder, dead_url = refused_url()
    try:
        noisy = Owner(stack.state, stack.home)
        made = 0
        while made < hooks and time.monotonic() < deadline:
            noisy.subscribe(NOISY_TYPE, f"{dead_url}/{made}", NOISY_RETRIES)
            made += 1
        say(f"noisy owner: {made} hooks; publishing {events} events")
        started = time.monotonic()
        noisy.publish(NOISY_TYPE, [{"seq": i} for i in range(events)])
        waiting = 0
        while waiting < 0.9 * made * events and time.monotonic() < deadline:
            time.sleep(2)
            waiting = stack.retry_messages()
            say(f"noisy owner: {waiting:,} of {made * events:,} deliveries on the retry queue")
        return {**noise, "hooks": made, "retry_messages": waiting, "backlog_seconds": time.monotonic() - started}
    finally:
        holder.close()


@dataclass
class QuietSample:
    seq: int
    published: float
    first_at: float | None = None  # the first attempt's arrival at the receiver
    first_end: float | None = None  # the first attempt's end, from the delivery record
    retry_at: float | None = None  # the retry's arrival at the receiver

    @property
    def due(self) -> float | None:
        return self.first_end + QUIET_COUNTDOWN if self.first_end is not None else None


@dataclass
class DelayRun:
    n: int
    noise: dict[str, Any]
    samples: list[QuietSample] = field(default_factory=list)
    ended: float = 0.0  # when the run stopped waiting; a retry not there by then is at least this late
    retrier: dict[str, float] = field(default_factory=dict)  # the retrier's work while the quiet samples ran
    load: list[float] = field(default_factory=list)  # load average at the start and at the end

    def delays(self) -> list[tuple[float, bool]]:
        """(delay, seen) for each sample whose first attempt ended; unseen retries count at their lower bound."""
        found = []
        for s in self.samples:
            if s.due is not None:
                found.append((s.retry_at - s.due, True) if s.retry_at else (self.ended - s.due, False))
        return found

    def figures(self) -> dict[str, Any]:
        delays = self.delays()
        firsts = [s.first_at - s.published for s in self.samples if s.first_at]
        return {
            "n": self.n,
            **self.noise,
            "samples": len(self.samples),
            "first_attempts": len(firsts),
            "retries": sum(seen for _, seen in delays),
            "delay_p50_s": _ranked(delays, 50),
            "delay_p99_s": _ranked(delays, 99),
            "first_attempt_p50_s": percentile(firsts, 50) if firsts else None,
            "retrier": self.retrier,
            "load": self.load,
        }


def _ranked(delays: list[tuple[float, bool]], q: float) -> dict[str, Any] | None:
    """The q-th percentile, and whether it is a retry seen (exact) or one not seen by the end (a lower bound)."""
    if not delays:
        return None
    ordered = sorted(delays)
    value, seen = ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]
    return {"seconds": round(value, 3), "exact": seen}


def measure_delay(n: int, samples: int, interval: float, budget: float, say: Say) -> dict[str, Any]:
    """One fresh stack: the noise, then `samples` quiet events `interval` s apart, then their retries awaited;
    all of it within `budget` seconds of the stack being up."""
    with fresh_stack() as stack:
        deadline = time.monotonic() + budget
        run = DelayRun(n, {}, load=[load_average()])
        receiver = FirstAttemptFails()
        try:
            quiet = Owner(stack.state, stack.home)
            quiet.subscribe(QUIET_TYPE, receiver.url("/quiet"), QUIET_RETRIES)
            # leave the quiet samples their time and a minute for the last retries
            run.noise = make_noise(stack, n, deadline - samples * interval - 60, say)
            before, started = stack.log.read(), time.monotonic()
            for seq in range(samples):
                if time.monotonic() > deadline - 30:
                    break
                run.samples.append(QuietSample(seq, time.time()))
                quiet.publish(QUIET_TYPE, [{"seq": seq}])
                say(f"N={n:,}: quiet event {seq + 1}/{samples}; retries so far {_retries(receiver)}")
                time.sleep(interval)
            while _retries(receiver) < len(run.samples) and time.monotonic() < deadline:
                say(f"N={n:,}: waiting for quiet retries, {_retries(receiver)} of {len(run.samples)}")
                time.sleep(1)
            run.ended = time.time()
            after, window = stack.log.read(), time.monotonic() - started
            run.retrier = {
                "seconds": round(window, 1),
                "attempts_per_s": round((after[0] - before[0]) / window, 2),
                "deferrals_per_s": round((after[1] - before[1]) / window, 2),
            }
            _match(run, receiver, quiet)
        finally:
            receiver.stop()
        run.load.append(load_average())
        return run.figures()


def _retries(receiver: Receiver) -> int:
    requests_ = receiver.received["/quiet"]
    return len(requests_) - len({delivery_id(r) for r in requests_})


def _match(run: DelayRun, receiver: Receiver, quiet: Owner) -> None:
    """Each sample's first attempt and retry at the receiver; the first attempt's end from its record."""
    by_seq = {s.seq: s for s in run.samples}
    firsts: dict[str, QuietSample] = {}
    for request in receiver.received["/quiet"]:
        uuid_ = delivery_id(request)
        if uuid_ in firsts:
            firsts[uuid_].retry_at = firsts[uuid_].retry_at or request.at
            continue
        sample = by_seq.get(json.loads(request.body)["payload"]["seq"])
        if sample is None:
            continue
        firsts[uuid_], sample.first_at = sample, request.at
        first = quiet.delivery(uuid_)["attempts"][0]
        sample.first_end = datetime.fromisoformat(first["at"]).timestamp() + first["duration"]


def measure_throughput(backlog: int, seconds: float, budget: float, breaker: str, say: Say) -> dict[str, Any]:
    """Retry attempts/s to refused endpoints once `backlog` deliveries are on the retry queue, counted over
    `seconds` (or until `backlog` attempts), within `budget` seconds of the stack being up."""
    with fresh_stack(BREAKERS[breaker]) as stack:
        deadline = time.monotonic() + budget
        load = [load_average()]
        noise = make_noise(stack, backlog, deadline - seconds, say)
        processes = {"moto": moto_pid(stack.state["pid"]), "stack": stack.state["pid"]}
        before, started = stack.log.read(), time.monotonic()
        cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        end = min(deadline, started + seconds)
        attempted = deferred = 0
        while attempted < backlog and time.monotonic() < end:
            time.sleep(2)
            now = stack.log.read()
            attempted, deferred = now[0] - before[0], now[1] - before[1]
            say(f"retrier: {attempted:,} attempts, {deferred:,} deferrals in {time.monotonic() - started:.0f} s")
        window = time.monotonic() - started
        cpu_after = {name: cpu_seconds(pid) for name, pid in processes.items()}
        load.append(load_average())
        handled = attempted + deferred
        cpu_ms = {
            f"{name}_cpu_ms_per_retry": _ms_each(cpu_before[name], cpu_after[name], handled) for name in processes
        }
        return {
            **noise,
            "breaker": breaker,
            "queue_at_start": noise["retry_messages"],
            "queue_at_end": stack.retry_messages(),
            "seconds": round(window, 1),
            "attempts": attempted,
            "deferrals": deferred,
            "attempts_per_s": round(attempted / window, 2),
            "deferrals_per_s": round(deferred / window, 2),
            # CPU per retry handled (attempt or deferral) of the local AWS (moto) and of the stack's process (the
            # functions): what a retry costs each, whatever the machine's load
            **cpu_ms,
            "load": load,
        }


def _ms_each(before: float | None, after: float | None, count: int) -> float | None:
    """CPU milliseconds per item between two readings of a process's CPU time (None if either is missing)."""
    if before is None or after is None or not count:
        return None
    return round(1000 * (after - before) / count, 2)


@dataclass
class Settings:
    sizes: list[int] = field(default_factory=lambda: [0, 1000, 10_000])
    samples: int = 20
    interval: float = 3.0
    budget: float = 360.0
    throughput_backlog: int = 5000
    throughput_seconds: float = 60.0
    breakers: list[str] = field(default_factory=lambda: list(BREAKERS))
    delay: bool = True
    throughput: bool = True

    @classmethod
    def quick(cls) -> Settings:
        return cls([0, 1000], 8, budget=240, throughput_backlog=1000, throughput_seconds=30, breakers=["held-closed"])


def measure_noisy(settings: Settings, say: Say, label: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "label": label or revision(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": asdict(settings),
        "delay": [],
    }
    if settings.delay:
        for n in settings.sizes:
            result["delay"].append(measure_delay(n, settings.samples, settings.interval, settings.budget, say))
    if settings.throughput:
        budget = settings.budget + settings.throughput_seconds
        result["throughput"] = [
            measure_throughput(settings.throughput_backlog, settings.throughput_seconds, budget, breaker, say)
            for breaker in settings.breakers
        ]
    return result


def _seconds(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return "-"
    return f"{figure['seconds']:.3g} s" if figure["exact"] else f"≥ {figure['seconds']:.0f} s"


def _ratio(figure: dict[str, Any] | None, base: dict[str, Any] | None) -> str:
    """The wait from the first attempt's end to the retry (countdown and delay) against the baseline's."""
    if not figure or not base:
        return "-"
    ratio = (QUIET_COUNTDOWN + figure["seconds"]) / (QUIET_COUNTDOWN + base["seconds"])
    return f"{'' if figure['exact'] else '≥ '}{ratio:,.1f}x"


INTRO = [
    "Issue 20. A fresh local stack per row. A noisy owner's hooks point at a refused port on 127.0.0.1 (`fixed`",
    "1 s, `max_retries` 10); its events leave N failing deliveries retrying. A quiet owner's hook (`fixed` 2 s)",
    "gets a 500 on each delivery's first attempt and a 200 on its retry, from a real receiver on 127.0.0.1.",
    "Retry delay = the retry's arrival - (end of the first attempt + 2 s), over quiet events a few seconds apart",
    "once the noise is on the retry queue. A retry not seen by the end of its run counts at its lower bound (≥).",
    "The ratios compare the wait from the first attempt's end to the retry (2 s + delay) with the N = 0 run's.",
    "The retrier's attempts and deferrals per second are the whole stack's (noise included) while the quiet",
    "events ran, counted from its log.",
    "",
    "Retrier throughput: a noisy owner alone on a fresh stack, its failing deliveries on the retry queue and",
    "due; attempts and deferrals counted from the stack's log from then on (bounded by count and time). The",
    "breaker as deployed (circuits open after 5 failures over 60 s, then deliveries are deferred), and held",
    "closed (`CircuitOpenAfterSeconds=86400`), where every due message is an attempt.",
    "",
    "Load averages are the whole machine's (2 cores, maybe shared), at the start and end of each run: how noisy",
    "a figure is. Each run below is kept under its label (`--label`); a run with the same label replaces it.",
    "",
]


def render(result: dict[str, Any]) -> list[str]:
    """The section RESULTS.md shows, with this one run."""
    return [HEADING, "", *INTRO, *render_run(result)]


def render_run(result: dict[str, Any]) -> list[str]:
    """One run's part of the section: its tables and targets under its label."""
    lines = [
        f"### {result.get('label', 'make bench')}",
        "",
        f"Run {result['date']} (`{result.get('command', 'make bench')}`){_machine(result)}; quiet events",
        f"{result['settings']['interval']:g} s apart, {result['settings']['samples']} a run.",
        "",
    ]
    if result["delay"]:
        lines += [
            "| noisy failing deliveries | hooks x events | on the retry queue | quiet retries seen | delay p50 "
            "| delay p99 | p50 vs N = 0 | p99 vs N = 0 | quiet first attempt p50 | retrier attempts/s, deferrals/s "
            "| load avg |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    base = next((row for row in result["delay"] if row["n"] == 0), None)
    for row in result["delay"]:
        first = f"{row['first_attempt_p50_s']:.2f} s" if row["first_attempt_p50_s"] is not None else "-"
        retrier = row["retrier"]
        lines.append(
            f"| {row['n']:,} | {row['hooks']} x {row['events']} | {row['retry_messages']:,} "
            f"| {row['retries']} of {row['samples']} | {_seconds(row['delay_p50_s'])} | {_seconds(row['delay_p99_s'])} "
            f"| {_ratio(row['delay_p50_s'], base and base['delay_p50_s'])} "
            f"| {_ratio(row['delay_p99_s'], base and base['delay_p99_s'])} | {first} "
            f"| {retrier['attempts_per_s']:g}, {retrier['deferrals_per_s']:g} "
            f"| {row['load'][0]:g} → {row['load'][-1]:g} |"
        )
    if result.get("throughput"):
        lines += [
            "",
            "| breaker | failing deliveries | hooks x events | on the retry queue | counted over | attempts/s "
            "| deferrals/s | left on the queue | CPU per retry, moto + stack | load avg |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for t in result.get("throughput", []):
        lines.append(
            f"| {t['breaker']} | {t['deliveries']:,} | {t['hooks']} x {t['events']} | {t['queue_at_start']:,} "
            f"| {t['seconds']:g} s | **{t['attempts_per_s']:g}** ({t['attempts']:,}) "
            f"| {t['deferrals_per_s']:g} ({t['deferrals']:,}) | {t['queue_at_end']:,} | {_cpu(t)} "
            f"| {t['load'][0]:g} → {t['load'][-1]:g} |"
        )
    return [*lines, "", *_targets(result), ""]


def _cpu(throughput: dict[str, Any]) -> str:
    """moto's and the stack's CPU milliseconds per retry handled (runs before they were measured: -)."""
    moto, stack = throughput.get("moto_cpu_ms_per_retry"), throughput.get("stack_cpu_ms_per_retry")
    return f"{moto:g} + {stack:g} ms" if moto is not None and stack is not None else "-"


def _targets(result: dict[str, Any]) -> list[str]:
    """Issue 20's targets: the quiet retry within its countdown + 5 s beside N >= 1,000; >= 100 attempts/s."""
    lines = []
    for row in result["delay"]:
        p99 = row["delay_p99_s"]
        if row["n"] >= 1000 and p99:
            met = p99["exact"] and p99["seconds"] <= 5
            lines.append(
                f"- Quiet retry within its countdown + 5 s beside N = {row['n']:,}: p99 {_seconds(p99)}, "
                f"{'met' if met else '**not met**'}."
            )
    capacity = [t["attempts_per_s"] for t in result.get("throughput", []) if t["breaker"] == "held-closed"]
    if capacity:
        rate = capacity[0]
        lines.append(
            f"- Retrier ≥ 100 attempts/s to refused endpoints: {rate:g}/s, {'met' if rate >= 100 else '**not met**'}."
        )
    return lines


def _machine(result: dict[str, Any]) -> str:
    m = result.get("machine")
    return f" on {m['cpu']}, {m['cores']} cores, Python {m['python']}" if m else ""


def write_section(result: dict[str, Any], path: Path = RESULTS) -> None:
    """This run in RESULTS.md's section, in place of an earlier run with its label or after the others; the
    section goes before the targets if it is not there yet. The rest of the file is left as it is."""
    lines = path.read_text().splitlines() if path.exists() else ["# Benchmark results", ""]
    start = next((i for i, line in enumerate(lines) if line.startswith(HEADING)), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    else:
        start = end = next((i for i, line in enumerate(lines) if line == "## Targets"), len(lines))
    runs = _runs(lines[start:end])
    runs[f"### {result['label']}"] = render_run(result)
    section = [HEADING, "", *INTRO, *(line for run in runs.values() for line in run)]
    path.write_text("\n".join([*lines[:start], *section, *lines[end:]]) + "\n")
    everything = path.parent / "out" / "results.json"  # so that `python -m bench.run --render-only` keeps it
    if everything.exists():
        results = json.loads(everything.read_text())
        everything.write_text(json.dumps({**results, "noisy": result}, indent=2))


def _runs(section: list[str]) -> dict[str, list[str]]:
    """The section's runs by their heading line, in order."""
    runs: dict[str, list[str]] = {}
    for line in section:
        if line.startswith("### "):
            runs[line] = []
        if runs:
            runs[next(reversed(runs))].append(line)
    return runs


def _progress(what: str) -> None:
    print(f"\r{what[:110]:<110}", end="", file=sys.stderr, flush=True)


def main() -> int:
    from bench.run import machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Settings()
    parser.add_argument("--sizes", type=int, nargs="+", default=defaults.sizes, help="noisy failing deliveries")
    parser.add_argument("--samples", type=int, default=defaults.samples, help="quiet events per run")
    parser.add_argument("--interval", type=float, default=defaults.interval, help="seconds between quiet events")
    parser.add_argument("--budget", type=float, default=defaults.budget, help="seconds a run may take, stack up")
    parser.add_argument("--throughput-backlog", type=int, default=defaults.throughput_backlog)
    parser.add_argument("--throughput-seconds", type=float, default=defaults.throughput_seconds)
    parser.add_argument("--breakers", nargs="+", choices=list(BREAKERS), default=defaults.breakers)
    parser.add_argument("--no-delay", dest="delay", action="store_false", help="the retrier's throughput only")
    parser.add_argument("--no-throughput", dest="throughput", action="store_false", help="the delays only")
    parser.add_argument("--label", help="this run's name in RESULTS.md (default: branch at commit)")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print; leave RESULTS.md as it is")
    args = parser.parse_args()
    settings = Settings(**{f.name: getattr(args, f.name) for f in fields(Settings)})
    result = measure_noisy(settings, _progress, args.label)
    print(file=sys.stderr)
    result["machine"] = machine()
    result["command"] = shlex.join(["python", "-m", "bench.noisy", *sys.argv[1:]])
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "noisy.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print("\n".join(render(result)))
    if args.write:
        write_section(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
