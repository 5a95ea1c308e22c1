"""The processes a benchmark measures against: moto (AWS), receivers, the local stack. All on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from oms_webhooks_cli.local import child

ROOT = Path(__file__).resolve().parents[1]

# The local stack's moto (waitress, connections kept alive, its patches): moto's own werkzeug server closes the
# connection after every answer, so each AWS call would pay a connect that neither DynamoDB nor the local stack asks.
_MOTO = ["-m", "oms_webhooks_cli.local.moto_process", "127.0.0.1", "0"]


@contextmanager
def process_on_port(command: list[str]) -> Iterator[int]:
    """Starts a process that prints its port first; yields the port; always stops it."""
    # Standard input is a pipe kept open: moto's process stops at its end, as it does when the local stack goes.
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"{command[:3]} did not start: {line!r}")
        yield int(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def moto() -> AbstractContextManager[int]:
    return process_on_port([sys.executable, *_MOTO])


def receiver(delay_ms: float) -> AbstractContextManager[int]:
    return process_on_port([sys.executable, "-m", "bench.receiver", "--delay-ms", str(delay_ms)])


@contextmanager
def local_stack(home: Path, parameters: dict[str, str] | None = None) -> Iterator[dict]:
    """`oms-webhooks local` on free ports, with template `parameters` as `--parameter-overrides`."""
    process, state = child.start(home, parameters)
    try:
        yield state
    finally:
        child.stop(process)
