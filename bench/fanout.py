"""Fan-out: the dispatcher delivering one event to N hooks, against a one-at-a-time baseline, same receivers.

The dispatcher runs in this process against moto in another process (the local AWS) and a receiver in a
third, so the figures include recording every attempt in DynamoDB and queueing retries in SQS.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import requests

from bench import services
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import dynamodb, sqs
from oms_webhooks.adapters.circuit_store import CircuitStore
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore, _to_item
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.circuit import CircuitRules
from oms_webhooks.domain.deliveries import Delivery, delivery_id
from oms_webhooks.domain.hooks import Hook, now
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.attempt import delivery_headers
from oms_webhooks.rules.circuit_breaker import Breaker
from oms_webhooks.rules.dispatch import DELIVERY_WORKERS, Dispatcher
from oms_webhooks_cli.local.stack import LOCAL_CREDENTIALS, create_resources
from oms_webhooks_cli.template import Template

PAYLOAD = {"id": 73, "number": "000000073", "city": "İstanbul", "state": {"name": "Packed", "enum_value": "400"}}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def use_endpoint(endpoint: str) -> None:
    os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint})


@dataclass
class Stack:
    hooks: HookStore
    deliveries: DeliveryStore
    retries: RetryQueue


def make_stack(endpoint: str, name: str) -> Stack:
    template = Template(stack_name=name, aws_endpoint=endpoint, parameters={"EventBusName": f"{name}-bus"})
    create_resources(template, lambda service: boto3.client(service, endpoint_url=endpoint))
    env = template.functions()["DispatcherFunction"].environment
    return Stack(
        HookStore(env["HOOKS_TABLE"]), DeliveryStore(env["DELIVERIES_TABLE"]), RetryQueue(env["RETRY_QUEUE_URL"])
    )


def breaker(stack: Stack) -> Breaker:
    """The circuit breaker with the template's defaults, as the functions run it."""
    return Breaker(CircuitRules(), CircuitStore(stack.hooks.table), stack.hooks)


def seed_hooks(stack: Stack, n: int, receiver_port: int, event_type: str, first_id: int = 1) -> list[Hook]:
    """N active hooks with secrets, each its own URL on the receiver; written in batches (set-up, not measured)."""
    moment = now()
    hooks = [
        Hook(
            id=first_id + i,
            owner=f"shop-{i % 50}",
            event_type=event_type,
            target_url=f"http://127.0.0.1:{receiver_port}/h/{i}",
            secret_key=SECRET,
            additional_headers={"X-Shop": f"shop-{i % 50}"},
            created_date=moment,
            modified_date=moment,
        )
        for i in range(n)
    ]
    items = [{"PutRequest": {"Item": _to_item(h)}} for h in hooks]
    for start in range(0, len(items), 25):
        request = {stack.hooks.table: items[start : start + 25]}
        while request:
            request = dynamodb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return hooks


class CallCounter:
    """Counts AWS API calls by operation, from botocore's own events."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        for client in (dynamodb(), sqs()):
            client.meta.events.register("before-call", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def dynamodb_calls(self) -> int:
        return sum(v for k, v in self.calls.items() if k.startswith("dynamodb."))


def service_rate(dispatcher: Dispatcher, event_type: str) -> tuple[float, int, dict[str, int]]:
    """One event dispatched; deliveries/s, DynamoDB calls and every call by operation."""
    counter = CallCounter()
    counter.calls.clear()
    started = time.perf_counter()
    report = dispatcher.dispatch(OmsEvent(str(uuid.uuid4()), event_type, PAYLOAD))
    took = time.perf_counter() - started
    if report.delivered != report.hooks:
        raise RuntimeError(f"only {report.delivered} of {report.hooks} delivered: {report}")
    return report.hooks / took, counter.dynamodb_calls(), dict(counter.calls)


def baseline_rate(hooks: list[Hook], sample: int) -> float:
    """How a Celery task per hook with requests.post delivers: one at a time, a new connection each."""
    event_id = str(uuid.uuid4())
    chosen = hooks[:sample]
    started = time.perf_counter()
    for hook in chosen:
        delivery = Delivery(
            uuid=delivery_id(event_id, hook.id),
            owner=hook.owner,
            webhook=hook.id,
            event_id=event_id,
            event_type=hook.event_type,
            request_payload=PAYLOAD,
            target_url=hook.target_url,
            created_date=now(),
            modified_date=now(),
        )
        body = delivery.body()
        answer = requests.post(hook.target_url, data=body, headers=delivery_headers(delivery, hook, body), timeout=15)
        answer.raise_for_status()
    return len(chosen) / (time.perf_counter() - started)


def cpu_seconds() -> float:
    """This process's CPU, every thread (the delivery pool, the record writers, botocore's), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def measure(
    endpoint: str,
    receiver_port: int,
    n: int,
    delay_ms: float,
    repeats: int,
    progress: Callable[[str], None],
    baseline_runs: bool = True,
) -> dict[str, Any]:
    """Warm dispatches of one event to N hooks: deliveries/s and this process's CPU per delivery (moto and the
    receiver run in processes of their own); then, unless `baseline_runs` is off, the one-at-a-time baseline."""
    stack = make_stack(endpoint, f"bench-{n}-{int(delay_ms)}-{uuid.uuid4().hex[:6]}")
    event_type = "package.created"
    hooks = seed_hooks(stack, n, receiver_port, event_type)
    # One dispatcher for all runs, as a warm Lambda keeps one: the first run is the cold one.
    sender = Sender(AddressPolicy(allow_loopback=True), connections_per_host=DELIVERY_WORKERS)  # the cap lifted
    dispatcher = Dispatcher(stack.hooks, stack.deliveries, sender, stack.retries, breaker=breaker(stack))
    service, cpu_ms, calls = [], [], []
    operations: dict[str, int] = {}
    cold = 0.0
    with services.dispatcher_cpu():  # its threads on a CPU of their own, as in a Lambda sandbox
        for run in range(repeats + 1):
            progress(f"fan-out N={n} receiver {delay_ms:g} ms: service run {run + 1}/{repeats + 1}")
            cpu = cpu_seconds()
            rate, dynamo_calls, operations = service_rate(dispatcher, event_type)
            if run == 0:
                cold = rate
            else:
                service.append(rate)
                cpu_ms.append((cpu_seconds() - cpu) * 1000 / n)
            calls.append(dynamo_calls)
        dispatcher.pool.shutdown()
        dispatcher.writers.shutdown()
    found = {
        "n": n,
        "delay_ms": delay_ms,
        "service": summary(service),
        "service_cold": cold,
        "cpu_ms": summary(cpu_ms),
        "dynamodb_calls": calls[-1],
        "operations": operations,
    }
    if not baseline_runs:
        return found
    sample = min(n, 200)
    baseline = []
    for run in range(max(2, repeats - 2)):
        progress(f"fan-out N={n} receiver {delay_ms:g} ms: baseline run {run + 1} ({sample} deliveries)")
        baseline.append(baseline_rate(hooks, sample))
    return {
        **found,
        "baseline": summary(baseline),
        "baseline_sample": sample,
        "ratio": statistics.median(service) / statistics.median(baseline),
    }


if __name__ == "__main__":  # a quick look: python -m bench.fanout ENDPOINT PORT N DELAY_MS
    import sys

    use_endpoint(sys.argv[1])
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), 3, print), indent=2))
