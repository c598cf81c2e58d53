"""The request schema comes from the data schema: fields, types, ranges, categories, no target."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tabship.data import (
    FieldSpec,
    fields_from_json,
    fields_to_json,
    load_config,
    load_schema,
    request_fields,
)
from tabship.serving.errors import from_pydantic, normalise
from tabship.serving.web.schema import example_record, records_adapter

from ..conftest import REPO


@pytest.fixture(scope="module")
def fields() -> list[FieldSpec]:
    config = load_config(REPO / "configs" / "datasets" / "adult" / "data.yaml")
    return request_fields(config, load_schema(config))


@pytest.fixture(scope="module")
def adapter(fields: list[FieldSpec]) -> TypeAdapter[Any]:
    return records_adapter(fields)


def test_fields_follow_the_data_config(fields: list[FieldSpec]) -> None:
    config = load_config(REPO / "configs" / "datasets" / "adult" / "data.yaml")
    assert [f.name for f in fields] == [c for c in config.columns if c != config.target.column]
    by_name = {f.name: f for f in fields}
    assert by_name["age"].kind == "integer"
    assert (by_name["age"].ge, by_name["age"].le) == (0, 120)
    assert by_name["fnlwgt"].gt == 0
    assert by_name["sex"].categories == ("Female", "Male")
    assert by_name["workclass"].nullable and not by_name["education"].nullable
    assert fields_from_json(fields_to_json(fields)) == fields


def _errors(adapter: TypeAdapter[Any], body: str) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_json(body)
    error = from_pydantic(caught.value.errors(include_url=False))
    return [(d.record, d.field, d.type) for d in error.details]


def test_bad_values_name_the_record_and_field(
    fields: list[FieldSpec], adapter: TypeAdapter[Any]
) -> None:
    good = example_record(fields)
    assert adapter.validate_json(json.dumps([good])) == [good]
    cases: dict[str, tuple[Any, str]] = {
        "age": ("42", "int_type"),  # a string is not an integer (strict)
        "hours-per-week": (200, "less_than_equal"),
        "fnlwgt": (0, "greater_than"),
        "sex": ("Unknown", "literal_error"),
        "education": (None, "literal_error"),  # not nullable
        "capital-gain": (1.5, "int_type"),
        "education-num": (True, "int_type"),
    }
    for name, (value, kind) in cases.items():
        bad = {**good, name: value}
        assert _errors(adapter, json.dumps([good, bad])) == [(1, name, kind)], name
    missing = {k: v for k, v in good.items() if k != "race"}
    assert _errors(adapter, json.dumps([missing])) == [(0, "race", "missing")]
    extra = {**good, "income": ">50K"}
    assert _errors(adapter, json.dumps([extra])) == [(0, "income", "extra_forbidden")]
    assert _errors(adapter, '[{"age": NaN}]')[0] == (0, "age", "int_type")
    assert _errors(adapter, '[{"age": Infinity}]')[0] == (0, "age", "int_type")
    invalid = from_pydantic([{"type": "json_invalid", "loc": (), "msg": "EOF"}])
    assert (invalid.status, invalid.error) == (400, "invalid_json")


def test_every_error_body_gets_one_shape() -> None:
    pydantic_body = {
        "error": "1 validation error",
        "detail": [{"type": "missing", "loc": ["records", 3, "age"], "msg": "Field required"}],
    }
    shaped = normalise(400, json.dumps(pydantic_body).encode())
    assert (shaped.status, shaped.error) == (422, "invalid_input")
    assert (shaped.details[0].record, shaped.details[0].field) == (3, "age")
    raised = normalise(400, json.dumps([{"error": "bad thing"}]).encode())
    assert (raised.error, raised.message) == ("bad_request", "bad thing")
    plain = normalise(404, b"Not Found")
    assert plain.to_dict() == {"error": "not_found", "message": "Not Found", "details": []}
    crash = normalise(500, b'{"error": "An unexpected error has occurred"}')
    assert crash.error == "internal_error"
    columns = normalise(
        400,
        json.dumps(
            {"detail": [{"type": "int_type", "loc": ["columns", "age", 7], "msg": "x"}]}
        ).encode(),
    )
    assert (columns.details[0].record, columns.details[0].field) == (7, "age")
