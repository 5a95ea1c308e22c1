"""requests against the sender's urllib3 path, side by side: the same signed deliveries, one thread, one receiver.

Each client POSTs the same body with the same headers (a sample event's delivery, signed as the dispatcher signs it)
over one kept-alive connection to the benchmark receiver, which runs in a process of its own and answers at once.
Figures per client: requests/s in one thread and CPU per request (`getrusage(RUSAGE_SELF)`: this process alone,
every thread, user + system). The clients take turns, round after round, so a noisy machine weighs on each alike.

- `requests.Session`: `session.post(url, data=body, headers=headers, allow_redirects=False, timeout=...)`.
- `urllib3 PoolManager`: `PoolManager.request(...)` as a plain urllib3 client writes it (no address checks).
- `Sender.post`: the dispatcher's path: urllib3 with the address guard, the host's slot, the attempt's deadline
  and the capped read of the answer.

Run alone: `python -m bench.transport` (also part of `make bench`).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import urllib3

from bench import services
from bench.fanout import cpu_seconds
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.deliveries import Delivery, delivery_id
from oms_webhooks.domain.hooks import Hook, now
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.attempt import delivery_headers

EVENT = Path(__file__).resolve().parents[1] / "events" / "eventbridge" / "package.created.json"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TIMEOUT = 15.0

Post = Callable[[], int]


def signed_delivery(url: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers the dispatcher would send for the sample event to a hook with a secret and a header."""
    event = OmsEvent.from_eventbridge(json.loads(EVENT.read_text()))
    moment = now()
    hook = Hook(
        id=1,
        owner="shop-1",
        event_type=event.event_type,
        target_url=url,
        secret_key=SECRET,
        additional_headers={"X-Shop": "shop-1"},
        created_date=moment,
        modified_date=moment,
    )
    delivery = Delivery(
        uuid=delivery_id(event.id, hook.id),
        owner=hook.owner,
        webhook=hook.id,
        event_id=event.id,
        event_type=event.event_type,
        request_payload=event.payload,
        target_url=url,
        created_date=moment,
        modified_date=moment,
    )
    body = delivery.body()
    return body, delivery_headers(delivery, hook, body)


def clients(url: str, body: bytes, headers: dict[str, str]) -> dict[str, Post]:
    session = requests.Session()
    manager = urllib3.PoolManager()
    sender = Sender(AddressPolicy(allow_loopback=True))

    def with_requests() -> int:
        return session.post(url, data=body, headers=headers, allow_redirects=False, timeout=TIMEOUT).status_code

    def with_urllib3() -> int:
        answer = manager.request(
            "POST", url, body=body, headers=headers, retries=False, redirect=False, timeout=TIMEOUT
        )
        return answer.status

    def with_sender() -> int:
        return sender.post(url, body, headers).status_code or 0

    return {"requests.Session": with_requests, "urllib3 PoolManager": with_urllib3, "Sender.post": with_sender}


def run_once(post: Post, count: int) -> tuple[float, float]:
    """(requests/s, CPU µs per request) over `count` POSTs."""
    cpu, clock = cpu_seconds(), time.perf_counter()
    for _ in range(count):
        if post() != 200:
            raise RuntimeError("the receiver did not answer 200")
    cpu, took = cpu_seconds() - cpu, time.perf_counter() - clock
    return count / took, cpu * 1e6 / count


def measure_transport(port: int, count: int = 2000, rounds: int = 5) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/hook"
    body, headers = signed_delivery(url)
    posts = clients(url, body, headers)
    for post in posts.values():  # connections open, code paths warm
        run_once(post, 200)
    found: dict[str, dict[str, list[float]]] = {name: {"rate": [], "cpu_us": []} for name in posts}
    for _ in range(rounds):
        for name, post in posts.items():
            rate, cpu_us = run_once(post, count)
            found[name]["rate"].append(rate)
            found[name]["cpu_us"].append(cpu_us)
    return {
        "count": count,
        "rounds": rounds,
        "body_bytes": len(body),
        "headers": len(headers),
        "clients": {
            name: {"rate": statistics.median(v["rate"]), "cpu_us": statistics.median(v["cpu_us"])}
            for name, v in found.items()
        },
        "load": [os.getloadavg()[0]],
    }


def render(t: dict[str, Any]) -> list[str]:
    sender = t["clients"]["Sender.post"]
    lines = [
        "## 1d. Transport: requests against urllib3",
        "",
        f"The same signed delivery ({t['body_bytes']:,}-byte body, {t['headers']} headers) POSTed over one kept-alive",
        f"connection to an instant receiver in its own process, one thread, {t['count']:,} requests a round, the",
        f"clients in turn, medians of {t['rounds']} rounds (`python -m bench.transport`; load average",
        f"{t['load'][0]:.2f}).",
        "CPU is this process's, every thread, user + system.",
        "",
        "| client | requests/s per thread | CPU µs per request | CPU vs `Sender.post` |",
        "|---|---:|---:|---:|",
    ]
    for name, c in t["clients"].items():
        lines.append(f"| `{name}` | {c['rate']:,.0f} | {c['cpu_us']:.0f} | {c['cpu_us'] / sender['cpu_us']:.2f}x |")
    return [*lines, ""]


def main() -> int:
    with services.receiver(0) as port:
        result = measure_transport(port)
    print(json.dumps(result, indent=2))
    print("\n".join(render(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
