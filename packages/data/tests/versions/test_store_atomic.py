"""Versions are all-or-nothing: a failure at any step leaves no half version, `latest` untouched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import tabship.data as td
from tabship.data.ingestion import writer as datawriter
from tabship.data.versions import store

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, Loans


def _leftovers(loans: Loans) -> list[str]:
    return sorted(p.name for p in (loans.store / "loans").iterdir() if p.name.startswith("."))


@pytest.fixture
def first_version(loans: Loans, check: Checks) -> str:
    loans.write("loans.csv", check.rows(50))
    result = td.ingest("loans", config=loans.config, store=loans.store)
    assert result.status == "created"
    return result.version


def _fail(*_: Any, **__: Any) -> None:
    raise OSError(28, "No space left on device (simulated)")


@pytest.mark.parametrize(
    "target",
    [
        (store, "write_json"),  # while writing the report/manifest
        (store, "publish"),  # at the rename into place
        (datawriter.DataWriter, "write"),  # in the middle of the chunks
        (datawriter.DataWriter, "_assemble"),  # on the writer's own thread
    ],
    ids=["manifest", "rename", "mid-chunks", "writer-thread"],
)
def test_failure_mid_write_leaves_no_half_version(
    loans: Loans,
    check: Checks,
    first_version: str,
    monkeypatch: pytest.MonkeyPatch,
    target: tuple[Any, str],
) -> None:
    loans.write("loans.csv", check.rows(80))  # new content, so a new version would be made
    monkeypatch.setattr(*target, _fail)
    with pytest.raises(OSError, match="simulated"):
        td.ingest("loans", config=loans.config, store=loans.store, chunk_bytes=256)
    assert [p.name for p in check.versions(loans.store)] == [first_version]
    assert _leftovers(loans) == []
    assert store.read_latest(loans.store, "loans") == first_version
    stored = td.load_dataset("loans", store=loans.store)
    frame, manifest = stored.frame, stored.manifest
    assert manifest.version == first_version and len(frame) == 50


def test_latest_moves_only_after_the_version_exists(
    loans: Loans, check: Checks, first_version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loans.write("loans.csv", check.rows(80))
    monkeypatch.setattr(store, "set_latest", _fail)
    with pytest.raises(OSError, match="simulated"):
        td.ingest("loans", config=loans.config, store=loans.store)
    # The new version is complete; only the pointer did not move.
    assert len(check.versions(loans.store)) == 2
    assert store.read_latest(loans.store, "loans") == first_version
    monkeypatch.undo()
    again = td.ingest("loans", config=loans.config, store=loans.store)
    assert again.status == "unchanged"
    assert store.read_latest(loans.store, "loans") == again.version != first_version


def test_versions_are_immutable_and_verified(loans: Loans, first_version: str) -> None:
    data = loans.store / "loans" / first_version / "data.parquet"
    assert not data.stat().st_mode & 0o222  # read-only once published
    data.chmod(0o644)
    data.write_bytes(data.read_bytes() + b"tampered")
    with pytest.raises(td.DataError, match="does not match its manifest"):
        td.load_dataset("loans", store=loans.store)


def test_no_pickle_in_the_store(loans: Loans, first_version: str) -> None:
    names = {p.name for p in (loans.store / "loans" / first_version).iterdir()}
    assert names == {
        "data.parquet",
        "quarantine.jsonl",
        "report.json",
        "manifest.json",
        "request_fields.json",
    }
