"""Ordered queue (SQS FIFO) → the first waiting delivery of each object's queue attempted, in order. Thin: the rules
are core (rules/sequencer.py); Powertools' FIFO processor reports what waits, and the rest of its group with it."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from oms_webhooks import telemetry
from oms_webhooks.adapters.ordered_queue import OrderedQueueRecord
from oms_webhooks.rules.sequencer import InOrder, SequencerRun
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer
from oms_webhooks.wiring import sequencer

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it

START_MARGIN_SECONDS = 5.0  # a delivery is started only with its whole timeout and this left of the invocation


class Waits(Exception):
    """Leaves the message on the queue: hidden until its delivery's next attempt, or shown again to follow it."""


def in_order(raw: dict[str, Any]) -> InOrder | None:
    """The record as the core reads it. One that is no ordered queue message would hold its object's queue for ever
    (the queue has no dead-letter queue): it is dropped, logged."""
    try:
        record = OrderedQueueRecord.model_validate(raw)
    except ValidationError:
        logger.exception("Unreadable ordered message dropped", extra={"message_id": raw.get("messageId")})
        return None
    attributes = record.attributes
    return InOrder(
        record.body,
        record.receiptHandle,
        record.messageId,
        attributes.MessageGroupId or "",
        attributes.SentTimestamp.timestamp(),
    )


def record_handler(run: SequencerRun) -> Any:
    def handle(record: SQSRecord) -> None:
        if run.turns.get(record.message_id, "done") != "done":
            raise Waits(run.turns[record.message_id])

    return handle


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = [message for message in map(in_order, event.get("Records", [])) if message is not None]
    time_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    run = sequencer().run(batch, time_left, budget=settings().total_timeout + START_MARGIN_SECONDS)
    for report in run.reports:
        telemetry.record_retry(report)
    telemetry.record_circuits(run.circuits)
    telemetry.record_owner_busy(run.busy)
    # Every message waiting is normal here (heads hidden until due), not an error of the whole batch.
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)  # per invocation: it holds the batch's state
    processor.raise_on_entire_batch_failure = False
    return process_partial_response(
        event=event, record_handler=record_handler(run), processor=processor, context=context
    )
