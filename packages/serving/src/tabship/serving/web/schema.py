"""The request schema: the run's `FieldSpec`s (`tabship.data.request_fields`) as pydantic types.

`record_type` and `columns_type` build the types with `extra="forbid"`; the FieldSpecs travel as
JSON with the run and beside the served model, so the service needs neither the data configs nor
pandera to start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, cast

from pydantic import BeforeValidator, ConfigDict, Field, Strict, TypeAdapter
from typing_extensions import TypedDict

from tabship.data import FieldSpec

# I-JSON (RFC 7493): integers beyond +-(2**53 - 1) do not survive every JSON reader, and the
# prediction log is read back by pandas and polars. A field with no bound of its own gets these.
SAFE_INTEGER = 2**53 - 1


def _integral(value: Any) -> Any:
    # JSON, and so JSON Schema's "integer", does not tell 64 from 64.0: accept both, as the
    # OpenAPI document says. 64.5 and "64" are still refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _value_type(spec: FieldSpec) -> Any:
    """The pydantic type of one field's value. Strict: "42" is not an integer, 1 is not a string."""
    bounds = {k: getattr(spec, k) for k in ("ge", "gt", "le", "lt") if getattr(spec, k) is not None}
    if spec.kind == "integer" and spec.categories is None:
        if spec.ge is None and spec.gt is None:
            bounds["ge"] = -SAFE_INTEGER
        if spec.le is None and spec.lt is None:
            bounds["le"] = SAFE_INTEGER
    limits = [Field(**bounds)] if bounds else []
    if spec.categories is not None:
        base: Any = Literal[spec.categories]  # an enum in the OpenAPI document
    elif spec.kind == "integer":
        # The bounds before the validator: after it, pydantic could not write them as JSON Schema.
        base = Annotated[int, Strict(), *limits, BeforeValidator(_integral)]
    elif spec.kind == "number":
        # JSON has no NaN or infinity, but Python's json writes them: refuse them here.
        base = Annotated[float, Strict(), Field(allow_inf_nan=False), *limits]
    elif spec.kind == "boolean":
        base = Annotated[bool, Strict()]
    else:
        base = Annotated[str, Strict(), *limits]
    return base | None if spec.nullable else base


def _typed_dict(name: str, annotations: dict[str, Any]) -> Any:
    # Through Any: mypy only accepts TypedDict() with literal names and fields.
    factory: Any = TypedDict
    return factory(name, annotations)


def records_adapter(fields: Sequence[FieldSpec]) -> TypeAdapter[list[dict[str, Any]]]:
    """A validator for a list of records (outside the service, e.g. `predict --local`)."""
    generic: Any = list
    return TypeAdapter(generic[record_type(fields)])


def record_type(fields: Sequence[FieldSpec], name: str = "Record") -> type[Mapping[str, Any]]:
    """A TypedDict for one record: every field required (null where the schema allows it).

    A TypedDict rather than a BaseModel: field names like `education-num` stay as they are, and a
    validated record is a plain dict that `FittedPipeline.transform_records` reads directly.
    """
    annotations = {f.name: _value_type(f) for f in fields}
    typed = _typed_dict(name, annotations)
    typed.__pydantic_config__ = ConfigDict(extra="forbid", title=name)
    return cast("type[Mapping[str, Any]]", typed)


def columns_type(fields: Sequence[FieldSpec], name: str = "Columns") -> type[Mapping[str, Any]]:
    """A TypedDict of equal-length columns: the bulk (columnar) form of the same schema."""
    annotations = {f.name: list[_value_type(f)] for f in fields}  # type: ignore[misc]
    typed = _typed_dict(name, annotations)
    typed.__pydantic_config__ = ConfigDict(extra="forbid", title=name)
    return cast("type[Mapping[str, Any]]", typed)


def example_record(fields: Sequence[FieldSpec]) -> dict[str, Any]:
    """A valid record (the first category, or a value inside the bounds), for docs and smoke tests."""
    record: dict[str, Any] = {}
    for spec in fields:
        if spec.categories:
            record[spec.name] = spec.categories[0]
        elif spec.kind in ("integer", "number"):
            low = spec.ge if spec.ge is not None else (spec.gt + 1 if spec.gt is not None else 1)
            high = spec.le if spec.le is not None else (spec.lt - 1 if spec.lt is not None else low)
            value = max(low, min(high, low + 1))
            record[spec.name] = int(value) if spec.kind == "integer" else float(value)
        elif spec.kind == "boolean":
            record[spec.name] = False
        else:
            record[spec.name] = ""
    return record
