"""moto in server mode in a process of its own, so AWS calls and the functions don't share one interpreter lock."""

from __future__ import annotations

import subprocess
import sys

_SERVE = """
import logging, signal, sys, threading
logging.disable(logging.INFO)  # moto's request log is noise here
from moto.server import ThreadedMotoServer
from oms_webhooks_cli.local.moto_atomic import serialise_dynamodb_writes
serialise_dynamodb_writes()  # one item's conditional writes are atomic, as on DynamoDB
server = ThreadedMotoServer(sys.argv[1], int(sys.argv[2]), verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
server.stop()
"""


class MotoProcess:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, self.host, str(self.requested_port)],
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

    def get_host_and_port(self) -> tuple[str, int]:
        return self.host, self.port

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
