"""Property-based tests of the API over the raw JSON layer: no input gets a 5xx.

Hypothesis writes bodies and list filters (any JSON value, nesting to 12,000 levels, integers of thousands
of digits, NaN, any Unicode with lone surrogates, bytes that are not UTF-8) and the real API handler answers
each one as API Gateway hands it over (a REST proxy event, authorizer passed), in process, against moto.
Every answer is below 500 and JSON; a well-formed hook is 201 on POST and 200 on PUT and PATCH.
Beside tests/e2e/test_api_fuzz.py, which fuzzes the running stack from the OpenAPI document.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from oms_webhooks.domain.event_catalog import EVENT_TYPES
from oms_webhooks.domain.operational_events import OPERATIONAL_EVENT_TYPES
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.integration.test_hostile_input import api_event

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis/ in the repo
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
WRITES = ("POST", "PUT", "PATCH")


@dataclass
class Api:
    """The API function, called as API Gateway calls it for one owner; it remembers the hooks it subscribed."""

    function: LocalFunction
    owner: str
    subscribed: list[tuple[str, str]] = field(default_factory=list)  # (owner, path)

    def __call__(
        self,
        method: str,
        path: str,
        body: str | bytes | None = None,
        query: dict[str, str] | None = None,
        owner: str | None = None,
    ) -> tuple[int, Any]:
        event = api_event(method, path, owner or self.owner, query)
        if isinstance(body, bytes):
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = body
        if body is not None:
            event["headers"]["Content-Type"] = "application/json"
        result = self.function.invoke(event)
        status = int(result["statusCode"])
        assert status < 500, (status, result.get("body"))
        text = result.get("body") or ""
        answer: Any = json.loads(text) if text else None
        if method == "POST" and status == 201:
            self.subscribed.append((owner or self.owner, f"/whisperer/hooks/{answer['id']}/"))
        return status, answer


@pytest.fixture
def api(deployed: dict[str, LocalFunction]) -> Iterator[Api]:
    """Deletes every hook it subscribed once the test ends: the table is shared, and hooks here point at public
    hosts that no other test's event may ever be sent to."""
    api = Api(deployed["ApiFunction"], f"owner-props-{uuid.uuid4().hex[:12]}")
    yield api
    for owner, path in api.subscribed:  # deactivated: no event reaches them, whatever runs next
        assert api("DELETE", path, owner=owner)[0] in (204, 404)


@pytest.fixture
def hook_path(api: Api) -> str:
    status, hook = api("POST", "/whisperer/hooks/", json.dumps(HOOK))
    assert status == 201, hook
    return f"/whisperer/hooks/{hook['id']}/"


HOOK = {"event_type": "package.created", "target_url": "http://127.0.0.1:9/props"}
FIELDS = [
    "event_type",
    "target_url",
    "retry_countdown_config",
    "additional_headers",
    "secret_key",
    "is_active",
    "filter",
    "signature_scheme",
]
OPERATORS = ["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "$or", "cidr"]

# --- arbitrary JSON -------------------------------------------------------------------------------

SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
TEXT = st.text(st.characters() | SURROGATES | st.sampled_from("\u200d\u00ad\uff10\u2603\x00\r\n\t "), max_size=20)
HUGE_INTEGERS = st.integers(10**60, 10**4000) | st.integers(-(10**4000), -(10**60))  # Python prints up to 4300 digits


@st.composite
def long_numbers(draw: st.DrawFn) -> str:
    """A hook with a number of up to 6,000 digits (as text: Python will not print such an int) in one field."""
    sign = draw(st.sampled_from(["", "-"]))
    digits = str(draw(st.integers(1, 9))) + "0" * draw(st.integers(60, 6000))
    number = sign + digits + draw(st.sampled_from(["", ".5", "e3", "e-999999", "e999999"]))
    field = draw(st.sampled_from(FIELDS))
    value = draw(
        st.sampled_from(
            ["N", '{"choice": "fixed", "kwargs": {"seconds": N}}', '{"X-A": N}', '{"a": [{"numeric": [">", N]}]}']
        )
    )
    return (
        '{"event_type": "package.created", "target_url": "http://127.0.0.1:9/n", '
        + f'"{field}": {value.replace("N", number)}'
        + "}"
    )


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE_INTEGERS
    | st.floats()  # NaN and infinities too: json.dumps writes them as NaN, Infinity
    | TEXT
    | st.sampled_from(["http://%zz/", "http://[v1.x]/", "http://a.com:0/", "whsec_", "whsec_A", "package.created"])
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(TEXT | st.sampled_from(FIELDS + OPERATORS), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def hook_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A hook's fields, each either plausible or any JSON value, and sometimes a stranger among them."""
    hook: dict[str, Any] = {}
    for name in FIELDS:
        if draw(st.booleans()):
            hook[name] = draw(JSON_VALUES | well_formed_field(name))
    if draw(st.booleans()):
        hook[draw(TEXT)] = draw(JSON_VALUES)
    return hook


def dumps(value: Any, ensure_ascii: bool) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii)


@st.composite
def deep_text(draw: st.DrawFn) -> str:
    """JSON nested up to 12,000 levels (objects or arrays), at the top or inside one of a hook's fields."""
    levels = draw(st.integers(0, 12_000))
    opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"\\ud800":', "}")]))
    nested = opening * levels + draw(st.sampled_from(["1", '"x"', "[]", "9" * 5000])) + closing * levels
    if draw(st.booleans()):
        return nested
    field = draw(st.sampled_from(FIELDS))
    return '{"event_type": "package.created", "target_url": "http://127.0.0.1:9/deep", ' + f'"{field}": {nested}' + "}"


BODIES = st.one_of(
    st.builds(dumps, JSON_VALUES, st.booleans()),
    st.builds(dumps, hook_shaped(), st.booleans()),
    deep_text(),
    long_numbers(),
    st.text(st.sampled_from('{}[]":,.-+0123456789eEnulltruefalseNaNInfinity\\u \ud800'), max_size=60),
    st.binary(max_size=60),  # sent base64-encoded, as API Gateway sends bytes that are not text
)


@PROPERTY
@given(st.sampled_from(WRITES), BODIES)
@example("POST", '{"a":' * 10_000 + "1" + "}" * 10_000)
@example("PUT", "[" * 10_000 + "]" * 10_000)
@example("PATCH", '{"is_active": ' + "9" * 5000 + "}")
@example("POST", '{"event_type": "package.created", "target_url": "http://r.test/\\ud800"}')
@example("PATCH", '{"event_type": "\\ud800"}')
@example(
    "PUT", '{"event_type": "package.created", "target_url": "http://r.test/", "additional_headers": {"\\ud800": ""}}'
)
@example("POST", b"\xff\xfe\xed\xa0\x80")
def test_no_body_gets_a_5xx(api: Api, hook_path: str, method: str, body: str | bytes) -> None:
    status, answer = api(method, "/whisperer/hooks/" if method == "POST" else hook_path, body)
    assert status in (200, 201, 400, 406, 413), (status, answer)
    if status == 400:
        assert isinstance(answer, dict) and answer  # DRF's shape: {"field": [...]} or {"non_field_errors": [...]}


# --- well-formed hooks ----------------------------------------------------------------------------

LABELS = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
HOSTS = st.one_of(
    st.lists(LABELS, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "example"])),
    st.sampled_from(["münchen.example", "bücher.example", "日本.example", "xn--mnchen-3ya.example"]),
    st.sampled_from(["127.0.0.1", "8.8.8.8", "[2606:4700:4700::1111]", "[::1]", "localhost"]),
)
URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    HOSTS,
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}")),
    st.from_regex(r"(/[A-Za-z0-9._~-]{0,10}){0,3}(\?[a-z]=[0-9]{1,3})?", fullmatch=True),
)
HEADER_NAMES = st.from_regex(r"X-[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", fullmatch=True)
HEADER_VALUES = st.just("") | st.from_regex(r"[!-~]([ -~\t]{0,30}[!-~])?", fullmatch=True)
SECRETS = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=60).filter(lambda s: not s.startswith("whsec_")),
    st.binary(min_size=1, max_size=48).map(lambda key: "whsec_" + base64.b64encode(key).decode()),
    st.binary(min_size=1, max_size=48).map(lambda key: "whsec_" + base64.b64encode(key).decode().rstrip("=")),
)
COUNTDOWNS = st.sampled_from(
    [
        {"choice": "fixed", "kwargs": {"seconds": 60}},
        {"choice": "linear", "kwargs": {"base": 5, "limit": 600}, "max_retries": 3},
        {"choice": "exponential", "kwargs": {"base": 2, "factor": 3, "limit": 600}},
        {"choice": "random", "kwargs": {"min_value": 1, "max_value": 9}},
    ]
)


# Event patterns within the bounds: every operator, nested objects and `$or`.
PATTERN_KEYS = st.sampled_from(["channel", "total", "state", "name", "items", "sku", "state.name"])
SHORT_TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
NUMBERS = st.integers(-(10**9), 10**9) | st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)
WILDCARDS = st.from_regex(r"[a-z/.*]{0,10}", fullmatch=True).filter(lambda w: "**" not in w and w.count("*") <= 5)
PATTERN_VALUES = st.one_of(
    SHORT_TEXT,
    NUMBERS,
    st.booleans(),
    st.none(),
    st.builds(lambda operand: {"prefix": operand}, SHORT_TEXT | SHORT_TEXT.map(lambda t: {"equals-ignore-case": t})),
    st.builds(lambda operand: {"suffix": operand}, SHORT_TEXT | SHORT_TEXT.map(lambda t: {"equals-ignore-case": t})),
    st.builds(lambda operand: {"equals-ignore-case": operand}, SHORT_TEXT),
    st.builds(lambda operand: {"wildcard": operand}, WILDCARDS),
    st.builds(
        lambda operand: {"anything-but": operand},
        SHORT_TEXT
        | st.integers(-1000, 1000)
        | st.lists(SHORT_TEXT, min_size=1, max_size=3)
        | st.lists(st.integers(-1000, 1000), min_size=1, max_size=3)
        | st.builds(lambda name, affix: {name: affix}, st.sampled_from(["prefix", "suffix"]), SHORT_TEXT.filter(bool))
        | st.builds(lambda w: {"wildcard": [w]}, WILDCARDS),
    ),
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from(["=", "<", "<=", ">", ">="]), NUMBERS),
    st.builds(lambda low, high: {"numeric": [">=", low, "<", high]}, NUMBERS, NUMBERS),
    st.builds(lambda flag: {"exists": flag}, st.booleans()),
)
PATTERN_OBJECTS = st.recursive(
    st.dictionaries(PATTERN_KEYS, st.lists(PATTERN_VALUES, min_size=1, max_size=3), min_size=1, max_size=3),
    lambda inner: (
        st.dictionaries(PATTERN_KEYS, inner, min_size=1, max_size=2)
        | st.builds(lambda members: {"$or": members}, st.lists(inner, min_size=2, max_size=3))
    ),
    max_leaves=4,
)


def well_formed_field(name: str) -> st.SearchStrategy[Any]:
    return {
        "event_type": st.sampled_from(
            [*EVENT_TYPES, *(t.replace(".", "-") for t in EVENT_TYPES), *OPERATIONAL_EVENT_TYPES]
        ),
        "target_url": URLS,
        "retry_countdown_config": COUNTDOWNS,
        "additional_headers": st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5).filter(
            lambda headers: len({name.lower() for name in headers}) == len(headers)
        ),
        "secret_key": SECRETS,
        "is_active": st.booleans(),
        "filter": PATTERN_OBJECTS | st.none(),
        "signature_scheme": st.sampled_from(["symmetric", "asymmetric"]) | st.none(),
    }[name]


@st.composite
def well_formed_hooks(draw: st.DrawFn) -> dict[str, Any]:
    hook = {"event_type": draw(well_formed_field("event_type")), "target_url": draw(URLS)}
    for name in FIELDS[2:]:
        if draw(st.booleans()):
            hook[name] = draw(well_formed_field(name))
    return hook


def assert_shows(answer: dict[str, Any], hook: dict[str, Any]) -> None:
    """The answer shows the hook as written (the dashed event type read as the dotted one)."""
    for name in ("target_url", "additional_headers", "retry_countdown_config", "is_active"):
        if name in hook and name != "retry_countdown_config":
            assert answer[name] == hook[name], name
    if "retry_countdown_config" in hook:
        assert answer["retry_countdown_config"] == {"max_retries": 10, **hook["retry_countdown_config"]}
    if "event_type" in hook:
        assert answer["event_type"] == hook["event_type"].replace("-", ".")
    if "secret_key" in hook:
        assert answer["secret_key_set"] is True
    if "filter" in hook:
        assert answer["filter"] == hook["filter"]
    if "signature_scheme" in hook:  # null is the default; an asymmetric hook shows its public key, never the private
        assert answer["signature_scheme"] == (hook["signature_scheme"] or "symmetric")
        assert (answer["public_key"] or "").startswith("whpk_") is (answer["signature_scheme"] == "asymmetric")
    assert "whsk_" not in json.dumps(answer)


@settings(PROPERTY, max_examples=60)  # two writes each, the slowest calls of the API against moto
@given(
    well_formed_hooks(),
    st.sampled_from(["PUT", "PATCH"]),
    well_formed_hooks(),
    st.sets(st.sampled_from(FIELDS)),
    st.booleans(),
)
@example(
    {"event_type": "package-created", "target_url": "https://münchen.example:443/x", "secret_key": "é"},
    "PATCH",
    {"event_type": "shipment.created", "target_url": "http://[2606:4700:4700::1111]/", "secret_key": "whsec_YQ"},
    {"target_url", "secret_key"},
    False,
)
def test_well_formed_hooks_are_201_then_200(
    api: Api, hook: dict[str, Any], method: str, change: dict[str, Any], patched: set[str], ensure_ascii: bool
) -> None:
    owner = f"owner-props-{uuid.uuid4().hex[:12]}"  # one each: no example's hook is another's duplicate
    status, created = api("POST", "/whisperer/hooks/", dumps(hook, ensure_ascii), owner=owner)
    assert status == 201, (created, hook)
    assert_shows(created, hook)
    assert created["secret_key_set"] is bool(hook.get("secret_key"))
    if method == "PATCH":  # any of a well-formed hook's fields
        change = {name: value for name, value in change.items() if name in patched}
    status, changed = api(method, f"/whisperer/hooks/{created['id']}/", dumps(change, ensure_ascii), owner=owner)
    assert status == 200, (changed, change)
    assert_shows(changed, change)


# --- list filters ---------------------------------------------------------------------------------

OFFSETS = st.sampled_from(["", "Z", "+00:00", "+01:00", "-01:00", "+23:59", "-23:59", "+14:00"])
DATES = st.builds(
    lambda year, month, day, time, offset: f"{year:04d}-{month:02d}-{day:02d}T{time}{offset}",
    st.sampled_from([1, 2, 1970, 2024, 9998, 9999]) | st.integers(0, 10_000),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["00:00:00", "23:59:59", "12:00", "24:00:00", "00:00:00.999999"]),
    OFFSETS,
)
CURSORS = st.one_of(
    TEXT,
    st.builds(lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("="), JSON_VALUES),
    st.dictionaries(st.sampled_from(["sk", "after"]), TEXT | st.just("HOOK#000000000001"), min_size=1).map(
        lambda key: base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
    ),
)
QUERY_TEXT = TEXT | st.integers().map(str) | HUGE_INTEGERS.map(str) | st.sampled_from(["true", "false", "1", "0"])
FILTERS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "/whisperer/hooks/": {
        "limit": QUERY_TEXT,
        "cursor": CURSORS,
        "target_url": TEXT | URLS,
        "event_type": TEXT | st.sampled_from(EVENT_TYPES),
        "is_active": QUERY_TEXT,
    },
    "/whisperer/hook_events/": {
        "limit": QUERY_TEXT,
        "cursor": CURSORS,
        "webhook": QUERY_TEXT,
        "event_type": TEXT | st.sampled_from(EVENT_TYPES),
        "delivered": QUERY_TEXT,
        "response_http_status": QUERY_TEXT,
        "created_date__gte": DATES | TEXT,
        "created_date__lte": DATES | TEXT,
        "created_date__gt": DATES | TEXT,
        "created_date__lt": DATES | TEXT,
        "created_date": DATES,
        "uuid": TEXT | st.uuids().map(str),
        "object_id": TEXT,
        "content_type": TEXT,
        "status": TEXT | st.sampled_from(["pending", "retrying", "delivered", "failed"]),
    },
}


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    path = draw(st.sampled_from(sorted(FILTERS)))
    names = draw(st.lists(st.sampled_from(sorted(FILTERS[path])), max_size=5, unique=True))
    query = {name: draw(FILTERS[path][name]) for name in names}
    if draw(st.booleans()):
        query[draw(TEXT)] = draw(QUERY_TEXT)
    return path, query


@PROPERTY
@given(queries())
@example(("/whisperer/hook_events/", {"created_date__gte": "0001-01-01T00:00:00+01:00"}))
@example(("/whisperer/hook_events/", {"created_date__lte": "9999-12-31T23:59:59-01:00"}))
@example(("/whisperer/hooks/", {"target_url": "http://r.test/\ud800"}))
@example(("/whisperer/hooks/", {"cursor": base64.urlsafe_b64encode(b'{"sk": "\\ud800"}').decode()}))
def test_no_list_filter_gets_a_5xx(api: Api, hook_path: str, path_and_query: tuple[str, dict[str, str]]) -> None:
    path, query = path_and_query
    status, answer = api("GET", path, query=query or None)
    assert status in (200, 400), (status, answer)
    if status == 200:
        assert isinstance(answer["results"], list) and "next" in answer
    else:
        assert isinstance(answer, dict) and answer


def test_the_properties_reach_the_store(api: Api, hook_path: str) -> None:
    """The fixtures' hook is there: a 200 above is a real query, not an empty owner's shortcut."""
    status, page = api("GET", "/whisperer/hooks/", query={"event_type": "package-created"})
    assert status == 200
    assert [hook["target_url"] for hook in page["results"]] == [HOOK["target_url"]]
