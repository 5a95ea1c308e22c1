"""Nobody in where they don't belong: every route behind the token, tokens kept only as hashes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.gateway import Gateway

ROUTES = [
    ("GET", "/whisperer/hooks/"),
    ("POST", "/whisperer/hooks/"),
    ("GET", "/whisperer/hooks/registry/"),
    ("GET", "/whisperer/hooks/1/"),
    ("PUT", "/whisperer/hooks/1/"),
    ("PATCH", "/whisperer/hooks/1/"),
    ("DELETE", "/whisperer/hooks/1/"),
    ("GET", "/whisperer/hook_events/"),
    ("GET", "/whisperer/hook_events/8dbe0e2dcbbe59449224decd9c4cd1ca/"),
    ("POST", "/whisperer/hook_events/8dbe0e2dcbbe59449224decd9c4cd1ca/retry/"),
    ("GET", "/whisperer/openapi.json"),
    ("GET", "/whisperer/anything/else"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Token ", "Token 0000000000000000000000000000000000000000", "Basic x"])
def test_every_route_needs_a_valid_token(gateway: Gateway, method: str, path: str, authorization: str | None) -> None:
    headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
    status, _, body = gateway.handle(method, path, headers, b"{}")
    assert status == 401, (method, path, body)


def test_tokens_are_stored_only_as_their_hash(new_token: Callable[[], str]) -> None:
    token = new_token()
    items = dynamodb().scan(TableName=settings().tokens_table)["Items"]  # a test may look at everything
    stored = repr(items)
    assert token not in stored
    assert any(token not in repr(item) and "token_hash" in item for item in items)
