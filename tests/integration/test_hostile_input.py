"""Hostile but ordinary input on the hooks API: refused when written, with a 400 naming the field, never a 5xx.

Issue 10, items 3-5: target URLs the parser rejects, headers and secrets that cannot be sent, bodies and
queries that used to crash the handler. Each case here was a 502 or a 201 before it was fixed.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.domain.hooks import Hook
from oms_webhooks.domain.pagination import encode_cursor
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Answer, Caller

HOOK = {"event_type": "transfer.status.in_transit", "target_url": "http://127.0.0.1:9000/hooks"}
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
DEFAULT_TOKEN = "the caller's own"


@pytest.fixture
def call(call: Caller) -> Iterator[Caller]:
    """conftest's caller; once the test ends, every active hook of every owner it called as is deleted (deactivated).
    The table is shared and some hooks here point at public hosts: no other test's event may ever be sent to them."""
    tokens: set[str] = set()

    def request(*args: Any, **kwargs: Any) -> Answer:
        tokens.add(kwargs.get("token") or DEFAULT_TOKEN)
        return call(*args, **kwargs)

    yield request
    for token in tokens:
        as_owner = {} if token == DEFAULT_TOKEN else {"token": token}
        for hook in call("GET", "/whisperer/hooks/?is_active=true&limit=500", **as_owner).json()["results"]:
            assert call("DELETE", f"/whisperer/hooks/{hook['id']}/", **as_owner).status == 204


@pytest.fixture
def hook_url(call: Caller) -> str:
    """The path of a fresh hook of the caller's, for PUT and PATCH."""
    created = call("POST", "/whisperer/hooks/", {**HOOK, "target_url": "http://127.0.0.1:9000/existing"})
    assert created.status == 201, created.body
    return f"/whisperer/hooks/{created.json()['id']}/"


def write(
    call: Caller, method: str, hook_url: str, body: dict[str, Any] | None = None, raw: bytes | None = None
) -> Answer:
    """POST a new hook, or PUT/PATCH the existing one, with the same body."""
    path = "/whisperer/hooks/" if method == "POST" else hook_url
    return call(method, path, body, raw=raw)


WRITES = ["POST", "PUT", "PATCH"]


# --- target_url -----------------------------------------------------------------------------------


def fullwidth(text: str) -> str:
    """ASCII digits as FULLWIDTH DIGITs (U+FF10...), which NFKC folds back to ASCII."""
    return "".join(chr(0xFF10 + int(ch)) if ch.isdigit() else ch for ch in text)


LABEL_300 = "a" * 300
BAD_TARGETS = {
    "http://%zz/": "percent-encoded",
    "http://a%00b.com/": "percent-encoded",
    "http://[v1.x]/": "not an IPv6 address",
    "http://[fe80::1%25eth0]/": "zone",
    f"http://{fullwidth('10.0.0.1')}/": "IDNA 2008",  # NFKC would read 10.0.0.1: refused, never normalised
    "http://☃.com/": "IDNA 2008",
    "http://a\u200db.com/": "IDNA 2008",  # zero-width joiner
    "http://a\u00adb.com/": "IDNA 2008",  # soft hyphen
    "http://ⓐⓑ.com/": "IDNA 2008",  # enclosed letters
    "http://a。b.com/": "IDNA 2008",  # ideographic full stop
    "http://example.com:0/": "port",
    "http://example.com:65536/": "port",
    "http://example.com:99999999999/": "port",
    "http://example.com:+80/": "port",
    f"http://{LABEL_300}.com/": "63",
    "http://" + ".".join(["a" * 63] * 4) + "/": "253",  # 255 characters
    "http://a..b.com/": "empty label",
    "http://-a.com/": "hyphen",
    "http://a_b.com/": "letters, digits and hyphens",
    "http://xn--/": "A-label",
    "http://xn--zz-zzz.com/": "A-label",
    "http://evil.example\\@10.0.0.1/": "backslash",
    "http://user@/": "absolute http or https URL",
}


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("url", "reason"), BAD_TARGETS.items(), ids=[repr(u)[1:40] for u in BAD_TARGETS])
def test_targets_that_cannot_be_dialled_are_400_naming_target_url(
    call: Caller, hook_url: str, method: str, url: str, reason: str
) -> None:
    answer = write(call, method, hook_url, {**HOOK, "target_url": url})
    assert answer.status == 400, answer.body
    errors = answer.json()
    assert list(errors) == ["target_url"]
    assert len(errors["target_url"]) == 1
    assert errors["target_url"][0].startswith("Enter a valid URL")
    assert reason in errors["target_url"][0]


@pytest.mark.parametrize(
    "url",
    [
        "http://münchen.example/hook",  # IDNA 2008 names are accepted as given and sent as their A-labels
        "http://xn--mnchen-3ya.example/hook",
        "http://" + "a" * 63 + ".example/",
        "http://" + ".".join(["a" * 63] * 3 + ["b" * 61]) + "/",  # 253 characters
        "http://example.com.:1/x",
        "https://example.com:65535/",
        "http://[2606:4700:4700::1111]:8080/x",
        "http://8.8.8.8/?q=%zz",
    ],
)
def test_deliverable_targets_are_accepted_as_given(call: Caller, url: str) -> None:
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "target_url": url})
    assert answer.status == 201, answer.body
    assert answer.json()["target_url"] == url


@pytest.mark.parametrize("url", [f"http://{fullwidth('127.0.0.1')}/", "http://%31%32%37.0.0.1/", "http://0x7f.1/"])
def test_no_spelling_smuggles_a_private_address(call: Caller, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Loopback is refused in production; whatever the spelling, the answer is a 400, never a 201."""
    monkeypatch.setenv("ALLOW_LOOPBACK_TARGETS", "false")
    settings.cache_clear()
    try:
        answer = call("POST", "/whisperer/hooks/", {**HOOK, "target_url": url})
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    assert answer.status == 400, answer.body
    assert list(answer.json()) == ["target_url"]


# --- additional_headers ---------------------------------------------------------------------------

RESERVED = [
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Expect",
    "Host",
    "Content-Length",
    "Content-Type",
    "Content-Encoding",
    "X-Whisperer-Signature",
    "X-Whisperer-Event",
    "Webhook-Id",
    "webhook-timestamp",
    "WEBHOOK-SIGNATURE",
    "User-Agent",
]


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("name", RESERVED)
def test_reserved_headers_are_refused(call: Caller, hook_url: str, method: str, name: str) -> None:
    answer = write(call, method, hook_url, {**HOOK, "additional_headers": {name: "x"}})
    assert answer.status == 400, answer.body
    assert answer.json() == {"additional_headers": [f'"{name}" is set by the service and cannot be overridden.']}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("日本", "U+65E5 at position 0"),
        ("caf\u00e9", "U+00E9 at position 3"),  # obs-text in RFC 9110: refused
        ("\u0080", "U+0080 at position 0"),
        (" lead", "leading or trailing whitespace"),
        ("trail\t", "leading or trailing whitespace"),
    ],
)
@pytest.mark.parametrize("method", WRITES)
def test_header_values_must_be_visible_ascii(call: Caller, hook_url: str, method: str, value: str, reason: str) -> None:
    answer = write(call, method, hook_url, {**HOOK, "additional_headers": {"X-Shop": value}})
    assert answer.status == 400, answer.body
    (message,) = answer.json()["additional_headers"]
    assert message.startswith('The value of "X-Shop" must be printable ASCII')
    assert reason in message


def test_header_values_may_hold_inner_spaces_tabs_and_be_empty(call: Caller) -> None:
    headers = {"X-Shop": "istanbul 01\tb", "X-Empty": "", "X-Symbols": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "additional_headers": headers})
    assert answer.status == 201, answer.body
    assert answer.json()["additional_headers"] == headers


def test_header_names_repeated_in_another_case_are_refused(call: Caller) -> None:
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "additional_headers": {"X-Shop": "a", "x-shop": "b"}})
    assert answer.status == 400
    assert answer.json() == {"additional_headers": ['"x-shop" repeats "X-Shop": header names ignore case.']}


def test_a_header_name_outside_ascii_is_named_escaped(call: Caller) -> None:
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "additional_headers": {"X-\u65e5\u672c": "v"}})
    assert answer.status == 400
    assert answer.json() == {"additional_headers": ['"X-\\u65e5\\u672c" is not a valid header name.']}


# --- secret_key -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(
    "secret", ["whsec_", "whsec_A", "whsec_!!!", "whsec_abc*", "whsec_YWJj ZA==", "whsec_====", "whsec_-_-_"]
)
def test_whsec_secrets_must_decode_to_a_key(call: Caller, hook_url: str, method: str, secret: str) -> None:
    answer = write(call, method, hook_url, {**HOOK, "secret_key": secret})
    assert answer.status == 400, answer.body
    (message,) = answer.json()["secret_key"]
    assert "whsec_" in message and "base64" in message and "non-empty key" in message


@pytest.mark.parametrize("secret", [WHSEC, WHSEC.rstrip("="), "whsec_YQ", "plain secret, not base64!", "whsec"])
def test_usable_secrets_are_accepted(call: Caller, secret: str) -> None:
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "secret_key": secret})
    assert answer.status == 201, answer.body
    assert answer.json()["secret_key_set"] is True


# --- bodies ---------------------------------------------------------------------------------------


def nested(depth: int, kind: str) -> str:
    return '{"a":' * depth + "1" + "}" * depth if kind == "object" else "[" * depth + "1" + "]" * depth


def with_field(name: str, raw_value: str) -> bytes:
    """A valid hook with one field's JSON text put in as written."""
    head = '{"event_type": "transfer.status.in_transit", "target_url": "http://127.0.0.1:9000/raw", '
    return (head + f'"{name}": {raw_value}' + "}").encode()


PARSE_ERRORS = {
    "10,000 nested objects": (nested(10_000, "object").encode(), "nested deeper than"),
    "10,000 nested arrays": (nested(10_000, "array").encode(), "nested deeper than"),
    "nested objects in a field": (with_field("additional_headers", nested(10_000, "object")), "nested deeper than"),
    "nested arrays in a field": (with_field("retry_countdown_config", nested(10_000, "array")), "nested deeper than"),
    "5,000-digit integer": (with_field("is_active", "9" * 5000), "more than"),
    "5,000-digit negative integer in kwargs": (
        with_field("retry_countdown_config", '{"choice": "fixed", "kwargs": {"seconds": -%s}}' % ("9" * 5000)),
        "more than",
    ),
    "a float beyond range": (with_field("is_active", "1e400"), "out of range"),
    "NaN": (with_field("is_active", "NaN"), "not JSON"),
    "-Infinity": (
        with_field("retry_countdown_config", '{"choice": "fixed", "kwargs": {"seconds": -Infinity}}'),
        "not JSON",
    ),
}


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("raw", "reason"), PARSE_ERRORS.values(), ids=list(PARSE_ERRORS))
def test_bodies_json_cannot_hold_are_a_parse_error(
    call: Caller, hook_url: str, method: str, raw: bytes, reason: str
) -> None:
    answer = write(call, method, hook_url, raw=raw)
    assert answer.status == 400, answer.body
    (message,) = answer.json()["non_field_errors"]
    assert message.startswith("JSON parse error - ")
    assert reason in message


BASE = b'"event_type": "transfer.status.in_transit", "target_url": "http://127.0.0.1:9000/s"'
SURROGATES = {
    "target_url": (
        b'{"event_type": "transfer.status.in_transit", "target_url": "http://r.test/\\ud800"}',
        {"target_url": "U+D800"},
    ),
    "event_type": (b'{"event_type": "\\udfff", "target_url": "http://127.0.0.1:9000/s"}', {"event_type": "U+DFFF"}),
    "a header name": (b"{" + BASE + b', "additional_headers": {"X-\\ud800": "v"}}', {"additional_headers": "a key"}),
    "a header value": (
        b"{" + BASE + b', "additional_headers": {"X-A": "\\ud800\\ud800"}}',
        {"additional_headers": {"X-A": "U+D800"}},
    ),
    "secret_key": (b"{" + BASE + b', "secret_key": "ab\\udc00"}', {"secret_key": "U+DC00"}),
    "a kwarg": (
        b"{" + BASE + b', "retry_countdown_config": {"choice": "fixed", "kwargs": {"\\ud83d": 1}}}',
        {"retry_countdown_config": {"kwargs": "a key"}},
    ),
    "a top-level key": (b"{" + BASE + b', "\\ud800": 1}', {"non_field_errors": "a key"}),
}
ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, (*path, key))
    else:
        yield path, tree


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("raw", "expected"), SURROGATES.values(), ids=list(SURROGATES))
def test_lone_surrogates_are_400_naming_the_field(
    call: Caller, hook_url: str, method: str, raw: bytes, expected: dict[str, Any]
) -> None:
    answer = write(call, method, hook_url, raw=raw)
    assert answer.status == 400, answer.body
    assert not ESCAPED_SURROGATE.search(answer.body)  # the answer names the code point, never echoes it
    got = dict(leaves(answer.json()))
    wanted = dict(leaves(expected))
    assert set(got) == set(wanted), got
    for path, fragment in wanted.items():
        (message,) = got[path]
        assert message.startswith("Not valid Unicode text"), message
        assert fragment in message


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b'{"target_url": "http://r.test/\xed\xa0\x80"}', b"\xc3("])
def test_bytes_that_are_not_utf8_are_400(call: Caller, hook_url: str, method: str, raw: bytes) -> None:
    answer = write(call, method, hook_url, raw=raw)
    assert answer.status == 400
    assert answer.json() == {"non_field_errors": ["JSON parse error - the body is not UTF-8 text."]}


@pytest.mark.parametrize("method", WRITES)
def test_a_text_body_holding_a_raw_lone_surrogate_is_400(deployed: dict[str, LocalFunction], method: str) -> None:
    """The gateway hands over text; a direct invocation can hand over a surrogate unescaped."""
    function, owner = deployed["ApiFunction"], f"owner-raw-{uuid.uuid4().hex[:12]}"
    created = api_event("POST", "/whisperer/hooks/", owner)
    created["body"] = json.dumps(HOOK)
    hook = json.loads(function.invoke(created)["body"])
    path = f"/whisperer/hooks/{hook['id']}/"
    event = api_event(method, "/whisperer/hooks/" if method == "POST" else path, owner)
    event["body"] = '{"event_type": "package.created", "target_url": "http://r.test/\ud800"}'
    try:
        result = function.invoke(event)
    finally:
        assert function.invoke(api_event("DELETE", path, owner))["statusCode"] == 204
    assert result["statusCode"] == 400, result
    assert json.loads(result["body"]) == {"non_field_errors": ["JSON parse error - the body is not UTF-8 text."]}


WRONG_TYPES = [
    ({"event_type": 5}, {"event_type": ["Not a valid string."]}),
    ({"target_url": ["http://r.test/"]}, {"target_url": ["Not a valid string."]}),
    ({"additional_headers": []}, {"additional_headers": ["Expected an object."]}),
    ({"additional_headers": {"X-A": None}}, {"additional_headers": {"X-A": ["Not a valid string."]}}),
    ({"retry_countdown_config": "fixed"}, {"retry_countdown_config": ["Expected an object."]}),
    ({"secret_key": 5}, {"secret_key": ["Not a valid string."]}),
    ({"is_active": "true"}, {"is_active": ["Must be a valid boolean."]}),
    ({"is_active": 1}, {"is_active": ["Must be a valid boolean."]}),
]


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("change", "errors"), WRONG_TYPES)
def test_wrong_types_are_400_naming_the_field(
    call: Caller, hook_url: str, method: str, change: dict[str, Any], errors: dict[str, Any]
) -> None:
    answer = write(call, method, hook_url, {**HOOK, **change})
    assert answer.status == 400, answer.body
    assert answer.json() == errors


def test_a_body_at_the_depth_limit_is_read_and_judged_by_its_fields(call: Caller) -> None:
    """32 levels parse; the refusal then names the field that cannot hold such a value."""
    answer = call("POST", "/whisperer/hooks/", raw=with_field("additional_headers", nested(31, "object")))
    assert answer.status == 400
    assert answer.json() == {"additional_headers": {"a": ["Not a valid string."]}}


# --- queries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [("created_date__gte", "0001-01-01T00:00:00+01:00"), ("created_date__lte", "9999-12-31T23:59:59-01:00")],
)
def test_dates_out_of_range_in_utc_are_bounds_not_crashes(call: Caller, name: str, value: str) -> None:
    """They were a 502. The delivery log reads a time beyond the calendar in UTC as a bound below or above every
    record (oms_webhooks.rules.delivery_log), as the filter means: a page, never a 5xx."""
    answer = call("GET", f"/whisperer/hook_events/?{name}={value.replace('+', '%2B')}")
    assert answer.status == 200, answer.body
    assert answer.json()["results"] == []  # a new owner's log


@pytest.mark.parametrize(
    "query",
    [
        "created_date__gte=0001-01-01T00:00:00Z",
        "created_date__lte=9999-12-31T23:59:59%2B01:00",
        "created_date__gte=0001-01-01T00:00:00-01:00",
    ],
)
def test_dates_at_the_edges_that_stay_in_range_are_read(call: Caller, query: str) -> None:
    answer = call("GET", f"/whisperer/hook_events/?{query}")
    assert answer.status == 200, answer.body


def api_event(method: str, path: str, owner: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event as it reaches the function, authorizer already passed."""
    return {
        "resource": "/whisperer/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "api.test", "X-Forwarded-Proto": "https"},
        "multiValueHeaders": {"Host": ["api.test"], "X-Forwarded-Proto": ["https"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.removeprefix("/whisperer/")},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "localapi",
            "authorizer": {"principalId": owner, "integrationLatency": 0},
            "httpMethod": method,
            "path": f"/prod{path}",
            "requestId": "hostile-input",
            "resourcePath": "/whisperer/{proxy+}",
            "stage": "prod",
        },
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize("path", ["/whisperer/hooks/", "/whisperer/hook_events/"])
@pytest.mark.parametrize("name", ["target_url", "event_type", "cursor", "limit", "webhook"])
def test_query_values_that_are_not_unicode_text_are_400(
    deployed: dict[str, LocalFunction], path: str, name: str
) -> None:
    """API Gateway hands the function whatever a client percent-encoded; a lone surrogate must not reach AWS."""
    result = deployed["ApiFunction"].invoke(api_event("GET", path, "owner-surrogate", {name: "x\udc80y"}))
    assert result["statusCode"] == 400, result
    body = json.loads(result["body"])
    assert list(body) == [name]
    assert body[name][0].startswith("Not valid Unicode text")


@pytest.mark.parametrize("path", ["/whisperer/hooks/", "/whisperer/hook_events/"])
@pytest.mark.parametrize(
    "key",
    [{"sk": "HOOK#\ud800"}, {"after": "\udfff"}, {"sk": ["x"]}, {"sk": "x" * 600}, {"sk": 1}, "not an object"],
)
def test_forged_cursors_are_400(call: Caller, path: str, key: Any) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    answer = call("GET", f"{path}?cursor={cursor}")
    assert answer.status == 400, answer.body
    assert answer.json() == {"cursor": ["Invalid cursor."]}


def test_a_genuine_cursor_still_pages(call: Caller) -> None:
    assert call("GET", f"/whisperer/hooks/?cursor={encode_cursor({'sk': 'HOOK#000000000001'})}").status == 200


# --- hooks stored before these rules --------------------------------------------------------------


def test_hooks_stored_before_the_rules_can_still_be_changed(
    call: Caller, new_token: Callable[[], str], deployed: dict[str, LocalFunction]
) -> None:
    """A deployed table may hold hooks these rules now refuse; their owners can still deactivate or fix them."""
    from oms_webhooks.adapters.tokens import TokenStore

    token = new_token()
    owner = TokenStore(settings().tokens_table).owner_of(token)
    assert owner
    store = HookStore(settings().hooks_table)
    moment = datetime.now(UTC)
    old = Hook(
        id=store.next_id(),
        owner=owner,
        event_type="transfer.status.in_transit",
        target_url="http://%zz/",
        additional_headers={"X-Shop": "日本", "Upgrade": "h2c"},
        secret_key="whsec_A",
        created_date=moment,
        modified_date=moment,
    )
    store.add(old)
    url = f"/whisperer/hooks/{old.id}/"
    assert call("GET", url, token=token).status == 200
    deactivated = call("PATCH", url, {"is_active": False}, token=token)
    assert deactivated.status == 200, deactivated.body
    assert deactivated.json()["is_active"] is False
    fixed = call(
        "PATCH",
        url,
        {"target_url": "http://127.0.0.1:9000/fixed", "additional_headers": {"X-Shop": "nihon"}, "secret_key": WHSEC},
        token=token,
    )
    assert fixed.status == 200, fixed.body
    assert fixed.json()["additional_headers"] == {"X-Shop": "nihon"}
