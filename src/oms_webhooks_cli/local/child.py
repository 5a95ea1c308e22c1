"""`oms-webhooks local` as a child process on free ports: the stack a user runs, as tests and benchmarks start it.

Its standard input is a pipe that ends with the parent, however the parent ends (`--stop-with-parent`), so a test run
or a benchmark that dies leaves no stack behind. Its output goes to `stack.log` in its home.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CLI = str(Path(sys.executable).with_name("oms-webhooks"))
START_SECONDS = 180.0  # moto, the template's resources and every handler's imports, on a loaded machine


def start(
    home: Path, parameters: Mapping[str, str] | None = None, own_session: bool = False
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """The stack's process, and what it wrote to `local.json` once up (`api_url`, `aws_endpoint`, `outputs`).
    `parameters`: template parameter overrides; `own_session`: in a process group of its own, as in a terminal of its
    own (for a Ctrl-C to that group)."""
    env = {**os.environ, "OMS_WEBHOOKS_HOME": str(home), "OMS_WEBHOOKS_AWS_PORT": "0", "OMS_WEBHOOKS_API_PORT": "0"}
    env.pop("AWS_ENDPOINT_URL", None)
    overrides = [f"{name}={value}" for name, value in (parameters or {}).items()]
    command = [CLI, "local", "--stop-with-parent", *(["--parameter-overrides", *overrides] if overrides else [])]
    with (home / "stack.log").open("w") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=own_session,
        )
    state = home / "local.json"
    deadline = time.monotonic() + START_SECONDS
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=10)
            raise RuntimeError(f"local stack did not start:\n{(home / 'stack.log').read_text()[-4000:]}")
        time.sleep(0.1)
    return process, json.loads(state.read_text())


def stop(process: subprocess.Popen[str]) -> int:
    """Stops the stack as Ctrl-C does; killed if it has not ended 30 s later. Its exit status."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=10)
