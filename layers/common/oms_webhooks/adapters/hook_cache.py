"""Active hooks per event type, kept by a warm dispatcher while the type's version in DynamoDB is unchanged.

One consistent GetItem replaces a Query of every hook of the type: cheaper and faster, and never stale,
since every write of a hook bumps its type's version in the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.domain.hooks import HookTarget


@dataclass
class CircuitsRead:
    """Filled by `pages` with the type's circuits item, read in the same call as the version (None: no item)."""

    item: dict[str, Any] | None = None


class ActiveHooks:
    def __init__(self, store: HookStore) -> None:
        self.store = store
        self._cached: dict[str, tuple[int, list[HookTarget]]] = {}
        self._lock = threading.Lock()

    def pages(self, key: str, circuits: CircuitsRead | None = None) -> Iterator[list[HookTarget]]:
        """The hooks of a dispatch key (hook_store.dispatch_key: an event type, or an operational type and its owner)
        as pages: one cached page, or the Query's pages as they arrive (and then cached)."""
        if circuits is None:
            version = self.store.active_version(key)
        else:
            version, circuits.item = self.store.active_version_and_circuits(key)
        with self._lock:
            cached = self._cached.get(key)
        if cached and cached[0] == version:
            yield cached[1]
            return
        found: list[HookTarget] = []
        for page in self.store.active_hooks(key):
            found.extend(page)
            yield page
        with self._lock:
            self._cached[key] = (version, found)
