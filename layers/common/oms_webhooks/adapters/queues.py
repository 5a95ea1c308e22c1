"""The SQS queues: retries (a message per scheduled retry, hidden until due) and fan-out batches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Discriminator, Json, Tag, TypeAdapter

from oms_webhooks.adapters.aws import sqs
from oms_webhooks.clock import clock, epoch

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
SEND_BATCH_SIZE = 10  # SQS SendMessageBatch limit
BATCH_BYTES_LIMIT = 256 * 1024  # SQS: per message, and per SendMessageBatch call


class RetryMessage(BaseModel):
    """Names a delivery to retry; the delivery record, not the message, says when and how often."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["retry"] = "retry"
    uuid: str
    due: float = 0.0  # epoch seconds; only sets the first DelaySeconds
    owner: str | None = None  # the message group: SQS fair queues keep one owner's backlog from delaying others


class ProbeMessage(BaseModel):
    """The one message that probes a hook's open circuit at each probe time, with its oldest parked delivery."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["probe"] = "probe"
    hook: int
    owner: str
    event_type: str
    token: int  # the circuit's `p` field names the live probe message; a copy with another token stops
    due: float = 0.0


class ReleaseMessage(BaseModel):
    """Puts a page of a hook's parked deliveries back on the queue, and the next page's release after them."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["release"] = "release"
    hook: int
    owner: str
    after: str | None = None  # the `Parked` index's sort key this page starts after
    due: float = 0.0


def _kind(value: Any) -> str:
    """Messages sent before there were kinds are retries."""
    return str(value.get("kind", "retry") if isinstance(value, dict) else getattr(value, "kind", "retry"))


RetryQueueMessage = Annotated[
    Annotated[RetryMessage, Tag("retry")]
    | Annotated[ProbeMessage, Tag("probe")]
    | Annotated[ReleaseMessage, Tag("release")],
    Discriminator(_kind),
]
RETRY_QUEUE_MESSAGE: TypeAdapter[RetryMessage | ProbeMessage | ReleaseMessage] = TypeAdapter(RetryQueueMessage)


class RetryQueueRecord(SqsRecordModel):
    """A retry queue's record as Lambda hands it over, its body read as the message it holds."""

    body: Json[RetryQueueMessage]


class FanoutBatch(BaseModel):
    """One slice of a large fan-out: the hooks of a type with ids from first to last, for one event.

    The event's payload travels in the message when it fits; otherwise it is stored with the event's claim.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: str
    first_id: int
    last_id: int
    payload: Any = None
    published: float | None = None  # the event's, for ordered hooks (OmsEvent)
    received: float | None = None


class FanoutQueueRecord(SqsRecordModel):
    """A fan-out queue's record as Lambda hands it over, its body read as the batch it holds."""

    body: Json[FanoutBatch]


class Queue:
    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or sqs()

    def send(self, entries: list[dict[str, Any]]) -> int:
        """Sends in batches of ten; raises if SQS refuses any, so nothing is dropped quietly. Returns calls made."""
        calls = 0
        for start in range(0, len(entries), SEND_BATCH_SIZE):
            batch = [{"Id": str(i), **entry} for i, entry in enumerate(entries[start : start + SEND_BATCH_SIZE])]
            calls += 1
            answer = self.client.send_message_batch(QueueUrl=self.url, Entries=batch)
            if answer.get("Failed"):
                failed = {f["Id"] for f in answer["Failed"]}
                calls += 1
                again = self.client.send_message_batch(
                    QueueUrl=self.url, Entries=[e for e in batch if e["Id"] in failed]
                )
                if again.get("Failed"):
                    raise RuntimeError(f"SQS refused {len(again['Failed'])} messages: {again['Failed']}")
        return calls

    def hide(self, receipt_handle: str, seconds: float) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=_visibility(seconds)
        )

    def hide_many(self, hides: Sequence[tuple[str, float]]) -> list[str]:
        """ChangeMessageVisibilityBatch, ten at a time; returns the receipt handles SQS refused (logged by the
        caller: such a message comes back after the queue's visibility timeout)."""
        refused: list[str] = []
        for start in range(0, len(hides), SEND_BATCH_SIZE):
            chunk = hides[start : start + SEND_BATCH_SIZE]
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": _visibility(seconds)}
                for i, (handle, seconds) in enumerate(chunk)
            ]
            answer = self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            refused.extend(chunk[int(failed["Id"])][0] for failed in answer.get("Failed", []))
        return refused


class RetryQueue(Queue):
    def schedule(self, messages: Sequence[RetryMessage | ProbeMessage | ReleaseMessage]) -> int:
        return self.send([_entry(m) for m in messages])


class FanoutQueue(Queue):
    def split(self, batches: list[FanoutBatch]) -> int:
        """Batches whose payload makes ten messages too large for one call are sent alone."""
        bodies = [b.model_dump_json() for b in batches]
        if sum(len(body.encode()) for body in bodies[:SEND_BATCH_SIZE]) <= BATCH_BYTES_LIMIT:
            return self.send([{"MessageBody": body} for body in bodies])
        return sum(self.send([{"MessageBody": body}]) for body in bodies)


def _entry(message: RetryMessage | ProbeMessage | ReleaseMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "MessageBody": message.model_dump_json(exclude_none=True),
        "DelaySeconds": delay_for(message.due),
    }
    if message.owner:
        entry["MessageGroupId"] = message.owner  # fair queues: a standard queue with groups, not FIFO
    return entry


def _visibility(seconds: float) -> int:
    return max(0, math.floor(clock().real_seconds(seconds)))  # down: see delay_for


def delay_for(due: float) -> int:
    """Whole seconds, rounded down: the message comes back up to a second early and the retrier holds it until due."""
    return max(0, min(MAX_DELAY_SECONDS, math.floor(clock().real_seconds(due - epoch()))))
