"""Per-host concurrency: at most `limit` requests at once to one subscriber host, however many hooks it has.

A host is what urllib3 keeps one connection pool for: scheme, host name and port. Two caps work together. The
sender holds one of the host's `limit` places around every request (`HostSlots`), and its pool keeps at most
`limit` connections to the host, so open connections, in flight or idle keep-alive, never exceed `limit` in a
process. The dispatcher starts at most `limit` deliveries per host at once (`per_host`), so a host with a
thousand hooks waits its turn without holding the workers that serve every other host.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar, cast

from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

DEFAULT_CONNECTIONS_PER_HOST = 16
KEEP_THREAD_SECONDS = 0.25  # how long a pool thread goes on with one host's items before it serves the others'
_DEFAULT_PORTS: Mapping[str, int] = {"http": 80, "https": 443}

HostKey = tuple[str, str, int | None]
Item = TypeVar("Item")
Result = TypeVar("Result")


@lru_cache(maxsize=8192)
def parsed_url(url: str) -> Url:
    """urllib3's reading of a target URL, made once: a warm process sends to the same URLs event after event, and
    the dispatcher, the host's slot and the sender each need it. Raises LocationParseError, as `parse_url` does."""
    return parse_url(url)


def host_key(url: str) -> HostKey:
    """(scheme, host, port) as urllib3 keys its pools; a URL it cannot parse is a host of its own."""
    try:
        parts = parsed_url(url)
    except LocationParseError:
        return ("", url, None)
    return url_host(parts)


def url_host(parts: Url) -> HostKey:
    """(scheme, host, port) of a parsed URL, as urllib3 keys its pools: scheme and host in lower case, the scheme's
    port where the URL names none."""
    scheme = (parts.scheme or "http").lower()
    return scheme, (parts.host or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


@dataclass
class _Host:
    places: threading.Semaphore
    users: int = 0


class HostSlots:
    """Requests in flight per host; `slot(url)` waits for one of the host's `limit` places."""

    def __init__(self, limit: int = DEFAULT_CONNECTIONS_PER_HOST) -> None:
        if limit < 1:
            raise ValueError("a host needs at least one connection")
        self.limit = limit
        self._hosts: dict[HostKey, _Host] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        key = host_key(url)
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(threading.Semaphore(self.limit))
            host.users += 1
        host.places.acquire()
        try:
            yield
        finally:
            host.places.release()
            with self._lock:
                host.users -= 1
                if not host.users:  # forgotten when idle, so a process that meets many hosts stays small
                    del self._hosts[key]

    def in_use(self, url: str) -> int:
        """Requests to this URL's host in flight or waiting now (for tests and logs)."""
        with self._lock:
            host = self._hosts.get(host_key(url))
            return host.users if host else 0


def per_host(
    pool: Executor,
    items: Iterable[Item],
    work: Callable[[Item], Result],
    url_of: Callable[[Item], str],
    limit: int,
    group: int = 1,
) -> Generator[tuple[Item, Result], None, None]:
    """Runs `work` on every item in `pool`, at most `limit` at once per host, and yields each item with its result
    once it completes. The items of a busy host wait in a queue here, not in the pool.

    Hand-offs between threads cost more CPU than the scheduling itself: the thread that finishes one of a host's
    items takes the host's next itself, for `KEEP_THREAD_SECONDS`; after that the next goes to the back of the pool's
    queue, so that a host whose answers are slow (or hang) holds a thread no longer than one item beyond that while
    other hosts' items wait for one. Once every item is read the finished ones are handed back `group` at a time (or
    all that are left). A `work` that raises raises here, and no waiting item starts after it."""
    changed = threading.Condition()
    running: Counter[HostKey] = Counter()
    waiting: defaultdict[HostKey, deque[Item]] = defaultdict(deque)
    finished: list[tuple[Item, Result | None, BaseException | None]] = []
    unfinished = 0
    failed = stopped = False

    def run(item: Item, key: HostKey) -> None:
        nonlocal failed
        keep_until = time.monotonic() + KEEP_THREAD_SECONDS
        while True:
            try:
                outcome: tuple[Item, Result | None, BaseException | None] = (item, work(item), None)
            except BaseException as error:
                outcome = (item, None, error)
            with changed:
                finished.append(outcome)
                failed = failed or outcome[2] is not None
                if failed or len(finished) >= min(group, unfinished):
                    changed.notify()
                follows = waiting[key].popleft() if waiting[key] and not (stopped or failed) else None
                if follows is None:
                    running[key] -= 1
                    if not running[key]:
                        del running[key], waiting[key]
                    return
            if time.monotonic() >= keep_until:  # the pool's other hosts' items first, then this host's next
                pool.submit(run, follows, key)
                return
            item = follows

    def handed_back() -> Iterator[tuple[Item, Result]]:
        nonlocal unfinished
        with changed:
            done = finished[:]
            finished.clear()
            unfinished -= len(done)
        for item, result, error in done:
            if error is not None:
                raise error
            yield item, cast(Result, result)

    try:
        for item in items:
            key = host_key(url_of(item))
            with changed:
                unfinished += 1
                start = running[key] < limit
                if start:
                    running[key] += 1
                else:
                    waiting[key].append(item)
            if start:
                pool.submit(run, item, key)
            if finished:  # keep hosts busy while later items are still being read
                yield from handed_back()
        while unfinished:
            with changed:
                changed.wait_for(lambda: failed or len(finished) >= min(group, unfinished))
            yield from handed_back()
    finally:
        stopped = True  # a caller that stops reading, or an error, starts no more
