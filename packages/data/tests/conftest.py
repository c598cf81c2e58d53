"""Shared fixtures: a second, made-up dataset ("loans") built in tmp_path, and CLI helpers.

The loans dataset exists to prove that a new binary classification dataset needs config only:
its config, its pandera schema (written with pandera's own to_yaml) and its CSV are all made here.

pytest's importlib mode cannot import this file from a test, so helpers reach tests as fixtures;
tests import its types only under TYPE_CHECKING, as `packages.data.tests.conftest`, the name mypy
gives this file (explicit_package_bases).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandera.io.polars_io as pandera_io
import pandera.polars as pa_pl
import polars as pl
import pytest
import yaml

from tabship.data import cli

REPO = Path(__file__).resolve().parents[3]
ADULT_CONFIG = REPO / "configs" / "datasets" / "adult" / "data.yaml"

LOANS_COLUMNS = ["id", "income", "grade", "age", "defaulted"]
LOANS_HEADER = ",".join(LOANS_COLUMNS)


def loans_rows(n: int, start: int = 0) -> list[str]:
    """N valid CSV lines with ids from START; about a quarter default."""
    grades = "ABC"
    return [
        f"{i},{1000 + (i * 37) % 9000}.5,{grades[i % 3]},{18 + i % 60},{'yes' if i % 4 == 0 else 'no'}"
        for i in range(start, start + n)
    ]


def loans_schema() -> pa_pl.DataFrameSchema:
    return pa_pl.DataFrameSchema(
        {
            "id": pa_pl.Column(pl.Int64, pa_pl.Check.ge(0)),
            "income": pa_pl.Column(pl.Float64, pa_pl.Check.in_range(0, 1e7)),
            "grade": pa_pl.Column(pl.String, pa_pl.Check.isin(["A", "B", "C"])),
            "age": pa_pl.Column(pl.Int64, pa_pl.Check.in_range(18, 100), nullable=True),
            "defaulted": pa_pl.Column(pl.String, pa_pl.Check.isin(["no", "yes"])),
        },
        strict=True,
        name="loans",
    )


@dataclass
class Loans:
    """A loans dataset in a temporary project: config, schema, store, and a data file writer."""

    root: Path
    config: Path
    store: Path

    def write(self, name: str, lines: Sequence[str], *, header: bool = True) -> Path:
        path = self.root / name
        body = ([LOANS_HEADER] if header else []) + list(lines)
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        return path

    def ingest_args(self, *sources: Path) -> list[str]:
        return [
            "ingest",
            *map(str, sources),
            "--dataset",
            "loans",
            "--config",
            str(self.config),
            "--store",
            str(self.store),
        ]


def write_loans_config(root: Path, **overrides: Any) -> Path:
    """Config + schema for the loans dataset under ROOT; OVERRIDES replace dataset keys."""
    (root / "schemas").mkdir(parents=True, exist_ok=True)
    (root / "schemas" / "loans.yaml").write_text(
        str(pandera_io.to_yaml(loans_schema())),
        encoding="utf-8",
    )
    entry: dict[str, Any] = {
        "sources": {"train": ["loans.csv"]},
        "reader": {
            "header": True,
            "separator": ",",
            "quote_char": '"',
            "na_values": ["", "NA"],
            "malformed_lines": "fail",
        },
        "columns": LOANS_COLUMNS,
        "target": {"column": "defaulted", "positive": "yes"},
        "key": ["id"],
        "split": {"method": "hash", "holdout_fraction": 0.25},
        "max_quarantined_fraction": 0.5,
        "schema": "schemas/loans.yaml",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(entry.get(key), dict):
            entry[key] = {**entry[key], **value}
        else:
            entry[key] = value
    config = root / "data.yaml"
    config.write_text(yaml.safe_dump({"name": "loans", **entry}), encoding="utf-8")
    return config


@pytest.fixture
def loans(tmp_path: Path) -> Loans:
    return Loans(root=tmp_path, config=write_loans_config(tmp_path), store=tmp_path / "store")


MakeLoans = Callable[..., Loans]


@pytest.fixture
def make_loans(tmp_path: Path) -> MakeLoans:
    """A loans project whose config entry is changed by keyword overrides."""

    def make(**overrides: Any) -> Loans:
        config = write_loans_config(tmp_path, **overrides)
        return Loans(root=tmp_path, config=config, store=tmp_path / "store")

    return make


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        lines = [line for line in self.out.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one JSON object, got: {self.out!r}"
        data = json.loads(lines[0])
        assert isinstance(data, dict)
        return data


RunCli = Callable[[list[str]], CliRun]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run `tabship-data ARGS` in-process; SystemExit (argparse) counts as its exit code."""

    def run(args: list[str]) -> CliRun:
        try:
            code = cli.main(args)
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


class Checks:
    """Assertions shared by the test files (pytest's importlib mode cannot import conftest)."""

    @staticmethod
    def accounted(report_path: Path) -> dict[str, Any]:
        return assert_accounted(report_path)

    @staticmethod
    def records(report_path: Path) -> list[dict[str, Any]]:
        return quarantine_records(report_path)

    @staticmethod
    def error_line(err: str) -> str:
        return single_error_line(err)

    @staticmethod
    def versions(store: Path, dataset: str = "loans") -> list[Path]:
        return published_versions(store, dataset)

    @staticmethod
    def rows(n: int, start: int = 0) -> list[str]:
        return loans_rows(n, start)


@pytest.fixture
def check() -> Checks:
    return Checks()


def assert_accounted(report_path: Path) -> dict[str, Any]:
    """The invariant, checked against the files on disk, not just the report's own numbers."""
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["rows_in"] == report["rows_accepted"] + report["rows_quarantined"]
    assert report["invariant_holds"] is True
    for source in report["sources"]:
        assert source["rows_in"] == source["rows_accepted"] + source["rows_quarantined"]
    folder = report_path.parent
    quarantine = (folder / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(quarantine) == report["rows_quarantined"]
    data = folder / "data.parquet"
    parts = sorted((folder / "data").glob("part-*.parquet"))  # the Dask engine's layout
    if data.exists() or parts:
        rows = sum(pl.read_parquet(path).height for path in [data] if path.exists())
        assert rows + sum(pl.read_parquet(path).height for path in parts) == report["rows_accepted"]
    else:
        assert report["status"] == "rejected"
    return report


def quarantine_records(report_path: Path) -> list[dict[str, Any]]:
    text = (report_path.parent / "quarantine.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def single_error_line(err: str) -> str:
    """stderr must hold exactly one `error:` line and no traceback."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


def published_versions(store: Path, dataset: str = "loans") -> list[Path]:
    folder = store / dataset
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_dir() and (p / "manifest.json").exists()]
