"""moto's DynamoDB client, handing back part of every batch as unprocessed, as DynamoDB does when it throttles."""

from __future__ import annotations

from typing import Any

import boto3


class HoldingBack:
    """moto's DynamoDB client, processing all but the last `hold` keys or items of each batch call and handing those
    back as unprocessed, for the first `times` batch calls (None: for every one)."""

    def __init__(self, hold: int = 1, times: int | None = None) -> None:
        self.client = boto3.client("dynamodb")
        self.hold, self.times = hold, times
        self.calls: list[int] = []  # the keys or items each batch call carried

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _held(self, entries: list[Any]) -> int:
        holding = self.times is None or len(self.calls) < self.times
        self.calls.append(len(entries))
        return min(self.hold, len(entries)) if holding else 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, request)] = RequestItems.items()
        keys = request["Keys"]
        held = self._held(keys)
        served, kept = keys[: len(keys) - held], keys[len(keys) - held :]
        answer: dict[str, Any] = {"Responses": {table: []}}
        if served:
            answer = self.client.batch_get_item(RequestItems={table: {**request, "Keys": served}})
        if kept:
            answer["UnprocessedKeys"] = {table: {**request, "Keys": kept}}
        return answer

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        held = self._held(requests)
        served, kept = requests[: len(requests) - held], requests[len(requests) - held :]
        answer: dict[str, Any] = {}
        if served:
            answer = self.client.batch_write_item(RequestItems={table: served})
        if kept:
            answer["UnprocessedItems"] = {table: kept}
        return answer
