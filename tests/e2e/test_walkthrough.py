"""The README's walk-through for a newcomer, step by step, with the commands it shows.

`make run` is the local stack (the `local_stack` fixture runs the same `oms-webhooks local`); validating and
building the template is `make sam-check`, part of `make test`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, LocalStackProcess
from tests.receiver import Receiver

EVENTS = Path(__file__).resolve().parents[2] / "events"
# One sample per function, as the README's "Invoke a function on an event file" section lists them.
SAMPLES = [
    ("ApiFunction", "api/hooks-list.json", 0),
    ("AuthorizerFunction", "authorizer/token-valid.json", 1),  # its token is not on this stack: refused
    ("DispatcherFunction", "eventbridge/package.created.json", 0),
    ("RetrierFunction", "sqs/retry-batch.json", 0),
]


def test_token_subscribe_publish_and_watch_the_delivery_arrive(local_stack: LocalStackProcess) -> None:
    receiver = Receiver()
    try:
        token = local_stack.cli("token", "create", "--owner", "newcomer").stdout.strip()
        env = {**local_stack.env, "OMS_WEBHOOKS_TOKEN": token}

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=True)

        hook = json.loads(
            cli(
                "hooks",
                "create",
                "--event-type",
                "package.created",
                "--target-url",
                receiver.url("/webhooks"),
                "--secret-key",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "--json",
            ).stdout
        )
        event_id = cli(
            "publish", "package.created", "--payload", f"@{EVENTS / 'eventbridge/package.created.json'}"
        ).stdout.strip()
        assert event_id
        [request] = receiver.wait_for("/webhooks", 1, timeout=30)
        tail = cli("deliveries", "tail", "--json").stdout.splitlines()
        attempts = [json.loads(line) for line in tail]
        assert any(a.get("webhook") == hook["id"] and a.get("status_code") == 200 for a in attempts), attempts
        assert json.loads(request.body)["event"]["uuid"] in json.dumps(attempts)
        cli("hooks", "delete", str(hook["id"]))
    finally:
        receiver.stop()


@pytest.mark.parametrize(("function", "sample", "exit_code"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_invoke_each_function_from_an_events_file(
    local_stack: LocalStackProcess, function: str, sample: str, exit_code: int
) -> None:
    done = subprocess.run(
        [CLI, "invoke", function, "-e", str(EVENTS / sample)],
        env=local_stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exit_code, done.stderr[-2000:]
    json.loads(done.stdout)  # the function's answer alone on stdout, as `sam local invoke` prints it
    assert os.path.exists(EVENTS / sample)
