"""moto's DynamoDB one request at a time, its answers' attribute values copied as they are; applied in the moto
process before it serves.

moto 5.2's DynamoDB is not thread-safe: `update_item` deep-copies an item while another request's thread
changes it ("RuntimeError: dictionary changed size during iteration", a 500 that botocore retries quietly;
seen once in eight minutes of a soak beside 5,000 pending retries), and answers are built from live items.
Each request, from parsing to its answer, holds one lock; they shared one interpreter lock anyway.

moto serializes each answer through botocore's model, member by member, with several attribute-name aliases tried
for each: an attribute value `{"N": "3"}` costs ten lookups of the ten members AttributeValue has. That was a third
of moto's CPU in a retry burst (the circuits item has an attribute per failing hook and streak field). A string or
number value, which moto holds in its wire form already, is copied as it is: what the member-by-member walk makes of
it, without the walk. Other values (binary, sets, maps, lists, booleans) still take moto's path.

Every UpdateItem deep-copies its parsed expression before validating it, through `copy`'s generic reduce protocol,
node by node: 8 % of moto's CPU in that burst (a streak write names two attributes per failing hook). A node is
copied here as that protocol copies a plain object (a new instance of its class, its attributes deep-copied), without
the protocol's detour.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]  # moto leaves it untyped
from moto.dynamodb.responses import DynamoHandler

# What this patch replaces in moto; tests/unit/test_moto_internals.py checks each still has the shape used here.
PATCHED = (
    "moto.dynamodb.responses.DynamoHandler.call_action",
    "moto.core.serialize.BaseJSONSerializer._serialize_type_structure",
    "moto.dynamodb.parsing.ast_nodes.Node",
)
ATTRIBUTE_VALUE = "AttributeValue"  # DynamoDB's shape of one typed value: {"S": ...}, {"N": ...}, {"M": ...}, ...
WIRE_FORM = frozenset({"S", "N"})  # its members whose value moto holds as the text the wire carries

_requests = threading.RLock()


def _serialized(call_action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call_action)
    def call(handler: Any) -> Any:
        with _requests:
            return call_action(handler)

    return call


def _copying_text_values(serialize_structure: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(serialize_structure)
    def serialize(serializer: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == ATTRIBUTE_VALUE and type(value) is dict and len(value) == 1:
            [(member, text)] = value.items()
            if member in WIRE_FORM and type(text) is str and shape.members[member].type_name == "string":
                serializer._default_serialize(serialized, {member: text}, shape, key)
                return
        serialize_structure(serializer, serialized, value, shape, key)

    return serialize


def _deepcopy_node(node: Any, memo: dict[int, Any]) -> Any:
    """What copy.deepcopy makes of a plain object, as `copy._reconstruct` makes it, in fewer steps."""
    copied = object.__new__(type(node))
    memo[id(node)] = copied
    copied.__dict__.update({name: copy.deepcopy(value, memo) for name, value in vars(node).items()})
    return copied


def apply() -> None:
    """Patches moto's DynamoDB request handler and its answers' serializer in this process; call once, before the
    server handles a request."""
    handler: Any = DynamoHandler
    if not getattr(handler, "_oms_serialized", False):
        handler.call_action = _serialized(handler.call_action)
        handler._oms_serialized = True
    serializer: Any = BaseJSONSerializer
    if not getattr(serializer, "_oms_copies_text_values", False):
        serializer._serialize_type_structure = _copying_text_values(serializer._serialize_type_structure)
        serializer._oms_copies_text_values = True
    node: Any = Node
    if "__deepcopy__" not in vars(node):
        node.__deepcopy__ = _deepcopy_node
