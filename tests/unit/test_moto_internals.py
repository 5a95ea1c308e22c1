"""moto is pinned exactly, and the local stack patches a few of its internals (src/oms_webhooks_cli/local/moto_*.py,
each listing what it patches in PATCHED). An upgrade that renames or reshapes one fails here, naming the patch and
the attribute, instead of showing up later as a slower, leaking or failing local stack."""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonpath_ng.ext
import pytest

from oms_webhooks_cli.local import moto_dynamodb, moto_events, moto_memory, moto_requests

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# moto_sqs carries its own guard
GUARDED: tuple[ModuleType, ...] = (moto_dynamodb, moto_events, moto_memory, moto_requests)


def resolve(dotted: str) -> Any:
    """What a dotted name names: its longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ImportError(f"no module in {dotted}")


def dynamo_call_action(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A method of the handler alone, which the server calls for every request: the lock wraps it."""
    assert callable(found), "it is not callable"
    assert list(inspect.signature(found).parameters) == ["self"], f"its signature is {inspect.signature(found)}"


def jsonpath_parse(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function of one expression text (so lru_cache can key on it) that answers an expression with find()."""
    assert callable(found), "it is not callable"
    expression = found("$.id")
    assert [match.value for match in expression.find({"id": "e-1"})] == ["e-1"], "it no longer parses $.id"


def template_parser(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Looks jsonpath_ng.ext.parse up each time it renders, so that it gets the cached parser once patched."""
    parsed: list[str] = []
    real = jsonpath_ng.ext.parse

    def counting(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(jsonpath_ng.ext, "parse", counting)
    event = {"id": "e-1", "ingestion-time": "2026-01-07T10:21:33Z"}
    assert found('{"id": "<id>"}', {"id": "$.id"}, event) == {"id": "e-1"}, "it no longer renders a template"
    assert parsed == ["$.id"], "it no longer parses input paths through jsonpath_ng.ext.parse at render time"


def base_model_new(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defined on BaseModel itself, whose base is object: one replacement there creates every model untracked."""
    from moto.core.common_models import BaseModel, CloudFormationModel

    assert callable(found), "it is not callable"
    assert "__new__" in vars(BaseModel), "BaseModel no longer defines __new__ (tracking moved elsewhere?)"
    assert BaseModel.__bases__ == (object,), f"BaseModel's bases are {BaseModel.__bases__}, not (object,)"
    assert isinstance(getattr(CloudFormationModel, "instances_tracked", None), list), "models have no instances_tracked"


def json_structure_serializer(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A method of (serializer, serialized, value, shape, key), which the walk calls for each structure value."""
    assert callable(found), "it is not callable"
    parameters = list(inspect.signature(found).parameters)
    assert parameters == ["self", "serialized", "value", "shape", "key"], f"its parameters are {parameters}"


def expression_node(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The base of every parsed expression's node: plain objects (a __dict__, no slots, no copy protocol of their
    own), so that copying their attributes is what copy.deepcopy does."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    tree = UpdateExpressionParser.make("SET #s = if_not_exists(#s, :now) ADD #f :one")
    nodes, stack = [], [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(child for child in node.children or [] if isinstance(child, found))
    assert all(isinstance(node, found) for node in nodes), "a parsed expression is not made of these nodes"
    for cls in {type(node) for node in nodes}:
        assert not any("__slots__" in vars(c) for c in cls.__mro__), f"{cls.__name__} has slots"
        owners = [c.__name__ for c in cls.__mro__ if {"__reduce__", "__reduce_ex__", "__getstate__"} & set(vars(c))]
        assert owners in ([], ["object"]), f"{cls.__name__} has a copy protocol of its own ({owners})"
        copies = [c.__name__ for c in cls.__mro__ if "__deepcopy__" in vars(c) and c is not found]
        assert not copies, f"{copies} copy themselves"


def moto_modules(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function of nothing naming moto's service packages, looked up on its module by the server's dispatcher."""
    assert "dynamodb" in list(found()), "it no longer names the service packages"
    source = inspect.getsource(importlib.import_module("moto.moto_server.werkzeug_app"))
    assert "backends.list_of_moto_modules()" in source, "the server no longer looks it up on moto.backends"


def method_names(found: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function of a handler class (hashable, so functools.cache can key on it) naming its methods."""
    from moto.dynamodb.responses import DynamoHandler

    assert "get_item" in found(DynamoHandler), "it no longer names a handler's actions"


# How each patched name must look for its patch to work; a name added to a PATCHED tuple needs one here.
SHAPES: dict[str, Callable[[Any, pytest.MonkeyPatch], None]] = {
    "moto.dynamodb.responses.DynamoHandler.call_action": dynamo_call_action,
    "jsonpath_ng.ext.parse": jsonpath_parse,
    "moto.events.utils.EventTemplateParser.parse": template_parser,
    "moto.core.common_models.BaseModel.__new__": base_model_new,
    "moto.core.serialize.BaseJSONSerializer._serialize_type_structure": json_structure_serializer,
    "moto.dynamodb.parsing.ast_nodes.Node": expression_node,
    "moto.backends.list_of_moto_modules": moto_modules,
    "moto.core.responses.method_names_from_class": method_names,
}
PATCHED = [(patch, name) for patch in GUARDED for name in patch.PATCHED]


def test_moto_is_pinned_exactly_to_the_version_installed() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    [pin] = [d for d in dependencies if re.match(r"moto\b", d)]
    match = re.fullmatch(r"moto\[server\]==(\d+\.\d+\.\d+)", pin)
    assert match, f"moto is not pinned to one version in pyproject.toml: {pin!r}"
    assert version("moto") == match.group(1), f"pyproject.toml pins {pin}, but moto {version('moto')} is installed"


def test_every_patched_name_has_its_shape_checked() -> None:
    assert {name for _, name in PATCHED} == set(SHAPES)


@pytest.mark.parametrize(("patch", "name"), PATCHED, ids=[f"{p.__name__.rsplit('.', 1)[-1]}:{n}" for p, n in PATCHED])
def test_each_patched_internal_still_has_the_shape_its_patch_expects(
    patch: ModuleType, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = f"{patch.__name__} patches {name} (moto {version('moto')})"
    try:
        found = resolve(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{where}, which no longer exists: {exc}", pytrace=False)
    try:
        SHAPES[name](found, monkeypatch)
    except AssertionError as exc:
        pytest.fail(f"{where}, which changed: {exc}", pytrace=False)
