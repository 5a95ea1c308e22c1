"""Fan-out throughput with the per-host cap (MaxConnectionsPerHost), side by side with the cap lifted.

One event to 1,000 hooks whose receivers answer after 50 ms, dispatched by one dispatcher (its default workers) as
in section 1: spread over 8 subscriber hosts (8 ports of one receiver process), with the cap lifted (as many as the
workers, so they bind first) and at its default (16); and all on one host at the default, where the cap binds by design.

Run alone: `python -m bench.host_cap` (starts its own moto and receiver; prints the section for RESULTS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import services
from bench.fanout import SECRET, Stack, make_stack, service_rate, summary, use_endpoint
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.hook_store import _to_item
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.hooks import Hook, now
from oms_webhooks.rules.dispatch import DELIVERY_WORKERS, Dispatcher

HOOKS = 1000
DELAY_MS = 50
HOSTS = 8
CAP = 16  # the template's default
LIFTED = DELIVERY_WORKERS  # a cap this high never binds


@contextmanager
def receivers(delay_ms: float, listeners: int) -> Iterator[list[int]]:
    """One receiver process listening on `listeners` ports: that many subscriber hosts to a client."""
    command = [sys.executable, "-m", "bench.receiver", "--delay-ms", str(delay_ms), "--listeners", str(listeners)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=services.ROOT)
    services.off_dispatcher_cpu(process.pid)
    try:
        assert process.stdout is not None
        yield [int(port) for port in process.stdout.readline().split()]
    finally:
        process.terminate()
        process.wait(timeout=10)


def seed(stack: Stack, ports: list[int], event_type: str) -> None:
    """HOOKS active hooks with secrets, dealt round-robin over the ports (set-up, not measured)."""
    moment = now()
    hooks = [
        Hook(
            id=i + 1,
            owner=f"shop-{i % 50}",
            event_type=event_type,
            target_url=f"http://127.0.0.1:{ports[i % len(ports)]}/h/{i}",
            secret_key=SECRET,
            additional_headers={"X-Shop": f"shop-{i % 50}"},
            created_date=moment,
            modified_date=moment,
        )
        for i in range(HOOKS)
    ]
    items = [{"PutRequest": {"Item": _to_item(h)}} for h in hooks]
    for start in range(0, len(items), 25):
        request = {stack.hooks.table: items[start : start + 25]}
        while request:
            request = dynamodb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def measure_case(endpoint: str, ports: list[int], cap: int, repeats: int, say: Callable[[str], None]) -> dict:
    label = f"{len(ports)} host(s), cap {cap}"
    stack = make_stack(endpoint, f"cap-{cap}-{len(ports)}-{uuid.uuid4().hex[:6]}")
    seed(stack, ports, "package.created")
    sender = Sender(AddressPolicy(allow_loopback=True), connections_per_host=cap)
    dispatcher = Dispatcher(stack.hooks, stack.deliveries, sender, stack.retries)
    rates = []
    with services.dispatcher_cpu():  # its threads on a CPU of their own, as in a Lambda sandbox
        for run in range(repeats + 1):  # the first (cold) run opens connections and reads the hooks: not counted
            say(f"{label}: run {run + 1}/{repeats + 1}")
            rate, _, _ = service_rate(dispatcher, "package.created")
            if run:
                rates.append(rate)
        dispatcher.pool.shutdown()
    sender.pool.clear()
    return {"hosts": len(ports), "cap": cap, "service": summary(rates)}


def measure_host_cap(endpoint: str, spread: list[int], single: int, repeats: int, say: Callable[[str], None]) -> dict:
    cases = [
        measure_case(endpoint, spread, LIFTED, repeats, say),
        measure_case(endpoint, spread, CAP, repeats, say),
        measure_case(endpoint, [single], CAP, repeats, say),
    ]
    when = datetime.now(UTC).isoformat(timespec="seconds")
    return {"hooks": HOOKS, "delay_ms": DELAY_MS, "cases": cases, "load": _load(), "date": when}


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def render(result: dict[str, Any], previous: float | None = None) -> list[str]:
    """The section RESULTS.md shows; `previous` is section 1's warm median at N = 1,000 and 50 ms, if known."""
    lifted, capped, single = result["cases"]
    ratio = capped["service"]["median"] / lifted["service"]["median"]
    ceiling = CAP / (DELAY_MS / 1000)

    def row(name: str, case: dict[str, Any]) -> str:
        s = case["service"]
        spread = f"{s['median']:,.0f} ({s['min']:,.0f}-{s['max']:,.0f}, {s['runs']} runs)"
        return f"| {name} | {case['hosts']} | {case['cap']} | {spread} |"

    lines = [
        "## 1b. Fan-out with the per-host cap",
        "",
        f"Run {result.get('date', 'with the rest')} (`python -m bench.host_cap`, also part of `make bench`).",
        f"One event to {result['hooks']:,} hooks, receivers answering after {result['delay_ms']} ms, one dispatcher",
        f"({DELIVERY_WORKERS} workers), warm runs; load average {result['load']} (on 2 cores) when it ran.",
        "`MaxConnectionsPerHost` (default 16) caps requests and pooled connections to one host (scheme, name, port)",
        "in a process; the dispatcher starts at most that many deliveries per host at once, so a crowded host waits",
        "its turn without holding the workers of the other hosts. Hooks spread over 8 hosts (8 ports), as a real",
        "fan-out's are:",
        "",
        "| hooks on | hosts | cap | deliveries/s, warm |",
        "|---|---:|---:|---:|",
        row(f"8 hosts, cap lifted ({LIFTED}: the workers bind first)", lifted),
        row("8 hosts, cap at its default", capped),
        row("one host, cap at its default", single),
        "",
        f"Capped against lifted, side by side: {ratio:.2f}x, {_verdict(ratio)}.",
        f"On one host the cap binds by design: {CAP} at a time at {DELAY_MS} ms is at most {ceiling:,.0f}/s. Section 1",
        f"runs with the cap lifted ({LIFTED} at once to its one receiver, the flood the cap prevents), so that its",
        "figures stay comparable with earlier runs.",
    ]
    if previous is not None:
        lines.append(f"Section 1's figure for the same N and receiver, one host, cap lifted: {previous:,.0f}/s.")
    return [*lines, ""]


def _verdict(ratio: float) -> str:
    if ratio >= 1:
        return "not slower (the difference is the machine's noise)"
    slower = f"{(1 - ratio) * 100:.0f} % slower"
    return f"{slower}, within the 10 % allowed" if ratio >= 0.9 else f"**{slower}, more than the 10 % allowed**"


def main() -> int:
    with services.moto() as moto_port, receivers(DELAY_MS, HOSTS) as spread, receivers(DELAY_MS, 1) as single:
        endpoint = f"http://127.0.0.1:{moto_port}"
        use_endpoint(endpoint)
        result = measure_host_cap(endpoint, spread, single[0], 3, lambda what: print(what, file=sys.stderr))
    out = services.ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "host_cap.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print("\n".join(render(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
