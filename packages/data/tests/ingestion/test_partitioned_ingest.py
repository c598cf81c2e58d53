"""Ingest on a 2-worker Dask LocalCluster: partitions validated with the same schema, every bad row
quarantined with its partition and row, the invariant summed over partitions, duplicate keys
across partitions found by their own pass, and versions as stable as the single engine's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from distributed import Client, LocalCluster

import tabship.data as td

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, MakeLoans

REPO = Path(__file__).resolve().parents[4]
# (partition, row, column, value): bad rows planted in three of the four partitions.
PLANTED: list[tuple[int, int, str, int | str]] = [
    (0, 7, "age", 300),
    (1, 1, "workclass", "Astronaut"),
    (1, 250, "hours-per-week", 0),
    (3, 500, "income", "maybe"),
]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)
        as cluster,
        Client(cluster) as connected,
    ):  # fmt: skip
        yield connected


@pytest.fixture
def synth_config() -> td.DatasetConfig:
    return td.load_config(REPO / "configs" / "datasets" / "synth" / "data.yaml", "synth")


def _planted(folder: Path, config: td.DatasetConfig) -> list[Path]:
    """2,000 synthetic rows in 4 partitions, with the PLANTED values written over theirs."""
    files = td.write_synthetic(config, td.load_schema(config), 2000, folder, partitions=4)
    for index, path in enumerate(files):
        frame = pl.read_parquet(path)
        for part, row, column, value in PLANTED:
            if part == index:
                values = frame[column].cast(pl.String if isinstance(value, str) else pl.Int64)
                frame = frame.with_columns(values.scatter(row - 1, value).alias(column))
        frame.write_parquet(path)
    return files


def _records(result: td.IngestResult) -> list[dict[str, Any]]:
    lines = result.quarantine_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_bad_rows_in_several_partitions_are_quarantined_with_partition_and_row(
    client: Client, synth_config: td.DatasetConfig, tmp_path: Path, check: Checks
) -> None:
    files = _planted(tmp_path / "src", synth_config)
    config = td.with_source(synth_config, tmp_path / "src")
    result = td.ingest_partitioned(client, config, store=tmp_path / "store")

    report = check.accounted(result.report_path)
    assert (report["rows_in"], report["rows_quarantined"]) == (2000, len(PLANTED))
    assert sum(s["rows_in"] for s in report["sources"]) == 2000
    found = {(r["source"], r["line"], r["reasons"][0]["column"]) for r in _records(result)}
    wanted = {(str(files[part].resolve()), row, column) for part, row, column, _ in PLANTED}
    assert found == wanted
    manifest = json.loads((result.manifest_path or Path()).read_text(encoding="utf-8"))
    partitions = manifest["extra"]["partitions"]
    assert [p["source"] for p in partitions] == [str(f.resolve()) for f in files]
    folder = result.report_path.parent
    for entry, source in zip(partitions, manifest["sources"], strict=True):
        assert manifest["files"][entry["file"]] == td.file_sha256(folder / entry["file"])
        assert source["sha256"] == td.file_sha256(Path(source["path"]))


def test_same_rows_and_splits_as_the_single_engine_and_a_stable_version(
    client: Client, synth_config: td.DatasetConfig, tmp_path: Path
) -> None:
    _planted(tmp_path / "src", synth_config)
    config = td.with_source(synth_config, tmp_path / "src")
    single = td.ingest(config, store=tmp_path / "single")
    spread = td.ingest_partitioned(client, config, store=tmp_path / "dask")
    again = td.ingest_partitioned(client, config, store=tmp_path / "dask")
    assert (again.status, again.version) == ("unchanged", spread.version)
    elsewhere = td.ingest_partitioned(client, config, store=tmp_path / "other")
    assert elsewhere.version == spread.version  # the same inputs, a new store: the same name
    assert spread.version != single.version  # another layout, another name

    def rows(result: td.IngestResult, store: Path) -> pl.DataFrame:
        frame = td.load_dataset("synth", result.version, store).frame
        return pl.from_pandas(frame[["row_id", "split", "source_line"]]).sort("row_id")

    assert rows(single, tmp_path / "single").equals(rows(spread, tmp_path / "dask"))
    assert single.rows_quarantined == spread.rows_quarantined == len(PLANTED)


def test_a_key_repeated_across_partitions_is_quarantined_once_found(
    client: Client, make_loans: MakeLoans, check: Checks
) -> None:
    loans = make_loans(sources={"train": ["a.csv", "b.csv", "c.csv"]})
    loans.write("a.csv", check.rows(100))
    # b.csv repeats ids 10 and 11 of a.csv; c.csv repeats id 11 again and id 150 of b.csv.
    loans.write("b.csv", [*check.rows(2, start=10), *check.rows(100, start=100)])
    loans.write(
        "c.csv", [*check.rows(1, start=11), *check.rows(1, start=150), *check.rows(50, 300)]
    )
    config = td.load_config(loans.config, "loans")
    result = td.ingest_partitioned(client, config, store=loans.store)

    report = check.accounted(result.report_path)
    assert report["rows_quarantined"] == 4
    folder = f"{loans.root.resolve()}/"
    dups = sorted((r["source"].removeprefix(folder), r["line"],
                   r["reasons"][0]["value"].replace(folder, "")) for r in _records(result))  # fmt: skip
    assert dups == [  # a header line comes first: id N is on line N + 2
        ("b.csv", 2, "id=10 (first seen at a.csv:12)"),
        ("b.csv", 3, "id=11 (first seen at a.csv:13)"),
        ("c.csv", 2, "id=11 (first seen at a.csv:13)"),
        ("c.csv", 3, "id=150 (first seen at b.csv:54)"),
    ]
    ids = pl.from_pandas(td.load_dataset("loans", result.version, loans.store).frame)["id"]
    assert ids.n_unique() == ids.len() == 250
    single = td.ingest(config, store=loans.store / "single")
    assert sorted(r["line"] for r in check.records(single.report_path)) == [2, 2, 3, 3]


def test_a_broken_partition_is_one_error_naming_it(
    client: Client, synth_config: td.DatasetConfig, tmp_path: Path
) -> None:
    files = td.write_synthetic(synth_config, td.load_schema(synth_config), 400, tmp_path, 2)
    pl.read_parquet(files[1]).drop("age").write_parquet(files[1])
    with pytest.raises(td.DataError) as caught:
        td.ingest_partitioned(client, td.with_source(synth_config, tmp_path), store=tmp_path / "s")
    assert str(caught.value) == f"{files[1].resolve()}: required column 'age' is missing"
    assert not list((tmp_path / "s" / "synth").glob("*/manifest.json"))  # nothing published


def test_synthetic_rows_are_shaped_like_the_dataset_and_repeatable(
    synth_config: td.DatasetConfig, tmp_path: Path
) -> None:
    schema = td.load_schema(synth_config)
    first = td.write_synthetic(synth_config, schema, 5000, tmp_path / "a", partitions=3)
    second = td.write_synthetic(synth_config, schema, 5000, tmp_path / "b", partitions=3)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    frame = pl.concat([pl.read_parquet(p) for p in first])
    assert frame.columns == list(synth_config.columns) and frame.height == 5000
    result = td.ingest(td.with_source(synth_config, tmp_path / "a"), store=tmp_path / "store")
    assert result.rows_quarantined == 0  # every drawn value passes the schema
    assert 0.1 < frame.filter(pl.col("income") == ">50K").height / frame.height < 0.4
