"""What a source may be, and what a run writes from it (issue 28, point 6): a symbolic link is
refused, and nothing a run writes is more open than the sources it read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, Loans, RunCli


def test_a_symlinked_source_is_refused_and_nothing_of_its_target_is_copied(
    loans: Loans, run_cli: RunCli, check: Checks, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n" * 26, encoding="utf-8")
    secret.chmod(0o640)
    link = loans.root / "loans.csv"
    link.symlink_to(secret)
    result = run_cli(loans.ingest_args(link))
    assert result.code == 1
    assert f"{link}: a symbolic link: a source must be the file itself" in check.error_line(
        result.err
    )
    written = [p for p in loans.store.rglob("*") if p.is_file()] if loans.store.exists() else []
    assert not any("root:$6$" in p.read_text(errors="replace") for p in written)


def test_what_a_run_writes_is_no_more_open_than_its_sources(
    loans: Loans, run_cli: RunCli, check: Checks
) -> None:
    rows = [*check.rows(20), "999,1.0,Z,30,no"]  # one row for the quarantine
    source = loans.write("loans.csv", rows)
    source.chmod(0o640)  # group may read, others may not
    result = run_cli(loans.ingest_args(source))
    assert result.code == 0, result.err
    version = loans.store / "loans" / (loans.store / "loans" / "latest").read_text().strip()
    files = [p for p in version.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"quarantine.jsonl", "report.json", "manifest.json"}
    for path in [version, *files]:
        assert path.stat().st_mode & 0o007 == 0, f"{path} is open to others"
    assert (version / "quarantine.jsonl").read_text(encoding="utf-8").strip()
