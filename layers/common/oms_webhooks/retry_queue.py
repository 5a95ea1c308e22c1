"""The SQS retry queue: a message per scheduled retry, hidden until it is due (DelaySeconds, then visibility)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from oms_webhooks.aws import sqs

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
SEND_BATCH_SIZE = 10  # SQS SendMessageBatch limit


@dataclass(frozen=True)
class RetryMessage:
    """Names a delivery to retry; the delivery record, not the message, says when and how often."""

    uuid: str
    due: float  # epoch seconds; only sets the first DelaySeconds

    def to_json(self) -> str:
        return json.dumps({"uuid": self.uuid, "due": self.due})

    @classmethod
    def from_json(cls, body: str) -> RetryMessage:
        data = json.loads(body)
        return cls(str(data["uuid"]), float(data.get("due", 0)))


class RetryQueue:
    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or sqs()

    def schedule(self, messages: list[RetryMessage]) -> int:
        """Sends in batches of ten; raises if SQS refuses any, so nothing is dropped quietly. Returns calls made."""
        calls = 0
        for start in range(0, len(messages), SEND_BATCH_SIZE):
            batch = messages[start : start + SEND_BATCH_SIZE]
            entries = [
                {"Id": str(i), "MessageBody": m.to_json(), "DelaySeconds": delay_for(m.due)}
                for i, m in enumerate(batch)
            ]
            calls += 1
            answer = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            if answer.get("Failed"):
                retry = [e for e in entries if e["Id"] in {f["Id"] for f in answer["Failed"]}]
                calls += 1
                again = self.client.send_message_batch(QueueUrl=self.url, Entries=retry)
                if again.get("Failed"):
                    raise RuntimeError(f"SQS refused {len(again['Failed'])} retry messages: {again['Failed']}")
        return calls

    def hide(self, receipt_handle: str, seconds: float) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, math.ceil(seconds))
        )


def delay_for(due: float) -> int:
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(due - time.time())))
