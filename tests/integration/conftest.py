"""Fixtures the integration tests share (the session's moto, tables and functions are in tests/conftest.py)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.triggers import sqs_event_source
from oms_webhooks_cli.template import Template
from tests.integration.support import unsubscribe_all


@contextmanager
def draining(function: str, deployed: dict[str, LocalFunction], template: Template) -> Iterator[None]:
    """The function's SQS queue drained into its real handler, as Lambda's event source mapping does."""
    stopping = threading.Event()
    [props] = [props for name, _, props in template.triggers("SQS") if name == function]
    # Short polls, so the pollers are gone when the test is: one still handling a batch in the next test would
    # make its DynamoDB calls there (seen on a loaded machine as extra calls in a test that counts them).
    pollers = sqs_event_source(deployed[function], props, boto3.client, stopping, wait_seconds=1)
    for poller in pollers:
        poller.start()
    yield
    stopping.set()
    for poller in pollers:
        poller.join(timeout=60)
        assert not poller.is_alive(), f"{poller.name} still running a minute after its test"


@pytest.fixture
def retrier_running(deployed: dict[str, LocalFunction], template: Template) -> Iterator[None]:
    with draining("RetrierFunction", deployed, template):
        yield


@pytest.fixture
def sequencer_running(deployed: dict[str, LocalFunction], template: Template) -> Iterator[None]:
    with draining("SequencerFunction", deployed, template):
        yield


@pytest.fixture
def owner(deployed: dict[str, LocalFunction]) -> Iterator[str]:
    """An owner of this test alone; its hooks are removed after it."""
    name = f"owner-{uuid.uuid4().hex[:10]}"
    yield name
    unsubscribe_all(name)


@pytest.fixture
def dynamodb_calls(deployed: dict[str, LocalFunction]) -> Iterator[Counter[str]]:
    """DynamoDB calls this process makes during the test, by operation name."""
    seen: Counter[str] = Counter()
    client = dynamodb()

    def record(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    client.meta.events.register("before-call.dynamodb", record)
    yield seen
    client.meta.events.unregister("before-call.dynamodb", record)
