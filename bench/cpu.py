"""CPU per delivery in the dispatcher's process: getrusage around warm dispatches of the sample events.

Every sample event of events/eventbridge/ goes to 20 hooks of its type (signed, each with a header of its own),
one event per dispatch as one Lambda invocation serves it. moto (the local AWS) and the receiver run in processes of
their own, so `RUSAGE_SELF` counts this process alone: the dispatcher with all its threads (the delivery pool, the
record writers, botocore's), user and system time. `--profile` samples the same runs with py-spy (only the thread
that holds the GIL, so what it shows is Python's CPU) and prints where it went.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from bench import services
from bench.fanout import Stack, breaker, cpu_seconds, make_stack, measure, seed_hooks, summary, use_endpoint
from oms_webhooks.adapters import delivery_items as delivery_items_module
from oms_webhooks.adapters import delivery_store as delivery_store_module
from oms_webhooks.adapters import sender as sender_module
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.dynamodb_json import ItemJsonSerializer
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules import attempt as attempt_module
from oms_webhooks.rules.dispatch import DELIVERY_WORKERS, Dispatcher

EVENTS = Path(__file__).resolve().parents[1] / "events" / "eventbridge"
HOOKS_PER_EVENT = 20


def sample_events() -> list[OmsEvent]:
    return [OmsEvent.from_eventbridge(json.loads(path.read_text())) for path in sorted(EVENTS.glob("*.json"))]


def load_average() -> float:
    return os.getloadavg()[0]


def dispatcher_for(stack: Stack, workers: int = DELIVERY_WORKERS) -> Dispatcher:
    """The dispatcher as section 1 runs it: the breaker on, the per-host cap lifted to the workers."""
    sender = Sender(AddressPolicy(allow_loopback=True), connections_per_host=workers)
    return Dispatcher(stack.hooks, stack.deliveries, sender, stack.retries, workers=workers, breaker=breaker(stack))


def dispatch_round(dispatcher: Dispatcher, events: list[OmsEvent]) -> int:
    """Each sample event once, under a fresh id; the deliveries made."""
    delivered = 0
    for event in events:
        report = dispatcher.dispatch(OmsEvent(str(uuid.uuid4()), event.event_type, event.payload))
        if report.delivered != report.hooks:
            raise RuntimeError(f"only {report.delivered} of {report.hooks} delivered: {report}")
        delivered += report.delivered
    return delivered


class CpuAccount:
    """CPU time spent inside chosen functions, summed by label: each call's own thread's CPU time
    (`time.thread_time`), so neither another thread's work nor a wait for the GIL or the network counts."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, label: Callable[..., str]) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds[label(*args, **kwargs)] += spent

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def undo(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def cpu_by_thread() -> Counter[str]:
    """CPU seconds of this process's threads so far, by kind: the name before its number (`deliver_12` is a
    delivery thread, `record_3` a record writer), from /proc/self/task (Linux); empty elsewhere."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    found: Counter[str] = Counter()
    tasks = Path("/proc/self/task")
    for task in tasks.iterdir() if tasks.exists() else ():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            kind = names.get(int(task.name), "other").split("_")[0]
            found[f"thread {kind}"] += (int(fields[11]) + int(fields[12])) / tick
    return found


def where_cpu_goes(dispatcher: Dispatcher, events: list[OmsEvent], rounds: int) -> dict[str, float]:
    """µs per delivery inside the HTTP POSTs, each DynamoDB operation (the serializing of its request apart),
    the record writes as a whole, and signing; then by thread; `all` is getrusage's total over the same rounds."""
    account = CpuAccount()
    account.wrap(sender_module.Sender, "post", lambda *_: "HTTP POST (Sender.post)")
    account.wrap(BaseClient, "_make_api_call", lambda _, operation, *__: f"DynamoDB {operation} (botocore)")
    account.wrap(
        ItemJsonSerializer,
        "serialize_to_request",
        lambda _, __, model: f"DynamoDB {model.name}: serializing the request",
    )
    account.wrap(DeliveryStore, "save_many", lambda *_: "records written (save_many: items built, BatchWriteItem)")
    account.wrap(attempt_module, "signature_headers", lambda *_, **__: "signing (signature_headers)")
    account.wrap(delivery_store_module, "delivery_item", lambda *_, **__: "records: items built (delivery_item)")
    account.wrap(delivery_items_module, "compress", lambda *_: "records: the detail compressed (zlib)")
    account.wrap(Dispatcher, "_new_delivery", lambda *_: "Delivery made (Dispatcher._new_delivery)")
    try:
        cpu, threads, delivered = cpu_seconds(), cpu_by_thread(), 0
        for _ in range(rounds):
            delivered += dispatch_round(dispatcher, events)
        cpu = cpu_seconds() - cpu
        threads = cpu_by_thread() - threads
    finally:
        account.undo()
    parts = {label: spent * 1e6 / delivered for label, spent in sorted(account.seconds.items())}
    by_thread = {kind: spent * 1e6 / delivered for kind, spent in sorted(threads.items())}
    return {"all": cpu * 1e6 / delivered, **parts, **by_thread}


def measure_cpu(
    endpoint: str,
    receiver_port: int,
    rounds: int = 5,
    progress: Callable[[str], None] = lambda _: None,
    profile_to: Path | None = None,
    workers: int = DELIVERY_WORKERS,
) -> dict[str, Any]:
    """Warm rounds over the sample events, each timed in CPU and wall time; CPU ms per delivery per round."""
    stack = make_stack(endpoint, f"cpu-{uuid.uuid4().hex[:6]}")
    events = sample_events()
    for number, event in enumerate(events):
        seed_hooks(stack, HOOKS_PER_EVENT, receiver_port, event.event_type, first_id=number * HOOKS_PER_EVENT + 1)
    with services.dispatcher_cpu():  # its threads on a CPU of their own, as in a Lambda sandbox
        dispatcher = dispatcher_for(stack, workers)
        progress("CPU per delivery: warm-up round")
        dispatch_round(dispatcher, events)  # cold: hook queries, connections, imports, botocore's caches
        profiler = _start_py_spy(profile_to) if profile_to else None
        cpu_ms, system_ms, switches, rates, loads = [], [], [], [], [load_average()]
        try:
            for run in range(rounds):
                progress(f"CPU per delivery: round {run + 1}/{rounds}")
                before, clock = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                delivered = dispatch_round(dispatcher, events)
                after, took = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - clock
                user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
                cpu_ms.append((user + system) * 1000 / delivered)
                system_ms.append(system * 1000 / delivered)
                switches.append((after.ru_nvcsw - before.ru_nvcsw + after.ru_nivcsw - before.ru_nivcsw) / delivered)
                rates.append(delivered / took)
        finally:
            if profiler:
                _stop_py_spy(profiler)
        loads.append(load_average())
        progress("CPU per delivery: where it goes")
        breakdown = where_cpu_goes(dispatcher, events, max(2, rounds // 2))
        dispatcher.pool.shutdown()
        dispatcher.writers.shutdown()
    return {
        "events": len(events),
        "hooks_per_event": HOOKS_PER_EVENT,
        "deliveries_per_round": len(events) * HOOKS_PER_EVENT,
        "workers": workers,
        "cpu_ms": summary(cpu_ms),
        "system_ms": summary(system_ms),
        "switches": summary(switches),  # context switches of this process's threads per delivery: each a hand-off
        "rate": summary(rates),
        "load": loads,
        "breakdown_us": breakdown,
    }


def _start_py_spy(path: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling this process until stopped, without pausing it: the thread holding the GIL, so Python's CPU."""
    spy = str(Path(sys.executable).with_name("py-spy"))
    pid = str(os.getpid())
    options = ["--gil", "--nonblocking", "--rate", "250", "--format", "raw"]
    command = [spy, "record", "--pid", pid, *options, "-o", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    services.off_dispatcher_cpu(process.pid)  # the sampler is not the measured dispatcher's
    time.sleep(1.0)  # attached before the first measured round
    return process


def _stop_py_spy(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(2)  # py-spy writes its file on SIGINT
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def profile_table(raw: Path, top: int = 25) -> list[tuple[str, float, float]]:
    """(function, self %, inclusive %) from py-spy's collapsed stacks, by inclusive share, the top `top`."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    return [(name, 100 * own[name] / total, 100 * value / total) for name, value in inclusive.most_common(top)]


def self_table(raw: Path, top: int = 25) -> list[tuple[str, float]]:
    """Self time by module (file) from py-spy's collapsed stacks: which library the CPU is spent in."""
    by_file: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        by_file[_frame_file(stack.split(";")[-1])] += count
    return [(name, 100 * value / total) for name, value in by_file.most_common(top)]


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:12)` as `func (file.py)`, so the lines of one function add up."""
    return f"{frame.partition(' (')[0]} ({_frame_file(frame)})"


def _frame_file(frame: str) -> str:
    where = frame.partition(" (")[2].rstrip(")")
    path = where.rsplit(":", 1)[0]
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) > 1 else path


def render(cpu: dict[str, Any]) -> list[str]:
    c, r, parts = cpu["cpu_ms"], cpu["rate"], cpu["breakdown_us"]
    lines = [
        "## 1c. CPU per delivery",
        "",
        f"The dispatcher's process alone (`python -m bench.cpu`): the {cpu['events']} sample events of",
        f"`events/eventbridge/`, each to {cpu['hooks_per_event']} hooks of its type on an instant receiver, one",
        "event per dispatch; `getrusage(RUSAGE_SELF)` (every thread, user + system) around each warm round of",
        f"{cpu['deliveries_per_round']} deliveries. moto and the receiver run in processes of their own. Load average",
        f"{cpu['load'][0]:.2f} → {cpu['load'][1]:.2f} (2 cores, shared) while it ran.",
        "",
        "| CPU ms per delivery | of which system | deliveries/s, 20 hooks per event |",
        "|---:|---:|---:|",
        f"| {c['median']:.3f} ({c['min']:.3f}-{c['max']:.3f}, {c['runs']} rounds) | {cpu['system_ms']['median']:.3f} "
        f"| {_spread(r)} |",
        "",
        "Where it goes, from further rounds with chosen calls timed in their own thread's CPU time",
        "(`time.thread_time`, so a wait for the GIL or the network never counts):",
        "",
        "| part | CPU µs per delivery | share |",
        "|---|---:|---:|",
    ]
    total = parts["all"]
    for label, us in parts.items():
        if label != "all" and not label.startswith("thread "):
            lines.append(f"| {label} | {us:.0f} | {100 * us / total:.0f} % |")
    lines.append(f"| all (getrusage, same rounds) | {total:.0f} | 100 % |")
    threads = {label: us for label, us in parts.items() if label.startswith("thread ")}
    if threads:
        lines += ["", "The same rounds by thread (`deliver`: the delivery pool; `record`: the record writers):", ""]
        lines += ["| thread | CPU µs per delivery |", "|---|---:|"]
        lines += [f"| {label.removeprefix('thread ')} | {us:.0f} |" for label, us in threads.items()]
    return [*lines, ""]


def _spread(s: dict[str, float]) -> str:
    return f"{s['median']:,.0f} ({s['min']:,.0f}-{s['max']:,.0f}, {s['runs']} rounds)"


def measure_throughput(
    endpoint: str, ports: dict[float, int], sizes: list[int], repeats: int, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Section 1's fan-out (one event to N hooks on one receiver) without its baseline: deliveries/s and CPU."""
    return [
        measure(endpoint, port, n, delay, repeats, progress, baseline_runs=False)
        for n in sizes
        for delay, port in ports.items()
    ]


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="warm rounds over the sample events")
    parser.add_argument(
        "--workers", type=int, default=DELIVERY_WORKERS, help="the dispatcher's delivery threads (CPU rounds)"
    )
    parser.add_argument("--throughput", action="store_true", help="also N = 200 and 1,000 at 0 and 50 ms")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs of each throughput row")
    parser.add_argument("--profile", action="store_true", help="sample the rounds with py-spy and print the top")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's collapsed stacks in this file")
    args = parser.parse_args()

    def say(what: str) -> None:
        print(what, file=sys.stderr)

    with (
        services.moto() as moto_port,
        services.receiver(0) as instant,
        services.receiver(50) as slow,
        tempfile.TemporaryDirectory() as scratch,
    ):
        endpoint = f"http://127.0.0.1:{moto_port}"
        use_endpoint(endpoint)
        raw = (args.profile_out or Path(scratch) / "profile.txt") if args.profile else None
        result: dict[str, Any] = {"cpu": measure_cpu(endpoint, instant, args.rounds, say, raw, args.workers)}
        if args.throughput:
            result["throughput"] = measure_throughput(endpoint, {0: instant, 50: slow}, [200, 1000], args.repeats, say)
        result["load"] = load_average()
        print(json.dumps(result, indent=2))
        print("\nCPU µs per delivery, where it goes (20 hooks per event):")
        for label, us in result["cpu"]["breakdown_us"].items():
            print(f"{us:8.1f}  {label}")
        print(summary_line(result))
        if raw is not None:
            print("\nfunction (file): inclusive %, self % of the GIL holder's samples")
            for name, own, inclusive in profile_table(raw, 60):
                print(f"{inclusive:5.1f} {own:5.1f}  {name}")
            print("\nself % by file")
            for name, share in self_table(raw, 25):
                print(f"{share:5.1f}  {name}")
    return 0


def summary_line(result: dict[str, Any]) -> str:
    cpu = result["cpu"]
    parts = [
        f"20 hooks/event, {cpu['workers']} workers: {cpu['cpu_ms']['median']:.3f} ms CPU "
        f"({cpu['system_ms']['median']:.3f} system, {cpu['switches']['median']:.1f} context switches), "
        f"{cpu['rate']['median']:,.0f}/s"
    ]
    for row in result.get("throughput", []):
        parts.append(
            f"N={row['n']} {row['delay_ms']:g} ms: {row['service']['median']:,.0f}/s {row['cpu_ms']['median']:.3f} ms"
        )
    return f"load {cpu['load'][0]:.2f}->{result['load']:.2f} | " + " | ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
