"""The ordered queue (SQS FIFO, high throughput): one message group per object's queue, in the order they were sent.

SQS hands out a group's messages in order, and none of a group while one of its messages is in flight (received,
neither deleted nor visible again). The sequencer keeps a group's first message hidden while its delivery waits, so
the deliveries behind it wait too. A message that must not be sent twice within SQS's five-minute deduplication
window carries its delivery's uuid as deduplication id; one sent again on purpose (a manual retry, a recovery) a
deduplication id of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Json

from oms_webhooks.adapters.queues import SEND_BATCH_SIZE, Queue


class OrderedMessage(BaseModel):
    """Names a delivery waiting its turn in its object's queue; the record, not the message, says when it is due."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["ordered"] = "ordered"
    uuid: str
    owner: str
    published: float | None = None  # its place among the messages of its group handed out together (order_key)
    received: float | None = None


class OrderedQueueRecord(SqsRecordModel):
    """An ordered queue's record as Lambda hands it over, its body read as the message it holds."""

    body: Json[OrderedMessage]


class Queued(BaseModel):
    """One message to send: the delivery, its object's group, and its deduplication id."""

    model_config = ConfigDict(frozen=True)

    message: OrderedMessage
    group: str
    deduplication: str


class OrderedQueue(Queue):
    def enqueue(self, queued: Sequence[Queued]) -> int:
        """Sends in order, in batches whose messages are of different groups: when SQS refuses part of a batch, the
        refused ones are sent again before anything that follows them in their group. Raises when SQS refuses a
        message twice, sending nothing after it. Returns the calls made."""
        calls = 0
        batch: list[Queued] = []
        for item in queued:
            if len(batch) == SEND_BATCH_SIZE or any(other.group == item.group for other in batch):
                calls += self.send([_entry(q) for q in batch])
                batch = []
            batch.append(item)
        if batch:
            calls += self.send([_entry(q) for q in batch])
        return calls

    def release(self, receipt_handle: str) -> bool:
        """Shows a hidden message again at once (its delivery ended by hand, so its group need not wait); False when
        its receipt handle is no longer valid (it was received again since, or deleted)."""
        try:
            self.hide(receipt_handle, 0)
        except ClientError:
            return False
        return True


def _entry(queued: Queued) -> dict[str, str]:
    return {
        "MessageBody": queued.message.model_dump_json(),
        "MessageGroupId": queued.group,
        "MessageDeduplicationId": queued.deduplication,
    }
