"""The service's metrics as CloudWatch reads them: the EMF documents Powertools prints, from the core's reports."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from oms_webhooks import telemetry
from oms_webhooks.domain.deliveries import Attempt, Delivery
from oms_webhooks.rules.dispatch import DispatchReport
from oms_webhooks.rules.retrier import RetryReport
from oms_webhooks.telemetry import metrics

MOMENT = datetime(2026, 1, 7, 10, 21, 33, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    """As Powertools' testing docs advise: an empty metric set and a cold start for every test."""
    metrics.clear_metrics()
    cold_start.is_cold_start = True
    yield
    metrics.clear_metrics()


class Context:
    function_name = "oms-webhooks-dispatcher"


def emf_documents(out: str) -> list[dict[str, Any]]:
    return [doc for doc in (json.loads(line) for line in out.splitlines() if line.startswith("{")) if "_aws" in doc]


def published(out: str) -> dict[str, Any]:
    """The one EMF document of the service's metrics (not the ColdStart one), checked against the EMF spec."""
    [doc] = [doc for doc in emf_documents(out) if "ColdStart" not in doc]
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "OMSWebhooks"
    assert directive["Dimensions"] == [["service"]]
    assert doc["service"] == "oms-webhooks"
    names = [definition["Name"] for definition in directive["Metrics"]]
    assert all(name in doc for name in names)
    return {"units": {d["Name"]: d["Unit"] for d in directive["Metrics"]}, "values": {n: doc[n] for n in names}}


def delivery(status: str, *attempts: Attempt) -> Delivery:
    record = Delivery(
        uuid="8dbe0e2dcbbe59449224decd9c4cd1ca",
        owner="acme",
        webhook=7,
        event_id="df71b4e9",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="https://example.com/hook",
        created_date=MOMENT,
        modified_date=MOMENT,
    )
    for attempt in attempts:
        record.record(attempt, None)
    record.status = status  # type: ignore[assignment]
    return record


def test_a_dispatch_with_delivered_failed_and_retrying_deliveries(capsys: pytest.CaptureFixture[str]) -> None:
    report = DispatchReport("df71b4e9", "package.created", hooks=4, delivered=2, retrying=1, failed=1)
    report.attempt_ms = [12.5, 40.0, 5000.0, 7.25]

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: Any) -> None:
        telemetry.record_dispatch(report)

    handler({}, Context())
    out = capsys.readouterr().out
    emf = published(out)
    assert emf["values"] == {
        "DeliveriesSucceeded": [2.0],
        "DeliveriesFailed": [2.0],  # the retrying one and the one failed for good: both attempts failed
        "RetriesScheduled": [1.0],
        "DeliveriesExhausted": [1.0],
        "AttemptLatency": [12.5, 40.0, 5000.0, 7.25],
        "FanoutSize": [4.0],
    }
    assert emf["units"]["AttemptLatency"] == "Milliseconds"
    assert emf["units"]["FanoutSize"] == "Count" and emf["units"]["DeliveriesFailed"] == "Count"
    [start] = [doc for doc in emf_documents(out) if "ColdStart" in doc]
    assert start["function_name"] == "oms-webhooks-dispatcher" and start["ColdStart"] == [1.0]


def test_counts_that_are_zero_are_left_out_and_a_duplicate_has_no_fan_out(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.record_dispatch(DispatchReport("e1", "package.created", hooks=3, skipped=3, duplicate=True))
    telemetry.record_dispatch(DispatchReport("e2", "package.created", hooks=1, delivered=1, attempt_ms=[3.0]))
    metrics.flush_metrics()
    assert published(capsys.readouterr().out)["values"] == {
        "DeliveriesSucceeded": [1.0],
        "AttemptLatency": [3.0],
        "FanoutSize": [1.0],
    }


def test_a_fan_out_batch_does_not_count_the_event_again(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.record_dispatch(DispatchReport("e", "package.created", hooks=1000, delivered=1000), whole_event=False)
    metrics.flush_metrics()
    assert "FanoutSize" not in published(capsys.readouterr().out)["values"]


def test_retries_count_their_attempt_and_what_comes_next(capsys: pytest.CaptureFixture[str]) -> None:
    failed = Attempt(at=MOMENT, status_code=503, duration=0.25)
    ok = Attempt(at=MOMENT, status_code=204, duration=0.0105)
    telemetry.record_retry(RetryReport("later", delivery("retrying", failed), sent=True))
    telemetry.record_retry(RetryReport("done", delivery("delivered", failed, ok), sent=True))
    telemetry.record_retry(RetryReport("done", delivery("failed", failed, failed), sent=True))
    unsent = Attempt(at=MOMENT, error="Not sent: the hook was deleted", duration=0.0)
    telemetry.record_retry(RetryReport("done", delivery("failed", failed, unsent)))  # given up, nothing sent
    telemetry.record_retry(RetryReport("later"))  # not due yet: hidden again, nothing to count
    metrics.flush_metrics()
    assert published(capsys.readouterr().out)["values"] == {
        "DeliveriesFailed": [1.0, 1.0],  # one value per retry, as each message is handled
        "AttemptLatency": [250.0, 10.5, 250.0],
        "RetriesScheduled": [1.0],
        "DeliveriesSucceeded": [1.0],
        "DeliveriesExhausted": [1.0, 1.0],
    }


def test_a_malformed_event_is_counted(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry.record_malformed_event()
    metrics.flush_metrics()
    assert published(capsys.readouterr().out)["values"] == {"MalformedEvents": [1.0]}


def test_more_than_a_hundred_attempts_are_split_over_documents(capsys: pytest.CaptureFixture[str]) -> None:
    """EMF takes at most 100 values per metric in one document; Powertools flushes early, nothing is lost."""
    telemetry.record_dispatch(DispatchReport("e", "t", hooks=150, delivered=150, attempt_ms=[1.0] * 150))
    metrics.flush_metrics()
    documents = emf_documents(capsys.readouterr().out)
    assert sum(len(doc.get("AttemptLatency", [])) for doc in documents) == 150


def test_an_invocation_without_metrics_prints_nothing_and_does_not_warn(
    capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    cold_start.is_cold_start = False

    @metrics.log_metrics(capture_cold_start_metric=True)
    def authorizer(event: dict[str, Any], context: Any) -> None:
        pass

    authorizer({}, Context())
    assert emf_documents(capsys.readouterr().out) == []
    assert not [w for w in recwarn if "metrics" in str(w.message)]


def test_concurrent_invocations_in_one_process_never_break_a_flush(capsys: pytest.CaptureFixture[str]) -> None:
    """The local stack runs several invocations at once in threads; Lambda never does, but it must not crash."""
    errors: list[BaseException] = []

    def invocation() -> None:
        try:
            for _ in range(200):
                telemetry.record_dispatch(DispatchReport("e", "t", hooks=1, delivered=1, attempt_ms=[1.0]))
                metrics.flush_metrics()
        except BaseException as error:  # pragma: no cover - what the test looks for
            errors.append(error)

    threads = [threading.Thread(target=invocation) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    documents = emf_documents(capsys.readouterr().out)
    assert sum(sum(doc.get("FanoutSize", [])) for doc in documents) == 800


def test_tracing_is_off_unless_in_lambda_and_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: Any, context: Any) -> str:
        return "ok"

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert telemetry.tracer.capture_lambda_handler(handler) is handler  # EnableTracing=false: untouched
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.delenv("LAMBDA_TASK_ROOT")
    assert telemetry.tracer.capture_lambda_handler(handler) is handler  # outside Lambda: no X-Ray daemon
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert telemetry.tracing_enabled()


def test_the_dispatch_summary_leaves_the_latencies_out() -> None:
    report = DispatchReport("e", "t", hooks=2, delivered=2, attempt_ms=[1.0, 2.0])
    summary = telemetry.dispatch_summary(report)
    assert "attempt_ms" not in summary and summary["delivered"] == 2 and summary["event_id"] == "e"


def test_an_owners_busy_share_of_the_sequencer_is_counted_and_nothing_when_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    telemetry.record_owner_busy(0)
    telemetry.record_owner_busy(3)
    metrics.flush_metrics()
    assert published(capsys.readouterr().out)["values"] == {"OrderedOwnerBusy": [3.0]}
