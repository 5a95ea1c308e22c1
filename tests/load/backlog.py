"""A day of the local stack, compressed: hooks whose receivers are gone, their retries pending, then a fresh fan-out.

Measures what a developer feels after hours of use: memory (RSS of every process of the stack), CPU while
nothing is published, and how long a fresh fan-out's first delivery takes after PutEvents.
`python -m tests.load.backlog --dead-hooks 200 --events 25 [--soak-seconds 60]` (figures in the README).
Bounded by count and time, stops everything it starts; receivers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from oms_webhooks_cli.endpoint import Target
from tests.load.processes import Usage, usage
from tests.load.soak import soak
from tests.receiver import Receiver
from tests.stack_log import faults_in_log

DEAD_TYPE = "transfer.status.cancelled"  # not the soak's type: its stream reaches live hooks only
FRESH_TYPE = "stock_location.created"
# The dead hooks' schedule: a retry every two minutes for an hour, so the backlog stays pending all along.
RETRY_SECONDS = 120
DEAD_RETRIES = {"choice": "fixed", "kwargs": {"seconds": RETRY_SECONDS}, "max_retries": 30}


@dataclass
class BacklogResult:
    dead_hooks: int
    events: int
    dead_deliveries: int
    retry_queue_messages: int
    backlog_seconds: float  # until every dead delivery had its first attempt
    idle: Usage
    fresh_hooks: int
    first_delivery_ms: list[float] = field(default_factory=list)
    last_delivery_ms: list[float] = field(default_factory=list)
    missing: int = 0  # fresh deliveries not there within two minutes
    retrying: Usage | None = None  # over a whole cycle of the dead hooks' retries: peak memory, mean CPU


def retry_cycle(root: int, seconds: float) -> Usage:
    """Peak memory and mean CPU of the stack over `seconds`, sampled every five."""
    samples = [usage(root, 5) for _ in range(int(seconds // 5))]
    return Usage(max(s.rss_mb for s in samples), round(sum(s.cpu_percent for s in samples) / len(samples), 1))


def refused_url() -> tuple[socket.socket, str]:
    """A port bound but never listening: connections are refused, as to a receiver that has gone away."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, f"http://127.0.0.1:{holder.getsockname()[1]}/gone"


def measure(
    state: dict[str, Any], token: str, dead_hooks: int, events: int, fresh_hooks: int, idle_seconds: float
) -> BacklogResult:
    api, bus = state["api_url"], state["outputs"]["EventBusName"]
    aws = Target({}, state["aws_endpoint"])
    sqs, eventbridge = aws.client("sqs"), aws.client("events")
    retry_url = state["outputs"]["RetryQueueUrl"]
    http = requests.Session()
    http.headers["Authorization"] = f"Token {token}"
    holder, dead_url = refused_url()
    receiver = Receiver()
    try:
        for i in range(dead_hooks):
            answer = http.post(
                f"{api}/whisperer/hooks/",
                json={"event_type": DEAD_TYPE, "target_url": f"{dead_url}/{i}", "retry_countdown_config": DEAD_RETRIES},
            )
            answer.raise_for_status()
        started = time.monotonic()
        for first in range(0, events, 10):
            entries = [
                {"EventBusName": bus, "Source": "oms", "DetailType": DEAD_TYPE, "Detail": json.dumps({"payload": {}})}
                for _ in range(first, min(events, first + 10))
            ]
            eventbridge.put_events(Entries=entries)
        expected, pending = dead_hooks * events, 0
        deadline = time.monotonic() + 60 + expected / 20
        while pending < expected and time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=retry_url, AttributeNames=["All"])["Attributes"]
            pending = sum(int(attributes[k]) for k in attributes if k.startswith("ApproximateNumberOfMessages"))
            time.sleep(2)
        backlog_seconds = time.monotonic() - started
        time.sleep(5)  # the last fan-outs settle
        idle = usage(state["pid"], idle_seconds)
        for i in range(fresh_hooks):
            http.post(
                f"{api}/whisperer/hooks/", json={"event_type": FRESH_TYPE, "target_url": receiver.url(f"/fresh/{i}")}
            ).raise_for_status()
        result = BacklogResult(dead_hooks, events, expected, pending, backlog_seconds, idle, fresh_hooks)
        for run in range(3):
            count = run + 1
            published = time.time()
            eventbridge.put_events(
                Entries=[
                    {
                        "EventBusName": bus,
                        "Source": "oms",
                        "DetailType": FRESH_TYPE,
                        "Detail": json.dumps({"payload": {}}),
                    }
                ]
            )
            deadline = time.monotonic() + 120
            arrivals = [
                got[run].at
                for i in range(fresh_hooks)
                if len(got := receiver.wait_for(f"/fresh/{i}", count, max(0.0, deadline - time.monotonic()))) > run
            ]
            result.missing += fresh_hooks - len(arrivals)
            if arrivals:
                result.first_delivery_ms.append(round((min(arrivals) - published) * 1000, 1))
                result.last_delivery_ms.append(round((max(arrivals) - published) * 1000, 1))
            time.sleep(2)
        result.retrying = retry_cycle(state["pid"], RETRY_SECONDS + 30)
        return result
    finally:
        receiver.stop()
        holder.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dead-hooks", type=int, default=200)
    parser.add_argument("--events", type=int, default=25, help="events published to the dead hooks")
    parser.add_argument("--fresh-hooks", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument(
        "--soak-seconds", type=float, default=0.0, help="then a stream of 20 events/s to 20 live hooks this long"
    )
    parser.add_argument("--keep-log", help="copy the stack's log here")
    args = parser.parse_args()
    from bench.services import local_stack

    with tempfile.TemporaryDirectory() as home, local_stack(Path(home)) as state:
        from oms_webhooks.adapters.tokens import TokenStore

        dynamodb = Target({}, state["aws_endpoint"]).client("dynamodb")
        token = TokenStore(state["outputs"]["TokensTableName"], client=dynamodb).create(f"day-{uuid.uuid4().hex[:6]}")
        fresh = usage(state["pid"], 5)
        result = measure(state, token, args.dead_hooks, args.events, args.fresh_hooks, args.idle_seconds)
        figures: dict[str, Any] = {"fresh_stack": asdict(fresh), **asdict(result)}
        if args.soak_seconds:
            stream = soak(
                state["api_url"],
                state["aws_endpoint"],
                state["outputs"]["EventBusName"],
                token,
                20,
                20,
                args.soak_seconds,
            )
            figures["soak"] = {**asdict(stream), "ok": stream.ok, "after": asdict(usage(state["pid"], 5))}
        log = (Path(home) / "stack.log").read_text(errors="replace")
        figures["tracebacks_in_log"] = len(faults_in_log(log))
        if args.keep_log:
            Path(args.keep_log).write_text(log)
    print(json.dumps(figures, indent=2))
    return 0 if figures["tracebacks_in_log"] == 0 and figures.get("soak", {}).get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
