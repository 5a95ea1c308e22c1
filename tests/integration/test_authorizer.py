"""The token authorizer on moto: owner tokens as before, portal session tokens from their own table while they last,
and the context that lets the API check a session again whatever API Gateway cached."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from oms_webhooks.adapters.portal_sessions import PortalSessionStore, is_session_token
from oms_webhooks.adapters.tokens import TokenStore, token_hash
from oms_webhooks.clock import SimulatedClock, use_clock
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction

ARN = "arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/GET/whisperer/hooks/"


def authorize(deployed: dict[str, LocalFunction], header: str) -> dict[str, Any]:
    return dict(
        deployed["AuthorizerFunction"].invoke({"type": "TOKEN", "authorizationToken": header, "methodArn": ARN})
    )


def refused(deployed: dict[str, LocalFunction], header: str) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(deployed, header)


@pytest.fixture
def owner(deployed: dict[str, LocalFunction]) -> str:
    return f"owner-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sessions(deployed: dict[str, LocalFunction]) -> PortalSessionStore:
    return PortalSessionStore(settings().portal_sessions_table)


@pytest.fixture
def clock() -> Iterator[SimulatedClock]:
    simulated = SimulatedClock()
    previous = use_clock(simulated)
    yield simulated
    use_clock(previous)


def test_an_owner_token_names_its_owner_and_nothing_more(deployed: dict[str, LocalFunction], owner: str) -> None:
    token = TokenStore(settings().tokens_table).create(owner)
    policy = authorize(deployed, f"Token {token}")
    assert (policy["principalId"], policy["context"]) == (owner, {"owner": owner})


@pytest.mark.parametrize("read_only", [False, True])
def test_a_session_token_names_its_owner_session_and_rights(
    deployed: dict[str, LocalFunction], owner: str, sessions: PortalSessionStore, read_only: bool
) -> None:
    token, session = sessions.open(owner, 600, read_only)
    assert is_session_token(token) and session.token_hash == token_hash(token)
    policy = authorize(deployed, f"Token {token}")
    assert policy["principalId"] == owner
    assert policy["context"] == {
        "owner": owner,
        "portal_session": token_hash(token),
        "read_only": "true" if read_only else "false",
    }
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"


def test_a_session_is_refused_from_its_expiry_on_though_its_item_remains(
    deployed: dict[str, LocalFunction], owner: str, sessions: PortalSessionStore, clock: SimulatedClock
) -> None:
    token, session = sessions.open(owner, 60, False)
    assert 60 <= session.expires_at - clock.now().timestamp() < 61
    clock.advance(session.expires_at - clock.now().timestamp() - 0.001)
    assert authorize(deployed, f"Token {token}")["principalId"] == owner
    clock.advance(0.01)
    refused(deployed, f"Token {token}")
    assert sessions.find(session.token_hash) is None  # not live ...
    item = sessions.client.get_item(TableName=sessions.table, Key={"token_hash": {"S": session.token_hash}})
    assert "Item" in item  # ... though DynamoDB's TTL has not removed it (it is lazy, and moto's never runs)


def test_a_revoked_session_is_refused(
    deployed: dict[str, LocalFunction], owner: str, sessions: PortalSessionStore
) -> None:
    token, session = sessions.open(owner, 600, True)
    assert sessions.revoke(session.token_hash) is True
    assert sessions.revoke(session.token_hash) is False
    refused(deployed, f"Token {token}")


def test_what_only_looks_like_a_session_is_refused(
    deployed: dict[str, LocalFunction], owner: str, sessions: PortalSessionStore
) -> None:
    token, _ = sessions.open(owner, 600, False)
    for header in (
        f"Token {token[:-1]}",  # one digit short: not a session token, and no owner token either
        f"Token {token}0",
        f"Token {token.upper()}",
        f"Bearer {token}",
        f"Token portal{'0' * 48}",
        "Token ",
    ):
        refused(deployed, header)
