"""Shared fixtures: moto in server mode as AWS, the template's tables, and API callers."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from oms_webhooks_cli.local import moto_dynamodb, moto_memory, moto_requests, moto_sqs
from oms_webhooks_cli.local.gateway import Gateway
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.stack import LOCAL_CREDENTIALS, create_resources, local_functions
from oms_webhooks_cli.template import Template
from tests.erased_hooks import erase_hooks
from tests.receiver import Receiver


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """A moto server on a free port, for every test in this process that needs AWS, patched as the local stack's
    moto is (thread-safe SQS and DynamoDB; long polls that wake when a message comes due; no instance tracking)."""
    stop = threading.Event()
    moto_memory.apply(stop)  # else moto keeps every item copy it makes: 7.7 GB by the end of a full run
    moto_sqs.apply()
    moto_dynamodb.apply()
    moto_requests.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {name: os.environ.get(name) for name in [*LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL"]}
    os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint})
    yield endpoint
    server.stop()
    stop.set()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def template(aws_endpoint: str) -> Template:
    return Template(stack_name=f"test-{uuid.uuid4().hex[:8]}", aws_endpoint=aws_endpoint)


@pytest.fixture(scope="session")
def deployed(aws_endpoint: str, template: Template) -> dict[str, LocalFunction]:
    """The template's tables on moto and its functions with their environment, as the local stack wires them."""
    create_resources(template, boto3.client)
    functions = local_functions(template)
    for function in functions.values():
        os.environ.update(function.spec.environment)
    os.environ["ALLOW_LOOPBACK_TARGETS"] = "true"
    os.environ["DELIVERY_THREADS_ON_ONE_CPU"] = "false"  # test processes share the machine
    from oms_webhooks.settings import settings

    settings.cache_clear()
    return functions


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Caller = Callable[..., Answer]


@pytest.fixture(scope="session")
def gateway(deployed: dict[str, LocalFunction], template: Template) -> Gateway:
    return Gateway(template, deployed)


@pytest.fixture
def new_token(deployed: dict[str, LocalFunction]) -> Iterator[Callable[[], str]]:
    """A fresh owner with a token of its own, so tests never see each other's hooks; they are erased after the test."""
    from oms_webhooks.adapters.hook_store import HookStore
    from oms_webhooks.adapters.tokens import TokenStore
    from oms_webhooks.settings import settings

    owners: list[str] = []

    def make() -> str:
        owners.append(f"owner-{uuid.uuid4().hex[:12]}")
        return TokenStore(settings().tokens_table).create(owners[-1])

    yield make
    for owner in owners:
        erase_hooks(HookStore(settings().hooks_table), owner)


@pytest.fixture
def call(gateway: Gateway, new_token: Callable[[], str]) -> Caller:
    """Calls the API in-process through the local gateway (authorizer included) as one owner."""
    token = new_token()

    def request(
        method: str,
        path: str,
        body: Any = None,
        token: str | None = token,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Host": "api.test", "Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Token {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        status, answer_headers, answer_body = gateway.handle(method, path, sent, payload)
        return Answer(status, answer_headers, answer_body)

    return request


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real subscriber on 127.0.0.1 that answers as each test scripts it, for every kind of test."""
    running = Receiver()
    yield running
    running.stop()
