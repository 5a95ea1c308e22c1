"""Validation errors in Django REST framework's shape, `{"field": {"nested": ["message"]}}`, as whisperer answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_LOCATIONS = ("body", "query", "path", "header")

_INT_MEMBERS = frozenset({"int", "constrained-int"})
_FLOAT_MEMBERS = frozenset({"float", "constrained-float"})
_NUMBER_MEMBERS = _INT_MEMBERS | _FLOAT_MEMBERS
_UNION_MEMBERS = _NUMBER_MEMBERS | {"fixed", "linear", "exponential", "random"}
_NUMBER_TYPE_ERRORS = frozenset({"int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"})

_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unexpected field.",
    "union_tag_not_found": "This field is required.",
    "json_invalid": "JSON parse error.",
    "model_type": "Expected an object.",
    "model_attributes_type": "Expected an object.",
    "dict_type": "Expected an object.",
    "string_type": "Not a valid string.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "float_type": "A valid number is required.",
}


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold pydantic errors (with `loc` paths) into one nested dict of message lists."""
    tree: dict[str, Any] = {}
    for error in _one_per_number(list(errors)):
        path, message = _path_and_message(error)
        _insert(tree, path or ["non_field_errors"], message)
    return tree


def _path_and_message(error: Mapping[str, Any]) -> tuple[list[str], str]:
    loc: Sequence[Any] = error.get("loc", ())
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return ["non_field_errors"], f"JSON parse error - {ctx.get('error', 'invalid JSON')}."
    path = [str(part) for part in loc if not isinstance(part, int) or part]
    if path and path[0] in _LOCATIONS:
        path = path[1:]
    # Pydantic names the union member (e.g. "fixed", "int") in the path; DRF users expect only field names.
    if kind in _NUMBER_TYPE_ERRORS and any(part in _NUMBER_MEMBERS for part in path):
        kind = "float_type"
    path = [part for part in path if part not in _UNION_MEMBERS]
    if kind == "union_tag_invalid":
        path.append(str(ctx.get("discriminator", "choice")).strip("'"))
        return path, f'"{ctx.get("tag")}" is not a valid choice.'
    if kind == "union_tag_not_found":
        path.append(str(ctx.get("discriminator", "choice")).strip("'"))
    if kind in ("model_type", "model_attributes_type") and not path:
        return ["non_field_errors"], "Invalid data. Expected a dictionary."
    message = _MESSAGES.get(kind) or str(error.get("msg", "Invalid value.")).removeprefix("Value error, ")
    return path, message


def _one_per_number(errors: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """An `int | float` field that fails both ways reports the float's reason: it is the more general type."""
    floats = {_without_members(e) for e in errors if any(str(p) in _FLOAT_MEMBERS for p in e.get("loc", ()))}
    return [
        e
        for e in errors
        if not (any(str(p) in _INT_MEMBERS for p in e.get("loc", ())) and _without_members(e) in floats)
    ]


def _without_members(error: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(p) for p in error.get("loc", ()) if str(p) not in _NUMBER_MEMBERS)


def _insert(tree: dict[str, Any], path: list[str], message: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):  # a message already stands here; keep the field-level one
            return
        node = child
    existing = node.setdefault(path[-1], [])
    if isinstance(existing, list) and message not in existing:
        existing.append(message)
