"""Feedback rows (labelled production data) are appended as new versions, split by row hash:
no row ever moves between splits, and the invariant holds with the appended files counted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

import tabship.data as td
from tabship.data.versions.splits import holdout_mask, row_hashes

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, MakeLoans


def _splits(result: td.IngestResult) -> dict[int, str]:
    frame = pl.read_parquet(result.processed_path or Path(), columns=["id", "split"])
    return dict(zip(frame["id"].to_list(), frame["split"].to_list(), strict=True))


def test_feedback_is_appended_by_hash_and_no_row_moves(
    make_loans: MakeLoans, check: Checks
) -> None:
    # A file-split dataset (like Adult): the base holdout is a file, feedback rows go by hash.
    loans = make_loans(
        sources={"train": ["train.csv"], "holdout": ["holdout.csv"], "feedback": "feedback"},
        split={"method": "file", "holdout_fraction": 0.3},
    )
    loans.write("train.csv", check.rows(300))
    loans.write("holdout.csv", check.rows(100, start=300))
    config = td.load_config(loans.config, "loans")
    base = td.ingest(config, store=loans.store)
    before = _splits(base)

    feedback = loans.root / "feedback"
    feedback.mkdir()
    # 200 new rows, two of them bad (an age out of range, an unknown grade): quarantined.
    lines = [*check.rows(198, start=1000), "5000,10.5,A,300,no", "5001,10.5,Z,30,yes"]
    (feedback / "0001.csv").write_text("\n".join(["id,income,grade,age,defaulted", *lines]) + "\n")
    first = td.ingest(config, store=loans.store)
    assert first.version != base.version
    assert first.rows_in == 400 + 200
    assert first.rows_in == first.rows_accepted + first.rows_quarantined
    assert first.rows_quarantined == 2
    check.accounted(first.report_path)
    after = _splits(first)
    assert all(after[i] == split for i, split in before.items())  # base rows keep their split

    # The feedback rows' split is the hash threshold at holdout_fraction, row by row.
    stored = pl.read_parquet(first.processed_path or Path())
    appended = stored.filter(pl.col("id") >= 1000)
    expected = holdout_mask(row_hashes(appended, ["id"]), 0.3)
    assert (appended["split"] == "holdout").to_list() == expected.to_list()
    assert 0.15 < expected.sum() / expected.len() < 0.45  # both splits get feedback rows

    # A second batch: every earlier row keeps its split in the later version.
    (feedback / "0002.csv").write_text(
        "\n".join(["id,income,grade,age,defaulted", *check.rows(100, start=2000)]) + "\n"
    )
    second = td.ingest(config, store=loans.store)
    later = _splits(second)
    assert all(later[i] == split for i, split in after.items())
    assert second.rows_in == 700 and second.rows_in == second.rows_accepted + 2

    # Without the feedback files the version is the base one again: content-addressed.
    for path in feedback.iterdir():
        path.unlink()
    assert td.ingest(config, store=loans.store).version == base.version


def test_a_feedback_copy_of_a_base_row_keeps_that_row_s_split(
    make_loans: MakeLoans, check: Checks
) -> None:
    """Replayed rows (the simulator sends holdout rows) are the same rows: a copy of a holdout
    row is never trained on, and a copy of a training row never lands in the holdout. (With a
    key, a copy would be a duplicate key, quarantined; keyless rows are their values.)"""
    loans = make_loans(
        sources={"train": ["train.csv"], "holdout": ["holdout.csv"], "feedback": "feedback"},
        split={"method": "file", "holdout_fraction": 0.5},
        key=[],
    )
    loans.write("train.csv", check.rows(300))
    loans.write("holdout.csv", check.rows(100, start=300))
    feedback = loans.root / "feedback"
    feedback.mkdir()
    # Every holdout row and every training row again, and 200 new ones.
    copies = check.rows(100, start=300) + check.rows(300) + check.rows(200, start=1000)
    (feedback / "0001.csv").write_text("\n".join(["id,income,grade,age,defaulted", *copies]) + "\n")
    result = td.ingest(td.load_config(loans.config, "loans"), store=loans.store)
    stored = pl.read_parquet(result.processed_path or Path())
    replayed = stored.filter(pl.col("source_file").str.contains("0001"))
    assert replayed.filter(pl.col("id").is_between(300, 399))["split"].unique().to_list() == [
        "holdout"
    ]
    assert replayed.filter(pl.col("id") < 300)["split"].unique().to_list() == ["train"]
    assert set(replayed.filter(pl.col("id") >= 1000)["split"]) == {"train", "holdout"}
    assert result.report["rows_in_both_splits"] == 0


def test_feedback_folder_must_be_a_path(make_loans: MakeLoans) -> None:
    loans = make_loans(sources={"train": ["train.csv"], "feedback": ["a", "b"]})
    try:
        td.load_config(loans.config, "loans")
    except td.ConfigError as error:
        assert "sources.feedback must be a folder's path" in str(error)
    else:
        raise AssertionError("a list for sources.feedback was accepted")
