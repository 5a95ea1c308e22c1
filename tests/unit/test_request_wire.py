"""A delivery's request on the wire: http.client's bytes and checks, the head and the body in one send."""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from oms_webhooks.adapters.address_guard import AddressPolicy, GuardedHTTPConnection

LOOPBACK = AddressPolicy(allow_loopback=True)
BODY = b'{"event":{"type":"package.created","uuid":"' + b"a" * 32 + b'"},"payload":{"id":1}}'
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "OMS-Webhooks/1.0",
    "X-Whisperer-Signature": "sha256=" + "0" * 64,
    "webhook-id": "a" * 32,
}


class Recorder:
    """A TCP server on 127.0.0.1 that keeps, per connection, every byte it is sent until the client hangs up."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                data = b""
                while chunk := connection.recv(65536):
                    data += chunk
                self.received.append(data)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


class Recording:
    """Keeps what each of a connection's sends carried."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[bytes] = []

    def send(self, data: Any) -> None:
        self.sent.append(bytes(data))
        super().send(data)  # type: ignore[misc]


class Counted(Recording, GuardedHTTPConnection):
    """The sender's connection class."""


class CountedPlain(Recording, http.client.HTTPConnection):
    """http.client's own."""


def _request(connection: Any, recorder: Recorder, body: Any = BODY, headers: dict[str, str] = HEADERS) -> bytes:
    http.client.HTTPConnection.request(connection, "POST", "/hook/1?x=1", body, headers)  # as the sender sends it
    connection.close()  # the server's read ends: it keeps what came
    for _ in range(200):  # at most 10 s
        if recorder.received:
            return recorder.received.pop()
        time.sleep(0.05)
    raise AssertionError("the server received nothing")


def test_the_same_bytes_as_http_client_in_one_send(recorder: Recorder) -> None:
    plain = CountedPlain("127.0.0.1", recorder.port)
    expected = _request(plain, recorder)
    assert len(plain.sent) == 2  # http.client: the head, then the body

    guarded = Counted("127.0.0.1", recorder.port, policy=LOOPBACK)
    assert _request(guarded, recorder) == expected
    assert guarded.sent == [expected]
    assert expected.endswith(b"\r\n\r\n" + BODY)
    assert b"Content-Length: %d\r\n" % len(BODY) in expected


def test_a_body_that_is_not_bytes_goes_as_http_client_sends_it(recorder: Recorder) -> None:
    plain = CountedPlain("127.0.0.1", recorder.port)
    expected = _request(plain, recorder, body=io.BytesIO(BODY), headers={**HEADERS, "Content-Length": str(len(BODY))})
    guarded = Counted("127.0.0.1", recorder.port, policy=LOOPBACK)
    got = _request(guarded, recorder, body=io.BytesIO(BODY), headers={**HEADERS, "Content-Length": str(len(BODY))})
    assert got == expected
    assert len(guarded.sent) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Injected": "a\r\nX-Other: b"},
        {"X-Injected": "a\nb"},
        {"X-Bad\r\nName": "a"},
        {"X-Bad:": "a"},
    ],
)
def test_http_clients_checks_of_names_and_values_still_hold(recorder: Recorder, headers: dict[str, str]) -> None:
    guarded = Counted("127.0.0.1", recorder.port, policy=LOOPBACK)
    with pytest.raises(ValueError, match="Invalid header"):
        http.client.HTTPConnection.request(guarded, "POST", "/", BODY, headers)
    guarded.close()
    assert not any(b"X-Other" in sent for sent in guarded.sent)
