"""An answer checked against the OpenAPI document's schema for it: what a client reads there is what the API sends.

The committed docs/openapi.json (test_openapi.py keeps it current), formats included (date-time, uuid).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from oms_webhooks_cli.openapi import COMMITTED


@cache
def _validator(schema: str) -> Draft202012Validator:
    components = json.loads(COMMITTED.read_text())["components"]
    document = {"$ref": f"#/components/schemas/{schema}", "components": components}
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_documented(body: Any, schema: str) -> None:
    """`body` is what the document's `schema` (a component's name) describes, or the test fails saying where not."""
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(the answer)'}: {e.message}"
        for e in _validator(schema).iter_errors(body)
    ]
    assert not problems, f"not a {schema} as documented: " + "; ".join(problems)
