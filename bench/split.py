"""10,000 subscribers: the dispatcher splits the fan-out into batches on the fan-out queue; each batch is one
invocation. Here the batches run one after another in this process; deployed, they run in parallel."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3

from bench.fanout import PAYLOAD, CallCounter, breaker, make_stack, seed_hooks
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.queues import FanoutBatch, FanoutQueue
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.dispatch import Dispatcher


def measure_split(endpoint: str, receiver_port: int, n: int, batch_size: int) -> dict[str, Any]:
    stack = make_stack(endpoint, f"split-{uuid.uuid4().hex[:6]}")
    seed_hooks(stack, n, receiver_port, "package.created")
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    queue_url = sqs.create_queue(QueueName=f"fanout-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    sender = Sender(AddressPolicy(allow_loopback=True))
    dispatcher = Dispatcher(
        stack.hooks,
        stack.deliveries,
        sender,
        stack.retries,
        workers=64,
        fanout=FanoutQueue(queue_url),
        batch_size=batch_size,
        breaker=breaker(stack),
    )
    counter = CallCounter()
    counter.calls.clear()
    started = time.perf_counter()
    report = dispatcher.dispatch(OmsEvent(str(uuid.uuid4()), "package.created", PAYLOAD))
    coordinator = time.perf_counter() - started
    batch_times, delivered = [], 0
    for _ in range(report.batches + 5):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            worker = Dispatcher(  # a new invocation
                stack.hooks, stack.deliveries, sender, stack.retries, workers=64, breaker=breaker(stack)
            )
            began = time.perf_counter()
            done = worker.dispatch_batch(FanoutBatch.model_validate_json(message["Body"]))
            batch_times.append(time.perf_counter() - began)
            delivered += done.delivered
            worker.pool.shutdown()
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {
        "n": n,
        "batch_size": batch_size,
        "batches": report.batches,
        "delivered": delivered,
        "coordinator_s": coordinator,
        "slowest_batch_s": max(batch_times),
        "sequential_s": coordinator + sum(batch_times),
        "parallel_estimate_s": coordinator + max(batch_times),
        "dynamodb_calls": counter.dynamodb_calls(),
        "budget": -(-n // 25) + 5,
    }
