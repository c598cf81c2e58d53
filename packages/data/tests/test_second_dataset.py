"""A second binary classification dataset needs config only: loans, made entirely in tmp_path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

import tabship.data as td

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, Loans, MakeLoans, RunCli


def test_loans_end_to_end_through_the_api(loans: Loans, check: Checks) -> None:
    loans.write("loans.csv", [*check.rows(400), "9999,1.0,A,NA,yes"])
    config = td.load_config(loans.config, "loans")
    assert config.key == ("id",) and config.target.positive == "yes"
    result = td.ingest(config, store=loans.store)
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (401, 401, 0)
    check.accounted(result.report_path)
    stored = td.load_dataset("loans", store=loans.store)
    frame, manifest = stored.frame, stored.manifest
    assert list(frame.columns) == [*config.columns, *manifest.meta_columns]
    assert str(frame["income"].dtype) == "float64" and str(frame["id"].dtype) == "int64"
    assert frame["age"].isna().sum() == 1  # `NA` is missing and age is nullable
    assert result.report["missing_values"]["by_column"]["age"]["tokens"] == {"NA": 1}
    assert set(frame["split"]) == {"train", "holdout"}
    assert manifest.target == {"column": "defaulted", "positive": "yes", "labels": ["no", "yes"]}
    assert manifest.key == ["id"]


def _same_rows(paths: list[Path], loans: Loans) -> pl.DataFrame:
    frames = []
    for i, path in enumerate(paths):
        store = loans.root / f"store{i}"
        result = td.ingest("loans", [path], config=loans.config, store=store)
        assert result.rows_accepted == 30 and result.rows_quarantined == 1
        # Lineage differs by format (CSV lines count the header); values, ids and splits must not.
        processed = pl.read_parquet(result.processed_path or Path())
        frames.append(processed.drop("source_file", "source_line"))
    for other in frames[1:]:
        assert other.equals(frames[0])
    return frames[0]


def test_csv_gzip_and_parquet_give_the_same_rows(loans: Loans, check: Checks) -> None:
    lines = [*check.rows(30), "77,1.0,A,200,no"]
    csv_path = loans.write("loans.csv", lines)
    gz_path = loans.root / "loans.csv.gz"
    gz_path.write_bytes(gzip.compress(csv_path.read_bytes()))
    parquet_path = loans.root / "loans.parquet"
    pl.read_csv(csv_path, schema_overrides={"age": pl.Int32}).write_parquet(parquet_path)
    rows = _same_rows([csv_path, gz_path, parquet_path], loans)
    assert rows.height == 30
    # The parquet file's Int32 age column was cast to the schema's Int64, and counted.
    result = td.ingest("loans", [parquet_path], config=loans.config, store=loans.root / "s9")
    assert result.report["coercions"]["dtype_casts"]["age"] == {
        "from": "Int32",
        "to": "Int64",
        "rows": 31,
    }
    (record,) = check.records(result.report_path)
    assert record["line"] == 31 and json.loads(record["raw"])["age"] == 200


def test_header_may_reorder_columns_and_quotes_are_honoured(loans: Loans, check: Checks) -> None:
    path = loans.root / "reordered.csv"
    path.write_text('defaulted,id,grade,age,income\n"yes",1,"A",30,"1,5"\nno,2,B,40,2.5\n')
    result = td.ingest("loans", [path], config=loans.config, store=loans.store)
    # "1,5" is one quoted field that is not a float: quarantined with its value, not split.
    assert (result.rows_accepted, result.rows_quarantined) == (1, 1)
    (record,) = check.records(result.report_path)
    assert record["reasons"] == [{"column": "income", "check": "dtype('Float64')", "value": "1,5"}]
    frame = td.load_dataset("loans", store=loans.store).frame
    assert frame.loc[0, "defaulted"] == "no" and frame.loc[0, "income"] == 2.5


def test_positive_label_must_be_a_schema_label(make_loans: MakeLoans, run_cli: RunCli) -> None:
    loans = make_loans(target={"column": "defaulted", "positive": "YES"})
    result = run_cli(loans.ingest_args())
    assert result.code == 2
    assert "positive label 'YES' is not one of the schema's target labels" in result.err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"reader": {"seperator": ";"}}, "unknown key(s) seperator in reader"),
        ({"columns": ["id", "income", "defaulted"]}, "schema columns differ from the config's"),
        ({"split": {"method": "file"}}, "split.method is file but sources.holdout is empty"),
        ({"max_quarantined_fraction": 2}, "must be a number between 0 and 1"),
    ],
)
def test_config_mistakes_are_usage_errors(
    make_loans: MakeLoans, run_cli: RunCli, override: dict[str, object], message: str
) -> None:
    loans = make_loans(**override)
    result = run_cli(loans.ingest_args())
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
