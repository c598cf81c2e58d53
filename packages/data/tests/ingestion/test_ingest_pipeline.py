"""The threads of an ingest run and the hashing around it: same outcome as one thread, no row lost.

Speed is measured by `bench/bench_data.py`, never here; these tests pin what must not change when
the work is overlapped: versions, errors, and the cached bytecode of direct CLI calls.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

import tabship.data as td
from tabship.data import bytecode
from tabship.data.ingestion.prefetch import prefetched
from tabship.data.versions import store

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, Loans


def test_prefetched_keeps_order_and_raises_where_the_item_would_be() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise ValueError("bad block")

    seen: list[int] = []
    with pytest.raises(ValueError, match="bad block"):
        seen.extend(prefetched(items()))
    assert seen == [0, 1, 2, 3, 4]


def test_prefetched_stops_its_thread_when_the_consumer_stops() -> None:
    closed: list[bool] = []

    def items() -> Iterator[int]:
        try:
            yield from range(1_000)
        finally:
            closed.append(True)

    consumer = prefetched(items())
    assert next(consumer) == 0
    consumer.close()  # joins the thread, which closes the source
    assert closed == [True]


def test_same_size_new_content_is_hashed_first_and_makes_a_new_version(
    loans: Loans, check: Checks
) -> None:
    path = loans.write("loans.csv", check.rows(40))
    first = td.ingest("loans", config=loans.config, store=loans.store)
    text = path.read_text()
    path.write_text(text.replace("yes", "no!", 1).replace("no,", "ye,", 1))
    assert len(path.read_text()) == len(text)  # same size: a stored version could match
    sizes = [("train", path.stat().st_size)]
    cfg = td.load_config(loans.config, "loans")
    schema_hash = td.load_schema(cfg).schema_hash
    assert store.could_exist(loans.store, "loans", cfg.config_hash(), schema_hash, sizes)
    second = td.ingest("loans", config=loans.config, store=loans.store)
    assert second.status == "created" and second.version != first.version
    manifest = store.read_manifest(loans.store, "loans", second.version)
    assert manifest.sources[0].sha256 == td.file_sha256(path)


def test_new_size_is_read_before_it_is_hashed_and_the_manifest_has_the_hash(
    loans: Loans, check: Checks
) -> None:
    path = loans.write("loans.csv", check.rows(40))
    td.ingest("loans", config=loans.config, store=loans.store)
    loans.write("loans.csv", check.rows(41))
    cfg = td.load_config(loans.config, "loans")
    schema_hash = td.load_schema(cfg).schema_hash
    sizes = [("train", path.stat().st_size)]
    assert not store.could_exist(loans.store, "loans", cfg.config_hash(), schema_hash, sizes)
    result = td.ingest("loans", config=loans.config, store=loans.store)
    assert result.status == "created"
    manifest = store.read_manifest(loans.store, "loans", result.version)
    assert manifest.sources[0].sha256 == td.file_sha256(path)
    again = td.ingest("loans", config=loans.config, store=loans.store)
    assert (again.status, again.version) == ("unchanged", result.version)


def test_many_small_blocks_give_the_same_data_as_one(loans: Loans, check: Checks) -> None:
    """Blocks of 256 bytes pass many times through every thread; the output must not change."""
    loans.write("loans.csv", [*check.rows(300), "900,1.0,Z,30,no"])
    one = td.ingest("loans", config=loans.config, store=loans.store / "one")
    many = td.ingest("loans", config=loans.config, store=loans.store / "many", chunk_bytes=256)
    assert one.version == many.version
    assert one.processed_path is not None and many.processed_path is not None
    assert pl.read_parquet(one.processed_path).equals(pl.read_parquet(many.processed_path))
    assert one.quarantine_path.read_bytes() == many.quarantine_path.read_bytes()


def test_keep_bytecode_uses_a_cache_folder_only_when_bytecode_is_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(bytecode.OPT_OUT, raising=False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    bytecode.keep_bytecode()
    assert _bytecode_state() == (None, False)  # bytecode is written anyway: nothing to change

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setenv(bytecode.OPT_OUT, "1")
    bytecode.keep_bytecode()
    assert _bytecode_state() == (None, True)

    monkeypatch.delenv(bytecode.OPT_OUT)
    bytecode.keep_bytecode()
    assert _bytecode_state() == (str(tmp_path / "tabship" / "pycache"), False)


def _bytecode_state() -> tuple[str | None, bool]:
    return sys.pycache_prefix, sys.dont_write_bytecode
