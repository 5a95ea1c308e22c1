"""What ordering costs (issue 23): deliveries/s of an ordered hook with one object and with 100 objects, beside the
same events to an unordered hook, and the latency of one event.

On one fresh local stack: a receiver answers every request with a 200 at once. Each run subscribes one hook (of an
owner of its own), publishes `events` events of its type to the bus (PutEvents, ten a call) and times them from the
first publish to the last request at the receiver; every delivery is checked to have arrived once (the order is the
tests' to check). Then single events, one at a time, to an unordered and to
an ordered hook: publish to arrival. Every loop is bounded by count and by time.

Last, on a stack of its own, a quiet owner's ordered deliveries alone and beside another owner's that hang
(`measure_neighbour`): each owner's share of the sequencer's invocations is what keeps them apart.

Run alone: `python -m bench.ordering [--events 500] [--repeats 2]`; it writes its section into bench/RESULTS.md.
`--neighbour HOOKS OBJECTS` measures only the quiet owner beside HOOKS x OBJECTS hanging deliveries; it prints and
writes nothing.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.latency import percentile
from bench.noisy import Owner, fresh_stack, load_average, revision
from bench.noisy import _machine as machine_of
from bench.services import ROOT
from tests.receiver import Answer, Receiver

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## 8. Ordered delivery"
RUNS = (("unordered", "none", 1), ("ordered, 1 object", "object", 1), ("ordered, 100 objects", "object", 100))
TYPES = ("transfer.status.created", "transfer.status.transitioned", "transfer.status.in_transit")  # one per run
LATENCY_TYPES = {"none": "stock_location.created", "object": "stock_location.updated"}
RUN_SECONDS = 240.0  # a run's budget, from its first publish
NEIGHBOUR_TYPES = ("shipment.created", "shipment.status.updated")  # the noisy owner's, the quiet owner's
NEIGHBOUR = (20, 20)  # the noisy owner's ordered hooks on one hanging host, and the objects sent to each
BESIDE_AT_MOST = 5.0  # seconds a quiet owner's ordered delivery may take beyond its slowest alone: the target

Say = Callable[[str], None]


def measure_run(
    owner: Owner, receiver: Receiver, event_type: str, ordering: str, objects: int, events: int, repeat: int
) -> dict:
    path = f"/{ordering}-{objects}-{event_type}-{repeat}"
    body = {"event_type": event_type, "target_url": receiver.url(path), "ordering": ordering}
    owner.http.post(f"{owner.api}/hooks/", json=body, timeout=30).raise_for_status()
    payloads = [{"id": n % objects, "seq": n} for n in range(events)]
    started = time.time()
    owner.publish(event_type, payloads)
    published = time.time()
    arrived = receiver.wait_for(path, events, timeout=RUN_SECONDS)
    seqs = [json.loads(r.body)["payload"]["seq"] for r in arrived]
    seconds = arrived[-1].at - started if len(arrived) == events else float("nan")
    return {
        "events": events,
        "arrived": len(arrived),
        "once_each": len(set(seqs)) == len(seqs) == events,
        "publish_seconds": round(published - started, 2),
        "seconds": round(seconds, 2),
        "per_second": round(events / seconds, 1) if seconds == seconds else None,
    }


def measure_latency(owner: Owner, receiver: Receiver, ordering: str, samples: int) -> dict[str, Any]:
    """Single events, one at a time, each to a new object: publish to arrival, in milliseconds."""
    event_type = LATENCY_TYPES[ordering]
    path = f"/latency-{ordering}"
    body = {"event_type": event_type, "target_url": receiver.url(path), "ordering": ordering}
    owner.http.post(f"{owner.api}/hooks/", json=body, timeout=30).raise_for_status()
    delays = []
    for n in range(samples):
        sent = time.time()
        owner.publish(event_type, [{"id": f"latency-{n}"}])
        [*_, last] = receiver.wait_for(path, n + 1, timeout=30)
        delays.append((last.at - sent) * 1000)
        time.sleep(0.3)
    return {"samples": samples, "p50_ms": round(percentile(delays, 50)), "p90_ms": round(percentile(delays, 90))}


def measure_ordering(events: int, repeats: int, samples: int, say: Say) -> dict[str, Any]:
    result = measure_throughput(events, repeats, samples, say)
    result["neighbour"] = measure_neighbour(*NEIGHBOUR, samples=max(5, samples // 2), say=say)
    return result


def measure_throughput(events: int, repeats: int, samples: int, say: Say) -> dict[str, Any]:
    result: dict[str, Any] = {"label": revision(), "events": events, "repeats": repeats, "runs": {}, "latency": {}}
    with fresh_stack() as stack:
        receiver = Receiver()
        try:
            loads = [load_average()]
            for name, ordering, objects in RUNS:
                runs = []
                for repeat in range(repeats):
                    say(f"{name}: run {repeat + 1} of {repeats}, {events} events")
                    owner = Owner(stack.state, stack.home)
                    event_type = TYPES[[r[0] for r in RUNS].index(name)]
                    runs.append(measure_run(owner, receiver, event_type, ordering, objects, events, repeat))
                    for hook in owner.http.get(f"{owner.api}/hooks/", timeout=30).json()["results"]:
                        owner.http.delete(f"{owner.api}/hooks/{hook['id']}/", timeout=30)
                    loads.append(load_average())
                rates = [r["per_second"] for r in runs if r["per_second"]]
                result["runs"][name] = {
                    "runs": runs,
                    "median_per_second": round(statistics.median(rates), 1) if rates else None,
                }
            for ordering in ("none", "object"):
                say(f"latency, ordering {ordering}")
                result["latency"][ordering] = measure_latency(
                    Owner(stack.state, stack.home), receiver, ordering, samples
                )
            result["load"] = [min(loads), max(loads)]
        finally:
            receiver.stop()
    return result


def measure_neighbour(noisy_hooks: int, noisy_objects: int, samples: int, say: Say) -> dict[str, Any]:
    """A quiet owner's ordered deliveries, publish to arrival, alone and then beside a noisy owner whose ordered
    hooks' receiver hangs: `noisy_hooks` hooks on one host, each sent `noisy_objects` objects' events at once (every
    delivery held until the attempt's total timeout). The quiet owner's receiver, another host, answers at once."""
    result: dict[str, Any] = {"label": revision(), "noisy_hooks": noisy_hooks, "noisy_objects": noisy_objects}
    with fresh_stack() as stack:
        quiet_receiver, noisy_receiver = Receiver(), Receiver()
        try:
            loads = [load_average()]
            quiet = Owner(stack.state, stack.home)
            quiet_type = NEIGHBOUR_TYPES[1]
            body = {"event_type": quiet_type, "target_url": quiet_receiver.url("/quiet"), "ordering": "object"}
            quiet.http.post(f"{quiet.api}/hooks/", json=body, timeout=30).raise_for_status()

            def quiet_delays(first: int) -> list[float]:
                delays = []
                for n in range(first, first + samples):
                    sent = time.time()
                    quiet.publish(quiet_type, [{"id": f"quiet-{n}"}])
                    arrived = quiet_receiver.wait_for("/quiet", n + 1, timeout=RUN_SECONDS)
                    delays.append((arrived[-1].at - sent) if len(arrived) > n else float("inf"))
                    time.sleep(0.5)
                return delays

            say("the quiet owner alone")
            alone = quiet_delays(0)
            noisy = Owner(stack.state, stack.home)
            for hook in range(noisy_hooks):
                url = noisy_receiver.script(f"/hang-{hook}", Answer(hang=True))
                body = {"event_type": NEIGHBOUR_TYPES[0], "target_url": url, "ordering": "object"}
                noisy.http.post(f"{noisy.api}/hooks/", json=body, timeout=30).raise_for_status()
            noisy.publish(NEIGHBOUR_TYPES[0], [{"id": f"noisy-{n}"} for n in range(noisy_objects)])
            say(f"the quiet owner beside {noisy_hooks * noisy_objects} hanging ordered deliveries")
            time.sleep(2)  # the noisy deliveries' windows end and their attempts start
            beside = quiet_delays(samples)
            loads.append(load_average())
            result["delays"] = {
                name: {
                    "p50_s": round(percentile(d, 50), 2),
                    "max_s": round(max(d), 2),
                    "each_s": [round(x, 2) for x in d],
                }
                for name, d in (("alone", alone), ("beside", beside))
            }
            result["load"] = [min(loads), max(loads)]
        finally:
            quiet_receiver.stop()
            noisy_receiver.stop()
    return result


def render(result: dict[str, Any]) -> list[str]:
    lines = [
        HEADING,
        "",
        f"`{result['command']}`, {result['label']}{machine_of(result)}, load average {result['load'][0]}-"
        f"{result['load'][1]} (2 cores shared with other agents). One local stack; a receiver answering 200 at once. "
        f"{result['events']} events per run, published ten to a PutEvents call; deliveries/s from the first publish "
        "to the last request, every delivery counted once at the receiver. (Events published in one PutEvents call "
        "share their `time` and reach the dispatcher at once, so their order among themselves is not defined: the "
        "tests, not this, check the order.)",
        "",
        "| hook | deliveries/s, each run | median | each once |",
        "|---|---|---:|---|",
    ]
    for name, summary in result["runs"].items():
        rates = ", ".join(str(r["per_second"]) for r in summary["runs"])
        checks = all(r["once_each"] for r in summary["runs"])
        lines.append(f"| {name} | {rates} | {summary['median_per_second']} | {'yes' if checks else 'NO'} |")
    lines += [
        "",
        "| one event at a time, publish to arrival | p50 | p90 |",
        "|---|---:|---:|",
    ]
    for ordering, figures in result["latency"].items():
        label = "unordered" if ordering == "none" else "ordered (an idle object: its queue's 1 s window first)"
        lines.append(f"| {label} ({figures['samples']} events) | {figures['p50_ms']} ms | {figures['p90_ms']} ms |")
    if "neighbour" in result:
        n = result["neighbour"]
        lines += [
            "",
            f"A quiet owner's ordered delivery, publish to arrival, one event at a time: alone, then beside another "
            f"owner's {n['noisy_hooks'] * n['noisy_objects']} ordered deliveries to a receiver that hangs "
            f"({n['noisy_hooks']} hooks on one host, {n['noisy_objects']} objects each, every attempt held until "
            f"`DeliveryTotalTimeout`), on a stack of its own, load average {n['load'][0]}-{n['load'][1]}:",
            "",
            "| quiet owner | p50 | at most | each |",
            "|---|---:|---:|---|",
        ]
        for name, d in n["delays"].items():
            lines.append(f"| {name} | {d['p50_s']} s | {d['max_s']} s | {', '.join(str(x) for x in d['each_s'])} |")
    return [*lines, ""]


def neighbour_met(result: dict[str, Any]) -> bool:
    """The noisy owner pays for its receivers, not the quiet one: beside them, no quiet delivery takes more than
    `BESIDE_AT_MOST` seconds beyond the slowest alone."""
    delays = result["delays"]
    return bool(delays["beside"]["max_s"] <= delays["alone"]["max_s"] + BESIDE_AT_MOST)


def write_section(result: dict[str, Any], path: Path = RESULTS) -> None:
    """This run as RESULTS.md's section, in place of an earlier one, or before the targets."""
    lines = path.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(HEADING)), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    else:
        start = end = next((i for i, line in enumerate(lines) if line == "## Targets"), len(lines))
    path.write_text("\n".join([*lines[:start], *render(result), *lines[end:]]) + "\n")


def _progress(detail: str) -> None:
    print(f"\r{detail[:100]:<100}", end="", file=sys.stderr, flush=True)


def main() -> int:
    from bench.run import machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500, help="events per run")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each hook")
    parser.add_argument("--samples", type=int, default=20, help="single events for the latency")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print; leave RESULTS.md as it is")
    parser.add_argument(
        "--neighbour",
        nargs=2,
        type=int,
        metavar=("HOOKS", "OBJECTS"),
        help="instead: a quiet owner's ordered deliveries beside a noisy owner's HOOKS x OBJECTS hanging ones (prints)",
    )
    args = parser.parse_args()
    if args.neighbour:
        hooks, objects = args.neighbour
        found = measure_neighbour(hooks, objects, args.samples, _progress)
        print(file=sys.stderr)
        print(json.dumps(found, indent=2))
        return 0
    result = measure_ordering(args.events, args.repeats, args.samples, _progress)
    print(file=sys.stderr)
    result["machine"] = machine()
    result["command"] = shlex.join(["python", "-m", "bench.ordering", *sys.argv[1:]])
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "ordering.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if args.write:
        write_section(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
