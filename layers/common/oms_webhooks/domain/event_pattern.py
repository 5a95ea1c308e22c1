"""A hook's `filter`: an Amazon EventBridge event pattern, matched against the payload of an OMS event.

Compiled once, when a hook is read, and matched against many events. The semantics are EventBridge's, which are
those of its open-source matcher (aws/event-ruler) as `TestEventPattern` answers:

- a pattern object names fields; every field it names must match (AND), and a field matches when any of its
  listed values does (OR); `$or` (an array of at least two objects) matches when any of its objects does;
- a field's value may be a JSON array: it matches when any element does; objects inside arrays are matched one
  element at a time, so two fields of one pattern object never come from different elements of the same array;
- values are compared as JSON: `"5"` is not `5`, `true` is not `1`, `null` is neither `""` nor absent;
  numbers compare by value (`300` matches `300.0`);
- operators work on leaves (strings, numbers, booleans, null): `prefix`, `suffix`, `equals-ignore-case` and
  `wildcard` on strings only; `numeric` on numbers only; `anything-but` on any leaf that is present (null too);
  `exists` on whether the field has a leaf at all (an object, an empty array or a missing key has none);
- a dotted key in the pattern (`"state.name"`) is the nested path `state` → `name`, as in EventBridge.

Beyond EventBridge, a pattern is bounded so that matching any one pattern against any payload stays cheap:
MAX_WILDCARDS and MAX_EXPANDED_VALUES while compiling (they also keep compiling cheap), MAX_PATTERN_BYTES, MAX_DEPTH
and MAX_VALUES by `within_bounds` when a client writes one. Left out: `cidr` (refused), and keys containing dots in
the *payload* (EventBridge joins them with the path before them, a behaviour its docs say not to rely on; here they
are only themselves).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self

from pydantic import ConfigDict, PrivateAttr, RootModel, model_validator

MAX_PATTERN_BYTES = 2048  # EventBridge's default quota for a rule's pattern
MAX_DEPTH = 10  # objects nested in a pattern, `$or` members included
MAX_VALUES = 100  # match values in a pattern, each operator and each member of its lists counting one
MAX_WILDCARDS = 5  # `*` in one wildcard value; EventBridge refuses `*:*:*:*:*:event-bus/*` (6) as too complex
MAX_EXPANDED_VALUES = 1000  # values once every `$or` is expanded into its alternatives (EventBridge: 1000 of them)

OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists")
# Field names EventBridge refuses inside a `$or` member: its operators, and names it keeps for operators to come.
_RESERVED_IN_OR = frozenset(
    {
        *OPERATORS,
        "exactly",
        "cidr",
        "=",
        "<",
        "<=",
        ">",
        ">=",
        "regex",
        "not-wildcard",
        "not-equals-ignore-case",
        "date-after",
        "date-on-or-after",
        "date-before",
        "date-on-or-before",
        "in-date-range",
        "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
_RANGE_STARTS = {">": float.__gt__, ">=": float.__ge__}
_RANGE_ENDS = {"<": float.__lt__, "<=": float.__le__}
_SINGLE_COMPARISONS = {**_RANGE_STARTS, **_RANGE_ENDS, "=": float.__eq__}


class PatternError(ValueError):
    """A pattern EventBridge would refuse, or one beyond this service's bounds; the message says where and why."""

    def __init__(self, path: tuple[str, ...], reason: str) -> None:
        where = ".".join(path) if path else "the pattern"
        super().__init__(f"{reason} (at {where})" if path else f"{reason}.")
        self.path = path
        self.reason = reason


Test = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class _Field:
    """One field's list of values: it matches a leaf when any value does. Literals are looked up in sets."""

    strings: frozenset[str] = frozenset()
    numbers: frozenset[int | float] = frozenset()
    literals: frozenset[Any] = frozenset()  # True, False, None: kept apart from numbers (True == 1 in Python)
    tests: tuple[Test, ...] = ()
    exists: bool = False  # `{"exists": true}` among the values
    absent: bool = False  # `{"exists": false}` among the values
    size: int = 0  # how many values the field holds

    def matches(self, value: Any) -> bool:
        """The field is present with `value`; `exists` asks whether it has a leaf at all."""
        kind = type(value)
        if kind is list:
            found = False
            for leaf in _leaves(value):
                if self.accepts(leaf):
                    return True
                found = True
            return self.exists if found else self.absent
        if kind is dict:  # not a leaf: as good as missing
            return self.absent
        return self.exists or self.accepts(value)

    def accepts(self, leaf: Any) -> bool:
        kind = type(leaf)
        if kind is str:
            if leaf in self.strings:
                return True
        elif kind is int or kind is float:
            if leaf in self.numbers:
                return True
        elif leaf in self.literals:  # True, False or None; never a number here
            return True
        for test in self.tests:  # noqa: SIM110 - loops, not any(generator): half the cost per delivery
            if test(leaf):
                return True
        return False


@dataclass(frozen=True, slots=True)
class _Node:
    """One object of a pattern alternative: its fields, and the objects nested in it."""

    fields: tuple[tuple[str, _Field], ...]
    children: tuple[tuple[str, _Node], ...]
    empty_ok: bool  # whether an object without any of these keys matches (only `exists: false` can)

    def matches(self, obj: dict[str, Any]) -> bool:
        for key, leaf_field in self.fields:
            if key in obj:
                if not leaf_field.matches(obj[key]):
                    return False
            elif not leaf_field.absent:
                return False
        return all(child.matches_any(_objects(obj[key]) if key in obj else ()) for key, child in self.children)

    def matches_any(self, objects: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> bool:
        """Objects found at a path (one, or an array's): one must match alone; with none, an empty one stands in."""
        if not objects:
            return self.empty_ok
        for obj in objects:  # noqa: SIM110
            if self.matches(obj):
                return True
        return False


class EventPattern(RootModel[dict[str, Any]]):
    """An event pattern as written (`root`: what answers and storage carry), compiled when validated."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "An Amazon EventBridge event pattern (https://docs.aws.amazon.com/eventbridge/latest/"
            'userguide/eb-create-pattern-operators.html), e.g. `{"channel": ["web"], "total": '
            '[{"numeric": [">=", 100]}]}`.',
            "minProperties": 1,
        }
    )
    _alternatives: tuple[_Node, ...] = PrivateAttr(default=())
    _values: int = PrivateAttr(default=0)  # match values written, each operator and list member counting one

    @model_validator(mode="after")
    def _compiled(self) -> Self:
        self._alternatives, self._values = _compile(self.text())
        return self

    def matches(self, payload: Any) -> bool:
        """Whether an OMS event with this payload (an object, or an array of them) is one the hook wants."""
        objects = _objects(payload)
        for node in self._alternatives:  # noqa: SIM110
            if node.matches_any(objects):
                return True
        return False

    def text(self) -> str:
        return json.dumps(self.root, separators=(",", ":"), ensure_ascii=False)

    def __eq__(self, other: object) -> bool:  # the pattern as written; its compiled form holds functions
        return isinstance(other, EventPattern) and self.root == other.root

    __hash__ = None  # type: ignore[assignment]


@lru_cache(maxsize=1024)
def _compile(text: str) -> tuple[tuple[_Node, ...], int]:
    """A pattern's alternatives and its count of values, once per process for each pattern: hooks often share one."""
    compiler = _Compiler()
    flat = compiler.alternatives(json.loads(text))
    return tuple(_tree(alternative) for alternative in flat), compiler.values


def within_bounds(pattern: EventPattern) -> EventPattern:
    """What a client may write: a pattern no larger and no costlier than the bounds (write time only, so that a
    bound made stricter later never makes a stored hook unreadable)."""
    size = len(pattern.text().encode())
    if size > MAX_PATTERN_BYTES:
        raise ValueError(f"Ensure this pattern has no more than {MAX_PATTERN_BYTES} bytes of JSON (it has {size}).")
    depth = _depth(pattern.root)
    if depth > MAX_DEPTH:
        raise ValueError(f"Ensure this pattern nests no more than {MAX_DEPTH} objects (it nests {depth}).")
    if pattern._values > MAX_VALUES:
        raise ValueError(f"Ensure this pattern has no more than {MAX_VALUES} match values (it has {pattern._values}).")
    return pattern


def _depth(source: Any) -> int:
    """Objects nested in a pattern, without recursing (a parsed body may be deeper than the stack allows)."""
    deepest, pending = 0, [(source, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, depth) for child in node)
    return deepest


# --- compiling -------------------------------------------------------------------------------------------------

Flat = dict[tuple[str, ...], _Field]  # one alternative: each field's path and its values


class _Compiler:
    """EventBridge's compilation: `$or` expands into alternatives, and a field written twice in one alternative
    keeps its last values (document order), as EventBridge does."""

    def __init__(self) -> None:
        self.values = 0
        self.expanded = 0

    def alternatives(self, source: dict[str, Any]) -> list[Flat]:
        alternatives: list[Flat] = [{}]
        self._object(alternatives, (), source, depth=1, in_or=False)
        return alternatives

    def _object(
        self, alternatives: list[Flat], path: tuple[str, ...], obj: dict[str, Any], depth: int, in_or: bool
    ) -> None:
        if depth > MAX_DEPTH * 4:  # far past the written bound; only a guard for the stack
            raise PatternError(path, "Nested too deeply")
        if not obj:
            raise PatternError(path, "Empty objects are not allowed")
        for key, value in obj.items():
            if key == "$or":
                self._or(alternatives, path, value, depth)
                continue
            if in_or and key in _RESERVED_IN_OR:
                raise PatternError(path, f'"{key}" is an operator, which cannot be used as a field name inside $or')
            where = (*path, *key.split("."))
            if isinstance(value, dict):
                self._object(alternatives, where, value, depth + 1, in_or)
            elif isinstance(value, list):
                compiled = self._field(where, value)
                for alternative in alternatives:
                    alternative[where] = compiled
                self._count(len(alternatives) * compiled.size, where)
            else:
                raise PatternError(where, f'"{key}" must be an object or an array')

    def _or(self, alternatives: list[Flat], path: tuple[str, ...], members: Any, depth: int) -> None:
        where = (*path, "$or")
        if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, dict) for m in members):
            raise PatternError(where, "$or must be an array of at least 2 objects")
        before = [dict(alternative) for alternative in alternatives]
        alternatives.clear()
        for member in members:
            forked = [dict(alternative) for alternative in before]
            self._count(sum(f.size for alternative in forked for f in alternative.values()), where)
            self._object(forked, path, member, depth + 1, in_or=True)
            alternatives.extend(forked)

    def _count(self, added: int, path: tuple[str, ...]) -> None:
        self.expanded += added
        if self.expanded > MAX_EXPANDED_VALUES:
            raise PatternError(
                path, f"More than {MAX_EXPANDED_VALUES} match values once $or is expanded: too many combinations"
            )

    def _field(self, path: tuple[str, ...], values: list[Any]) -> _Field:
        if not values:
            raise PatternError(path, "Empty arrays are not allowed")
        strings: set[str] = set()
        numbers: set[int | float] = set()
        literals: set[Any] = set()
        tests: list[Test] = []
        exists = absent = False
        size = 0
        for value in values:
            if isinstance(value, dict):
                name, operand = _expression(path, value)
                if name == "exists":
                    if not isinstance(operand, bool):
                        raise PatternError(path, "exists match pattern must be either true or false")
                    exists, absent = exists or operand, absent or not operand
                    size += 1
                else:
                    test, count = _OPERATOR_COMPILERS[name](path, operand)
                    tests.append(test)
                    size += count
            elif isinstance(value, bool) or value is None:
                literals.add(value)
                size += 1
            elif isinstance(value, str):
                strings.add(value)
                size += 1
            elif isinstance(value, int | float):
                numbers.add(_finite(path, value, "A number"))
                size += 1
            else:
                raise PatternError(path, "Match value must be String, number, true, false, or null")
        self.values += size
        return _Field(frozenset(strings), frozenset(numbers), frozenset(literals), tuple(tests), exists, absent, size)


def _expression(path: tuple[str, ...], value: dict[str, Any]) -> tuple[str, Any]:
    if not value:
        raise PatternError(path, "Match expression name not found")
    name = next(iter(value))
    if name not in OPERATORS:
        hint = " (not supported here)" if name in ("cidr", "exactly") else ""
        raise PatternError(path, f"Unrecognized match type {name}{hint}")
    if len(value) > 1:
        raise PatternError(path, "Only one key allowed in match expression")
    return name, value[name]


def _finite(path: tuple[str, ...], value: int | float, what: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise PatternError(path, f"{what} must be finite")
    return value


def _comparable(path: tuple[str, ...], value: Any, operator: str) -> float:
    """A bound of `numeric` or a number `anything-but` excludes: a number a double holds exactly."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PatternError(path, f"Value of {operator} must be numeric")
    number = _as_double(value)
    if number is None:
        raise PatternError(path, f"Cannot compare number : {value}")
    return number


def _as_double(value: int | float) -> float | None:
    """The number as a double, or None when no double holds it exactly (EventBridge compares no such number)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if number == value else None


def _string(path: tuple[str, ...], operand: Any, message: str) -> str:
    if not isinstance(operand, str):
        raise PatternError(path, message)
    return operand


def _strings(path: tuple[str, ...], operand: Any, message: str) -> list[str]:
    """One string or a list of them (what the nested forms of `anything-but` take)."""
    values = operand if isinstance(operand, list) else [operand]
    if not values:
        raise PatternError(path, "Empty arrays are not allowed")
    return [_string(path, value, message) for value in values]


def _affix(name: str) -> Callable[[tuple[str, ...], Any], tuple[Test, int]]:
    """`prefix` and `suffix`: a string, or `{"equals-ignore-case": string}`."""

    def compile_affix(path: tuple[str, ...], operand: Any) -> tuple[Test, int]:
        ignore_case = isinstance(operand, dict)
        if ignore_case:
            if not operand:
                raise PatternError(path, f"{name.capitalize()} expression name not found")
            inner = next(iter(operand))
            if inner != "equals-ignore-case":
                raise PatternError(path, f"Unsupported {name} pattern: {inner}")
            if len(operand) > 1:
                raise PatternError(path, "Only one key allowed in match expression")
            operand = _string(path, operand[inner], "equals-ignore-case match pattern must be a string")
        else:
            operand = _string(path, operand, f"{name} match pattern must be a string")
        return _affix_test(name, operand.lower() if ignore_case else operand, ignore_case), 1

    return compile_affix


def _affix_test(name: str, affix: str | tuple[str, ...], ignore_case: bool) -> Test:
    if name == "prefix":
        if ignore_case:
            return lambda leaf: type(leaf) is str and leaf.lower().startswith(affix)
        return lambda leaf: type(leaf) is str and leaf.startswith(affix)
    if ignore_case:
        return lambda leaf: type(leaf) is str and leaf.lower().endswith(affix)
    return lambda leaf: type(leaf) is str and leaf.endswith(affix)


def _equals_ignore_case(path: tuple[str, ...], operand: Any) -> tuple[Test, int]:
    folded = _string(path, operand, "equals-ignore-case match pattern must be a string").lower()
    return (lambda leaf: type(leaf) is str and leaf.lower() == folded), 1


def _wildcard(path: tuple[str, ...], operand: Any) -> tuple[Test, int]:
    segments = _wildcard_segments(path, _string(path, operand, "wildcard match pattern must be a string"))
    return (lambda leaf: type(leaf) is str and _wildcard_matches(segments, leaf)), 1


def _wildcard_segments(path: tuple[str, ...], text: str) -> tuple[str, ...]:
    """The literal runs between `*`s. `\\*` is a literal star and `\\\\` a backslash; any other escape, and two
    `*` in a row, EventBridge refuses."""
    segments, current, index = [], [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 >= len(text) or text[index + 1] not in "*\\":
                raise PatternError(path, f"Invalid escape character at pos {index + 1}")
            current.append(text[index + 1])
            index += 2
            continue
        if char == "*":
            if index + 1 < len(text) and text[index + 1] == "*":
                raise PatternError(path, f"Consecutive wildcard characters at pos {index + 1}")
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    if len(segments) - 1 > MAX_WILDCARDS:
        raise PatternError(path, f"Ensure a wildcard value has no more than {MAX_WILDCARDS} wildcard characters")
    return tuple(segments)


def _wildcard_matches(segments: tuple[str, ...], text: str) -> bool:
    """`*` matches any run of characters. With `*` the only metacharacter, taking each literal run at its first
    place after the one before is never wrong, so this is one pass over `text` per run: no backtracking."""
    first, last = segments[0], segments[-1]
    if len(segments) == 1:
        return text == first
    if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    for segment in segments[1:-1]:
        found = text.find(segment, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True


def _numeric(path: tuple[str, ...], operand: Any) -> tuple[Test, int]:
    """`["=", n]`, `["<", n]`, `["<=", n]`, `[">", n]`, `[">=", n]`, or a range: `[">" or ">=", low, "<" or
    "<=", high]`."""
    if not isinstance(operand, list):
        raise PatternError(path, "Value of numeric must be an array.")
    if not operand or not isinstance(operand[0], str):
        raise PatternError(path, f"Invalid member in numeric match: {json.dumps(operand[0]) if operand else ']'}")
    first = operand[0]
    if first not in _SINGLE_COMPARISONS:
        raise PatternError(path, f"Unrecognized numeric range operator: {first}")
    if len(operand) < 2:
        raise PatternError(path, f"Value of {first} must be numeric")
    comparisons = [(_SINGLE_COMPARISONS[first], _comparable(path, operand[1], first))]
    if len(operand) > 2:
        if first not in _RANGE_STARTS:
            raise PatternError(path, "Too many elements in numeric expression")
        second = operand[2]
        if not isinstance(second, str) or second not in _RANGE_ENDS:
            raise PatternError(path, f"Bad numeric range operator: {second}")
        if len(operand) < 4:
            raise PatternError(path, f"Value of {second} must be numeric")
        if len(operand) > 4:
            raise PatternError(path, "Too many terms in numeric range expression")
        comparisons.append((_RANGE_ENDS[second], _comparable(path, operand[3], second)))

    def test(leaf: Any) -> bool:
        if type(leaf) is not int and type(leaf) is not float:
            return False
        number = _as_double(leaf)
        return number is not None and all(compare(number, bound) for compare, bound in comparisons)

    return test, 1


def _anything_but(path: tuple[str, ...], operand: Any) -> tuple[Test, int]:
    """Any leaf that is present (null included) other than the ones listed; nested: other than those a `prefix`,
    `suffix`, `equals-ignore-case` or `wildcard` matches."""
    if isinstance(operand, dict):
        if not operand:
            raise PatternError(path, "Anything-But expression name not found")
        inner = next(iter(operand))
        if inner not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise PatternError(path, f"Unsupported anything-but pattern: {inner}")
        if len(operand) > 1:
            raise PatternError(path, "Only one key allowed in match expression")
        nested = operand[inner]
        if isinstance(nested, bool) or nested is None or isinstance(nested, dict):
            raise PatternError(path, "Value of anything-but must be an array or single string/number value.")
        excluded = _excluded(path, inner, nested)
        return (lambda leaf: not excluded(leaf)), len(nested) if isinstance(nested, list) else 1
    values = operand if isinstance(operand, list) else [operand]
    if not isinstance(operand, list) and (isinstance(operand, bool) or operand is None or isinstance(operand, dict)):
        raise PatternError(path, "Value of anything-but must be an array or single string/number value.")
    for value in values:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            raise PatternError(path, "Inside anything but list, start|null|boolean is not supported.")
    texts = [value for value in values if isinstance(value, str)]
    if not values or 0 < len(texts) < len(values):
        raise PatternError(
            path, "Inside anything but list, either all values are number or string, mixed type is not supported"
        )
    if texts:
        excluded_texts = frozenset(texts)
        return (lambda leaf: type(leaf) is not str or leaf not in excluded_texts), len(values)
    numbers = frozenset(_comparable(path, value, "anything-but") for value in values)
    return (lambda leaf: (type(leaf) is not int and type(leaf) is not float) or leaf not in numbers), len(values)


def _excluded(path: tuple[str, ...], inner: str, operand: Any) -> Test:
    if inner == "equals-ignore-case":
        message = "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
        folded = frozenset(value.lower() for value in _strings(path, operand, message))
        return lambda leaf: type(leaf) is str and leaf.lower() in folded
    if inner == "wildcard":
        patterns = [
            _wildcard_segments(path, value)
            for value in _strings(path, operand, "wildcard match pattern must be a string")
        ]
        return lambda leaf: type(leaf) is str and any(_wildcard_matches(s, leaf) for s in patterns)
    affixes = _strings(path, operand, "prefix/suffix match pattern must be a string")
    if "" in affixes:
        raise PatternError(path, "Null prefix/suffix not allowed")
    return _affix_test(inner, tuple(affixes), ignore_case=False)


_OPERATOR_COMPILERS: dict[str, Callable[[tuple[str, ...], Any], tuple[Test, int]]] = {
    "prefix": _affix("prefix"),
    "suffix": _affix("suffix"),
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "numeric": _numeric,
    "anything-but": _anything_but,
}


def _tree(flat: Flat) -> _Node:
    """An alternative's fields as nested objects. A key may be both a field and an object (`{"a": [...],
    "a.b": [...]}`): EventBridge keeps both constraints, and so does the node."""
    fields: dict[str, _Field] = {}
    nested: dict[str, Flat] = {}
    for path, leaf_field in flat.items():
        if len(path) == 1:
            fields[path[0]] = leaf_field
        else:
            nested.setdefault(path[0], {})[path[1:]] = leaf_field
    children = {key: _tree(below) for key, below in nested.items()}
    empty_ok = all(f.absent for f in fields.values()) and all(c.empty_ok for c in children.values())
    return _Node(tuple(fields.items()), tuple(children.items()), empty_ok)


# --- the payload side -------------------------------------------------------------------------------------------


def _objects(value: Any) -> tuple[dict[str, Any], ...] | list[dict[str, Any]]:
    """The objects at a path: the value itself, or every object in its arrays (nested ones too)."""
    if type(value) is dict:
        return (value,)
    if type(value) is not list:
        return ()
    return [leaf for leaf in _items(value) if type(leaf) is dict]


def _leaves(value: list[Any]) -> Iterator[Any]:
    """The leaves of an array: its elements, those of the arrays in it, and so on; objects are no leaves."""
    return (item for item in _items(value) if type(item) is not dict)


def _items(value: list[Any]) -> Iterator[Any]:
    """An array's elements in order, nested arrays flattened without recursing (payloads may nest deeply)."""
    stack = [iter(value)]
    while stack:
        for item in stack[-1]:
            if type(item) is list:
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()
