"""What the functions tell operators, captured as Lambda would ship it: JSON log lines with correlation keys, EMF
metrics on stdout, and never a hook's secret (nor a token) in either."""

from __future__ import annotations

import io
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics.provider import cold_start

from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.rules import retrier
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller
from tests.integration.support import subscribe
from tests.receiver import Answer, Receiver

EVENTS = Path(__file__).resolve().parents[2] / "events" / "eventbridge"


class Captured:
    """Everything the functions write: log records (through Powertools' handlers) and stdout/stderr (EMF)."""

    def __init__(self, logs: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
        self.logs, self.capsys = logs, capsys
        self.out = self.err = ""

    def read(self) -> None:
        out, err = self.capsys.readouterr()
        self.out, self.err = self.out + out, self.err + err

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line.strip()]

    def emf(self) -> list[dict[str, Any]]:
        self.read()
        documents = (json.loads(line) for line in self.out.splitlines() if line.startswith('{"_aws"'))
        return [doc for doc in documents if "ColdStart" not in doc]

    def everything(self) -> str:
        self.read()
        return "\n".join([self.logs.getvalue(), self.out, self.err])


@pytest.fixture
def loaded(deployed: dict[str, LocalFunction], monkeypatch: pytest.MonkeyPatch) -> dict[str, LocalFunction]:
    """The functions' modules, loaded before capsys replaces stdout: their loggers keep the stream they find.

    The core's child logger takes its service from the environment when first imported; in Lambda that is the
    function's environment, here it may have been an earlier test's, so it is made again as Lambda would have it.
    """
    for function in deployed.values():
        function.module  # noqa: B018 - loading it creates its logger
    monkeypatch.setattr(retrier, "logger", Logger(service=os.environ["POWERTOOLS_SERVICE_NAME"], child=True))
    return deployed


@pytest.fixture
def captured(loaded: dict[str, LocalFunction], capsys: pytest.CaptureFixture[str]) -> Iterator[Captured]:
    """Points every log handler in the process at one buffer for the test, and starts with an empty metric set
    and a cold start."""
    buffer = io.StringIO()
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest")
    }
    saved = {handler: handler.stream for handler in handlers}
    for handler in handlers:
        handler.stream = buffer  # not setStream: it flushes the old stream, which may be closed
    metrics.clear_metrics()
    cold_start.is_cold_start = True
    capsys.readouterr()
    try:
        yield Captured(buffer, capsys)
    finally:
        for handler, stream in saved.items():
            handler.stream = stream


def eventbridge_event(event_type: str) -> dict[str, Any]:
    sample = json.loads((EVENTS / "stock_location.created.json").read_text())
    return {**sample, "id": str(uuid.uuid4()), "detail-type": event_type}


def values(documents: list[dict[str, Any]], name: str) -> list[float]:
    return [value for doc in documents for value in doc.get(name, [])]


def test_a_dispatch_logs_its_correlation_keys_and_publishes_its_metrics(
    deployed: dict[str, LocalFunction], captured: Captured, owner: str, receiver: Receiver
) -> None:
    event_type = "transfer.status.transferred"  # no other test in this process subscribes to it
    subscribe(owner, receiver.script("/ok", Answer(200)), event_type)
    later = {"choice": "fixed", "kwargs": {"seconds": 3600}, "max_retries": 3}  # stays hidden past this session
    subscribe(owner, receiver.script("/later", Answer(503)), event_type, retry_countdown_config=later)
    never = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}
    subscribe(owner, receiver.script("/never", Answer(500)), event_type, retry_countdown_config=never)
    event = eventbridge_event(event_type)

    answer = deployed["DispatcherFunction"].invoke(event)

    assert answer["accepted"] is True and "attempt_ms" not in answer
    assert (answer["hooks"], answer["delivered"], answer["retrying"], answer["failed"]) == (3, 1, 1, 1)
    [line] = [line for line in captured.log_lines() if line["message"] == "Event dispatched"]
    assert line["level"] == "INFO" and line["service"] == "oms-webhooks"
    assert line["correlation_id"] == event["id"] == line["event_id"]  # the EventBridge event id
    assert line["event_type"] == event_type
    assert line["function_name"] == "DispatcherFunction" and "function_request_id" in line and "cold_start" in line
    assert (line["hooks"], line["delivered"], line["retrying"], line["failed"]) == (3, 1, 1, 1)
    assert "attempt_ms" not in line

    emf = captured.emf()
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OMSWebhooks" for doc in emf)
    assert values(emf, "DeliveriesSucceeded") == [1.0]
    assert values(emf, "DeliveriesFailed") == [2.0]
    assert values(emf, "RetriesScheduled") == [1.0]
    assert values(emf, "DeliveriesExhausted") == [1.0]
    assert values(emf, "FanoutSize") == [3.0]
    latencies = values(emf, "AttemptLatency")
    assert len(latencies) == 3 and all(0 < ms < 5000 for ms in latencies)


def test_a_malformed_event_is_logged_and_counted(deployed: dict[str, LocalFunction], captured: Captured) -> None:
    answer = deployed["DispatcherFunction"].invoke({"id": "broken-1", "detail-type": "order.created", "detail": {}})
    assert answer["accepted"] is False
    [line] = [line for line in captured.log_lines() if line["message"] == "Malformed event dropped"]
    assert line["level"] == "ERROR" and line["correlation_id"] == "broken-1"
    assert values(captured.emf(), "MalformedEvents") == [1.0]


def retry_record(delivery_uuid: str, timeout: float = 10.0) -> dict[str, Any]:
    """The retry queue's message for one delivery, as Lambda's SQS event source would hand it over."""
    sqs = boto3.client("sqs")
    queue_url = settings().retry_queue_url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=1, AttributeNames=["All"]
        )
        for message in answer.get("Messages", []):
            if json.loads(message["Body"]).get("uuid") == delivery_uuid:  # a probe (another test's) has none
                return {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": message.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:RetryQueue",
                    "awsRegion": "us-east-1",
                }
    raise AssertionError(f"no retry message for {delivery_uuid}")


def test_secrets_never_reach_a_log_line_through_dispatch_retry_and_manual_retry(
    deployed: dict[str, LocalFunction],
    captured: Captured,
    call: Caller,
    new_token: Callable[[], str],
    receiver: Receiver,
) -> None:
    token = new_token()
    secrets = {"retried": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "manual": "s3cr3t-only-the-subscriber-knows"}
    event_type = "package.status.shipped"  # no other test in this process subscribes to it
    soon = {"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 2}
    once = {"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 0}
    hooks = {}
    for name, config in (("retried", soon), ("manual", once)):
        created = call(
            "POST",
            "/whisperer/hooks/",
            {
                "event_type": event_type,
                "target_url": receiver.script(f"/{name}", Answer(500), Answer(200)),
                "secret_key": secrets[name],
                "retry_countdown_config": config,
            },
            token=token,
        )
        assert created.status == 201, created.body
        hooks[name] = created.json()["id"]
    try:
        event = eventbridge_event(event_type)
        answer = deployed["DispatcherFunction"].invoke(event)
        assert (answer["retrying"], answer["failed"]) == (1, 1)

        retried = delivery_id(event["id"], hooks["retried"])
        record = retry_record(retried)
        batch = deployed["RetrierFunction"].invoke({"Records": [record]})
        assert batch == {"batchItemFailures": []}
        boto3.client("sqs").delete_message(QueueUrl=settings().retry_queue_url, ReceiptHandle=record["receiptHandle"])

        manual = delivery_id(event["id"], hooks["manual"])
        outcome = call("POST", f"/whisperer/hook_events/{manual}/retry/", {"force": True}, token=token)
        assert outcome.status == 200 and outcome.json()["delivered"] is True

        for name in secrets:  # the secrets were in use: every request was signed
            requests = receiver.wait_for(f"/{name}", 2)
            assert len(requests) == 2 and all("X-Whisperer-Signature" in r.headers for r in requests)

        lines = captured.log_lines()
        [attempted] = [line for line in lines if line["message"] == "Retry attempted"]
        assert attempted["delivery_uuid"] == retried and attempted["hook_id"] == hooks["retried"]
        assert attempted["status"] == "delivered"
        [by_hand] = [line for line in lines if line["message"] == "Manual retry attempted"]
        assert by_hand["delivery_uuid"] == manual and by_hand["hook_id"] == hooks["manual"]
        assert by_hand["event_id"] == event["id"]
        assert by_hand["correlation_id"]  # the API Gateway request id

        emf = captured.emf()
        assert values(emf, "DeliveriesSucceeded") == [1.0, 1.0]  # the retry, then the manual retry
        assert values(emf, "DeliveriesFailed") == [2.0]  # both first attempts, from the dispatcher

        output = captured.everything()
        assert "Event dispatched" in output and "DeliveriesSucceeded" in output  # the capture did capture
        for secret in (*secrets.values(), token):
            assert secret not in output
    finally:
        for hook_id in hooks.values():
            call("DELETE", f"/whisperer/hooks/{hook_id}/", token=token)
