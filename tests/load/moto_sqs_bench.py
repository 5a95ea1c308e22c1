"""What one SQS call costs the local stack's moto while thousands of retries wait hidden in the queue.

Starts moto as the local stack does (its own process, patched, on 127.0.0.1), hides `--hidden` messages (half
delayed, half received and hidden, as the retrier leaves them), then runs `--cycles` cycles of send, receive,
change-visibility and delete of one message (with `--batch`: ten of each, in batch calls), and prints calls/s
and moto's CPU per call. `--direct` calls moto's SQS backend in this process instead, without HTTP: moto's own
cost alone. `python -m tests.load.moto_sqs_bench --hidden 5000 --cycles 1000 [--batch] [--direct]`.
To measure another tree's patch, put its src first: `PYTHONPATH=/work/main/src python -m tests.load.…`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from oms_webhooks_cli.local import moto_memory, moto_sqs
from oms_webhooks_cli.local.moto_process import MotoProcess
from oms_webhooks_cli.local.stack import LOCAL_CREDENTIALS
from oms_webhooks_cli.template import ACCOUNT, REGION
from tests.load.processes import CLOCK_TICKS, cpu_ticks

HIDE_SECONDS = 3600
DELAY_SECONDS = 900
CHANGED_VISIBILITY_SECONDS = 60
QUEUE = "bench"


@dataclass
class BenchResult:
    patch: str  # the moto_sqs module measured
    server: str
    hidden: int
    cycles: int
    batch: bool
    calls: int
    seconds: float
    calls_per_second: float
    moto_cpu_ms_per_call: float | None
    ms_per_call: dict[str, float]


class DirectSqs:
    """The few client calls the benchmark makes, on moto's backend in this process (no HTTP, no parsing)."""

    def __init__(self) -> None:
        from moto.sqs.models import sqs_backends

        self.backend = sqs_backends[ACCOUNT][REGION]

    def create_queue(self, QueueName: str, Attributes: dict[str, str]) -> dict[str, Any]:
        attributes: dict[str, Any] = dict(Attributes)
        self.backend.create_queue(QueueName, **attributes)
        return {"QueueUrl": QueueName}

    def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int = 0) -> None:
        self.backend.send_message(QueueUrl, MessageBody, delay_seconds=DelaySeconds)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        for entry in Entries:
            self.send_message(QueueUrl, entry["MessageBody"], entry.get("DelaySeconds", 0))

    def receive_message(
        self,
        QueueUrl: str,
        MaxNumberOfMessages: int,
        VisibilityTimeout: int = 720,
    ) -> dict[str, Any]:
        found = self.backend.receive_message(QueueUrl, MaxNumberOfMessages, 0, VisibilityTimeout)
        return {"Messages": [{"ReceiptHandle": m.receipt_handle} for m in found]}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        self.backend.change_message_visibility(QueueUrl, ReceiptHandle, VisibilityTimeout)

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        self.backend.change_message_visibility_batch(QueueUrl, Entries)

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        self.backend.delete_message(QueueUrl, ReceiptHandle)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        self.backend.delete_message_batch(QueueUrl, Entries)


def hide(sqs: Any, url: str, count: int) -> None:
    """`count` messages not visible: the first half delayed, the second received and hidden."""
    delayed, received = count // 2, count - count // 2
    for first in range(0, count, 10):
        delay = DELAY_SECONDS if first < delayed else 0
        entries = [
            {"Id": str(i), "MessageBody": f"waiting {first + i}", "DelaySeconds": delay}
            for i in range(min(10, count - first))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    got = 0
    while got < received:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=HIDE_SECONDS)
        got += len(answer.get("Messages", []))


def cycles(sqs: Any, url: str, count: int, batch: bool, deadline: float) -> tuple[int, dict[str, float]]:
    """Runs the cycles; returns the calls made and the seconds spent in each kind of call."""
    spent = {"send": 0.0, "receive": 0.0, "change_visibility": 0.0, "delete": 0.0}
    size = 10 if batch else 1
    calls = 0

    def timed(kind: str, call: Callable[..., Any], **params: Any) -> Any:
        nonlocal calls
        started = time.perf_counter()
        answer = call(**params)
        spent[kind] += time.perf_counter() - started
        calls += 1
        return answer

    for _ in range(count):
        if time.monotonic() > deadline:
            raise TimeoutError(f"stopped after {calls} calls")
        if batch:
            entries = [{"Id": str(i), "MessageBody": "due"} for i in range(size)]
            timed("send", sqs.send_message_batch, QueueUrl=url, Entries=entries)
        else:
            timed("send", sqs.send_message, QueueUrl=url, MessageBody="due")
        messages = timed("receive", sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=size)["Messages"]
        handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        if batch:
            hidden = [{**h, "VisibilityTimeout": CHANGED_VISIBILITY_SECONDS} for h in handles]
            timed("change_visibility", sqs.change_message_visibility_batch, QueueUrl=url, Entries=hidden)
            timed("delete", sqs.delete_message_batch, QueueUrl=url, Entries=handles)
        else:
            handle = handles[0]["ReceiptHandle"]
            timed(
                "change_visibility",
                sqs.change_message_visibility,
                QueueUrl=url,
                ReceiptHandle=handle,
                VisibilityTimeout=CHANGED_VISIBILITY_SECONDS,
            )
            timed("delete", sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
    return calls, spent


def run(hidden: int, count: int, batch: bool, direct: bool, max_seconds: float) -> BenchResult:
    moto = MotoProcess("127.0.0.1", 0)
    stop = threading.Event()
    sqs: Any
    if direct:
        moto_memory.apply(stop)
        moto_sqs.apply()
        sqs = DirectSqs()
    else:
        moto.start()
        sqs = boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{moto.port}",
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
    try:
        url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "720"})["QueueUrl"]
        hide(sqs, url, hidden)
        ticks = cpu_ticks(moto.pid) if moto.pid else 0
        started = time.perf_counter()
        calls, spent = cycles(sqs, url, count, batch, time.monotonic() + max_seconds)
        seconds = time.perf_counter() - started
        moto_cpu = (cpu_ticks(moto.pid) - ticks) / CLOCK_TICKS if moto.pid else None
    finally:
        moto.stop()
        stop.set()
    return BenchResult(
        patch=moto_sqs.__file__,
        server="direct" if direct else "moto process",
        hidden=hidden,
        cycles=count,
        batch=batch,
        calls=calls,
        seconds=round(seconds, 2),
        calls_per_second=round(calls / seconds, 1),
        moto_cpu_ms_per_call=None if moto_cpu is None else round(1000 * moto_cpu / calls, 2),
        ms_per_call={kind: round(1000 * total / count, 3) for kind, total in spent.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hidden", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--batch", action="store_true", help="ten messages a cycle, in batch calls")
    parser.add_argument("--direct", action="store_true", help="moto's backend in this process, without HTTP")
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()
    print(json.dumps(asdict(run(args.hidden, args.cycles, args.batch, args.direct, args.max_seconds)), indent=2))


if __name__ == "__main__":
    main()
