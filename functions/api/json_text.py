"""Request bodies as the API reads them: JSON text within limits that keep parsing and storing safe.

`json.loads` accepts more than the API can hold: nesting that exhausts the stack, integers too long to
convert, NaN and Infinity (not JSON at all), and escapes such as `\\ud800` that make strings no text can
encode. Each of those is refused here, before any model sees the value, with a reason a client can act on.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # a hook is at most four levels deep; far below what would strain a parser
MAX_INTEGER_DIGITS = 64  # every number the API keeps has a bound far below this

_BRACKETS_OUTSIDE_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotText(ValueError):
    """A string in the body (a key or a value) holds a lone surrogate, so it is no Unicode text."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message


def loads(text: str) -> Any:
    """Parse a request body; raises `json.JSONDecodeError` (syntax and limits) or `NotText`."""
    _check_depth(text)
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_finite, parse_constant=_no_constant)
    except _Refused as refused:
        raise json.JSONDecodeError(refused.reason, text, max(text.find(refused.token), 0)) from None
    _check_text(value)
    return value


def lone_surrogate(text: str) -> str | None:
    """The first unpaired surrogate in `text`, shown as U+XXXX, or None when `text` is Unicode text."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def not_text_message(code_point: str, where: str = "it holds") -> str:
    return f"Not valid Unicode text: {where} a lone surrogate ({code_point}), which no encoding can carry."


class _Refused(Exception):
    def __init__(self, token: str, reason: str) -> None:
        super().__init__(token, reason)
        self.token = token
        self.reason = reason


def _check_depth(text: str) -> None:
    """Count brackets outside strings without recursing, so no depth can exhaust the stack."""
    depth = 0
    for token in _BRACKETS_OUTSIDE_STRINGS.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, token.start())
        elif bracket in "]}":
            depth -= 1


def _integer(token: str) -> int:
    if len(token.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(token, f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(token)


def _finite(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Refused(token, f"the number {token[:40]} is out of range")
    return value


def _no_constant(token: str) -> float:
    raise _Refused(token, f"{token} is not JSON")


def _check_text(value: Any) -> None:
    """Walk the parsed value without recursing; refuse it if any key or string is not Unicode text."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, str):
            code_point = lone_surrogate(node)
            if code_point:
                raise NotText(path, not_text_message(code_point))
        elif isinstance(node, dict):
            for key, child in node.items():
                code_point = lone_surrogate(key)
                if code_point:
                    raise NotText(path, not_text_message(code_point, "a key holds"))
                pending.append(((*path, key), child))
        elif isinstance(node, list):
            pending.extend(((*path, index), child) for index, child in enumerate(node))
