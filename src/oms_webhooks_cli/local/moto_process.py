"""moto in server mode in a process of its own, so AWS calls and the functions don't share one interpreter lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from typing import Any

STOP_SECONDS = 2.0  # how long moto has to end on SIGTERM before it is killed
LISTEN_BACKLOG = 1024  # connections the kernel queues for moto while its threads are busy
# Requests served at once. Long polls hold one each for up to 20 s (a rule's poller, each SQS event source's
# pollers: up to triggers.MOST_SQS_POLLERS each, 48 for the three of the template; a CLI's `tail`), so there must be
# many more than those; the rest queue in waitress, not in the kernel.
THREADS = 96
CONNECTION_LIMIT = 1000  # kept-alive clients: every thread of every function keeps one


class MotoProcess:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oms_webhooks_cli.local.moto_process", self.host, str(self.requested_port)],
            stdin=subprocess.PIPE,  # moto stops when this closes: when the stack's process ends, however it ends
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the stack, which stops moto itself, in order
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"moto did not start on {self.host}:{self.requested_port} (is the port taken?)")
        self.port = int(line)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def get_host_and_port(self) -> tuple[str, int]:
        return self.host, self.port

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


def serve(host: str, port: int) -> None:
    """The moto process: serves until SIGTERM, SIGINT or the end of its standard input (the stack has gone).

    moto's app runs on waitress rather than moto's own werkzeug server, which closes the connection after every
    answer: each AWS call paid a new connection and a new thread, and 50 events/s left 18,000 sockets in
    TIME_WAIT, most of the ephemeral ports (docs/RELIABILITY.md, "Load").
    """
    import logging

    logging.disable(logging.INFO)  # moto's request log is noise here
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress.server import create_server

    from oms_webhooks_cli.local import moto_dynamodb, moto_events, moto_memory, moto_requests, moto_sqs
    from oms_webhooks_cli.local.parent_watch import stop_at_end_of_input

    stop = threading.Event()
    moto_memory.apply(stop)
    moto_sqs.apply()
    moto_dynamodb.apply()
    moto_events.apply()
    moto_requests.apply()
    server: Any = create_server(
        DomainDispatcherApplication(create_backend_app),
        host=host,
        port=port,
        threads=THREADS,
        backlog=LISTEN_BACKLOG,
        connection_limit=CONNECTION_LIMIT,
        ident="moto",
    )
    threading.Thread(target=server.run, name="moto-server", daemon=True).start()
    print(server.effective_port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop_at_end_of_input(stop)
    stop.wait()
    server.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
