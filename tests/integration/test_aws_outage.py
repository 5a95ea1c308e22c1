"""The AWS endpoint briefly unreachable in the middle of a fan-out: SDK retries, or the invocation's retry,
carry it through; every hook gets the event exactly once and every delivery is recorded."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.session import get_session

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import CONFIG
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.dispatch import Dispatcher
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.integration.support import subscribe, unsubscribe_all
from tests.receiver import Answer, Receiver

EVENT_TYPE = "transfer.status.in_transit"


class TcpProxy:
    """127.0.0.1 → the moto endpoint; `cut()` refuses and drops every connection until `restore()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.links: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            if self.listener:
                with contextlib.suppress(OSError):
                    self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close alone would not
                self.listener.close()
                self.listener = None
            for link in self.links:
                with contextlib.suppress(OSError):
                    link.close()
            self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.links += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 5)
                if not ready:
                    continue
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for end in (a, b):
                with contextlib.suppress(OSError):
                    end.close()


@pytest.fixture
def proxy(deployed: dict[str, LocalFunction]) -> Iterator[TcpProxy]:
    host, port = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://").split(":")
    proxy = TcpProxy((host, int(port)))
    yield proxy
    proxy.cut()


def client_via(proxy: TcpProxy, service: str) -> Any:
    return get_session().create_client(
        service, endpoint_url=f"http://127.0.0.1:{proxy.port}", region_name="us-east-1", config=CONFIG
    )


def test_a_brief_outage_of_the_aws_endpoint_mid_dispatch_loses_and_duplicates_nothing(proxy: TcpProxy) -> None:
    owner = f"owner-{uuid.uuid4().hex[:10]}"
    receiver = Receiver()
    try:
        for i in range(20):
            receiver.script(f"/o{i}", Answer(200, delay=0.3))
            subscribe(owner, receiver.url(f"/o{i}"), EVENT_TYPE)
        config = settings()
        dynamodb = client_via(proxy, "dynamodb")
        failures: list[str] = []
        dynamodb.meta.events.register(
            "needs-retry.dynamodb",
            lambda caught_exception=None, operation=None, **_: (
                failures.append(operation.name) if caught_exception else None
            ),
        )
        dispatcher = Dispatcher(
            HookStore(config.hooks_table, client=dynamodb),
            DeliveryStore(config.deliveries_table, client=dynamodb),
            Sender(AddressPolicy(allow_loopback=True)),
            RetryQueue(config.retry_queue_url, client=client_via(proxy, "sqs")),
            workers=8,
        )
        event = OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 9})
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["report"] = dispatcher.dispatch(event)
            except Exception as exc:  # the SDK gave up: Lambda would invoke again
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.4)  # the sends are under way, the first records about to be written
        proxy.cut()
        time.sleep(1.5)
        proxy.restore()
        worker.join(timeout=60)
        if "error" in outcome:
            outcome["report"] = dispatcher.dispatch(event)  # the invocation's retry resumes the fan-out
        report = outcome["report"]
        assert report.delivered + report.skipped == 20
        assert failures, "the outage never hit a DynamoDB call: the test proved nothing"

        counts = [len(receiver.received[f"/o{i}"]) for i in range(20)]
        assert min(counts) >= 1  # nothing lost
        if "error" not in outcome:
            assert counts == [1] * 20  # nothing twice
        records = DeliveryStore(config.deliveries_table).query_owner(owner, {}, None, None, 100, None).items
        assert len(records) == 20 and all(r.delivered for r in records)
    finally:
        receiver.stop()
        unsubscribe_all(owner)
