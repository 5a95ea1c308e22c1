"""`make bench`: every benchmark of the suite in one run, a table on stdout, bench/RESULTS.md and a plot.

Figures are ratios and medians over repeated runs in the same run of this command: the machines are shared
and noisy, so absolute times drift; the service and its baseline always meet the same receivers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    capacity,
    cold_start,
    cost,
    cpu,
    fanout,
    host_cap,
    latency,
    noisy,
    ordering,
    previous,
    record_size,
    services,
    split,
    storage,
    transport,
)
from oms_webhooks.rules.dispatch import DELIVERY_WORKERS

HERE = Path(__file__).resolve().parent
TARGETS = {
    "ratio_1000_50ms": 30.0,
    "instant_rate": 1000.0,
    "cold_start_ms": 300.0,
    "p99_ms": 500.0,
}


class Progress:
    def __init__(self, steps: int) -> None:
        self.steps, self.done, self.started = steps, 0, time.monotonic()

    def step(self, what: str) -> Callable[[str], None]:
        self.done += 1

        def say(detail: str) -> None:
            elapsed = time.monotonic() - self.started
            print(
                f"\r[{self.done}/{self.steps} {elapsed:6.1f}s] {detail[:100]:<100}", end="", file=sys.stderr, flush=True
            )

        say(what)
        return say


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each fan-out measurement")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes, to try the suite")
    parser.add_argument("--render-only", action="store_true", help="rewrite RESULTS.md from bench/out/results.json")
    args = parser.parse_args()
    if args.render_only:
        results = json.loads((HERE / "out" / "results.json").read_text())
        plot(results, HERE / "fanout.png")
        (HERE / "RESULTS.md").write_text(render(results))
        return 0
    repeats = 2 if args.quick else args.repeats
    sizes = [100, 1000]
    call_sizes = [1, 10, 100, 1000] if args.quick else [1, 10, 100, 1000, 5000]
    progress = Progress(len(sizes) * 2 + 10)
    results: dict[str, Any] = {"machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds")}

    with (
        services.moto() as moto_port,
        services.receiver(0) as instant,
        services.receiver(50) as slow,
        host_cap.receivers(host_cap.DELAY_MS, host_cap.HOSTS) as spread,
    ):
        endpoint = f"http://127.0.0.1:{moto_port}"
        fanout.use_endpoint(endpoint)
        results["fanout"] = []
        for n in sizes:
            for delay, port in ((0, instant), (50, slow)):
                say = progress.step(f"fan-out N={n} delay={delay} ms")
                results["fanout"].append(fanout.measure(endpoint, port, n, delay, repeats, say))
        say = progress.step("CPU per delivery, 20 hooks per event")
        results["cpu"] = cpu.measure_cpu(endpoint, instant, repeats * 2, say)
        say = progress.step("requests against urllib3")
        results["transport"] = transport.measure_transport(instant, rounds=repeats)
        say = progress.step("fan-out with the per-host cap")
        results["host_cap"] = host_cap.measure_host_cap(endpoint, spread, slow, repeats, say)
        say = progress.step("DynamoDB calls per event")
        results["storage"] = []
        for n in call_sizes:
            say(f"DynamoDB calls per event, N={n}")
            results["storage"].append(storage.count_calls(endpoint, instant, n))
        say = progress.step("10,000 subscribers split over the fan-out queue")
        results["record_sizes"] = record_size.measure_record_sizes()
        results["split"] = split.measure_split(endpoint, instant, 2000 if args.quick else 10_000, 1000)
        say = progress.step("cold starts and layer size, as sam build ships them")
        with tempfile.TemporaryDirectory() as work:
            built = cold_start.build(Path(work))
            baseline = cold_start.without_bytecode(built, Path(work))
            results["cold_start"] = cold_start.measure_cold_starts(endpoint, "bench-cold", built, baseline)
            results["layer"] = cold_start.layer_size(built)
        results["asymmetric"] = cold_start.asymmetric_signing_cost()
    say = progress.step("end to end on the local stack")
    results["latency"] = latency.measure_latency(events=200)
    say = progress.step("noisy neighbour on the local stack")
    results["noisy"] = noisy.measure_noisy(noisy.Settings.quick() if args.quick else noisy.Settings(), say)
    say = progress.step("ordered delivery on the local stack")
    events, runs, samples = (200, 1, 10) if args.quick else (500, 2, 20)
    results["ordering"] = {
        **ordering.measure_ordering(events, runs, samples, say),
        "machine": results["machine"],
        "command": "make bench",
    }
    progress.step(f"the previous release ({previous.PREVIOUS_RELEASE}), its own code and bench")
    results["previous"] = previous.measure_previous(sizes, repeats)
    print(file=sys.stderr)

    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, HERE / "fanout.png")
    report = render(results)
    (HERE / "RESULTS.md").write_text(report)
    print(report)
    return 0


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for delay, style in ((0, "-"), (50, "--")):
        rows = [r for r in results["fanout"] if r["delay_ms"] == delay]
        ns = [r["n"] for r in rows]
        axis.plot(ns, [r["service"]["median"] for r in rows], "o" + style, label=f"dispatcher, receiver {delay} ms")
        axis.plot(ns, [r["baseline"]["median"] for r in rows], "s" + style, label=f"one at a time, receiver {delay} ms")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("active hooks (N)")
    axis.set_ylabel("deliveries per second (median)")
    axis.set_title("Fan-out of one event: dispatcher vs one-at-a-time baseline")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _spread(s: dict[str, float]) -> str:
    return f"{s['median']:,.0f} ({s['min']:,.0f}-{s['max']:,.0f}, {s['runs']} runs)"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {r['date']} by `make bench` on {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}.",
        "Everything on 127.0.0.1: moto (server mode) as AWS in its own process, receivers in their own processes.",
        "Medians with the spread (min-max) over repeated runs; ratios compare runs made side by side.",
        "Earlier runs, and the before-and-after comparisons of the changes that moved these figures:",
        "[HISTORY.md](HISTORY.md).",
        "",
        "## 1. Fan-out of one event to N hooks",
        "",
        "Dispatcher: one invocation's code path (claim, hook lookup, concurrent signed POSTs on a",
        f"{DELIVERY_WORKERS}-thread pool with keep-alive, every attempt recorded in DynamoDB in batches of 25).",
        "Baseline: one at a time with `requests.post` and a new connection per POST, as a Celery task per hook",
        "does, signing included and recording nothing (which flatters it); its rate is measured on up to 200",
        "deliveries.",
        "The first (cold) dispatcher run of each row reads the hooks with a Query and opens its connections;",
        "later (warm) runs, as in a warm Lambda, find the hooks in the function's cache after one consistent",
        "GetItem of the type's version (see the README) and reuse connections. The ratio uses warm medians.",
        "",
        "CPU ms per delivery: this process's (every thread, user + system) over the warm runs, per delivery.",
        "",
        "| N | receiver | dispatcher deliveries/s, warm | first (cold) run | CPU ms per delivery | baseline "
        "deliveries/s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["fanout"]:
        cpu_ms = f"{row['cpu_ms']['median']:.2f}" if "cpu_ms" in row else "-"
        lines.append(
            f"| {row['n']:,} | {row['delay_ms']:g} ms | {_spread(row['service'])} | {row['service_cold']:,.0f} "
            f"| {cpu_ms} | {_spread(row['baseline'])} | {row['ratio']:.1f}x |"
        )
    lines += ["", "![deliveries per second against N](fanout.png)", ""]
    if "cpu" in r:
        lines += cpu.render(r["cpu"])
    if "transport" in r:
        lines += transport.render(r["transport"])
    if "host_cap" in r:
        uncapped = next((x for x in r["fanout"] if x["n"] == 1000 and x["delay_ms"] == 50), None)
        lines += host_cap.render(r["host_cap"], uncapped["service"]["median"] if uncapped else None)
    storage_rows = [
        "| N | budget ceil(N/25)+5 | calls, cold | calls, warm | operations (cold) |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in r["storage"]:
        ops = ", ".join(f"{k.split('.')[1]} {v}" for k, v in sorted(row["cold_operations"].items()))
        storage_rows.append(f"| {row['n']:,} | {row['budget']} | {row['cold']} | {row['warm']} | {ops} |")
    s = r["split"]
    lines += [
        "## 2. DynamoDB calls per event",
        "",
        "Counted from botocore's own events around one dispatch (cold: first event of the type in the function;",
        "warm: the next).",
        "",
        *storage_rows,
        "",
        f"Split fan-out, N = {s['n']:,} with batches of {s['batch_size']:,}: {s['batches']} batches on the fan-out",
        f"queue, {s['delivered']:,} delivered, {s['dynamodb_calls']} DynamoDB calls in all (budget {s['budget']}).",
        f"Coordinator {s['coordinator_s']:.2f} s; slowest batch {s['slowest_batch_s']:.2f} s; run one after another",
        f"here {s['sequential_s']:.1f} s; with the batches in parallel invocations, as deployed, about",
        f"{s['parallel_estimate_s']:.1f} s.",
        "",
        *(record_size.render(r["record_sizes"]) if "record_sizes" in r else []),
        "## 3. End to end on the local stack",
        "",
    ]
    lt = r["latency"]
    lines += [
        f"Publish (PutEvents) → receipt at a real receiver, {lt['events']} events at 40/s, {lt['received']} received:",
        f"p50 {lt['p50_ms']:.0f} ms, p95 {lt['p95_ms']:.0f} ms, p99 {lt['p99_ms']:.0f} ms (max {lt['max_ms']:.0f} ms).",
        "",
        "## 4. Cold start",
        "",
        "A fresh Python process imports the function's module as `sam build` ships it (the layer's folder on the",
        "path, as Lambda's /opt/python) and serves its first event; median of 3. Beside it, run in turn, the same",
        "artifacts without the bytecode packaging/Makefile compiles at build: SAM's own Python builder ships none,",
        "and Lambda's read-only folders make every cold start compile each module it imports.",
        "",
        "| function | import ms | first event ms | total ms | without bytecode, total ms | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, c in r["cold_start"].items():
        lines.append(
            f"| {name} | {c['import_ms']:.0f} | {c['first_event_ms']:.0f} | {c['total_ms']:.0f} "
            f"| {c['baseline_total_ms']:.0f} | {c['baseline_total_ms'] / c['total_ms']:.1f}x faster |"
        )
    layer = r["layer"]
    lines += [
        "",
        f"Layer, as `sam build` makes it (the requirements less what the runtime provides, `oms_webhooks`, their "
        f"bytecode): {layer['installed_mb']:.1f} MB installed, {layer['zipped_mb']:.1f} MB zipped.",
        "",
    ]
    if "asymmetric" in r:
        a = r["asymmetric"]
        lines += [
            f"An asymmetric hook's first signature in a process (PyNaCl imported then, not at cold start): "
            f"{a['first_signature_ms']:.1f} ms, then {a['signature_us']:.0f} µs a signature.",
            "",
        ]
    if "record_sizes" in r:
        lines += cost.render(r["fanout"], record_size.median_row(r["record_sizes"]))
        lines += capacity.section(capacity.from_bench(r["fanout"], record_size.median_row(r["record_sizes"])))
    if "noisy" in r:
        lines += noisy.render(r["noisy"])
    if "ordering" in r:
        lines += ordering.render(r["ordering"])
    if "previous" in r:
        lines += previous.render(r["previous"], r)
    lines += [
        "## Targets",
        "",
    ]
    slow_1000 = next(x for x in r["fanout"] if x["n"] == 1000 and x["delay_ms"] == 50)
    instant = [x for x in r["fanout"] if x["delay_ms"] == 0]
    worst_cold = max(c["total_ms"] for c in r["cold_start"].values())
    calls_ok = all(row["cold"] <= row["budget"] for row in r["storage"])
    lines += [
        "| target | figure | |",
        "|---|---|---|",
        f"| 1,000 hooks at 50 ms: ≥ 30x the baseline | {slow_1000['ratio']:.1f}x | {_met(slow_1000['ratio'] >= 30)} |",
        *(
            f"| instant receiver, N = {x['n']:,}: ≥ 1,000 deliveries/s per process | {x['service']['median']:,.0f}/s "
            f"| {_met(x['service']['median'] >= 1000)} |"
            for x in instant
        ),
        *(
            [
                f"| CPU per delivery, 20 hooks per event: ≤ 0.5 ms | {r['cpu']['cpu_ms']['median']:.2f} ms "
                f"| {_met(r['cpu']['cpu_ms']['median'] <= 0.5)} |"
            ]
            if "cpu" in r
            else []
        ),
        *(
            f"| instant receiver, N = {x['n']:,}: ≥ 1,600 deliveries/s per process | {x['service']['median']:,.0f}/s "
            f"| {_met(x['service']['median'] >= 1600)} |"
            for x in instant
        ),
        f"| 1,000 hooks at 50 ms: ≥ 1,200 deliveries/s per process | {slow_1000['service']['median']:,.0f}/s "
        f"| {_met(slow_1000['service']['median'] >= 1200)} |",
        f"| DynamoDB calls ≤ ceil(N/25) + 5 (single invocation) | see table 2 | {_met(calls_ok)} |",
        f"| DynamoDB calls ≤ ceil(N/25) + 5, split 10,000 | {s['dynamodb_calls']} of {s['budget']} "
        f"| {_met(s['dynamodb_calls'] <= s['budget'])} |",
        f"| cold start < 300 ms per handler | worst {worst_cold:.0f} ms | {_met(worst_cold < 300)} |",
        f"| local end-to-end p99 < 500 ms | {lt['p99_ms']:.0f} ms | {_met(lt['p99_ms'] < 500)} |",
        *(
            [
                "| a quiet owner's ordered delivery beside another owner's hanging ones: at most its slowest alone "
                f"+ {ordering.BESIDE_AT_MOST:.0f} s | {n['delays']['beside']['max_s']} s (alone "
                f"{n['delays']['alone']['max_s']} s) | {_met(ordering.neighbour_met(n))} |"
            ]
            if (n := r.get("ordering", {}).get("neighbour"))
            else []
        ),
        "",
        "## Where a target is not met, and why",
        "",
        "- **Instant receiver at small N.** Each event pays a fixed cost before and after its sends (the claim,",
        "  the version check, writing the records); at N = 100 that is a tenth of a second of moto round trips",
        "  against 100 POSTs, so the rate per event stays under 1,000/s while N = 1,000 is above it. The fixed",
        "  cost is three to five DynamoDB calls, a few milliseconds each on DynamoDB itself.",
        "- **DynamoDB calls at N = 5,000, first event.** moto sizes a Query page (1 MB) by the whole table item,",
        "  not by what the index projects; the `ActiveByEventType` index projects only the ~300-byte dispatch",
        "  card, so DynamoDB returns about 3,000 hooks a page where moto returns about 1,300. With DynamoDB's",
        "  paging the cold count is 2 Query calls fewer (within the budget); warm events skip the Query",
        "  altogether and are within it here.",
        "- **Split fan-out.** Each batch of 1,000 hooks costs two calls beyond its 40 writes: its own claim",
        "  (so a batch message delivered twice sends nothing twice) and the Query of its id range; the",
        "  coordinator adds its claim, version check and Query pages. That is about 5 % over the budget at",
        "  10,000 hooks, the price of batches that are idempotent and independent of one another.",
        "- **Cold start.** Section 4 measures what `sam build` ships, now compiled to bytecode at build",
        "  (packaging/Makefile). What is left: the imports, about 250 ms (pydantic's models, Powertools), and the",
        "  first event's botocore clients and calls, about 90 ms. Provisioned concurrency (not in the template)",
        "  would run both before a request arrives.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
