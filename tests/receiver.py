"""A real subscriber for tests: an HTTP server on 127.0.0.1 that records every request and answers as scripted."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False  # accept, read the request, then never answer (until the receiver stops)


@dataclass(frozen=True)
class Received:
    at: float  # time.time() when the request arrived
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.received: dict[str, list[Received]] = defaultdict(list)
        self.scripts: dict[str, list[Answer]] = {}
        self.deciders: dict[str, Callable[[bytes], Answer]] = {}
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.server = _Server(("127.0.0.1", port), _handler(self))
        self.connections = self.server.connections
        self.server.daemon_threads = True
        # Polls for stop() every 50 ms (the default 0.5 s made each stop take half a second, so tests shared one).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> str:
        """Answers for `path`, in turn; the last one repeats. Returns the path's URL."""
        self.scripts[path] = list(answers)
        return self.url(path)

    def decide(self, path: str, decider: Callable[[bytes], Answer]) -> str:
        """Answers for `path` chosen by `decider` from each request's body. Returns the path's URL."""
        self.deciders[path] = decider
        return self.url(path)

    def answer_for(self, path: str) -> Answer:
        script = self.scripts.get(path) or [Answer()]
        count = len(self.received[path])
        return script[min(count - 1, len(script) - 1)]

    def wait_for(self, path: str, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.received[path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return list(self.received[path])

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Connections:
    """Client connections as the server sees them: open now, the most open at once, and accepted in all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0
        self.most_open = 0
        self.accepted = 0

    def opened(self) -> None:
        with self._lock:
            self.open += 1
            self.accepted += 1
            self.most_open = max(self.most_open, self.open)

    def closed(self) -> None:
        with self._lock:
            self.open -= 1


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a fan-out opens dozens at once, and the client's SYN
    # retry then adds a second to those attempts; subscribers' servers have far larger backlogs.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.connections = Connections()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.opened()  # on accept, before its thread starts
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)  # the connection's thread ends: the client closed it, or we did
        self.connections.closed()


def _handler(receiver: Receiver) -> Any:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # As subscribers' servers do: without it each answer's body waits 40 ms for the sender's delayed ACK of its
        # head (http.server writes them apart), and every delivery in the tests took 44 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.changed:
                receiver.received[self.path].append(Received(time.time(), self.path, dict(self.headers.items()), body))
                decider = receiver.deciders.get(self.path)
                answer = decider(body) if decider else receiver.answer_for(self.path)
                receiver.changed.notify_all()
            if answer.hang:
                receiver.stopping.wait(60)
                return
            if answer.delay:
                time.sleep(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
