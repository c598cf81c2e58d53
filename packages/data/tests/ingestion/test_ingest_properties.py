"""Properties over generated input: no row is ever lost, chunking changes nothing, and a row keeps
its split when rows are appended later."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tabship.data as td
from tabship.data.versions.splits import holdout_mask, row_hashes

if TYPE_CHECKING:
    from packages.data.tests.conftest import Loans

# Each generated row is (kind, id offset); kinds say whether it must be accepted.
GOOD = "good"
BAD_KINDS = {
    "bad_type": "{id},1.0,A,x{id},no",
    "bad_range": "{id},1.0,A,999,no",
    "bad_category": "{id},1.0,Q,30,no",
    "bad_null": "{id},,A,30,no",
    "bad_label": "{id},1.0,A,30,perhaps",
    "ragged": "{id},1.0,A",
    "blank": "",
}
ROWS = st.lists(
    st.sampled_from([GOOD, GOOD, GOOD, *BAD_KINDS]),
    min_size=1,
    max_size=60,
)
FAST = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _line(kind: str, row_id: int) -> str:
    if kind == GOOD:
        return f"{row_id},{row_id}.25,{'ABC'[row_id % 3]},{20 + row_id % 50},{'yes' if row_id % 3 else 'no'}"
    return BAD_KINDS[kind].format(id=row_id)


@FAST
@given(kinds=ROWS, chunk_bytes=st.integers(min_value=16, max_value=2048), dup=st.booleans())
def test_rows_read_equal_rows_accepted_plus_quarantined(
    loans: Loans, kinds: list[str], chunk_bytes: int, dup: bool
) -> None:
    lines = [_line(kind, i) for i, kind in enumerate(kinds)]
    if dup:
        lines.append(_line(GOOD, 0))  # a repeated key: quarantined only if id 0 was accepted
    loans.write("loans.csv", lines)
    with tempfile.TemporaryDirectory() as store:
        try:
            result = td.ingest("loans", config=loans.config, store=store, chunk_bytes=chunk_bytes)
        except td.RunRejectedError as exc:  # ragged lines or too much quarantine
            result = exc.result
        except td.DataError as exc:  # only blank lines under the header: nothing to read
            assert "header only" in str(exc) and all(k == "blank" for k in kinds)
            return
        expected_in = sum(k != "blank" for k in kinds) + dup
        expected_good = kinds.count(GOOD) + (dup and kinds[0] != GOOD)
        assert result.rows_in == expected_in
        assert result.rows_accepted + result.rows_quarantined == result.rows_in
        assert result.rows_accepted == expected_good
        lines_q = result.quarantine_path.read_text().splitlines()
        assert len(lines_q) == result.rows_quarantined


@FAST
@given(chunk_bytes=st.integers(min_value=8, max_value=600))
def test_chunk_size_does_not_change_the_output(loans: Loans, chunk_bytes: int) -> None:
    kinds = [GOOD, "bad_type", GOOD, "ragged", GOOD, "blank", "bad_null", GOOD] * 5
    loans.write("loans.csv", [_line(k, i) for i, k in enumerate(kinds)])
    outputs = []
    with tempfile.TemporaryDirectory() as store:
        for size in (chunk_bytes, 1 << 20):
            try:
                td.ingest(
                    "loans", config=loans.config, store=Path(store) / str(size), chunk_bytes=size
                )
            except td.RunRejectedError as exc:
                result = exc.result
                outputs.append((result.quarantine_path.read_text(), result.rows_in))
    assert len(outputs) == 2 and outputs[0] == outputs[1]
    assert outputs[0][1] == 35


@FAST
@given(
    first=st.integers(min_value=1, max_value=300),
    more=st.integers(min_value=1, max_value=300),
)
def test_a_row_keeps_its_split_when_rows_are_appended(loans: Loans, first: int, more: int) -> None:
    with tempfile.TemporaryDirectory() as store:
        loans.write("loans.csv", [_line(GOOD, i) for i in range(first)])
        old = td.ingest("loans", config=loans.config, store=store)
        loans.write("loans.csv", [_line(GOOD, i) for i in range(first + more)])
        new = td.ingest("loans", config=loans.config, store=store)
        assert old.version != new.version
        before = pl.read_parquet(old.processed_path or Path()).select("id", "split")
        after = pl.read_parquet(new.processed_path or Path()).select("id", "split")
        joined = before.join(after, on="id", suffix="_after")
        assert joined.height == first
        assert (joined["split"] == joined["split_after"]).all()


def test_holdout_fraction_is_met_within_each_class() -> None:
    n = 40_000
    frame = pl.DataFrame({"id": range(n), "label": [i % 4 == 0 for i in range(n)]})
    holdout = holdout_mask(row_hashes(frame, ["id"]), 0.25)
    for label in (True, False):
        share = holdout.filter(frame["label"] == label).mean()
        assert isinstance(share, float) and abs(share - 0.25) < 0.015


def test_row_hash_is_pinned() -> None:
    """The hash is part of the data contract: changing it would move rows between splits."""
    frame = pl.DataFrame({"a": [1, None], "b": ["x", None], "c": [0.5, -0.0]})
    assert row_hashes(frame, ["a", "b", "c"]).to_list() == [
        2405703640065475186,
        9889923263297859512,
    ]
    # -0.0 and 0.0 are one value, so they are one identity.
    zero = frame.with_columns(pl.Series("c", [0.5, 0.0]))
    assert row_hashes(zero, ["a", "b", "c"]).equals(row_hashes(frame, ["a", "b", "c"]))
