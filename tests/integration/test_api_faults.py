"""A fault inside a route (here DynamoDB refusing a call) is answered as a JSON 500 and logged with its traceback,
never left to reach API Gateway as a bare 502."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from oms_webhooks.rules.subscriptions import Subscriptions
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller


@pytest.fixture
def log(deployed: dict[str, LocalFunction]) -> Iterator[io.StringIO]:
    """What the API function's Powertools logger writes, for this test only."""
    deployed["ApiFunction"].module  # noqa: B018 - loading it creates its logger
    buffer = io.StringIO()
    [handler] = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"]).handlers
    assert isinstance(handler, logging.StreamHandler)
    saved, handler.stream = handler.stream, buffer  # not setStream: it flushes the old stream
    yield buffer
    handler.stream = saved


@pytest.fixture
def missing_hooks_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function configured with a hooks table that does not exist: every call to it is a ClientError."""
    monkeypatch.setenv("HOOKS_TABLE", "no-such-table")
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


def test_a_client_error_in_a_route_is_a_json_500_logged_with_its_traceback(
    call: Caller, missing_hooks_table: None, log: io.StringIO
) -> None:
    answer = call("GET", "/whisperer/hooks/")
    assert answer.status == 500, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "A server error occurred."}
    [entry] = [json.loads(line) for line in log.getvalue().splitlines() if '"ERROR"' in line]
    assert entry["level"] == "ERROR"
    assert entry["message"] == "Unhandled error answered 500"
    assert entry["exception_name"] == "ResourceNotFoundException"  # botocore's ClientError for a missing table
    assert entry["exception"].startswith("Traceback") and "hook_routes.py" in entry["exception"]
    assert entry["function_name"] == "ApiFunction"  # with the invocation's context, as every line of the API's


def test_the_api_answers_again_once_the_table_is_there(call: Caller) -> None:
    assert call("GET", "/whisperer/hooks/").status == 200


def test_an_answer_that_breaks_its_documented_model_is_a_logged_500(
    call: Caller, monkeypatch: pytest.MonkeyPatch, log: io.StringIO
) -> None:
    """Routes whose return type names their answer's model are validated on the way out: a broken answer is a fault
    of ours, never sent as if it were the contract (nor answered as the client's 400)."""
    monkeypatch.setattr(Subscriptions, "registry", staticmethod(lambda: ["package.created", 7]))
    answer = call("GET", "/whisperer/hooks/registry/")
    assert answer.status == 500, answer.body
    assert answer.json() == {"detail": "A server error occurred."}
    [entry] = [json.loads(line) for line in log.getvalue().splitlines() if '"ERROR"' in line]
    assert entry["exception_name"] == "ResponseValidationError"
