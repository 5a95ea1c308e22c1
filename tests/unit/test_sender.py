"""The outbound POST against real receivers on 127.0.0.1: answers, limits, timeouts, pooling and the guard.

Every server here listens on 127.0.0.1 on a free port and is stopped by the end of its test;
no other address is ever contacted.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from oms_webhooks.adapters import sender as sender_module
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.deadline import Ticket
from oms_webhooks.adapters.sender import (
    RESPONSE_CONTENT_LIMIT,
    RESPONSE_HEADER_BYTES,
    RESPONSE_HEADERS_LIMIT,
    Sender,
    SendResult,
    _retry_after,
    kept_headers,
)

LOCAL_DEV = AddressPolicy(allow_loopback=True)
CONNECT_TIMEOUT = 0.5
TOTAL_TIMEOUT = 1.0
BODY = b'{"event": {"type": "package.created", "uuid": "0123456789abcdef0123456789abcdef"}, "payload": {"id": 1}}'
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "OMS-Webhooks/1.0 (whisperer-compatible)",
    "X-Whisperer-Event": "package.created",
    "X-Custom": "yes",
}


@pytest.fixture
def sender() -> Iterator[Sender]:
    """A sender with short timeouts; its pooled connections are closed after the test."""
    sender = Sender(LOCAL_DEV, connect_timeout=CONNECT_TIMEOUT, total_timeout=TOTAL_TIMEOUT)
    yield sender
    sender.pool.clear()


@pytest.fixture
def receiver() -> Iterator[HTTPServer]:
    """A pytest-httpserver receiver of this test's own, on 127.0.0.1 and a free port."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def timed_post(
    sender: Sender, url: str, body: bytes = BODY, headers: dict[str, str] | None = None
) -> tuple[SendResult, float]:
    clock = time.perf_counter()
    result = sender.post(url, body, HEADERS if headers is None else headers)
    return result, time.perf_counter() - clock


# --- a small HTTP/1.1 server that keeps connections alive and remembers which one carried each request ---


@dataclass
class Seen:
    path: str
    client: tuple[str, int]
    body: bytes


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class KeepAliveReceiver:
    answer: Callable[[str], Reply]
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def connections(self) -> set[tuple[str, int]]:
        with self.lock:
            return {seen.client for seen in self.seen}


class QuietServer(ThreadingHTTPServer):
    """Handler threads die with the test; a client that hangs up (as a capped read does) is no error here."""

    daemon_threads = True

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def keep_alive() -> Iterator[Callable[[Callable[[str], Reply]], KeepAliveReceiver]]:
    started: list[tuple[QuietServer, threading.Thread]] = []

    def start(answer: Callable[[str], Reply]) -> KeepAliveReceiver:
        state = KeepAliveReceiver(answer)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # an idle kept-alive connection ends its thread at the latest then

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with state.lock:
                    state.seen.append(Seen(self.path, self.client_address, body))
                status, headers, content = state.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Transfer-Encoding" not in headers:
                    self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = QuietServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        state.server = server
        started.append((server, thread))
        return state

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- raw sockets, for receivers that misbehave below HTTP ---


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 that nobody accepts from: the kernel completes connections, no one answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


def url_of(sock: socket.socket, path: str = "/hook") -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}{path}"


def pending_connections(sock: socket.socket) -> int:
    """How many connections wait in the listener's backlog (accepted and closed here)."""
    sock.setblocking(False)
    count = 0
    try:
        for _ in range(100):
            conn, _address = sock.accept()
            conn.close()
            count += 1
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return count


# --- answers ---


def test_a_200_answer_is_a_success_and_the_receiver_gets_exactly_what_was_sent(
    sender: Sender, receiver: HTTPServer
) -> None:
    receiver.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == 200
    assert result.succeeded
    assert result.content == "thanks"
    assert result.error is None
    assert result.retry_after is None
    assert result.duration > 0
    assert result.started.tzinfo is not None
    assert result.started.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - result.started) < timedelta(seconds=30)
    assert len(receiver.log) == 1
    request, _response = receiver.log[0]
    assert request.get_data() == BODY
    for name, value in HEADERS.items():
        assert request.headers.get(name) == value
    assert request.headers.get("Content-Length") == str(len(BODY))


def test_an_answers_headers_are_kept_in_order_and_a_cookie_is_not(sender: Sender, receiver: HTTPServer) -> None:
    answer = Response("down", status=503, headers=[("X-Request-Id", "abc-1"), ("Set-Cookie", "session=s3cret")])
    answer.headers.add("Vary", "Accept")
    answer.headers.add("Vary", "Origin")
    receiver.expect_request("/hook", method="POST").respond_with_response(answer)

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.headers["X-Request-Id"] == "abc-1"
    assert result.headers["Set-Cookie"] == "[redacted]"
    assert result.headers["Vary"] == "Accept, Origin"
    assert "s3cret" not in repr(result)
    names = list(result.headers)
    assert names.index("X-Request-Id") < names.index("Set-Cookie") < names.index("Vary")  # as they came


def test_at_most_20_headers_and_4_kb_of_them_are_kept() -> None:
    many = [(f"X-H{n:02d}", "v") for n in range(30)]
    assert list(kept_headers(many)) == [f"X-H{n:02d}" for n in range(RESPONSE_HEADERS_LIMIT)]
    big = [("X-Small", "a"), ("X-Big", "b" * 5000), ("X-After", "c")]
    assert kept_headers(big) == {"X-Small": "a"}  # the first that would pass the bound ends the list
    under = [(f"X-{n}", "v" * 1000) for n in range(10)]
    kept = kept_headers(under)
    assert sum(len(name) + len(value) for name, value in kept.items()) <= RESPONSE_HEADER_BYTES
    assert len(kept) == 4  # 4 of about 1,003 bytes each fit; the fifth would pass 4,096
    repeated = kept_headers([("Vary", "a")] * 3000)["Vary"]  # one name: its values joined, within the bytes
    assert RESPONSE_HEADER_BYTES - 3 < len("Vary") + len(repeated) <= RESPONSE_HEADER_BYTES


@pytest.mark.parametrize("status", [500, 404, 410, 400])
def test_an_error_answer_fails_and_keeps_status_and_content(sender: Sender, receiver: HTTPServer, status: int) -> None:
    receiver.expect_request("/hook", method="POST").respond_with_data(f"no: {status}", status=status)

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == status
    assert not result.succeeded
    assert result.content == f"no: {status}"
    assert result.error is None


@pytest.mark.parametrize("status", [201, 202, 204, 299])
def test_every_2xx_answer_is_a_success(sender: Sender, receiver: HTTPServer, status: int) -> None:
    receiver.expect_request("/hook", method="POST").respond_with_data("", status=status)

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == status
    assert result.succeeded
    assert result.content == ""


def test_a_redirect_is_not_followed(sender: Sender, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_response(
        Response("moved", status=302, headers={"Location": receiver.url_for("/elsewhere")})
    )
    receiver.expect_request("/elsewhere").respond_with_data("should never be asked")

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == 302
    assert not result.succeeded
    assert result.content == "moved"
    assert [request.path for request, _response in receiver.log] == ["/hook"]


def test_a_large_answer_is_capped_and_does_not_hold_the_attempt(sender: Sender, receiver: HTTPServer) -> None:
    large = b"a" * (1024 * 1024)
    receiver.expect_request("/big").respond_with_data(large)
    receiver.expect_request("/small").respond_with_data("small")

    result, elapsed = timed_post(sender, receiver.url_for("/big"))

    assert result.status_code == 200
    assert result.content == "a" * RESPONSE_CONTENT_LIMIT
    assert result.error is None
    assert elapsed < TOTAL_TIMEOUT
    after, _elapsed = timed_post(sender, receiver.url_for("/small"))
    assert after.status_code == 200
    assert after.content == "small"


def test_content_is_cut_at_the_limit_in_bytes_and_decoded_leniently(sender: Sender, receiver: HTTPServer) -> None:
    # 'é' is two bytes in UTF-8; the limit falls in the middle of one of them.
    text = "x" + "é" * RESPONSE_CONTENT_LIMIT
    receiver.expect_request("/hook").respond_with_data(text.encode(), status=500)

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == 500
    assert result.content is not None
    assert len(result.content.encode()) <= RESPONSE_CONTENT_LIMIT + 2  # the cut half character becomes U+FFFD
    assert result.content.startswith("xéé")
    assert result.content.endswith("\ufffd")


def test_an_answer_exactly_at_the_limit_is_kept_whole(sender: Sender, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data(b"b" * RESPONSE_CONTENT_LIMIT)

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.content == "b" * RESPONSE_CONTENT_LIMIT


# --- connections: keep-alive and the shared pool ---


def test_sequential_posts_reuse_one_connection(
    sender: Sender, keep_alive: Callable[[Callable[[str], Reply]], KeepAliveReceiver]
) -> None:
    statuses = iter([200, 500, 404, 200, 429])
    server = keep_alive(lambda _path: (next(statuses), {}, b"ok"))

    results = [sender.post(f"{server.url}/hook/{number}", BODY, HEADERS) for number in range(5)]

    assert [result.status_code for result in results] == [200, 500, 404, 200, 429]
    assert [seen.path for seen in server.seen] == [f"/hook/{number}" for number in range(5)]
    assert all(seen.body == BODY for seen in server.seen)
    assert len(server.connections()) == 1


def test_a_pool_the_manager_let_go_is_replaced_and_its_host_still_reached(
    sender: Sender, keep_alive: Callable[[Callable[[str], Reply]], KeepAliveReceiver]
) -> None:
    server = keep_alive(lambda _path: (200, {}, b"ok"))

    first = sender.post(f"{server.url}/hook", BODY, HEADERS)
    sender.pool.clear()  # as the manager lets go of the least recently used pool of too many hosts
    after = sender.post(f"{server.url}/hook", BODY, HEADERS)
    again = sender.post(f"{server.url}/hook", BODY, HEADERS)

    assert [first.status_code, after.status_code, again.status_code] == [200, 200, 200]
    clients = [seen.client for seen in server.seen]
    assert clients[1] != clients[0]  # a new pool, a new connection: the sender kept no pool of its own
    assert clients[2] == clients[1]  # the new pool keeps its connection alive


def test_a_capped_answer_costs_its_connection_but_the_next_post_works(
    sender: Sender, keep_alive: Callable[[Callable[[str], Reply]], KeepAliveReceiver]
) -> None:
    server = keep_alive(lambda path: (200, {}, b"z" * (64 * 1024) if path == "/big" else b"fine"))

    first = sender.post(f"{server.url}/small", BODY, HEADERS)
    big = sender.post(f"{server.url}/big", BODY, HEADERS)
    after = sender.post(f"{server.url}/small", BODY, HEADERS)
    again = sender.post(f"{server.url}/small", BODY, HEADERS)

    assert [first.content, after.content, again.content] == ["fine", "fine", "fine"]
    assert big.content == "z" * RESPONSE_CONTENT_LIMIT
    clients = [seen.client for seen in server.seen]
    assert clients[0] == clients[1]  # the small answer was read to its end, so its connection came back
    assert clients[2] != clients[1]  # the capped one was closed unread
    assert clients[3] == clients[2]
    assert len(server.connections()) == 2


def test_a_chunked_answer_is_read_to_its_end_and_the_connection_reused(
    sender: Sender, keep_alive: Callable[[Callable[[str], Reply]], KeepAliveReceiver]
) -> None:
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    server = keep_alive(lambda _path: (200, {"Transfer-Encoding": "chunked"}, chunked))

    results = [sender.post(f"{server.url}/hook", BODY, HEADERS) for _ in range(3)]

    assert [result.content for result in results] == ["hello world"] * 3
    assert len(server.connections()) == 1


def test_a_large_chunked_answer_is_capped(
    sender: Sender, keep_alive: Callable[[Callable[[str], Reply]], KeepAliveReceiver]
) -> None:
    chunk = b"c" * 700
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    server = keep_alive(lambda _path: (503, {"Transfer-Encoding": "chunked", "Retry-After": "30"}, chunked))

    result = sender.post(f"{server.url}/hook", BODY, HEADERS)

    assert result.status_code == 503
    assert result.content == "c" * RESPONSE_CONTENT_LIMIT
    assert result.retry_after == 30


def test_concurrent_posts_share_the_pool(
    keep_alive: Callable[[Callable[[str], Reply]], KeepAliveReceiver],
) -> None:
    def slow(_path: str) -> Reply:
        time.sleep(0.2)
        return 200, {}, b"ok"

    server = keep_alive(slow)
    sender = Sender(LOCAL_DEV, connect_timeout=2.0, total_timeout=10.0)
    try:
        clock = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as workers:
            results = list(workers.map(lambda n: sender.post(f"{server.url}/hook/{n}", BODY, HEADERS), range(50)))
        elapsed = time.perf_counter() - clock
    finally:
        sender.pool.clear()

    assert [result.status_code for result in results] == [200] * 50, [result.error for result in results]
    assert sorted(seen.path for seen in server.seen) == sorted(f"/hook/{n}" for n in range(50))
    assert elapsed < 5.0  # one at a time would take 50 * 0.2 = 10 s
    assert len(server.connections()) <= 16  # no more connections than posts in flight at once


# --- failures below HTTP ---


@pytest.mark.parametrize(("url", "named"), [("ftp://example.test/hook", "ftp"), ("http:///hook", "No host")])
def test_a_url_no_pool_can_serve_is_a_failed_attempt_not_an_exception(sender: Sender, url: str, named: str) -> None:
    result = sender.post(url, BODY, HEADERS)  # the API refuses these; a record written before its checks may hold one

    assert result.status_code is None
    assert result.error is not None and named in result.error


def test_a_refused_connection_is_a_failed_attempt(sender: Sender) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # bound, never listened on, now closed: nothing accepts on this port

    result, elapsed = timed_post(sender, f"http://127.0.0.1:{port}/hook")

    assert result.status_code is None
    assert not result.succeeded
    assert result.error is not None
    assert "Connection refused" in result.error
    assert result.content is None
    assert elapsed < TOTAL_TIMEOUT + 2


def test_a_receiver_that_never_answers_times_out(sender: Sender, listener: socket.socket) -> None:
    result, elapsed = timed_post(sender, url_of(listener))

    assert result.status_code is None
    assert not result.succeeded
    assert result.error is not None
    assert "timed out" in result.error.lower()
    assert TOTAL_TIMEOUT - CONNECT_TIMEOUT <= elapsed < TOTAL_TIMEOUT + 2
    assert result.duration == pytest.approx(elapsed, abs=0.5)


@dataclass
class OneConnection:
    """A thread that accepts one connection and plays a script on it; `finish()` ends it and waits for it."""

    thread: threading.Thread
    stop: threading.Event

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


def read_request(conn: socket.socket) -> bytes:
    """The whole request, head and body: a connection closed with part of it unread is reset, not closed, and the
    sender would see that instead of the answer (the head and body can arrive apart on a busy machine)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def serve_once(listener: socket.socket, script: Callable[[socket.socket, threading.Event], None]) -> OneConnection:
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(5)
        try:
            conn, _address = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                read_request(conn)
                script(conn, stop)
            except OSError:
                pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return OneConnection(thread, stop)


def test_a_body_trickled_slowly_is_bounded_by_the_total_timeout(sender: Sender, listener: socket.socket) -> None:
    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n")
        for _ in range(200):  # at most 200 * 0.1 s, and stopped as soon as the test is done
            if stop.wait(0.1):
                return
            conn.sendall(b"t")

    server = serve_once(listener, trickle)
    try:
        result, elapsed = timed_post(sender, url_of(listener))
    finally:
        server.finish()

    assert elapsed < TOTAL_TIMEOUT + 2
    assert result.status_code == 200  # the receiver did answer; reading its body is what ran out of time
    assert result.error is not None
    assert "timed out" in result.error.lower()
    assert result.content is not None
    assert 0 < len(result.content) < 100  # what had come of the body by then
    assert set(result.content) == {"t"}


def test_a_body_trickled_slowly_below_the_limit_is_bounded_too(sender: Sender, listener: socket.socket) -> None:
    # Each byte arrives well within the read timeout; only the total deadline can end this.
    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 60\r\n\r\n")
        for _ in range(60):
            if stop.wait(0.1):
                return
            conn.sendall(b"e")

    server = serve_once(listener, trickle)
    try:
        result, elapsed = timed_post(sender, url_of(listener))
    finally:
        server.finish()

    assert elapsed < TOTAL_TIMEOUT + 2
    assert result.status_code == 500
    assert not result.succeeded
    assert result.error is not None
    assert "timed out" in result.error.lower()


def test_a_body_cut_short_is_a_failed_read(sender: Sender, listener: socket.socket) -> None:
    def short(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\nonly this")

    server = serve_once(listener, short)
    try:
        result, elapsed = timed_post(sender, url_of(listener))
    finally:
        server.finish()

    assert result.status_code == 500
    assert result.error is not None
    assert "IncompleteRead" in result.error
    assert result.content == "only this"
    assert elapsed < TOTAL_TIMEOUT + 2


def test_garbage_instead_of_http_is_a_failed_attempt(sender: Sender, listener: socket.socket) -> None:
    def garbage(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")

    server = serve_once(listener, garbage)
    try:
        result, elapsed = timed_post(sender, url_of(listener))
    finally:
        server.finish()

    assert result.status_code is None
    assert result.error is not None
    assert elapsed < TOTAL_TIMEOUT + 2


# --- the address guard on the way out ---


def test_loopback_is_refused_without_the_flag_and_nothing_connects(listener: socket.socket) -> None:
    strict = Sender(AddressPolicy(allow_loopback=False), connect_timeout=CONNECT_TIMEOUT, total_timeout=TOTAL_TIMEOUT)

    for url in (url_of(listener), f"http://localhost:{listener.getsockname()[1]}/hook"):
        result = strict.post(url, BODY, HEADERS)
        assert result.error is not None
        assert result.error.startswith("Refused:"), result.error
        assert result.status_code is None
        assert not result.succeeded
    assert pending_connections(listener) == 0


def test_the_same_listener_is_reached_with_the_flag(sender: Sender, listener: socket.socket) -> None:
    # The counterpart of the test above: the check of "nothing connected" would have seen a connection.
    result, _elapsed = timed_post(sender, url_of(listener))

    assert result.error is not None
    assert pending_connections(listener) == 1


def test_an_unparsable_url_is_a_failed_attempt(sender: Sender) -> None:
    result = sender.post("http://[not-an-address/hook", BODY, HEADERS)

    assert result.status_code is None
    assert result.error is not None


# --- Retry-After ---


def test_retry_after_in_seconds() -> None:
    assert _retry_after(429, "120") == 120
    assert _retry_after(503, " 5 ") == 5
    assert _retry_after(429, "0") == 0


def test_retry_after_as_an_http_date() -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)

    wait = _retry_after(429, future)
    assert wait is not None
    assert 85 <= wait <= 91
    assert _retry_after(503, past) == 0


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "²", "١٢٠", "Mon, 99 Foo 2024 00:00:00 GMT", "", None])
def test_retry_after_that_cannot_be_read_is_ignored(value: str | None) -> None:
    assert _retry_after(429, value) is None


@pytest.mark.parametrize("status", [200, 302, 404, 500])
def test_retry_after_counts_only_on_429_and_503(status: int) -> None:
    assert _retry_after(status, "120") is None


def test_a_429_with_retry_after_reaches_the_result(sender: Sender, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("slow down", status=429, headers={"Retry-After": "7"})

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == 429
    assert not result.succeeded
    assert result.retry_after == 7
    assert result.content == "slow down"


def test_an_unreadable_retry_after_does_not_break_the_attempt(sender: Sender, receiver: HTTPServer) -> None:
    receiver.expect_request("/hook").respond_with_data("busy", status=503, headers={"Retry-After": "²"})

    result, _elapsed = timed_post(sender, receiver.url_for("/hook"))

    assert result.status_code == 503
    assert result.retry_after is None
    assert result.content == "busy"


def test_a_kept_alive_connection_that_stops_answering_is_cut_at_the_total_timeout(
    sender: Sender, listener: socket.socket
) -> None:
    """Its socket blocks with no timeout of Python's once connected: the attempt's deadline alone ends the wait."""

    def answer_once_then_hang(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        read_request(conn)  # the second POST, on the same connection, never answered
        stop.wait(10)

    server = serve_once(listener, answer_once_then_hang)
    try:
        first, _elapsed = timed_post(sender, url_of(listener))
        second, elapsed = timed_post(sender, url_of(listener))
    finally:
        server.finish()

    assert first.status_code == 200 and first.content == "ok"
    assert second.status_code is None and not second.succeeded
    assert second.error is not None and "timed out" in second.error.lower()
    assert elapsed < TOTAL_TIMEOUT + 2
    assert pending_connections(listener) == 0  # one connection served both


def test_the_kernel_ends_a_read_the_watchdog_does_not(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection's kernel send and receive timeouts stand behind the watchdog, so no attempt waits for ever."""

    class AsleepWatchdog:
        def arm(self, seconds: float) -> Ticket:
            return Ticket(time.monotonic() + seconds)  # never fired

    monkeypatch.setattr(sender_module, "WATCHDOG", AsleepWatchdog())
    sender = Sender(LOCAL_DEV, connect_timeout=CONNECT_TIMEOUT, total_timeout=TOTAL_TIMEOUT)

    outcome: list[tuple[SendResult, float]] = []  # connected by the kernel, never answered
    attempt = threading.Thread(target=lambda: outcome.append(timed_post(sender, url_of(listener))), daemon=True)
    attempt.start()
    attempt.join(timeout=TOTAL_TIMEOUT + 5)

    assert outcome, "the attempt still waits"
    result, elapsed = outcome[0]
    assert result.status_code is None and not result.succeeded
    assert result.error is not None
    assert TOTAL_TIMEOUT - 0.1 <= elapsed < TOTAL_TIMEOUT + 2


def test_a_receiver_trickling_its_headers_is_cut_off_at_the_total_timeout() -> None:
    """Each byte arrives within the read timeout, so only the attempt's own deadline can end it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        client, _ = listener.accept()
        with client:
            read_request(client)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                if stop.is_set():
                    return
                try:
                    client.sendall(bytes([byte]))
                except OSError:
                    return
                stop.wait(0.1)

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    sender = Sender(AddressPolicy(allow_loopback=True), connect_timeout=0.5, total_timeout=1.0)
    started = time.monotonic()
    try:
        result = sender.post(f"http://127.0.0.1:{port}/slow", b"{}", {"Content-Type": "application/json"})
    finally:
        stop.set()
        listener.close()
        server.join(timeout=5)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"the attempt took {elapsed:.1f} s"
    assert result.status_code is None and not result.succeeded
    assert result.error is not None and "total timeout" in result.error
