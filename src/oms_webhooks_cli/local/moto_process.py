"""moto in server mode in a process of its own, so AWS calls and the functions don't share one interpreter lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

STOP_SECONDS = 2.0  # how long moto has to end on SIGTERM before it is killed
LISTEN_BACKLOG = 1024  # connections the kernel queues for moto while its threads are busy (werkzeug: 128)


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
    """The moto process: serves until SIGTERM, SIGINT or the end of its standard input (the stack has gone)."""
    import logging

    logging.disable(logging.INFO)  # moto's request log is noise here
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import BaseWSGIServer

    from oms_webhooks_cli.local import moto_dynamodb, moto_memory, moto_sqs

    stop = threading.Event()
    moto_memory.apply(stop)
    moto_sqs.apply()
    moto_dynamodb.apply()
    BaseWSGIServer.request_queue_size = LISTEN_BACKLOG
    server = ThreadedMotoServer(host, port, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=_set_at_end_of_input, args=(stop,), name="parent-watch", daemon=True).start()
    stop.wait()
    server.stop()


def _set_at_end_of_input(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
