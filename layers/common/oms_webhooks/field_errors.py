"""Validation errors in Django REST framework's shape, `{"field": {"nested": ["message"]}}`, as whisperer answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_LOCATIONS = ("body", "query", "path", "header")

_NUMBER_MEMBERS = frozenset({"int", "float"})
_UNION_MEMBERS = _NUMBER_MEMBERS | {"fixed", "linear", "exponential", "random"}

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
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "float_type": "A valid number is required.",
}


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold pydantic errors (with `loc` paths) into one nested dict of message lists."""
    tree: dict[str, Any] = {}
    for error in errors:
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
    if any(part in _NUMBER_MEMBERS for part in path):
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
