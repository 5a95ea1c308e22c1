"""The hooks API in-process on moto, through the local gateway and the real authorizer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.event_catalog import EVENT_TYPES
from oms_webhooks.domain.hook_config import BasicAuth
from oms_webhooks.domain.hooks import HookPatch
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.gateway import Gateway
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Answer, Caller

EVENTS = Path(__file__).resolve().parents[2] / "events" / "api"
HOOK = {"event_type": "package.created", "target_url": "http://127.0.0.1:9000/hooks"}


def test_create_returns_201_with_the_hook_and_never_the_secret(call: Caller) -> None:
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "secret_key": "s3cr3t", "additional_headers": {"X-Env": "t"}})
    assert answer.status == 201
    hook = answer.json()
    assert hook["event_type"] == "package.created"
    assert hook["target_url"] == HOOK["target_url"]
    assert hook["retry_countdown_config"] == {
        "choice": "exponential",
        "kwargs": {"base": 2, "factor": 1},
        "max_retries": 10,
    }
    assert hook["additional_headers"] == {"X-Env": "t"}
    assert hook["is_active"] is True
    assert hook["secret_key_set"] is True
    assert "secret_key" not in hook
    assert b"s3cr3t" not in answer.body
    assert isinstance(hook["id"], int)
    assert hook["created_date"].endswith("Z")


def test_dashed_alias_is_read_as_the_dotted_event_type(call: Caller) -> None:
    answer = call("POST", "/whisperer/hooks", {**HOOK, "event_type": "package-status-packed"})
    assert answer.status == 201
    assert answer.json()["event_type"] == "package.status.packed"


def test_duplicate_is_406_with_whispers_code(call: Caller) -> None:
    assert call("POST", "/whisperer/hooks/", HOOK).status == 201
    again = call("POST", "/whisperer/hooks/", {**HOOK, "event_type": "package-created"})
    assert again.status == 406
    assert again.json() == {"code": "webhook_100_2", "en": "Webhook already registered"}


def test_same_target_for_another_owner_is_not_a_duplicate(call: Caller, new_token: Callable[[], str]) -> None:
    assert call("POST", "/whisperer/hooks/", HOOK).status == 201
    assert call("POST", "/whisperer/hooks/", HOOK, token=new_token()).status == 201


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {**HOOK, "retry_countdown_config": {"choice": "x"}},
            {"retry_countdown_config": {"choice": ['"x" is not a valid choice.']}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"kwargs": {}}},
            {"retry_countdown_config": {"choice": ["This field is required."]}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "fixed", "kwargs": {}}},
            {"retry_countdown_config": {"kwargs": {"seconds": ["This field is required."]}}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "fixed", "kwargs": {"seconds": -1}}},
            {"retry_countdown_config": {"kwargs": {"seconds": ["Input should be greater than or equal to 0"]}}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "fixed", "kwargs": {"seconds": "2"}}},
            {"retry_countdown_config": {"kwargs": {"seconds": ["A valid number is required."]}}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "linear", "kwargs": {"base": 1, "step": 2}}},
            {"retry_countdown_config": {"kwargs": {"step": ["Unexpected field."]}}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "exponential", "kwargs": {"base": 2, "factor": 0.5}}},
            {"retry_countdown_config": {"kwargs": {"factor": ["Input should be greater than or equal to 1"]}}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "random", "kwargs": {"min_value": 5, "max_value": 5}}},
            {"retry_countdown_config": {"kwargs": ["min_value must be less than max_value."]}},
        ),
        (
            {**HOOK, "retry_countdown_config": {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 51}},
            {"retry_countdown_config": {"max_retries": ["Input should be less than or equal to 50"]}},
        ),
        ({**HOOK, "event_type": "order.created"}, {"event_type": ['"order.created" is not a valid choice.']}),
        ({"target_url": "http://a.example/"}, {"event_type": ["This field is required."]}),
        (
            {**HOOK, "target_url": "ftp://a.example/"},
            {"target_url": ["Enter a valid URL: an absolute http or https URL is required."]},
        ),
        (
            {**HOOK, "target_url": "/relative"},
            {"target_url": ["Enter a valid URL: an absolute http or https URL is required."]},
        ),
        (
            {**HOOK, "target_url": "http://a.example/" + "x" * 2048},
            {"target_url": ["Ensure this field has no more than 2048 characters."]},
        ),
        ({**HOOK, "target_url": 5}, {"target_url": ["Not a valid string."]}),
        (
            {**HOOK, "additional_headers": {"Webhook-Signature": "v1,forged"}},
            {"additional_headers": ['"Webhook-Signature" is set by the service and cannot be overridden.']},
        ),
        (
            {**HOOK, "additional_headers": {"X-A": "ok\r\nX-Injected: 1"}},
            {"additional_headers": ['The value of "X-A" contains a line break or control character.']},
        ),
        (
            {**HOOK, "additional_headers": {"Bad Name": "v"}},
            {"additional_headers": ['"Bad Name" is not a valid header name.']},
        ),
        ({**HOOK, "additional_headers": {"X-A": 1}}, {"additional_headers": {"X-A": ["Not a valid string."]}}),
        (
            {**HOOK, "additional_headers": {f"X-{i}": "v" for i in range(21)}},
            {"additional_headers": ["Ensure there are no more than 20 headers."]},
        ),
        ({**HOOK, "secret_key": "k" * 257}, {"secret_key": ["String should have at most 256 characters"]}),
        ({**HOOK, "is_active": "yes"}, {"is_active": ["Must be a valid boolean."]}),
        ({**HOOK, "owner": "someone-else"}, {"owner": ["Unexpected field."]}),
        ({**HOOK, "callback": "x" * 65}, {"callback": ["String should have at most 64 characters"]}),
        ({**HOOK, "callback": 5}, {"callback": ["Not a valid string."]}),
        ({**HOOK, "config": []}, {"config": ["Expected an object."]}),
        ({**HOOK, "config": "basic"}, {"config": ["Expected an object."]}),
        (
            {**HOOK, "config": {"note": "x" * 4100}},
            {"config": ["Ensure this field has no more than 4096 bytes of JSON."]},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "bearer", "username": "u", "password": "p"}}},
            {"config": {"auth": {"auth_type": ['"bearer" is not a valid choice.']}}},
        ),
        (
            {**HOOK, "config": {"auth": {"username": "u", "password": "p"}}},
            {"config": {"auth": {"auth_type": ["This field is required."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "password": "p"}}},
            {"config": {"auth": {"username": ["This field is required."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": "u"}}},
            {"config": {"auth": {"password": ["This field is required."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": "a:b", "password": "p"}}},
            {"config": {"auth": {"username": ["The username may not contain a colon."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": "u", "password": "p\r\nX-A: 1"}}},
            {"config": {"auth": {"password": ["The password may not contain a line break or control character."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": "şule", "password": "p"}}},
            {"config": {"auth": {"username": ["The username must be Latin-1 text, as HTTP Basic auth sends it."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": 7, "password": "p"}}},
            {"config": {"auth": {"username": ["Not a valid string."]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": "u", "password": "p" * 257}}},
            {"config": {"auth": {"password": ["String should have at most 256 characters"]}}},
        ),
        (
            {**HOOK, "config": {"auth": {"auth_type": "basic", "username": "u", "password": "p", "token": "t"}}},
            {"config": {"auth": {"token": ["Unexpected field."]}}},
        ),
    ],
)
def test_invalid_hooks_get_400_naming_the_field(call: Caller, body: dict, errors: dict) -> None:
    answer = call("POST", "/whisperer/hooks/", body)
    assert answer.status == 400, answer.body
    assert answer.json() == errors


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "text"),
    [
        (b"{bad", "application/json", 400, b"JSON parse error"),
        (b"[1, 2]", "application/json", 400, b"Expected a dictionary"),
        (b'"text"', "application/json", 400, b"Expected a dictionary"),
        (b"event_type=package.created", "application/x-www-form-urlencoded", 415, b"Unsupported media type"),
        (b'{"a": "' + b"x" * 70_000 + b'"}', "application/json", 413, b"larger than 65536 bytes"),
        # found by the fuzzer (tests/e2e/test_api_fuzz.py): bytes that are not UTF-8 were a 502
        (b"\x00\xb5\xbb", "application/json", 400, b"JSON parse error - the body is not UTF-8 text."),
        (b"\xff", "", 400, b"not UTF-8"),
        # an empty body of another type was Powertools' own 415 body, not this API's
        (b"", "text/plain", 415, b'"Unsupported media type \\"text/plain\\" in request; send application/json."'),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(
    call: Caller, raw: bytes, content_type: str, status: int, text: bytes
) -> None:
    answer = call("POST", "/whisperer/hooks/", raw=raw, headers={"Content-Type": content_type})
    assert answer.status == status
    assert text in answer.body


def test_list_pages_by_cursor_and_filters(call: Caller) -> None:
    for i in range(7):
        event_type = "package.created" if i % 2 == 0 else "shipment.created"
        created = call("POST", "/whisperer/hooks/", {"event_type": event_type, "target_url": f"http://r.test/{i}"})
        assert created.status == 201
    seen: list[int] = []
    path = "/whisperer/hooks/?limit=3"
    pages = 0
    while path:
        answer = call("GET", path)
        assert answer.status == 200
        page = answer.json()
        seen += [hook["id"] for hook in page["results"]]
        pages += 1
        if page["next"]:
            assert page["next"].startswith("http://api.test/whisperer/hooks/?limit=3&cursor=")  # the local gateway
            parts = urlsplit(page["next"])
            path = f"{parts.path}?{parts.query}"
        else:
            path = ""
    assert pages == 3
    assert len(seen) == 7
    assert seen == sorted(seen)

    packages = call("GET", "/whisperer/hooks/?event_type=package-created&limit=2").json()
    assert [h["event_type"] for h in packages["results"]] == ["package.created"] * 2
    assert packages["next"] is not None
    rest = call("GET", urlsplit(packages["next"]).path + "?" + urlsplit(packages["next"]).query).json()
    assert len(rest["results"]) == 2 and rest["next"] is None

    assert [h["target_url"] for h in call("GET", "/whisperer/hooks?target_url=http://r.test/3").json()["results"]] == [
        "http://r.test/3"
    ]


def test_list_filters_by_is_active_and_rejects_bad_parameters(call: Caller) -> None:
    hook = call("POST", "/whisperer/hooks/", HOOK).json()
    call("POST", "/whisperer/hooks/", {**HOOK, "target_url": "http://r.test/other"})
    assert call("PATCH", f"/whisperer/hooks/{hook['id']}/", {"is_active": False}).status == 200
    inactive = call("GET", "/whisperer/hooks/?is_active=false").json()["results"]
    assert [h["id"] for h in inactive] == [hook["id"]]
    assert len(call("GET", "/whisperer/hooks/?is_active=true").json()["results"]) == 1
    assert call("GET", "/whisperer/hooks/?limit=abc").json() == {"limit": ["A valid integer is required."]}
    assert call("GET", "/whisperer/hooks/?limit=0").status == 400
    assert call("GET", "/whisperer/hooks/?cursor=not-a-cursor").json() == {"cursor": ["Invalid cursor."]}
    assert call("GET", "/whisperer/hooks/?event_type=nope").json()["results"] == []  # as iexact


def test_retrieve_patch_put_delete(call: Caller) -> None:
    hook = call("POST", "/whisperer/hooks/", {**HOOK, "secret_key": "keep-me"}).json()
    url = f"/whisperer/hooks/{hook['id']}/"
    assert call("GET", url).json() == hook
    assert call("GET", url.rstrip("/")).json() == hook

    patched = call("PATCH", url, {"retry_countdown_config": {"choice": "fixed", "kwargs": {"seconds": 2}}}).json()
    assert patched["retry_countdown_config"] == {"choice": "fixed", "kwargs": {"seconds": 2}, "max_retries": 10}
    assert patched["target_url"] == hook["target_url"]
    assert patched["modified_date"] > hook["modified_date"]

    replaced = call("PUT", url, {"event_type": "shipment.created", "target_url": "http://r.test/new"})
    assert replaced.status == 200
    assert replaced.json()["event_type"] == "shipment.created"
    assert replaced.json()["secret_key_set"] is True  # a PUT that leaves the write-only secret out keeps it
    assert call("PUT", url, {"event_type": "shipment.created"}).json() == {"target_url": ["This field is required."]}
    assert call("PATCH", url, {"event_type": None}).json() == {"event_type": ["This field may not be null."]}
    assert call("PATCH", url, {"secret_key": None}).json()["secret_key_set"] is False

    # the old (event_type, target_url) is free again; the new one is taken
    assert call("POST", "/whisperer/hooks/", HOOK).status == 201
    taken = call("POST", "/whisperer/hooks/", {"event_type": "shipment.created", "target_url": "http://r.test/new"})
    assert taken.status == 406

    # DELETE is soft, as whisperer's: deactivated, still readable, still holding its (event_type, target_url)
    before = call("GET", url).json()
    assert call("DELETE", url).status == 204
    deleted = call("GET", url)
    assert deleted.status == 200
    assert deleted.json() == {**before, "is_active": False, "modified_date": deleted.json()["modified_date"]}
    assert deleted.json()["modified_date"] > before["modified_date"]
    assert call("DELETE", url).status == 204
    again = call("POST", "/whisperer/hooks/", {"event_type": "shipment.created", "target_url": "http://r.test/new"})
    assert again.json() == {"code": "webhook_100_2", "en": "Webhook already registered"}
    assert call("PATCH", url, {"is_active": True}).json()["is_active"] is True  # how a deleted hook comes back


def test_delete_answers_204_with_an_empty_body_never_null(deployed: dict[str, LocalFunction]) -> None:
    """API Gateway sends a 204 whose Lambda answer has `"body": null`, but emulators (MiniStack) cannot: an empty
    string is what every gateway sends as no body."""
    owner = f"owner-{uuid.uuid4().hex[:12]}"

    def as_owner(name: str, path: str | None = None) -> dict[str, Any]:
        event = json.loads((EVENTS / f"{name}.json").read_text())
        event["requestContext"]["authorizer"].update(principalId=owner, owner=owner)
        if path:
            event["path"] = event["requestContext"]["path"] = path
        return event

    api = deployed["ApiFunction"]
    created = api.invoke(as_owner("hooks-create"))
    assert created["statusCode"] == 201, created
    deleted = api.invoke(as_owner("hooks-delete", f"/whisperer/hooks/{json.loads(created['body'])['id']}/"))
    assert deleted["statusCode"] == 204, deleted
    assert deleted["body"] == ""


def test_patch_onto_an_existing_subscription_is_406(call: Caller) -> None:
    call("POST", "/whisperer/hooks/", HOOK)
    other = call("POST", "/whisperer/hooks/", {**HOOK, "target_url": "http://r.test/b"}).json()
    answer = call("PATCH", f"/whisperer/hooks/{other['id']}/", {"target_url": HOOK["target_url"]})
    assert answer.status == 406
    assert call("GET", f"/whisperer/hooks/{other['id']}/").json()["target_url"] == "http://r.test/b"


def test_another_owners_hook_is_404_everywhere(call: Caller, new_token: Callable[[], str]) -> None:
    hook = call("POST", "/whisperer/hooks/", HOOK).json()
    stranger = new_token()
    url = f"/whisperer/hooks/{hook['id']}/"
    for method, body in [("GET", None), ("PATCH", {"is_active": False}), ("PUT", HOOK), ("DELETE", None)]:
        answer = call(method, url, body, token=stranger)
        assert answer.status == 404, method
        assert answer.json() == {"detail": "Not found."}
    assert call("GET", "/whisperer/hooks/", token=stranger).json()["results"] == []
    assert call("GET", url).json()["is_active"] is True


@pytest.mark.parametrize("hook_id", ["abc", "-1", "1.5", "99999999999999", "%F0%9F%8F%8D"])
def test_ids_that_name_no_hook_are_404(call: Caller, hook_id: str) -> None:
    assert call("GET", f"/whisperer/hooks/{hook_id}/").status == 404


def test_only_ascii_digits_name_a_hook(call: Caller) -> None:
    hook_id = str(call("POST", "/whisperer/hooks/", HOOK).json()["id"])
    arabic_indic = "".join(chr(0x660 + int(digit)) for digit in hook_id)  # str.isdecimal() and int() accept these
    assert call("GET", f"/whisperer/hooks/{hook_id}/").status == 200
    assert call("GET", f"/whisperer/hooks/{arabic_indic}/").status == 404


@pytest.mark.parametrize("header", [None, "Token", "Token nope", "Bearer abc", "Token abc def"])
def test_missing_or_bad_token_is_401(gateway: Gateway, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    status, _, body = gateway.handle("GET", "/whisperer/hooks/", headers, b"")
    assert status == 401
    assert b"Authentication credentials" in body


def test_registry_lists_the_catalog(call: Caller) -> None:
    for path in ("/whisperer/hooks/registry/", "/whisperer/hooks/registry"):
        answer = call("GET", path)
        assert answer.status == 200
        assert answer.json() == list(EVENT_TYPES)


def test_unknown_routes_are_404(call: Caller) -> None:
    assert call("GET", "/whisperer/nothing/").status == 404


def test_a_hook_sent_back_as_get_returned_it_is_accepted(call: Caller) -> None:
    """Read-modify-write: the answer's read-only fields are ignored in input, as DRF does; others are still refused."""
    auth = {"auth_type": "basic", "username": "shop", "password": "pw"}
    created = call("POST", "/whisperer/hooks/", {**HOOK, "secret_key": "s", "config": {"auth": auth}}).json()
    url = f"/whisperer/hooks/{created['id']}/"
    shown = call("GET", url).json()
    assert HookPatch.read_only == {"id", "secret_key_set", "created_date", "modified_date"} | (
        set(shown) - set(HookPatch.model_fields)
    )

    put = call("PUT", url, {**shown, "target_url": "http://r.test/changed"})
    assert put.status == 200, put.body
    assert put.json()["target_url"] == "http://r.test/changed"
    assert put.json()["secret_key_set"] is True and put.json()["config"] == shown["config"]

    forged = {**shown, "id": 999_999, "secret_key_set": False, "created_date": "1970-01-01", "modified_date": 5}
    patched = call("PATCH", url, forged).json()
    assert (patched["id"], patched["secret_key_set"], patched["created_date"]) == (
        shown["id"],
        True,
        shown["created_date"],
    )
    assert call("GET", "/whisperer/hooks/999999/").status == 404

    copy = call("POST", "/whisperer/hooks/", {**shown, "target_url": "http://r.test/copy", "config": {}})
    assert copy.status == 201, copy.body
    assert copy.json()["id"] != shown["id"] and copy.json()["secret_key_set"] is False  # the secret is not in a GET
    assert call("POST", "/whisperer/hooks/", {**shown, "owner": "x"}).json() == {"owner": ["Unexpected field."]}


def test_config_auth_is_stored_with_its_password_write_only(call: Caller) -> None:
    owner = f"owner-{uuid.uuid4().hex[:12]}"
    token = TokenStore(settings().tokens_table).create(owner)
    store = HookStore(settings().hooks_table)

    def as_owner(method: str, path: str, body: Any = None) -> Answer:
        return call(method, path, body, token=token)

    config = {"auth": {"auth_type": "basic", "username": "shop", "password": "s3cr3t-pw"}, "channel": "web"}
    answer = as_owner("POST", "/whisperer/hooks/", {**HOOK, "config": config, "callback": "shop.hooks.after"})
    assert answer.status == 201
    assert b"s3cr3t-pw" not in answer.body
    hook = answer.json()
    assert hook["config"] == {"auth": {"auth_type": "basic", "username": "shop"}, "channel": "web"}
    assert hook["callback"] == "shop.hooks.after"
    url = f"/whisperer/hooks/{hook['id']}/"
    assert as_owner("GET", url).json() == hook
    assert b"s3cr3t-pw" not in as_owner("GET", "/whisperer/hooks/").body
    stored = store.get(owner, hook["id"])
    assert stored.config.auth is not None and stored.config.auth.password == "s3cr3t-pw"

    renamed = {"auth": {"auth_type": "basic", "username": "shop2"}}  # no password: the stored one is kept
    assert as_owner("PATCH", url, {"config": renamed}).json()["config"] == renamed
    kept = store.get(owner, hook["id"]).config.auth
    assert kept is not None and (kept.username, kept.password) == ("shop2", "s3cr3t-pw")
    changed = {"auth": {"auth_type": "basic", "username": "shop2", "password": "new"}}
    as_owner("PATCH", url, {"config": changed})
    assert store.get(owner, hook["id"]).config.auth == BasicAuth(auth_type="basic", username="shop2", password="new")

    assert as_owner("PATCH", url, {"config": {}}).json()["config"] == {}  # whisperer's way to stop sending auth
    assert store.get(owner, hook["id"]).config.auth is None
    again = as_owner("PATCH", url, {"config": renamed})  # no password stored any more: one is required
    assert again.json() == {"config": {"auth": {"password": ["This field is required."]}}}
    assert as_owner("PATCH", url, {"config": None, "callback": None}).json()["config"] == {}
    assert as_owner("GET", url).json()["callback"] is None
    assert as_owner("PATCH", url, {"config": {"auth": None, "channel": None}}).json()["config"] == {"channel": None}


def test_list_filters_ignore_case_as_whisperers_iexact(call: Caller) -> None:
    first = call("POST", "/whisperer/hooks/", {**HOOK, "target_url": "http://R.test/Orders"}).json()
    second = call("POST", "/whisperer/hooks/", {"event_type": "shipment.created", "target_url": "http://r.test/b"})
    assert second.status == 201

    def ids(query: str) -> list[int]:
        answer = call("GET", f"/whisperer/hooks/?{query}")
        assert answer.status == 200, answer.body
        return [hook["id"] for hook in answer.json()["results"]]

    for query in (
        "target_url=http://r.test/orders",
        "target_url=HTTP://R.TEST/ORDERS",
        "target_url=http://R.test/Orders",
    ):
        assert ids(query) == [first["id"]], query
    assert ids("target_url=http://r.test/order") == []  # iexact, not icontains
    for name in ("PACKAGE.CREATED", "Package-Created", "package-created", "package.created"):
        assert ids(f"event_type={name}") == [first["id"]], name
    assert ids("event_type=SHIPMENT.CREATED&target_url=HTTP://R.TEST/B") == [second.json()["id"]]
    assert ids("event_type=package.created&target_url=http://r.test/b") == []


def test_target_url_filter_pages_through_many_hooks(call: Caller) -> None:
    """The case-insensitive match is made on the Query's items; pages and cursors still hold."""
    created: list[int] = []
    try:
        for i in range(7):
            url = "http://r.test/Same" if i % 2 else f"http://r.test/other-{i}"
            answer = call("POST", "/whisperer/hooks/", {"event_type": EVENT_TYPES[i], "target_url": url})
            assert answer.status == 201
            created.append(answer.json()["id"])
        path = "/whisperer/hooks/?target_url=HTTP://R.TEST/SAME&limit=2"
        seen: list[str] = []
        for _ in range(5):
            page = call("GET", path).json()
            seen += [hook["target_url"] for hook in page["results"]]
            if not page["next"]:
                break
            path = urlsplit(page["next"]).path + "?" + urlsplit(page["next"]).query
        assert seen == ["http://r.test/Same"] * 3
    finally:  # active hooks of these types would receive the events other tests in this process publish
        for hook_id in created:
            call("DELETE", f"/whisperer/hooks/{hook_id}/")
