"""The EventBridge bus, as the service puts its own (operational) events on it."""

from __future__ import annotations

from typing import Any

from oms_webhooks.adapters.aws import events

PUT_EVENTS_SIZE = 10  # entries in one PutEvents call, at most


class EventBus:
    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or events()

    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        """One PutEvents call of at most ten entries; for each entry, in order, EventBridge's error code if it did not
        take it, else None (a call that fails raises)."""
        assert len(entries) <= PUT_EVENTS_SIZE, "PutEvents takes ten entries a call"
        answer = self.client.put_events(Entries=entries)
        results = answer.get("Entries") or [{} for _ in entries]
        return [result.get("ErrorCode") for result in results]
