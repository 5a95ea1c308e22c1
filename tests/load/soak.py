"""A sustained stream on the local stack: E events/s to H hooks for S seconds, every delivery counted by uuid;
the stack's log must then hold no traceback (a 500 of moto's leaves one, though botocore retries it quietly).

`make soak` runs 50 events/s to 20 hooks for 60 s (issue 14's target; figures in docs/RELIABILITY.md);
tests/e2e/test_load.py runs a short version in `make test`. Bounded by count and time, and it stops by itself;
receivers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks_cli.endpoint import Target
from tests.receiver import Receiver
from tests.stack_log import faults_in_log

EVENT_TYPE = "stock_location.updated"
PUBLISHERS = 8


@dataclass
class SoakResult:
    rate: float
    hooks: int
    seconds: float
    events_published: int
    expected: int
    delivered: int
    undelivered: int  # not delivered by the end of the drain window
    duplicated: int
    publish_rate: float
    drain_seconds: float
    latency_ms: dict[str, float]  # from PutEvents' answer to the first arrival at the receiver

    tracebacks_in_stack_log: int = 0  # a function that raised, or a 500 of moto's that botocore retried quietly

    @property
    def ok(self) -> bool:
        return self.undelivered == 0 and self.duplicated == 0 and self.tracebacks_in_stack_log == 0


class Tally:
    """Deliveries per event uuid at the receiver, reading only what arrived since the last look (re-reading
    60,000 bodies four times a second would take the CPU the stack is being measured on)."""

    def __init__(self, receiver: Receiver, paths: list[str]) -> None:
        self.receiver, self.paths = receiver, paths
        self.read = dict.fromkeys(paths, 0)
        self.seen: Counter[str] = Counter()
        self.first: dict[str, float] = {}

    def update(self) -> Counter[str]:
        for path in self.paths:
            arrived = self.receiver.received[path]
            new = arrived[self.read[path] : len(arrived)]
            self.read[path] += len(new)
            for received in new:
                uuid_ = json.loads(received.body)["event"]["uuid"]
                self.seen[uuid_] += 1
                self.first.setdefault(uuid_, received.at)
        return self.seen


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of sorted `values`, to a tenth of a millisecond."""
    if not values:
        return {}
    at = {"p50": 0.50, "p95": 0.95, "p99": 0.99, "max": 1.0}
    return {name: round(values[min(len(values) - 1, int(q * len(values)))], 1) for name, q in at.items()}


def soak(
    api_url: str,
    aws_endpoint: str,
    bus: str,
    token: str,
    rate: float,
    hooks: int,
    seconds: float,
    drain_timeout: float = 60.0,
) -> SoakResult:
    receiver = Receiver()
    http = requests.Session()
    http.headers["Authorization"] = f"Token {token}"
    created = []
    try:
        for i in range(hooks):
            answer = http.post(
                f"{api_url}/whisperer/hooks/", json={"event_type": EVENT_TYPE, "target_url": receiver.url(f"/soak/{i}")}
            )
            answer.raise_for_status()
            created.append(answer.json()["id"])
        events = Target({}, aws_endpoint).client("events")

        published_at: dict[str, float] = {}

        def publish(seq: int) -> str:
            entry = {
                "EventBusName": bus,
                "Source": "oms",
                "DetailType": EVENT_TYPE,
                "Detail": json.dumps({"payload": {"seq": seq}}),
            }
            event_id = str(events.put_events(Entries=[entry])["Entries"][0]["EventId"])
            published_at[event_id] = time.time()
            return event_id

        started = time.monotonic()
        limit = int(rate * seconds)
        publishing_pool = ThreadPoolExecutor(PUBLISHERS)  # the OMS publishes from many workers, not one loop
        pending = []
        for seq in range(limit):
            if time.monotonic() - started > seconds + 5:
                break
            time.sleep(max(0.0, started + seq / rate - time.monotonic()))
            pending.append(publishing_pool.submit(publish, seq))
        event_ids = [future.result(timeout=60) for future in pending]
        publishing_pool.shutdown()
        publishing = time.monotonic() - started
        event_of = {delivery_id(e, h): e for e in event_ids for h in created}
        expected = set(event_of)
        drain_started = time.monotonic()
        tally = Tally(receiver, [f"/soak/{i}" for i in range(hooks)])
        while time.monotonic() - drain_started < drain_timeout:
            if expected <= tally.update().keys():
                break
            time.sleep(0.25)
        time.sleep(1.0)  # anything sent twice would arrive now
        seen = tally.update()
        latencies = sorted(1000 * (at - published_at[event_of[u]]) for u, at in tally.first.items() if u in event_of)
        return SoakResult(
            rate=rate,
            hooks=hooks,
            seconds=seconds,
            events_published=len(event_ids),
            expected=len(expected),
            delivered=len(expected & set(seen)),
            undelivered=len(expected - set(seen)),
            duplicated=sum(count - 1 for count in seen.values() if count > 1),
            publish_rate=len(event_ids) / publishing,
            drain_seconds=time.monotonic() - drain_started,
            latency_ms=percentiles(latencies),
        )
    finally:
        for hook_id in created:
            http.delete(f"{api_url}/whisperer/hooks/{hook_id}/")
        receiver.stop()


def soak_stack(state: dict[str, Any], rate: float, hooks: int, seconds: float, drain_timeout: float) -> SoakResult:
    """`soak` on a running local stack (`bench.services.local_stack`'s state), as an owner of its own."""
    from oms_webhooks.adapters.tokens import TokenStore

    dynamodb = Target({}, state["aws_endpoint"]).client("dynamodb")
    token = TokenStore(state["outputs"]["TokensTableName"], client=dynamodb).create(f"soak-{uuid.uuid4().hex[:6]}")
    outputs = state["outputs"]
    return soak(
        state["api_url"], state["aws_endpoint"], outputs["EventBusName"], token, rate, hooks, seconds, drain_timeout
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--keep-log", type=Path, help="copy the stack's log here")
    args = parser.parse_args()
    from bench.services import local_stack

    with tempfile.TemporaryDirectory() as home:
        with local_stack(Path(home)) as state:
            result = soak_stack(state, args.rate, args.hooks, args.seconds, drain_timeout=300)
        log = (Path(home) / "stack.log").read_text(errors="replace")
    result.tracebacks_in_stack_log = len(faults_in_log(log))
    if args.keep_log:
        args.keep_log.write_text(log)
    print(json.dumps({**asdict(result), "ok": result.ok}, indent=2))
    return 0 if result.ok else 1


def as_markdown(result: SoakResult) -> str:
    figures: dict[str, Any] = asdict(result)
    return "\n".join(f"- {name}: {value}" for name, value in figures.items())


if __name__ == "__main__":
    sys.exit(main())
