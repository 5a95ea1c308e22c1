"""End to end on the local stack: publish on the bus → receipt at a real receiver, over a paced stream."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench.services import local_stack
from oms_webhooks_cli.endpoint import Target
from tests.receiver import Receiver


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def measure_latency(events: int = 200, interval: float = 0.025) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home, local_stack(Path(home)) as state:
        receiver = Receiver()
        try:
            http = requests.Session()
            token = _token(Path(home), state)
            http.headers["Authorization"] = f"Token {token}"
            answer = http.post(
                f"{state['api_url']}/whisperer/hooks/",
                json={"event_type": "package.created", "target_url": receiver.url("/latency")},
            )
            answer.raise_for_status()
            bus = Target({}, state["aws_endpoint"]).client("events")
            sent: dict[int, float] = {}
            deadline = time.monotonic() + 120
            for i in range(events):
                sent[i] = time.time()
                bus.put_events(
                    Entries=[
                        {
                            "EventBusName": state["outputs"]["EventBusName"],
                            "Source": "oms",
                            "DetailType": "package.created",
                            "Detail": json.dumps({"payload": {"seq": i}}),
                        }
                    ]
                )
                time.sleep(interval)
                if time.monotonic() > deadline:
                    break
            received = receiver.wait_for("/latency", len(sent), timeout=30)
            latencies = [(r.at - sent[json.loads(r.body)["payload"]["seq"]]) * 1000 for r in received]
        finally:
            receiver.stop()
    return {
        "events": len(sent),
        "received": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "mean_ms": statistics.mean(latencies),
    }


def _token(home: Path, state: dict[str, Any]) -> str:
    from oms_webhooks.adapters.tokens import TokenStore

    client = Target({}, state["aws_endpoint"]).client("dynamodb")
    return TokenStore(state["outputs"]["TokensTableName"], client=client).create(f"bench-{uuid.uuid4().hex[:6]}")


if __name__ == "__main__":  # section 3 alone: `python -m bench.latency`
    print(json.dumps(measure_latency(), indent=2))
