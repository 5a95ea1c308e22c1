"""Observability in one place: the service's metrics (CloudWatch EMF via Powertools) and its switchable tracing.

Metrics are recorded from the reports the core already returns (`DispatchReport`, `RetryReport`, a manual
retry's `Attempt`), on the handler's own thread, once the work is done; `@metrics.log_metrics` on each handler
prints them as one EMF document per invocation. Worker threads never touch the metric set.

Tracing is off by default (template parameter `EnableTracing`): then `tracer.capture_lambda_handler` returns
the handler unchanged and the X-Ray SDK is never imported, which would add ~0.1 s to every cold start.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.metric_properties import MetricResolution

if TYPE_CHECKING:  # only types: the authorizer imports this module and should not pay for pydantic
    from oms_webhooks.domain.deliveries import Attempt
    from oms_webhooks.rules.circuit_breaker import GateReport
    from oms_webhooks.rules.dispatch import DispatchReport
    from oms_webhooks.rules.operational_outbox import Published
    from oms_webhooks.rules.retrier import RetryReport

NAMESPACE = "OMSWebhooks"
SERVICE = "oms-webhooks"

# The metric names; template.yaml's dashboard and alarms use the same.
DELIVERIES_SUCCEEDED = "DeliveriesSucceeded"  # attempts answered with a 2xx
DELIVERIES_FAILED = "DeliveriesFailed"  # attempts that failed (each one, retried or not)
ATTEMPT_LATENCY = "AttemptLatency"  # milliseconds, one value per attempt
RETRIES_SCHEDULED = "RetriesScheduled"  # failed attempts that have a next one on the retry queue
DELIVERIES_EXHAUSTED = "DeliveriesExhausted"  # deliveries marked failed for good (retries spent, 410, hook gone)
FANOUT_SIZE = "FanoutSize"  # active hooks an event went to
MALFORMED_EVENTS = "MalformedEvents"  # events the dispatcher dropped as undeliverable
CIRCUITS_OPENED = "CircuitsOpened"  # hooks whose failure streak opened their circuit
HOOKS_DISABLED = "HooksDisabled"  # hooks turned off for failing every attempt for AutoDisableAfter
DELIVERIES_DEFERRED = "DeliveriesDeferred"  # queued, not attempted: their hook's circuit was open, or its rate limit
OPERATIONAL_EVENTS_SENT = "OperationalEventsSent"  # operational events put on the bus
OPERATIONAL_EVENTS_FAILED = "OperationalEventsFailed"  # operational events PutEvents did not take (logged, lost)
ORDERED_OWNER_BUSY = "OrderedOwnerBusy"  # objects' queues shown again unattempted: their owner had no sequencer place
METRIC_NAMES = (
    DELIVERIES_SUCCEEDED,
    DELIVERIES_FAILED,
    ATTEMPT_LATENCY,
    RETRIES_SCHEDULED,
    DELIVERIES_EXHAUSTED,
    FANOUT_SIZE,
    MALFORMED_EVENTS,
    DELIVERIES_DEFERRED,
    CIRCUITS_OPENED,
    HOOKS_DISABLED,
    OPERATIONAL_EVENTS_SENT,
    OPERATIONAL_EVENTS_FAILED,
    ORDERED_OWNER_BUSY,
)


class _LockedEMFProvider(AmazonCloudWatchEMFProvider):
    """Powertools' EMF provider, with two changes. Lambda runs one invocation per process, but the local stack
    runs several at once in threads, sharing this module: adding and flushing are serialised so a flush never
    iterates a set that another one grows. And an invocation with no metrics (most API calls) flushes
    nothing quietly, where Powertools would warn every time."""

    _lock = threading.RLock()

    def add_metric(
        self, name: str, unit: MetricUnit | str, value: float, resolution: MetricResolution | int = 60
    ) -> None:
        with self._lock:
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        with self._lock:
            if self.metric_set or raise_on_empty_metrics:
                super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


metrics = Metrics(provider=_LockedEMFProvider(namespace=NAMESPACE, service=SERVICE))


def record_dispatch(report: DispatchReport, *, whole_event: bool = True) -> None:
    """A dispatcher (whole event) or fan-out (one batch) run. FanoutSize is counted once per event, by the
    dispatcher, whether it delivered the hooks itself or split them into batches; a duplicate counts nothing."""
    failed = report.retrying + report.failed
    _count(DELIVERIES_SUCCEEDED, report.delivered)
    _count(DELIVERIES_FAILED, failed)
    _count(RETRIES_SCHEDULED, report.retrying)
    _count(DELIVERIES_EXHAUSTED, report.failed)
    _count(DELIVERIES_DEFERRED, report.deferred)
    _count(CIRCUITS_OPENED, len(report.circuits_opened))
    _count(HOOKS_DISABLED, len(report.disabled))
    _count(OPERATIONAL_EVENTS_SENT, report.operational_sent)
    _count(OPERATIONAL_EVENTS_FAILED, report.operational_failed)
    _latencies(report.attempt_ms)
    if whole_event and not report.duplicate:
        metrics.add_metric(name=FANOUT_SIZE, unit=MetricUnit.Count, value=report.hooks)


def record_retry(report: RetryReport) -> None:
    """One retry message handled by the retrier; nothing to count when it only waited."""
    delivery = report.delivery
    if delivery is None:
        return
    if report.sent and delivery.attempts:
        record_attempt(delivery.attempts[-1])
    record_circuits(report.circuits)
    if delivery.status == "deferred":
        _count(DELIVERIES_DEFERRED, 1)
    elif delivery.status == "retrying":
        _count(RETRIES_SCHEDULED, 1)
    elif delivery.status == "failed":
        _count(DELIVERIES_EXHAUSTED, 1)


def record_circuits(report: GateReport) -> None:
    """Circuits opened and hooks disabled by a write of streaks (a retry's, or a retry batch's at its end)."""
    _count(CIRCUITS_OPENED, len(report.opened))
    _count(HOOKS_DISABLED, len(report.disabled))


def record_operational(published: Published) -> None:
    """Operational events a retry batch or a manual retry put on the bus, and those it could not."""
    _count(OPERATIONAL_EVENTS_SENT, published.sent)
    _count(OPERATIONAL_EVENTS_FAILED, published.failed)


def record_owner_busy(groups: int) -> None:
    """Ordered objects' queues a sequencer run showed again unattempted, their owner's share of it being in use."""
    _count(ORDERED_OWNER_BUSY, groups)


def record_attempt(attempt: Attempt) -> None:
    """One attempt on its own (a retry, or a manual retry from the API, which leaves the schedule alone)."""
    _count(DELIVERIES_SUCCEEDED if attempt.succeeded else DELIVERIES_FAILED, 1)
    _latencies([attempt.duration * 1000])


def record_malformed_event() -> None:
    _count(MALFORMED_EVENTS, 1)


def dispatch_summary(report: DispatchReport) -> dict[str, Any]:
    """The report for the log line and the handler's answer: counts, without the per-attempt latencies."""
    summary = asdict(report)
    summary.pop("attempt_ms", None)
    return summary


def _count(name: str, value: int) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _latencies(values: Iterable[float]) -> None:
    for value in values:
        metrics.add_metric(name=ATTEMPT_LATENCY, unit=MetricUnit.Milliseconds, value=round(value, 3))


Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """As Powertools decides: on in Lambda unless POWERTOOLS_TRACE_DISABLED says otherwise (the template sets
    it from EnableTracing); never outside Lambda, where no X-Ray daemon listens."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on"):
        return False
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")


class LazyTracer:
    """Powertools' `Tracer`, created only when tracing is on: its constructor imports the X-Ray SDK."""

    def __init__(self) -> None:
        self._tracer: Any = None

    @property
    def enabled(self) -> bool:
        return tracing_enabled()

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        if not self.enabled:
            return handler
        from aws_lambda_powertools import Tracer

        if self._tracer is None:
            self._tracer = Tracer(service=SERVICE)
        # Responses stay out of X-Ray: they carry owners' data, and the logs already have the summaries.
        traced: Handler = self._tracer.capture_lambda_handler(handler, capture_response=False)
        return traced


tracer = LazyTracer()
