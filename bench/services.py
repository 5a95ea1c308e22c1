"""The processes a benchmark measures against: moto (AWS), receivers, the local stack. All on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from oms_webhooks.adapters.cpu_affinity import allow_cpus, keep_to_one_cpu
from oms_webhooks_cli.local import child

ROOT = Path(__file__).resolve().parents[1]
SAM = ROOT / ".venv-sam" / "bin" / "sam"  # aws-sam-cli, in a venv of its own (`make sam-check`)

# As deployed, AWS and the subscribers are not on the dispatcher's CPU: with two CPUs or more, the processes here run
# on all but the last, and a measured dispatcher keeps its threads to the last (`dispatcher_cpu`), as its Lambda
# sandbox does (DELIVERY_THREADS_ON_ONE_CPU, oms_webhooks/adapters/cpu_affinity.py).
_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
DISPATCHER_CPU = _CPUS[-1] if len(_CPUS) >= 2 else None

# The local stack's moto (waitress, connections kept alive, its patches): moto's own werkzeug server closes the
# connection after every answer, so each AWS call would pay a connect that neither DynamoDB nor the local stack asks.
_MOTO = ["-m", "oms_webhooks_cli.local.moto_process", "127.0.0.1", "0"]


@contextmanager
def process_on_port(command: list[str]) -> Iterator[int]:
    """Starts a process that prints its port first; yields the port; always stops it."""
    # Standard input is a pipe kept open: moto's process stops at its end, as it does when the local stack goes.
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    off_dispatcher_cpu(process.pid)
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


def off_dispatcher_cpu(pid: int) -> None:
    """A process that plays AWS or a subscriber: on every CPU but the dispatcher's."""
    if DISPATCHER_CPU is not None:
        os.sched_setaffinity(pid, set(_CPUS) - {DISPATCHER_CPU})


@contextmanager
def dispatcher_cpu() -> Iterator[None]:
    """This process's threads on the dispatcher's CPU while a dispatcher is measured, as deployed; every CPU after."""
    had = keep_to_one_cpu(DISPATCHER_CPU) if DISPATCHER_CPU is not None else None
    try:
        yield
    finally:
        if had is not None:
            allow_cpus(had)


@contextmanager
def local_stack(home: Path, parameters: dict[str, str] | None = None) -> Iterator[dict]:
    """`oms-webhooks local` on free ports, with template `parameters` as `--parameter-overrides`."""
    process, state = child.start(home, parameters)
    try:
        yield state
    finally:
        child.stop(process)


def sam_build(source: Path, target: Path) -> Path:
    """`sam build` of the template in `source` into `target`, as an operator builds it; the built template's path."""
    command = [str(SAM), "build", "--template", "template.yaml", "--build-dir", str(target)]
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"sam build in {source} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return target / "template.yaml"
