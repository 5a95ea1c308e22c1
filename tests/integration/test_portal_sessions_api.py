"""Portal sessions in-process on moto, through the local gateway and the real authorizer: opened by the owner's token,
a bearer for the API as that owner until they expire or are signed out, read-only ones refused every write, and the
API's own check for what API Gateway's authorizer cache would still let through."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.clock import SimulatedClock, use_clock
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Answer, Caller
from tests.integration.test_api_properties import JSON_VALUES, PROPERTY
from tests.integration.test_hostile_input import api_event
from tests.openapi_answers import assert_documented

SESSIONS = "/whisperer/portal/sessions/"
CURRENT = "/whisperer/portal/sessions/current/"
HOOK = {"event_type": "shipment.cancelled", "target_url": "http://127.0.0.1:9/portal"}
ENDED = "The portal session has ended (it expired or was signed out); ask the owner for a new link."


@dataclass
class Owner:
    name: str
    token: str
    call: Caller

    def as_owner(self, method: str, path: str, body: Any = None) -> Answer:
        return self.call(method, path, body, token=self.token)

    def open(self, **body: Any) -> dict[str, Any]:
        answer = self.as_owner("POST", SESSIONS, body)
        assert answer.status == 201, answer.body
        return dict(answer.json())


@pytest.fixture
def me(call: Caller) -> Iterator[Owner]:
    name = f"owner-{uuid.uuid4().hex[:12]}"
    owner = Owner(name, TokenStore(settings().tokens_table).create(name), call)
    yield owner
    for hook in owner.as_owner("GET", "/whisperer/hooks/?limit=500").json()["results"]:
        owner.as_owner("DELETE", f"/whisperer/hooks/{hook['id']}/")


@pytest.fixture
def clock() -> Iterator[SimulatedClock]:
    simulated = SimulatedClock()
    previous = use_clock(simulated)
    yield simulated
    use_clock(previous)


def stored(token: str) -> dict[str, Any] | None:
    answer = dynamodb().get_item(
        TableName=settings().portal_sessions_table,
        Key={"token_hash": {"S": hashlib.sha256(token.encode()).hexdigest()}},
        ConsistentRead=True,
    )
    return answer.get("Item")


def test_the_owners_token_opens_a_link_that_signs_in_as_the_owner(me: Owner) -> None:
    hook = me.as_owner("POST", "/whisperer/hooks/", HOOK).json()
    opened_at = datetime.now(UTC)
    opened = me.open(ttl_seconds=900, read_only=False)
    assert_documented(opened, "OpenedPortalSession")
    token = opened["token"]
    assert re.fullmatch(r"portal[0-9a-f]{48}", token)
    # The local gateway says the client came in over plain HTTP; the secret is in the fragment, never the path.
    assert opened["url"] == f"http://api.test/whisperer/console/#session={token}"
    expires = datetime.fromisoformat(opened["expires_at"])
    assert 895 <= (expires - opened_at).total_seconds() <= 905
    assert opened["read_only"] is False

    listed = me.call("GET", "/whisperer/hooks/", token=token)
    assert listed.status == 200 and [h["id"] for h in listed.json()["results"]] == [hook["id"]]
    changed = me.call("PATCH", f"/whisperer/hooks/{hook['id']}/", {"is_active": False}, token=token)
    assert changed.status == 200 and changed.json()["is_active"] is False
    current = me.call("GET", CURRENT, token=token)
    assert current.status == 200, current.body
    assert_documented(current.json(), "PortalSessionInfo")
    assert (current.json()["owner"], current.json()["read_only"]) == (me.name, False)
    assert current.json()["expires_at"] == opened["expires_at"]


def test_only_the_hash_is_kept_with_a_ttl(me: Owner) -> None:
    opened = me.open(ttl_seconds=60)
    item = stored(opened["token"])
    assert item is not None
    assert opened["token"] not in json.dumps(item)
    assert item["owner"] == {"S": me.name} and item["read_only"] == {"BOOL": False}
    assert int(item["expires_at"]["N"]) == int(datetime.fromisoformat(opened["expires_at"]).timestamp())
    ttl = dynamodb().describe_time_to_live(TableName=settings().portal_sessions_table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_an_empty_body_opens_a_writable_session_of_fifteen_minutes(me: Owner) -> None:
    answer = me.as_owner("POST", SESSIONS)
    assert answer.status == 201, answer.body
    item = stored(answer.json()["token"])
    assert item is not None and item["read_only"] == {"BOOL": False}
    assert answer.json()["read_only"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_seconds": 59}, "ttl_seconds"),
        ({"ttl_seconds": 86_401}, "ttl_seconds"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"ttl_seconds": "900"}, "ttl_seconds"),
        ({"ttl_seconds": 900.5}, "ttl_seconds"),
        ({"ttl_seconds": None}, "ttl_seconds"),
        ({"read_only": "yes"}, "read_only"),
        ({"read_only": 1}, "read_only"),
        ({"scope": "all"}, "scope"),
    ],
)
def test_a_bad_field_is_400_naming_it(me: Owner, body: dict[str, Any], field: str) -> None:
    answer = me.as_owner("POST", SESSIONS, body)
    assert answer.status == 400, answer.body
    assert list(answer.json()) == [field]


@pytest.mark.parametrize("ttl", [60, 86_400])
def test_the_bounds_themselves_are_allowed(me: Owner, ttl: int) -> None:
    assert me.as_owner("POST", SESSIONS, {"ttl_seconds": ttl}).status == 201


def test_a_session_sees_only_its_owners_hooks(me: Owner, call: Caller) -> None:
    other_name = f"owner-{uuid.uuid4().hex[:12]}"
    other = Owner(other_name, TokenStore(settings().tokens_table).create(other_name), call)
    theirs = other.as_owner("POST", "/whisperer/hooks/", HOOK).json()
    try:
        token = me.open()["token"]
        assert me.call("GET", "/whisperer/hooks/", token=token).json()["results"] == []
        assert me.call("GET", f"/whisperer/hooks/{theirs['id']}/", token=token).status == 404
        deleted = me.call("DELETE", f"/whisperer/hooks/{theirs['id']}/", token=token)
        assert deleted.status == 404
    finally:
        other.as_owner("DELETE", f"/whisperer/hooks/{theirs['id']}/")


WRITES = [
    ("POST", "/whisperer/hooks/", HOOK),
    ("PUT", "/whisperer/hooks/{id}/", HOOK),
    ("PATCH", "/whisperer/hooks/{id}/", {"is_active": False}),
    ("DELETE", "/whisperer/hooks/{id}/", None),
    ("POST", "/whisperer/hooks/{id}/test/", {}),
    ("POST", "/whisperer/hooks/{id}/recover/", {"since": "2024-05-01T00:00:00Z"}),
    ("POST", "/whisperer/hooks/{id}/rotate_secret/", {}),
    ("POST", "/whisperer/hook_events/recover/", {"since": "2024-05-01T00:00:00Z"}),
    ("POST", "/whisperer/hook_events/0123456789abcdef0123456789abcdef/retry/", {"force": True}),
    ("POST", SESSIONS, {"ttl_seconds": 60}),
]


def test_a_read_only_session_reads_everything_and_changes_nothing(me: Owner) -> None:
    hook = me.as_owner("POST", "/whisperer/hooks/", HOOK).json()
    opened = me.open(ttl_seconds=600, read_only=True)
    token = opened["token"]
    assert opened["read_only"] is True
    for method, path, body in WRITES:
        answer = me.call(method, path.format(id=hook["id"]), body, token=token)
        assert answer.status == 403, (method, path, answer.body)
        assert answer.json() == {
            "detail": f"This portal session is read-only: it may look but not change anything ({method} refused)."
        }
    unchanged = me.as_owner("GET", f"/whisperer/hooks/{hook['id']}/").json()
    assert unchanged["is_active"] is True and unchanged["modified_date"] == hook["modified_date"]
    for path in ("/whisperer/hooks/", f"/whisperer/hooks/{hook['id']}/", "/whisperer/hook_events/", CURRENT):
        assert me.call("GET", path, token=token).status == 200, path
    assert me.call("GET", CURRENT, token=token).json()["read_only"] is True
    assert me.call("DELETE", CURRENT, token=token).status == 204  # signing out is not a change to the owner's data
    assert me.call("GET", "/whisperer/hooks/", token=token).status == 401


def test_a_session_opens_no_sessions(me: Owner) -> None:
    token = me.open(ttl_seconds=3600)["token"]
    for body in ({"ttl_seconds": 60, "read_only": True}, {"ttl_seconds": 86_400}):
        answer = me.call("POST", SESSIONS, body, token=token)
        assert answer.status == 403, answer.body
        assert "cannot open portal sessions" in answer.json()["detail"]


def test_sign_out_revokes_the_token_at_once(me: Owner) -> None:
    token = me.open()["token"]
    answer = me.call("DELETE", CURRENT, token=token)
    assert (answer.status, answer.body) == (204, b"")
    assert stored(token) is None
    for method, path in (("GET", "/whisperer/hooks/"), ("GET", CURRENT), ("DELETE", CURRENT)):
        assert me.call(method, path, token=token).status == 401, (method, path)
    assert me.as_owner("GET", "/whisperer/hooks/").status == 200  # the owner's own token is untouched


def test_an_owners_token_is_no_session_to_show_or_end(me: Owner) -> None:
    for method in ("GET", "DELETE"):
        answer = me.as_owner(method, CURRENT)
        assert answer.status == 404, answer.body
        assert "not a portal session" in answer.json()["detail"]
    assert me.as_owner("GET", "/whisperer/hooks/").status == 200


def test_a_session_is_refused_once_it_expires(me: Owner, clock: SimulatedClock) -> None:
    opened = me.open(ttl_seconds=60, read_only=True)
    token = opened["token"]
    left = datetime.fromisoformat(opened["expires_at"]).timestamp() - clock.now().timestamp()
    assert 60 <= left < 61  # the whole ttl, rounded up to a whole second
    clock.advance(left - 0.001)
    assert me.call("GET", "/whisperer/hooks/", token=token).status == 200
    clock.advance(0.01)
    refused = me.call("GET", "/whisperer/hooks/", token=token)
    assert refused.status == 401  # by the authorizer: the item is still there, as DynamoDB's TTL is lazy
    assert stored(token) is not None


def cached_event(method: str, path: str, owner: str, token: str) -> dict[str, Any]:
    """A request as API Gateway hands it over while it still holds the authorizer's answer for this token."""
    event = api_event(method, path, owner)
    event["requestContext"]["authorizer"].update(
        owner=owner, portal_session=hashlib.sha256(token.encode()).hexdigest(), read_only="false"
    )
    return event


def test_the_api_refuses_what_the_authorizer_cache_would_let_through(
    me: Owner, deployed: dict[str, LocalFunction], clock: SimulatedClock
) -> None:
    api = deployed["ApiFunction"]
    signed_out, expiring = me.open(ttl_seconds=600)["token"], me.open(ttl_seconds=60)["token"]
    for token in (signed_out, expiring):
        assert api.invoke(cached_event("GET", "/whisperer/hooks/", me.name, token))["statusCode"] == 200
    assert me.call("DELETE", CURRENT, token=signed_out).status == 204
    clock.advance(61)
    for token in (signed_out, expiring):
        result = api.invoke(cached_event("GET", "/whisperer/hooks/", me.name, token))
        assert (result["statusCode"], json.loads(result["body"])) == (401, {"detail": ENDED})
    # A context naming another owner than the session's is refused too.
    live = me.open(ttl_seconds=600)["token"]
    result = api.invoke(cached_event("GET", "/whisperer/hooks/", "someone-else", live))
    assert result["statusCode"] == 401


def test_the_link_keeps_the_stage_of_the_api(me: Owner, deployed: dict[str, LocalFunction]) -> None:
    event = api_event("POST", SESSIONS, me.name)
    event["body"] = json.dumps({"ttl_seconds": 60})
    event["headers"]["Content-Type"] = "application/json"
    result = deployed["ApiFunction"].invoke(event)
    assert result["statusCode"] == 201, result
    opened = json.loads(result["body"])
    assert opened["url"] == f"https://api.test/prod/whisperer/console/#session={opened['token']}"


def test_every_answer_tells_browsers_to_keep_to_https(me: Owner) -> None:
    for answer in (me.as_owner("GET", "/whisperer/hooks/"), me.as_owner("POST", SESSIONS, {"ttl_seconds": 1})):
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def plain_json(value: Any) -> bool:
    """JSON the API reads as a body at all (no NaN, lone surrogate or integer over 64 digits, which are refused as
    a whole, tests/integration/test_api_properties.py): what is left is judged field by field."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        text.encode()
    except (ValueError, UnicodeEncodeError):
        return False
    return not re.search(r"\d{65}", text)


@PROPERTY
@given(
    ttl=st.one_of(st.integers(-(10**6), 10**6), JSON_VALUES),
    read_only=JSON_VALUES,
    include=st.sampled_from(["both", "ttl", "read_only"]),
)
def test_the_body_opens_a_session_exactly_when_both_fields_are_valid(
    me: Owner, ttl: Any, read_only: Any, include: str
) -> None:
    body = {
        **({"ttl_seconds": ttl} if include != "read_only" else {}),
        **({"read_only": read_only} if include != "ttl" else {}),
    }
    ttl_ok = "ttl_seconds" not in body or (type(ttl) is int and 60 <= ttl <= 86_400)
    read_only_ok = "read_only" not in body or type(read_only) is bool
    assume(plain_json(body))
    answer = me.as_owner("POST", SESSIONS, body)
    assert answer.status < 500, answer.body
    if ttl_ok and read_only_ok:
        assert answer.status == 201, (body, answer.body)
        assert answer.json()["read_only"] is body.get("read_only", False)
    else:
        assert answer.status == 400, (body, answer.body)
        named = {name for name, ok in (("ttl_seconds", ttl_ok), ("read_only", read_only_ok)) if not ok}
        assert set(answer.json()) == named, (repr(body), answer.body)
