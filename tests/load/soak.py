"""A sustained stream on the local stack: E events/s to H hooks for S seconds, every delivery counted by uuid.

`make soak` runs 20 events/s to 20 hooks for 60 s (what the local stack on 2 cores sustains; see
docs/RELIABILITY.md); tests/e2e/test_load.py runs a short version in `make test`.
Bounded by count and time, and it stops by itself; receivers listen on 127.0.0.1 only.
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

    @property
    def ok(self) -> bool:
        return self.undelivered == 0 and self.duplicated == 0


class Tally:
    """Deliveries per event uuid at the receiver, reading only what arrived since the last look (re-reading
    60,000 bodies four times a second would take the CPU the stack is being measured on)."""

    def __init__(self, receiver: Receiver, paths: list[str]) -> None:
        self.receiver, self.paths = receiver, paths
        self.read = dict.fromkeys(paths, 0)
        self.seen: Counter[str] = Counter()

    def update(self) -> Counter[str]:
        for path in self.paths:
            arrived = self.receiver.received[path]
            new = arrived[self.read[path] : len(arrived)]
            self.read[path] += len(new)
            self.seen.update(json.loads(r.body)["event"]["uuid"] for r in new)
        return self.seen


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

        def publish(seq: int) -> str:
            entry = {
                "EventBusName": bus,
                "Source": "oms",
                "DetailType": EVENT_TYPE,
                "Detail": json.dumps({"payload": {"seq": seq}}),
            }
            return str(events.put_events(Entries=[entry])["Entries"][0]["EventId"])

        started = time.monotonic()
        limit = int(rate * seconds)
        publishing_pool = ThreadPoolExecutor(PUBLISHERS)  # the OMS publishes from many workers, not one loop
        pending = []
        for seq in range(limit):
            if time.monotonic() - started > seconds + 5:
                break
            due = started + seq / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            pending.append(publishing_pool.submit(publish, seq))
        event_ids = [future.result(timeout=60) for future in pending]
        publishing_pool.shutdown()
        publishing = time.monotonic() - started
        expected = {delivery_id(e, h) for e in event_ids for h in created}
        drain_started = time.monotonic()
        tally = Tally(receiver, [f"/soak/{i}" for i in range(hooks)])
        while time.monotonic() - drain_started < drain_timeout:
            if expected <= tally.update().keys():
                break
            time.sleep(0.25)
        time.sleep(1.0)  # anything sent twice would arrive now
        seen = tally.update()
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
        )
    finally:
        for hook_id in created:
            http.delete(f"{api_url}/whisperer/hooks/{hook_id}/")
        receiver.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    from bench.services import local_stack

    with tempfile.TemporaryDirectory() as home, local_stack(Path(home)) as state:
        from oms_webhooks.adapters.tokens import TokenStore

        dynamodb = Target({}, state["aws_endpoint"]).client("dynamodb")
        token = TokenStore(state["outputs"]["TokensTableName"], client=dynamodb).create(f"soak-{uuid.uuid4().hex[:6]}")
        result = soak(
            state["api_url"],
            state["aws_endpoint"],
            state["outputs"]["EventBusName"],
            token,
            args.rate,
            args.hooks,
            args.seconds,
            drain_timeout=300,
        )
    print(json.dumps({**asdict(result), "ok": result.ok}, indent=2))
    return 0 if result.ok else 1


def as_markdown(result: SoakResult) -> str:
    figures: dict[str, Any] = asdict(result)
    return "\n".join(f"- {name}: {value}" for name, value in figures.items())


if __name__ == "__main__":
    sys.exit(main())
