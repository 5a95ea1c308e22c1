"""Event sources as Lambda runs them, for the local stack: EventBridge rules and SQS event source mappings.

moto cannot invoke a Lambda from a rule, so each rule targets a tap queue that a poller drains into the
function, one event per invocation, retried on failure like an asynchronous invocation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.template import ACCOUNT, REGION

log = logging.getLogger("oms_webhooks.local.triggers")

TAP_VISIBILITY_SECONDS = 5  # how soon a failed asynchronous invocation is tried again
EVENT_CONCURRENCY = 8  # invocations of one function at once (Lambda would scale further)
SQS_POLLERS = 3  # batches of one queue in flight at once, as Lambda's event source mapping starts with several
# The local cap on an event source's ScalingConfig.MaximumConcurrency (Lambda's: 1,000). A retry batch lasts as long
# as its latest record, and a record that came back before its due time (SQS's whole seconds) is held until then: with
# 1 s countdowns most batches last about a second, so 8 pollers capped the retrier near 80 attempts/s (bench.noisy).
MOST_SQS_POLLERS = 16
DELETE_WITHIN_SECONDS = 1.0  # a finished event's deletion waits at most this long for nine others
LONG_POLL_SECONDS = 20  # as Lambda's pollers; moto answers as soon as a message is sent or comes due (moto_sqs)


def receive(sqs: Any, queue_url: str, stopping: threading.Event, **params: Any) -> list[dict[str, Any]] | None:
    """A receive as Lambda's pollers make it; None once stopping, when what was received is left to come back
    after its visibility, as from a poller that went away. A failed receive is logged and is an empty one."""
    try:
        messages: list[dict[str, Any]] = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"], **params).get(
            "Messages", []
        )
    except Exception:
        if stopping.is_set():
            return None
        log.exception("cannot receive from %s", queue_url)
        stopping.wait(1)
        return []
    return None if stopping.is_set() else messages


class Poller(threading.Thread):
    """Drains one queue into one function until stopped; a failed message stays for SQS to show it again."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        queue_url: str,
        handle: Callable[[list[dict[str, Any]]], set[str]],
        batch_size: int,
        wait_seconds: int,
        stopping: threading.Event,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.sqs, self.queue_url, self.handle = sqs, queue_url, handle
        self.batch_size, self.wait_seconds, self.stopping = batch_size, wait_seconds, stopping

    def run(self) -> None:
        while not self.stopping.is_set():
            messages = receive(
                self.sqs,
                self.queue_url,
                self.stopping,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=self.wait_seconds,
                MessageAttributeNames=["All"],
            )
            if messages is None:
                return
            if not messages:
                if not self.wait_seconds:
                    self.stopping.wait(0.05)
                continue
            failed = self.handle(messages)
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )


def eventbridge_rule(
    function: LocalFunction,
    rule: str,
    props: dict[str, Any],
    aws: Callable[[str], Any],
    stopping: threading.Event,
    long_poll_seconds: int = LONG_POLL_SECONDS,
) -> AsyncInvocations:
    """Creates the rule on its bus with a tap queue as target, and the poller that invokes the function.

    Invocations are asynchronous, as Lambda's: a failed one is tried again `MaximumRetryAttempts` times (from the
    function's EventInvokeConfig, default 2), then a destination record goes to its OnFailure queue. A stop waits for
    the receive in flight: `long_poll_seconds` at most.
    """
    events, sqs = aws("events"), aws("sqs")
    bus = props.get("EventBusName", "default")
    name = f"{function.spec.logical_id}-{rule}"
    config = function.spec.invoke_config
    retries = int(config.get("MaximumRetryAttempts", 2))
    on_failure = config.get("DestinationConfig", {}).get("OnFailure", {})
    failed_url = (
        sqs.get_queue_url(QueueName=_queue_name(on_failure["Destination"]))["QueueUrl"]
        if on_failure.get("Type") == "SQS"
        else sqs.create_queue(QueueName=f"{name}-failed")["QueueUrl"]
    )
    tap_url = sqs.create_queue(QueueName=f"{name}-tap", Attributes={"VisibilityTimeout": str(TAP_VISIBILITY_SECONDS)})[
        "QueueUrl"
    ]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["Pattern"]), State="ENABLED")
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": _queue_arn(f"{name}-tap")}])
    log.info("rule %s on bus %s -> %s (after %d retries: %s)", name, bus, function.spec.logical_id, retries, failed_url)

    def invoke(message: dict[str, Any]) -> bool:
        """True when the event is done with: delivered, or sent to the failure destination."""
        event = json.loads(message["Body"])
        event.setdefault("account", ACCOUNT)  # EventBridge always sends it; moto's target template leaves it out
        try:
            function.invoke(event)
            return True
        except Exception as exc:
            attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if attempts <= retries:
                log.exception("%s failed on event (attempt %d); it will be retried", function.spec.logical_id, attempts)
                return False
            log.exception("%s failed on event %d times; sent to %s", function.spec.logical_id, attempts, failed_url)
            record = _destination_record(function, event, exc, attempts)
            sqs.send_message(QueueUrl=failed_url, MessageBody=json.dumps(record))
            return True

    running_for = function.spec.timeout + 30  # an event is not shown again while its invocation may still run
    return AsyncInvocations(
        f"rule-{name}", sqs, tap_url, invoke, EVENT_CONCURRENCY, running_for, stopping, long_poll_seconds
    )


class AsyncInvocations(threading.Thread):
    """Lambda's asynchronous invocations of one function: each event its own invocation, up to `concurrency` at
    once, the next one started as soon as any ends (no event waits for a slower one, as in a batch)."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        queue_url: str,
        invoke: Callable[[dict[str, Any]], bool],
        concurrency: int,
        running_for: int,
        stopping: threading.Event,
        long_poll_seconds: int = LONG_POLL_SECONDS,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.sqs, self.queue_url, self.invoke = sqs, queue_url, invoke
        self.long_poll_seconds = long_poll_seconds
        self.concurrency, self.running_for, self.stopping = concurrency, running_for, stopping
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"invoke-{name}")
        self.running = 0
        self.finished: list[str] = []  # receipt handles of events done with, not yet deleted
        self.finished_since: float | None = None  # when the oldest of them finished
        self.freed = threading.Condition()

    def run(self) -> None:
        while not self.stopping.is_set():
            self._finish(None)
            with self.freed:
                if self.running >= self.concurrency:
                    self.freed.wait(0.5)
                    continue
                room = self.concurrency - self.running
            messages = receive(
                self.sqs,
                self.queue_url,
                self.stopping,
                MaxNumberOfMessages=min(10, room),
                WaitTimeSeconds=self.long_poll_seconds,
                VisibilityTimeout=self.running_for,
            )
            if messages is None:
                return
            for message in messages:
                with self.freed:
                    self.running += 1
                self.pool.submit(self._invoke, message)

    def _invoke(self, message: dict[str, Any]) -> None:
        done = False
        try:
            done = self.invoke(message)
            if not done:  # failed: tried again after Lambda's pause between asynchronous attempts (shortened here)
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=TAP_VISIBILITY_SECONDS,
                )
        except Exception:
            log.exception("%s: event %s left for the queue to show again", self.name, message["MessageId"])
        finally:
            with self.freed:
                self.running -= 1
                self.freed.notify()
            self._finish(message["ReceiptHandle"] if done else None)

    def _finish(self, handle: str | None) -> None:
        """Finished events are deleted ten at a time (one call instead of ten under load), as soon as nothing else
        runs, or once the oldest has waited DELETE_WITHIN_SECONDS, long before its visibility ends."""
        with self.freed:
            if handle:
                self.finished.append(handle)
                self.finished_since = self.finished_since or time.monotonic()
            waited = time.monotonic() - (self.finished_since or time.monotonic())
            due = len(self.finished) >= 10 or not self.running or waited >= DELETE_WITHIN_SECONDS
            handles, self.finished = (self.finished, []) if due else ([], self.finished)
            if due:
                self.finished_since = None
        self._delete_finished(handles)

    def _delete_finished(self, handles: list[str]) -> None:
        if not handles:
            return
        try:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
            )
        except Exception:
            log.exception("%s: %d finished events not deleted; they come back once", self.name, len(handles))


def _destination_record(function: LocalFunction, event: Any, error: Exception, attempts: int) -> dict[str, Any]:
    """What Lambda sends to an OnFailure destination of an asynchronous invocation."""
    return {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": "local",
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.spec.logical_id}",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }


def sqs_event_source(
    function: LocalFunction,
    props: dict[str, Any],
    aws: Callable[[str], Any],
    stopping: threading.Event,
    wait_seconds: int = LONG_POLL_SECONDS,
) -> list[Poller]:
    """Lambda's SQS event source mapping: batches, and ReportBatchItemFailures honoured."""
    sqs = aws("sqs")
    queue_url = sqs.get_queue_url(QueueName=_queue_name(props["Queue"]))["QueueUrl"]
    report_failures = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])

    def invoke_batch(messages: list[dict[str, Any]]) -> set[str]:
        event = {"Records": [sqs_record(m, props["Queue"]) for m in messages]}
        try:
            answer = function.invoke(event)
        except Exception:
            log.exception("%s raised; the whole batch returns to the queue", function.spec.logical_id)
            return {m["MessageId"] for m in messages}
        if report_failures and isinstance(answer, dict):
            return {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        return set()

    return [
        Poller(
            f"sqs-{function.spec.logical_id}-{i}",
            sqs,
            queue_url,
            invoke_batch,
            int(props.get("BatchSize", 10)),
            wait_seconds,
            stopping,
        )
        for i in range(sqs_pollers(props))
    ]


def sqs_pollers(props: dict[str, Any]) -> int:
    """Batches of the queue in flight at once: the event's ScalingConfig.MaximumConcurrency, as Lambda bounds its
    invocations by it, up to MOST_SQS_POLLERS here; SQS_POLLERS without one."""
    maximum = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if maximum is None:
        return SQS_POLLERS
    try:
        concurrency = int(maximum)
    except (TypeError, ValueError):
        raise ValueError(
            f"ScalingConfig.MaximumConcurrency of {props.get('Queue')} is not a number: {maximum!r}"
        ) from None
    if not 2 <= concurrency <= 1000:
        raise ValueError(f"ScalingConfig.MaximumConcurrency of {props.get('Queue')} is {concurrency}, not 2 to 1000")
    return min(concurrency, MOST_SQS_POLLERS)


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message received with all its attributes, as Lambda's SQS event source hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _queue_name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]
