"""A hook's `filter` through the API: written, shown, changed and cleared as other fields are; malformed, oversized
or hostile patterns refused with a 400 naming `filter` and saying what is wrong, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from oms_webhooks.domain.event_pattern import MAX_PATTERN_BYTES
from tests.conftest import Caller
from tests.integration.test_hostile_input import WRITES, nested, with_field, write

HOOK = {"event_type": "transfer.status.transferred", "target_url": "http://127.0.0.1:9000/filtered"}
WEB_ONLY = {"channel": ["web"], "total": [{"numeric": [">=", 100]}]}


@pytest.fixture
def call(call: Caller) -> Iterator[Caller]:
    """conftest's caller; its hooks are deleted once the test ends."""
    yield call
    for hook in call("GET", "/whisperer/hooks/?is_active=true&limit=500").json()["results"]:
        call("DELETE", f"/whisperer/hooks/{hook['id']}/")


@pytest.fixture
def hook_url(call: Caller) -> str:
    created = call("POST", "/whisperer/hooks/", {**HOOK, "target_url": "http://127.0.0.1:9000/existing"})
    assert created.status == 201, created.body
    return f"/whisperer/hooks/{created.json()['id']}/"


def test_a_filter_is_written_shown_changed_and_cleared(call: Caller) -> None:
    created = call("POST", "/whisperer/hooks/", {**HOOK, "filter": WEB_ONLY})
    assert created.status == 201, created.body
    assert created.json()["filter"] == WEB_ONLY
    path = f"/whisperer/hooks/{created.json()['id']}/"
    assert call("GET", path).json()["filter"] == WEB_ONLY

    kept = call("PATCH", path, {"is_active": True})  # left out: kept
    assert kept.json()["filter"] == WEB_ONLY
    changed = call("PATCH", path, {"filter": {"channel": [{"prefix": "mob"}]}})
    assert changed.status == 200 and changed.json()["filter"] == {"channel": [{"prefix": "mob"}]}
    resent = call("PUT", path, changed.json())  # an answer sent back as it came
    assert resent.status == 200 and resent.json()["filter"] == {"channel": [{"prefix": "mob"}]}
    cleared = call("PATCH", path, {"filter": None})  # null: every event again
    assert cleared.status == 200 and cleared.json()["filter"] is None


def test_a_hook_without_a_filter_answers_null(call: Caller) -> None:
    """Answers carry every field (the document says so): `"filter": null` is every event, as before."""
    created = call("POST", "/whisperer/hooks/", HOOK)
    assert created.status == 201 and created.json()["filter"] is None


REFUSALS = [
    ({"state": "packed"}, '"state" must be an object or an array (at state)'),
    ({"state": []}, "Empty arrays are not allowed (at state)"),
    ({}, "Empty objects are not allowed."),
    ({"state": {}}, "Empty objects are not allowed (at state)"),
    ({"state": [["packed"]]}, "Match value must be String, number, true, false, or null (at state)"),
    ({"state": [{"Prefix": "p"}]}, "Unrecognized match type Prefix (at state)"),
    ({"ip": [{"cidr": "10.0.0.0/8"}]}, "Unrecognized match type cidr (not supported here) (at ip)"),
    ({"total": [{"numeric": [">", "100"]}]}, "Value of > must be numeric (at total)"),
    ({"total": [{"numeric": ["<", 5, ">", 1]}]}, "Too many elements in numeric expression (at total)"),
    ({"total": [{"numeric": [">", 2**64 + 1]}]}, f"Cannot compare number : {2**64 + 1} (at total)"),
    ({"name": [{"wildcard": "a**"}]}, "Consecutive wildcard characters at pos 2 (at name)"),
    (
        {"name": [{"wildcard": "*a*b*c*d*e*"}]},
        "Ensure a wildcard value has no more than 5 wildcard characters (at name)",
    ),
    ({"name": [{"anything-but": ["a", 1]}]}, "mixed type is not supported (at name)"),
    ({"$or": [{"a": ["1"]}]}, "$or must be an array of at least 2 objects (at $or)"),
    ({"a": [{"prefix": "x" * MAX_PATTERN_BYTES}]}, f"no more than {MAX_PATTERN_BYTES} bytes of JSON (it has"),
    ({"a": list(range(101))}, "Ensure this pattern has no more than 100 match values (it has 101)."),
    (json.loads(nested(11, "object").replace("1}", "[1]}", 1)), "Ensure this pattern nests no more than 10 objects"),
    (
        {f"k{i}": {"$or": [{"a": ["1"]}, {"b": ["2"]}, {"c": ["3"]}]} for i in range(12)},
        "More than 1000 match values once $or is expanded",
    ),
]


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("pattern", "reason"), REFUSALS, ids=[reason[:40] for _, reason in REFUSALS])
def test_malformed_and_oversized_patterns_are_400_naming_filter(
    call: Caller, hook_url: str, method: str, pattern: dict[str, Any], reason: str
) -> None:
    answer = write(call, method, hook_url, {**HOOK, "filter": pattern})
    assert answer.status == 400, answer.body
    assert list(answer.json()) == ["filter"]
    (message,) = answer.json()["filter"]
    assert reason in message


@pytest.mark.parametrize("value", ["channel=web", ["channel"], 5, True])
def test_a_filter_that_is_no_object_is_400(call: Caller, value: Any) -> None:
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "filter": value})
    assert answer.status == 400, answer.body
    assert answer.json() == {"filter": ["Expected an object."]}


@pytest.mark.parametrize(
    "raw",
    [
        nested(31, "object"),  # as deep as a body may be: judged by the pattern's own bound
        '{"a": ' + "[" * 30 + "1" + "]" * 30 + "}",
        '{"a": [NaN]}',
        '{"a": [{"numeric": [">", Infinity]}]}',
        '{"a": [' + "9" * 5000 + "]}",
        '{"a": [{"prefix": "' + "x" * 60_000 + '"}]}',
        '{"\\ud800": ["x"]}',
    ],
    ids=["deep objects", "deep arrays", "NaN", "Infinity", "long integer", "60 KB", "lone surrogate"],
)
def test_hostile_patterns_are_400_never_5xx(call: Caller, raw: str) -> None:
    answer = call("POST", "/whisperer/hooks/", raw=with_field("filter", raw))
    assert answer.status == 400, answer.body
    assert answer.json()


def test_a_pattern_at_the_bounds_is_accepted(call: Caller) -> None:
    at_bounds = {"a": [{"prefix": "x" * (MAX_PATTERN_BYTES - len('{"a":[{"prefix":""}]}'))}]}
    answer = call("POST", "/whisperer/hooks/", {**HOOK, "filter": at_bounds})
    assert answer.status == 201, answer.body
