"""What a client writes of a model: the `Written` mark on a field, and the request bodies that follow from it.

A model declares each field once; the fields marked `Written` are those its owner sets through the API. From them
`input_model` makes the model of a request body: the same types, limits and descriptions, each field's write rule,
unknown fields refused, and the fields an answer shows that a client cannot write ignored, as Django REST framework
ignores them, so that an answer can be sent back as it came.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator
from pydantic.fields import FieldInfo

READ_ONLY_DESCRIPTION = "Read-only: a value sent is ignored, as Django REST framework does (answers can be sent back)."
NOT_NULL = "This field may not be null."


@dataclass(frozen=True)
class Written:
    """A field a client writes. `rule` checks a value a client sends (never one read back from storage);
    `nullable`: whether null may be sent for it, standing for its default; `accepts`: JSON Schema keywords for what
    a client may send, where that is wider than what is kept (an event type's dashed form)."""

    rule: Callable[[Any], Any] | None = None
    nullable: bool = True
    accepts: dict[str, Any] | None = None


def _read_only_in_schema(schema: dict[str, Any], body: type[Any]) -> None:
    """The document names the read-only fields too, so that a client knows they are ignored rather than refused."""
    for name in sorted(body.read_only):
        schema["properties"][name] = {"readOnly": True, "description": READ_ONLY_DESCRIPTION}


class RequestBody(BaseModel):
    """A request body: strict, unknown fields refused, the answer's read-only fields ignored."""

    # Built when first used: only the API reads request bodies, and every function imports the models they come from.
    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_read_only_in_schema, defer_build=True)

    read_only: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _without_read_only_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if name not in cls.read_only}
        return data


def input_model(model: type[BaseModel], name: str, *, partial: bool) -> type[RequestBody]:
    """The request body that writes `model`'s Written fields: every one optional when `partial` (PATCH), else those
    without a default required (POST, PUT). A field left out is not in `model_fields_set`; null is refused for the
    required and not-nullable ones and otherwise stands for the field's default."""
    fields: dict[str, Any] = {
        field_name: _input_field(field, mark, required=field.is_required() and not partial)
        for field_name, field in model.model_fields.items()
        if (mark := written(field)) is not None
    }
    body: type[RequestBody] = create_model(name, __base__=RequestBody, __module__=model.__module__, **fields)
    body.read_only = read_only_fields(model)
    return body


def written(field: FieldInfo) -> Written | None:
    return next((mark for mark in field.metadata if isinstance(mark, Written)), None)


def read_only_fields(model: type[BaseModel]) -> frozenset[str]:
    """What `model`'s answers show beyond its Written fields (by the names answers use)."""
    shown = {field.serialization_alias or name for name, field in model.model_fields.items() if not field.exclude}
    return frozenset(shown - {name for name, field in model.model_fields.items() if written(field)})


def _input_field(field: FieldInfo, mark: Written, required: bool) -> tuple[Any, Any]:
    """The field's own type and limits, then its rule and the schema of what is accepted (on the value: the branch
    beside null in the document), then null: refused, or standing for the default."""
    metadata: list[Any] = [item for item in field.metadata if not isinstance(item, Written)]
    if field.discriminator is not None:  # kept on the field by pydantic, not in its metadata
        metadata.append(Field(discriminator=field.discriminator))
    if mark.rule is not None:
        metadata.append(AfterValidator(_unless_none(mark.rule)))
    accepts = {**_schema_extra(field), **(mark.accepts or {})}
    if accepts:
        metadata.append(Field(json_schema_extra=accepts))
    value: Any = Annotated[(field.annotation, *metadata)] if metadata else field.annotation
    if required or not mark.nullable:
        value = Annotated[value, BeforeValidator(_not_null)]
    elif not _admits_none(field.annotation):
        value = value | None
    default = ... if required else None
    return value, Field(default, description=field.description, examples=field.examples)


def _schema_extra(field: FieldInfo) -> dict[str, Any]:
    extra = field.json_schema_extra
    if callable(extra):
        raise TypeError("a Written field's json_schema_extra must be a dict")
    return dict(extra or {})


def _unless_none(rule: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: value if value is None else rule(value)


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError(NOT_NULL)
    return value


def _admits_none(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return _admits_none(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return any(_admits_none(member) for member in get_args(annotation))
    return annotation is None or annotation is NoneType
