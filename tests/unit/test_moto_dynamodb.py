"""The local stack's moto copies DynamoDB's text attribute values into its answers as they are (moto_dynamodb.py):
every answer must be what moto's own member-by-member serializer makes of it, for every kind of value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model

from oms_webhooks_cli.local import moto_dynamodb

ITEM: dict[str, Any] = {
    "uuid": {"S": "EVENT#1"},
    "empty": {"S": ""},
    "f12": {"N": "3"},
    "s12": {"N": "1767225600.123456"},
    "payload": {"B": "aGVsbG8="},
    "tags": {"SS": ["a", "b"]},
    "counts": {"NS": ["1", "2"]},
    "blobs": {"BS": ["aGVsbG8="]},
    "nothing": {"NULL": True},
    "flag": {"BOOL": False},
    "nested": {"M": {"inner": {"S": "x"}, "deeper": {"M": {"n": {"N": "7"}}}, "list": {"L": [{"S": "y"}]}}},
    "list": {"L": [{"N": "1"}, {"M": {"k": {"S": "v"}}}, {"L": []}, {"BOOL": True}]},
}
RESULTS = {
    "GetItem": {"Item": ITEM},
    "BatchGetItem": {"Responses": {"hooks": [ITEM, {"owner": {"S": "o"}}]}, "UnprocessedKeys": {}},
    "Query": {"Items": [ITEM, ITEM], "Count": 2, "ScannedCount": 2},
    "UpdateItem": {"Attributes": ITEM},
}


def answer(operation: str, serialize_structure: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    model = get_service_model("dynamodb").operation_model(operation)
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", serialize_structure)
    serializer = get_serializer_class("dynamodb", "json")(model, value_picker=XFormedAttributePicker())
    return json.loads(serializer.serialize(RESULTS[operation])["body"])


@pytest.mark.parametrize("operation", list(RESULTS))
def test_answers_with_text_values_copied_are_what_motos_serializer_makes(
    operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = BaseJSONSerializer._serialize_type_structure
    walked: list[Any] = []

    def walking(serializer: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        walked.append(value)
        original(serializer, serialized, value, shape, key)

    copying = moto_dynamodb._copying_text_values(walking)
    assert answer(operation, copying, monkeypatch) == answer(operation, original, monkeypatch)
    assert walked, "moto's serializer walked nothing"
    assert not [v for v in walked if isinstance(v, dict) and len(v) == 1 and {*v} <= {"S", "N"}], "a text value walked"


def shape_of(node: Any, inside: dict[int, int]) -> Any:
    """A node tree as data: each node's class and attributes, its parent as its place in the tree."""
    if isinstance(node, list):
        return [shape_of(item, inside) for item in node]
    if not hasattr(node, "__dict__"):
        return node
    inside.setdefault(id(node), len(inside))
    return (
        type(node).__name__,
        {
            name: ("parent", inside.get(id(value))) if name == "parent" else shape_of(value, inside)
            for name, value in vars(node).items()
        },
    )


def test_a_parsed_update_expression_is_copied_as_copy_deepcopy_copies_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    text = "SET #s1 = if_not_exists(#s1, :now), #o1 = :o1 ADD #f1 :f1, #k1 :one REMOVE #a.b[2], #c"
    tree = UpdateExpressionParser.make(text)
    monkeypatch.delattr(Node, "__deepcopy__", raising=False)
    generic = copy.deepcopy(tree)
    monkeypatch.setattr(Node, "__deepcopy__", moto_dynamodb._deepcopy_node, raising=False)
    fast = copy.deepcopy(tree)
    assert shape_of(fast, {}) == shape_of(generic, {}) == shape_of(tree, {})
    copied, original = [fast], [tree]
    while copied:  # no node of the copy is a node of the original
        node, was = copied.pop(), original.pop()
        assert node is not was
        copied.extend(c for c in node.children or [] if isinstance(c, Node))
        original.extend(c for c in was.children or [] if isinstance(c, Node))
