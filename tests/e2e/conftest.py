"""The local stack as a user runs it (`oms-webhooks local`), on free ports, in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import requests

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks_cli.endpoint import Target
from oms_webhooks_cli.local import child
from tests.erased_hooks import erase_hooks
from tests.stack_log import faults_in_log

CLI = child.CLI


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
        """A token for `owner`, written as `oms-webhooks token create` writes it but without a process of its own
        (a second of CPU per test; tests/e2e/test_cli.py runs the command itself)."""
        return self.tokens.create(owner)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.outputs["TokensTableName"], client=self.dynamodb)

    @cached_property
    def hooks(self) -> HookStore:
        return HookStore(self.outputs["HooksTableName"], client=self.dynamodb)

    @cached_property
    def dynamodb(self) -> Any:
        return Target(self.outputs, self.aws_endpoint).client("dynamodb")


# Short delivery timeouts, so tests of hanging receivers finish quickly (but long enough for a receiver on a
# loaded machine: a 2 s budget made attempts time out there), and small fan-out batches, so a
# test with a few dozen hooks splits; everything else as deployed.
TEST_PARAMETERS = ["DeliveryConnectTimeout=1", "DeliveryTotalTimeout=5", "FanoutBatchSize=25"]


def start_local_stack(home: Path, own_session: bool = False, parameters: Sequence[str] = ()) -> LocalStackProcess:
    """`own_session`: in a process group of its own, as in a terminal of its own (for Ctrl-C to that group)."""
    overrides = dict(item.split("=", 1) for item in [*TEST_PARAMETERS, *parameters])  # later ones win
    process, state = child.start(home, overrides, own_session=own_session)
    return LocalStackProcess(process, home, state["api_url"], state["aws_endpoint"], state["outputs"])


def stop_local_stack(stack: LocalStackProcess) -> int:
    return child.stop(stack.process)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """The stack every e2e test shares; after the last of them, its log must hold no traceback."""
    stack = start_local_stack(tmp_path_factory.mktemp("oms-home"))
    yield stack
    faults = faults_in_log((stack.home / "stack.log").read_text(errors="replace"))
    if stack.process.poll() is None:
        stop_local_stack(stack)
    assert not faults, f"{len(faults)} tracebacks in {stack.home / 'stack.log'}; the first:\n{faults[0]}"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class Client:
    """One owner talking to the local stack: the API over HTTP, and the bus as the OMS publishes."""

    def __init__(self, stack: LocalStackProcess, http: requests.Session) -> None:
        self.stack = stack
        self.http = http
        self.owner = f"owner-{uuid.uuid4().hex[:10]}"
        self.token = stack.token(self.owner)
        self.http.headers["Authorization"] = f"Token {self.token}"
        self.events = Target({}, stack.aws_endpoint).client("events")

    def url(self, path: str) -> str:
        return f"{self.stack.api_url}/whisperer/{path}"

    def subscribe(self, target_url: str, event_type: str = "package.created", **fields: Any) -> dict[str, Any]:
        answer = self.http.post(self.url("hooks/"), json={"event_type": event_type, "target_url": target_url, **fields})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def unsubscribe_all(self) -> None:
        for hook in self.http.get(self.url("hooks/"), params={"limit": 500}).json()["results"]:
            self.http.delete(self.url(f"hooks/{hook['id']}/"))

    def erase_hooks(self) -> None:
        """After the test: its hooks erased in the stack's table (tests/erased_hooks.py says why not via the API)."""
        erase_hooks(self.stack.hooks, self.owner)

    def publish(self, event_type: str, payload: Any) -> str:
        answer = self.events.put_events(
            Entries=[
                {
                    "EventBusName": self.stack.outputs["EventBusName"],
                    "Source": "oms",
                    "DetailType": event_type,
                    "Detail": json.dumps({"payload": payload}),
                }
            ]
        )
        return str(answer["Entries"][0]["EventId"])

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        answer = self.http.get(self.url("hook_events/"), params=filters)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["results"])

    def delivery(self, uuid: str) -> dict[str, Any]:
        answer = self.http.get(self.url(f"hook_events/{uuid}/"))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait_for_delivery(self, hook_id: int, done: Any, timeout: float = 60.0) -> dict[str, Any]:
        """Polls the log until the hook's (only) delivery satisfies `done`; bounded by time."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.deliveries(webhook=hook_id)
            if found and done(found[0]):
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"delivery of hook {hook_id} not done in {timeout} s: {found}")
            time.sleep(0.1)

    def wait_for_deliveries(self, hook_id: int, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Polls the log until the hook has `count` deliveries recorded (a record is written after its attempt is
        answered, so a receiver can have them first); newest first, bounded by time."""
        deadline = time.monotonic() + timeout
        while len(found := self.deliveries(webhook=hook_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} deliveries of hook {hook_id} not recorded in {timeout} s: {found}")
            time.sleep(0.1)
        return found


@pytest.fixture
def client(local_stack: LocalStackProcess, http: requests.Session) -> Iterator[Client]:
    """An owner for one test; its hooks are deleted afterwards so later events don't reach dead receivers."""
    client = Client(local_stack, http)
    yield client
    client.erase_hooks()
