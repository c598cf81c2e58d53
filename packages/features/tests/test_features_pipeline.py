"""The fitted feature pipeline: fit on training rows, JSON round trip, one transform everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabship.features import (
    FittedPipeline,
    PipelineFileError,
    SpecError,
    UnseenCategoryError,
    fit,
    load_pipeline,
    load_spec,
    spec_from_dict,
)
from tabship.features.cli import main

REPO = Path(__file__).resolve().parents[3]
SPEC = spec_from_dict(
    {
        "numeric": ["age", "gain", "loss"],
        "categorical": ["colour", "size"],
        "derived": [
            {"name": "net", "op": "subtract", "columns": ["gain", "loss"]},
            {"name": "per-year", "op": "ratio", "columns": ["gain", "age"]},
            {"name": "log-gain", "op": "log1p", "columns": ["gain"]},
        ],
        "missing_indicators": ["colour"],
    }
)


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(np.array(["red", "green", "blue", None], dtype=object), size=n)
    return pd.DataFrame(
        {
            "age": rng.integers(17, 90, size=n),
            "gain": rng.choice([0.0, 0.0, 1500.5, 99999.0, np.nan], size=n),
            "loss": rng.choice([0.0, 200.0], size=n),
            "colour": colour,
            "size": rng.choice(["S", "M", "L"], size=n),
        }
    )


def test_fit_learns_categories_from_training_rows_only() -> None:
    train = frame(200)
    pipeline = fit(train, SPEC)
    assert pipeline.categories == {"colour": ("blue", "green", "red"), "size": ("L", "M", "S")}
    assert pipeline.fitted_rows == 200
    assert pipeline.feature_names == [
        "age", "gain", "loss", "net", "per-year", "log-gain", "colour", "size", "colour__missing",
    ]  # fmt: skip
    assert pipeline.categorical_indices == [6, 7]


def test_saved_and_reloaded_pipeline_gives_identical_matrices(tmp_path: Path) -> None:
    train, rows = frame(500, seed=1), frame(300, seed=2)
    pipeline = fit(train, SPEC)
    path = tmp_path / "pipeline.json"
    pipeline.save(path)
    reloaded = load_pipeline(path)
    assert reloaded == pipeline
    before, after = pipeline.transform(rows).matrix, reloaded.transform(rows).matrix
    assert before.tobytes() == after.tobytes()
    # The same fit gives the same bytes on disk: the JSON is deterministic.
    again = tmp_path / "again.json"
    fit(train, SPEC).save(again)
    assert again.read_bytes() == path.read_bytes()
    assert json.loads(path.read_text())["format_version"] == 1


@pytest.mark.parametrize("n", [1, 10, 63, 64, 500])
def test_records_and_dataframe_paths_agree(n: int) -> None:
    """Serving transforms records; training transforms DataFrames. They must agree bit for bit."""
    pipeline = fit(frame(400), SPEC)
    rows = frame(n, seed=3)
    rows.loc[0, "colour"] = "purple"  # unseen
    from_frame = pipeline.transform(rows)
    records = [
        {str(k): (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in rows.to_dict("records")
    ]
    from_records = pipeline.transform_records(records)
    np.testing.assert_array_equal(from_frame.matrix, from_records.matrix)
    assert from_frame.unseen == from_records.unseen == {"colour": 1}


def test_unseen_and_missing_categories_become_nan_and_only_unseen_are_counted() -> None:
    pipeline = fit(frame(100), SPEC)
    out = pipeline.transform_records(
        [
            {"age": 30, "gain": 0.0, "loss": 0.0, "colour": "purple", "size": "M"},
            {"age": 30, "gain": 0.0, "loss": 0.0, "colour": None, "size": "M"},
        ]
    )
    colour = pipeline.feature_names.index("colour")
    indicator = pipeline.feature_names.index("colour__missing")
    assert np.isnan(out.matrix[:, colour]).all()
    assert out.matrix[:, indicator].tolist() == [0.0, 1.0]
    assert out.unseen == {"colour": 1}


def test_unseen_policy_error_names_the_record_and_field() -> None:
    strict = spec_from_dict({**SPEC.to_dict(), "unseen_category": "error"})
    pipeline = fit(frame(100), strict)
    rows = [{"age": 30, "gain": 0.0, "loss": 0.0, "colour": "red", "size": "M"}] * 2
    rows = [rows[0], {**rows[1], "size": "XXL"}]
    with pytest.raises(UnseenCategoryError, match=r"record 1: field 'size': category 'XXL'"):
        pipeline.transform_records(rows)


def test_derived_features_handle_zero_and_missing() -> None:
    pipeline = fit(frame(50), SPEC)
    out = pipeline.transform_records(
        [{"age": 0, "gain": 5.0, "loss": 2.0, "colour": "red", "size": "S"}]
    )
    names = pipeline.feature_names
    assert out.matrix[0, names.index("net")] == 3.0
    assert np.isnan(out.matrix[0, names.index("per-year")])  # division by zero -> missing
    assert out.matrix[0, names.index("log-gain")] == pytest.approx(np.log1p(5.0))


def test_min_category_count_folds_rare_values_into_missing() -> None:
    train = pd.DataFrame({"x": [1.0] * 5, "c": ["a", "a", "a", "b", None]})
    spec = spec_from_dict({"numeric": ["x"], "categorical": ["c"], "min_category_count": 2})
    assert fit(train, spec).categories == {"c": ("a",)}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", None, "zz"]), min_size=1, max_size=120))
def test_codes_are_stable_whatever_the_row_order(values: list[str | None]) -> None:
    spec = spec_from_dict({"numeric": [], "categorical": ["c"]})
    train = pd.DataFrame({"c": ["c", "b", "a"]})
    forward, backward = fit(train, spec), fit(train.iloc[::-1], spec)
    rows = [{"c": v} for v in values]
    np.testing.assert_array_equal(
        forward.transform_records(rows).matrix, backward.transform_records(rows).matrix
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"numeric": "age"}, "'numeric' must be a list"),
        ({"numeric": ["a"], "colour": 1}, "unknown field"),
        ({"numeric": ["a"], "categorical": ["a"]}, "both numeric and categorical"),
        ({"numeric": ["a"], "derived": [{"name": "d", "op": "pow", "columns": ["a"]}]}, "op"),
        ({"numeric": ["a"], "derived": [{"name": "d", "op": "add", "columns": ["a"]}]}, "takes 2"),
        ({"numeric": ["a"], "unseen_category": "drop"}, "unseen_category"),
        ({"numeric": ["a"], "format_version": 9}, "format_version 9"),
    ],
)
def test_bad_specs_name_the_file_and_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        spec_from_dict(raw, "features.yaml")
    assert str(info.value).startswith("features.yaml")


def test_a_corrupt_pipeline_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"format_version": 1, "spec": {"numeric": ["a"]}}')
    with pytest.raises(PipelineFileError, match=r"p\.json: not a fitted pipeline"):
        load_pipeline(path)
    path.write_text("{not json")
    with pytest.raises(PipelineFileError, match=r"p\.json: line 1: not valid JSON"):
        load_pipeline(path)


def test_the_default_spec_is_valid_and_the_cli_reports_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = load_spec(REPO / "configs/datasets/adult/features.yaml")
    assert "education-num" in spec.numeric
    assert main(["check", str(REPO / "configs/datasets/adult/features.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    pipeline: FittedPipeline = fit(frame(20), SPEC)
    pipeline.save(tmp_path / "p.json")
    assert main(["describe", str(tmp_path / "p.json")]) == 0
    assert "fitted on 20 rows, 9 features" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml: no such file" in capsys.readouterr().err


def test_a_spec_with_an_alias_or_a_python_tag_is_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x]\nb: [*a, *a, *a]\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bomb.yaml:2: not valid YAML: YAML aliases"):
        load_spec(bomb)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("a: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(tagged)
    assert "\n" not in str(caught.value) and "tagged.yaml:1: not valid YAML" in str(caught.value)
