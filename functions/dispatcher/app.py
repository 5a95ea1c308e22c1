"""EventBridge → every active hook of the event's type. Thin: parse the envelope, dispatch, report."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms_webhooks import telemetry
from oms_webhooks.domain.oms_event import MalformedEvent, OmsEvent
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer
from oms_webhooks.wiring import dispatcher

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        oms_event = OmsEvent.from_eventbridge(event)
    except MalformedEvent as bad:
        # Retrying cannot fix it: log it with what identifies it, and let the rest of the stream flow.
        logger.error("Malformed event dropped", extra={"reason": str(bad), "event_id": event.get("id")})
        telemetry.record_malformed_event()
        return {"accepted": False, "reason": str(bad)}
    logger.append_keys(event_id=oms_event.id, event_type=oms_event.event_type)
    report = dispatcher().dispatch(oms_event)
    telemetry.record_dispatch(report)
    summary = telemetry.dispatch_summary(report)
    logger.info("Event dispatched", extra=summary)
    return {"accepted": True, **summary}
