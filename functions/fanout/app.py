"""Fan-out queue → one batch of a large fan-out delivered. Thin: the dispatcher does the work."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from oms_webhooks import telemetry
from oms_webhooks.adapters.queues import FanoutQueueRecord
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer
from oms_webhooks.wiring import dispatcher

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it


def record_handler(record: FanoutQueueRecord) -> None:
    batch = record.body
    logger.append_keys(event_id=batch.event_id, event_type=batch.event_type)
    report = dispatcher().dispatch_batch(batch)  # raising leaves the message to come back
    telemetry.record_dispatch(report, whole_event=False)  # the dispatcher counted the event's FanoutSize
    logger.info(
        "Fan-out batch dispatched",
        extra={"first_id": batch.first_id, "last_id": batch.last_id, **telemetry.dispatch_summary(report)},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Per invocation: it holds the batch's state. A record whose body is no batch fails alone, as any failure does.
    processor = BatchProcessor(event_type=EventType.SQS, model=FanoutQueueRecord)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
