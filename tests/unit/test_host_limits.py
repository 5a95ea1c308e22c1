"""Per-host concurrency: places per host in the sender, and the dispatcher's per-host scheduling."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from oms_webhooks.adapters import host_limits
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.host_limits import HostSlots, host_key, per_host
from oms_webhooks.adapters.sender import Sender
from tests.receiver import Answer, Receiver

BODY = b'{"event": {"type": "package.created", "uuid": "x"}, "payload": {}}'
HEADERS = {"Content-Type": "application/json"}


class InFlight:
    """Counts calls running at once, per host and in all, and can hold them until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.gate = threading.Event()

    def run(self, item: tuple[str, int]) -> int:
        url, number = item
        host = url.split("/")[2]
        with self.lock:
            self.now[host] += 1
            self.most[host] = max(self.most[host], self.now[host])
        self.gate.wait(10)
        with self.lock:
            self.now[host] -= 1
        return number * 2


def test_host_key_is_urllib3_pool_key() -> None:
    assert host_key("https://Shop.Example.com/a?b") == ("https", "shop.example.com", 443)
    assert host_key("http://shop.example.com:8080/x") == ("http", "shop.example.com", 8080)
    assert host_key("http://shop.example.com/x") == host_key("HTTP://SHOP.example.com:80/y")
    assert host_key("http://a.test/") != host_key("https://a.test/")
    assert host_key("http://[::1")[0] == ""  # unparsable: a host of its own, never a crash


def test_host_slots_never_let_more_than_the_limit_in() -> None:
    slots = HostSlots(3)
    flights = InFlight()

    def one(n: int) -> None:
        with slots.slot(f"http://busy.test/{n}"):
            flights.run(("http://busy.test/", n))

    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(one, n) for n in range(12)]
        deadline = threading.Event()
        for _ in range(200):  # until every worker is either inside or waiting for a place
            if slots.in_use("http://busy.test/") == 12:
                break
            deadline.wait(0.02)
        assert flights.now["busy.test"] == 3
        flights.gate.set()
        for future in futures:
            future.result(timeout=10)
    assert flights.most["busy.test"] == 3
    assert slots.in_use("http://busy.test/") == 0  # forgotten once idle


def test_per_host_caps_each_host_and_lets_other_hosts_through() -> None:
    flights = InFlight()
    busy = [(f"http://busy.test/{n}", n) for n in range(40)]
    quiet = [(f"http://quiet.test/{n}", 100 + n) for n in range(3)]
    results: list[tuple[tuple[str, int], int]] = []
    with ThreadPoolExecutor(16) as pool:
        stream = per_host(pool, busy + quiet, flights.run, lambda item: item[0], limit=4)
        consumer = threading.Thread(target=lambda: results.extend(stream))
        consumer.start()
        for _ in range(500):  # the quiet host's three start although forty of the busy host came first
            if flights.now["quiet.test"] == 3:
                break
            threading.Event().wait(0.01)
        assert flights.now["quiet.test"] == 3
        assert flights.now["busy.test"] == 4
        flights.gate.set()
        consumer.join(timeout=30)
    assert flights.most["busy.test"] == 4
    assert sorted(results) == sorted((item, item[1] * 2) for item in busy + quiet)


def test_per_host_raises_what_the_work_raised() -> None:
    def work(item: int) -> int:
        if item == 3:
            raise ValueError("three")
        return item

    with ThreadPoolExecutor(4) as pool, pytest.raises(ValueError, match="three"):
        list(per_host(pool, range(6), work, lambda _: "http://a.test/", limit=2))


def test_a_hosts_next_item_runs_on_the_thread_that_finished_its_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hand-off to a new thread per item: a host's two places are two threads, however many items it has."""
    monkeypatch.setattr(host_limits, "KEEP_THREAD_SECONDS", 60.0)  # however slow this machine is now
    threads: set[str] = set()
    all_read = threading.Event()

    def items() -> Iterator[int]:
        yield from range(30)
        all_read.set()

    def work(item: int) -> int:
        threads.add(threading.current_thread().name)
        all_read.wait(10)
        return item

    with ThreadPoolExecutor(8) as pool:
        results = list(per_host(pool, items(), work, lambda _: "http://a.test/", limit=2))
    assert sorted(item for item, _ in results) == list(range(30))
    assert len(threads) == 2


def test_a_host_with_slow_answers_gives_its_thread_to_other_hosts_items_between_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One thread, a host's three slow items and another host's one: the other host's starts after the first slow one,
    not after all three (as it would if the thread kept to its host)."""
    monkeypatch.setattr(host_limits, "KEEP_THREAD_SECONDS", 0.05)
    started: list[int] = []
    all_read = threading.Event()

    def items() -> Iterator[int]:
        yield from range(4)
        all_read.set()

    def work(item: int) -> int:
        started.append(item)
        all_read.wait(10)  # every item queued before the first ends
        threading.Event().wait(0.1 if item < 3 else 0)
        return item

    urls = {0: "http://slow.test/", 1: "http://slow.test/", 2: "http://slow.test/", 3: "http://other.test/"}
    with ThreadPoolExecutor(1) as pool:
        results = list(per_host(pool, items(), work, urls.__getitem__, limit=1))
    assert sorted(item for item, _ in results) == [0, 1, 2, 3]
    assert started == [0, 3, 1, 2]


def test_finished_items_are_handed_back_a_group_at_a_time() -> None:
    """The reader wakes once a group, not once an item: the dispatcher writes its records 25 at a time anyway."""
    done = [threading.Event() for _ in range(10)]
    all_read = threading.Event()
    received: list[int] = []

    def items() -> Iterator[int]:
        yield from range(10)
        all_read.set()  # from here the reader waits for a group

    def work(item: int) -> int:
        done[item].wait(10)
        return item

    with ThreadPoolExecutor(10) as pool:
        stream = per_host(pool, items(), work, lambda _: "http://a.test/", limit=10, group=5)
        reader = threading.Thread(target=lambda: received.extend(item for item, _ in stream))
        reader.start()
        assert all_read.wait(10)
        for item in range(4):
            done[item].set()
        reader.join(timeout=0.3)  # four finished: not yet a group
        assert received == []
        done[4].set()
        for _ in range(500):
            if len(received) == 5:
                break
            threading.Event().wait(0.01)
        assert sorted(received) == [0, 1, 2, 3, 4]
        for event in done[5:]:
            event.set()
        reader.join(timeout=10)
    assert sorted(received) == list(range(10))


def test_no_waiting_item_starts_after_the_work_raised() -> None:
    ran: list[int] = []

    def work(item: int) -> int:
        ran.append(item)
        if item == 1:
            raise ValueError("one")
        return item

    with ThreadPoolExecutor(4) as pool, pytest.raises(ValueError, match="one"):
        list(per_host(pool, range(6), work, lambda _: "http://a.test/", limit=1))
    assert ran == [0, 1]


def test_a_reader_that_stops_starts_no_more() -> None:
    ran: list[int] = []
    all_read, hold = threading.Event(), threading.Event()

    def items() -> Iterator[int]:
        yield from range(6)
        all_read.set()

    def work(item: int) -> int:
        ran.append(item)
        (hold if item else all_read).wait(10)  # item 1, next on the thread that ran item 0, runs as the reader stops
        return item

    with ThreadPoolExecutor(4) as pool:
        stream = per_host(pool, items(), work, lambda _: "http://a.test/", limit=1)
        assert next(stream) == (0, 0)
        stream.close()
        hold.set()
    assert ran == [0, 1]  # the one running when the reader stopped finishes; the host's others never start


def test_the_sender_opens_no_more_connections_to_a_host_than_its_limit(receiver: Receiver) -> None:
    """Sixty posts from thirty threads to one host: four places, so four connections, reused."""
    url = receiver.script("/slow", Answer(delay=0.05))
    sender = Sender(AddressPolicy(allow_loopback=True), connect_timeout=2, total_timeout=10, connections_per_host=4)
    try:
        with ThreadPoolExecutor(30) as pool:
            results = list(pool.map(lambda _: sender.post(url, BODY, HEADERS), range(60)))
    finally:
        sender.pool.clear()
    assert [r.status_code for r in results] == [200] * 60, {r.error for r in results}
    assert len(receiver.received["/slow"]) == 60
    assert receiver.connections.most_open == 4  # in flight and kept alive, never more than the limit
    assert receiver.connections.accepted == 4  # pooled connections are reused, none discarded and reopened
