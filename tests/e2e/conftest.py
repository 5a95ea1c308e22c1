"""The local stack as a user runs it (`oms-webhooks local`), on free ports, in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

CLI = str(Path(sys.executable).with_name("oms-webhooks"))


@dataclass
class LocalStackProcess:
    process: subprocess.Popen[str]
    home: Path
    api_url: str
    aws_endpoint: str
    outputs: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "OMS_WEBHOOKS_HOME": str(self.home)}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, check=check)

    def token(self, owner: str) -> str:
        return self.cli("token", "create", "--owner", owner).stdout.strip()


def start_local_stack(home: Path) -> LocalStackProcess:
    env = {**os.environ, "OMS_WEBHOOKS_HOME": str(home), "OMS_WEBHOOKS_AWS_PORT": "0", "OMS_WEBHOOKS_API_PORT": "0"}
    env.pop("AWS_ENDPOINT_URL", None)
    log = (home / "stack.log").open("w")
    process = subprocess.Popen([CLI, "local"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    state = home / "local.json"
    deadline = time.monotonic() + 60
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"local stack did not start:\n{(home / 'stack.log').read_text()}")
        time.sleep(0.1)
    data = json.loads(state.read_text())
    return LocalStackProcess(process, home, data["api_url"], data["aws_endpoint"], data["outputs"])


def stop_local_stack(stack: LocalStackProcess) -> int:
    stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(timeout=30)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = start_local_stack(tmp_path_factory.mktemp("oms-home"))
    yield stack
    if stack.process.poll() is None:
        stop_local_stack(stack)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
