"""BatchGetItem and BatchWriteItem in DynamoDB's chunk sizes, retrying whatever it leaves unprocessed.

DynamoDB may answer part of a batch and hand back the rest (throttling, its 16 MB limit). The rest is sent again after
a pause that doubles up to a cap; what is still left after the last round raises `UnprocessedLeft`, since a partial
answer taken for a whole one is wrong quietly: a resumed dispatch that misses recorded deliveries sends them twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from time import sleep
from typing import Any

BATCH_GET_SIZE = 100  # DynamoDB's limit per BatchGetItem
BATCH_WRITE_SIZE = 25  # and per BatchWriteItem
ROUNDS = 8  # calls per chunk at most: the first and seven retries of what is left
FIRST_PAUSE = 0.05  # seconds before the first retry, doubled for each next one ...
MAX_PAUSE = 1.0  # ... up to this: at most 3.55 s of pauses per chunk, well inside a function's timeout


class UnprocessedLeft(RuntimeError):
    """DynamoDB still held back part of a batch after every round."""

    def __init__(self, operation: str, table: str, left: int) -> None:
        super().__init__(f"DynamoDB left {left} of a {operation} on {table} unprocessed after {ROUNDS} rounds")
        self.operation, self.table, self.left = operation, table, left


def batch_get(client: Any, table: str, keys: Sequence[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    """The items found for `keys` (in no set order). `options` go with each chunk's keys: ProjectionExpression,
    ExpressionAttributeNames, ConsistentRead."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_SIZE):
        request = {table: {**options, "Keys": list(keys[start : start + BATCH_GET_SIZE])}}
        for answer in _until_processed(client.batch_get_item, "BatchGetItem", table, request, "UnprocessedKeys"):
            found.extend(answer["Responses"].get(table, []))
    return found


def batch_write(client: Any, table: str, requests: Sequence[dict[str, Any]]) -> int:
    """Sends the PutRequests and DeleteRequests, and returns the calls made (a caller's call budget counts them)."""
    calls = 0
    for start in range(0, len(requests), BATCH_WRITE_SIZE):
        request = {table: list(requests[start : start + BATCH_WRITE_SIZE])}
        for _ in _until_processed(client.batch_write_item, "BatchWriteItem", table, request, "UnprocessedItems"):
            calls += 1
    return calls


def _until_processed(
    call: Any, operation: str, table: str, request: dict[str, Any], unprocessed: str
) -> Iterator[dict[str, Any]]:
    """Each answer, until DynamoDB has processed the whole request."""
    for attempt in range(ROUNDS):
        answer: dict[str, Any] = call(RequestItems=request)
        yield answer
        request = answer.get(unprocessed) or {}
        if not request:
            return
        if attempt + 1 < ROUNDS:
            sleep(min(MAX_PAUSE, FIRST_PAUSE * 2**attempt) * random.uniform(0.5, 1.0))  # jitter spreads retries
    left = request[table]
    raise UnprocessedLeft(operation, table, len(left["Keys"]) if operation == "BatchGetItem" else len(left))
