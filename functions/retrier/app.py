"""SQS retry queue → one more attempt per due delivery, with partial batch responses. Thin: the rules are core."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from oms_webhooks import telemetry
from oms_webhooks.adapters.queues import RetryMessage, RetryQueueRecord
from oms_webhooks.rules.retrier import Received, RetryBatch
from oms_webhooks.settings import settings
from oms_webhooks.telemetry import metrics, tracer
from oms_webhooks.wiring import retrier

logger = Logger()
settings()  # parsed at cold start: a missing or malformed variable fails the init, naming it


class NotYetDue(Exception):
    """Leaves the message on the queue, hidden until its delivery's next attempt."""


def record_handler(batch: RetryBatch) -> Callable[[RetryQueueRecord], Awaitable[None]]:
    async def handle(record: RetryQueueRecord) -> None:
        message = record.body
        # Each record is its own task with its own context (copied into the worker thread), so this key stays
        # on this record's log lines only, the core's included.
        if isinstance(message, RetryMessage):
            logger.thread_safe_append_keys(delivery_uuid=message.uuid)
        receives = int(record.attributes.ApproximateReceiveCount or 1)
        received = Received(message, record.receiptHandle, receives, record.messageId)
        report = await asyncio.to_thread(retrier().handle_safely, received, batch)
        telemetry.record_retry(report)  # here, on the event loop's thread, not in the worker
        if report.outcome == "later":
            raise NotYetDue(message.kind)

    return handle


def prefetched(event: dict[str, Any]) -> RetryBatch:
    """The batch's deliveries and hooks in a call or two. A record that cannot be parsed is its own failure later;
    if the reads fail, each record reads its own (and fails alone if DynamoDB is still away)."""
    messages = []
    for record in event.get("Records", []):
        with contextlib.suppress(ValidationError):
            messages.append(RetryQueueRecord.model_validate(record).body)
    try:
        return retrier().prefetch(messages)
    except Exception:
        logger.exception("The batch's reads failed; each record reads its own")
        return RetryBatch()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Records run concurrently, so one hanging subscriber does not hold up the batch's other retries.
    # Every record "failing" is normal here (all hidden until due), not an error of the whole batch.
    # A processor per invocation: it holds the batch's state, and the local stack runs invocations at once.
    # A record whose body is no retry queue message fails alone, as any other failure does.
    processor = AsyncBatchProcessor(
        event_type=EventType.SQS, model=RetryQueueRecord, raise_on_entire_batch_failure=False
    )
    batch = prefetched(event)
    answer = async_process_partial_response(
        event=event, record_handler=record_handler(batch), processor=processor, context=context
    )
    telemetry.record_circuits(retrier().finish(batch))
    telemetry.record_operational(batch.published)
    return answer
