"""DynamoDB items from pydantic models and back: one attribute per field, its type chosen by the field's value.

Text is `S`, a number `N`, a boolean `BOOL`, bytes `B`, a moment `S` (ISO 8601); anything else (a sub-model, a dict,
a list) is `S` holding its JSON, so an item stays flat and every reader can parse it. A field that is None has no
attribute, nor has a sub-model with nothing set; read back, a missing attribute is the field's default.

Hand-written rather than boto3's TypeSerializer: that needs boto3 (which the functions otherwise do without: see
aws.py) and Decimal for every number, and it would store sub-models as maps, not the JSON text items hold today.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import to_json

Model = TypeVar("Model", bound=BaseModel)


def to_item(model: BaseModel) -> dict[str, Any]:
    """Every field of `model` that has a value, as an attribute."""
    item: dict[str, Any] = {}
    for name in type(model).model_fields:
        attribute = _attribute(getattr(model, name))
        if attribute is not None:
            item[name] = attribute
    return item


def from_item(model: type[Model], item: Mapping[str, Any]) -> Model:
    """The model an item holds, validated as the model validates any input; attributes that are no field of it (keys,
    index attributes) are left out."""
    as_json = _json_fields(model)
    values = {name: _value(item[name], name in as_json) for name in model.model_fields if name in item}
    return model.model_validate(values)


def _attribute(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, date):  # a datetime too
        return {"S": value.isoformat()}
    text = to_json(value).decode()
    if text == "{}" and isinstance(value, BaseModel):
        return None
    return {"S": text}


def _value(attribute: Mapping[str, Any], as_json: bool) -> Any:
    if "S" in attribute:
        return json.loads(attribute["S"]) if as_json else attribute["S"]
    if "N" in attribute:
        return _number(attribute["N"])
    if "BOOL" in attribute:
        return attribute["BOOL"]
    if "B" in attribute:
        return attribute["B"]
    if attribute.get("NULL"):
        return None
    raise ValueError(f"an attribute of a type no field is written as: {sorted(attribute)}")


def _number(text: str) -> int | float:
    """A DynamoDB number as it was written: `10` stays an integer."""
    value = float(text)
    return int(value) if value.is_integer() else value


@cache
def _json_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields whose `S` attribute holds JSON: all but those of text, moments and text choices."""
    return frozenset(name for name, field in model.model_fields.items() if not _textual(field.annotation))


def _textual(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _textual(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return all(_textual(member) for member in get_args(annotation) if member is not NoneType)
    if origin is Literal:
        return all(isinstance(choice, str) for choice in get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, str | date | bytes)
