"""Faults of the team store, each on the real stack: keys the store refuses, and a dataset file
corrupted in the bucket. Each test keeps to a prefix of its own in the bucket."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tabship.data import IntegrityError, ObjectStore, fetch_version, project_at, share_version

BIN = Path(sys.executable).parent


def test_keys_the_store_refuses_are_one_line_naming_the_store_and_no_secret(
    team_env: dict[str, str], tmp_path: Path, make_small_project: Callable[[Path], Path]
) -> None:
    root = make_small_project(tmp_path / "project")
    wrong = "not-the-secret-0123456789"
    env = {**team_env, "AWS_SECRET_ACCESS_KEY": wrong, "TABSHIP_DATA_STORE": "s3://tabship/keys"}
    done = subprocess.run(
        [str(BIN / "tabship-data"), "ingest"], env=env, cwd=root,
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    print(done.stderr)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "s3://tabship/keys/adult/" in lines[0] and "refused the credentials" in lines[0]
    assert team_env["AWS_ENDPOINT_URL_S3"] in lines[0]  # which store: its address
    for secret in (wrong, team_env["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in done.stdout + done.stderr


def test_a_file_corrupted_in_the_bucket_is_refused_and_nothing_half_fetched_stays(
    team_stack: dict[str, str],
    tmp_path: Path,
    make_small_project: Callable[[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in team_stack.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TABSHIP_DATA_STORE", "s3://tabship/corrupt")
    a = make_small_project(tmp_path / "a")
    done = subprocess.run(
        [str(BIN / "tabship-data"), "ingest", "--json"], cwd=a,
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    version = (a / "data" / "processed" / "adult" / "latest").read_text().strip()
    store = ObjectStore("s3://tabship/corrupt")
    assert store.get(f"adult/{version}/manifest.json") is not None  # shared by the ingest

    store.put(f"adult/{version}/data.parquet", b"PAR1 not what was written PAR1")
    b = project_at(make_small_project(tmp_path / "b"))
    with pytest.raises(IntegrityError, match=rf"corrupt/adult/{version}/data.parquet .*sha256"):
        fetch_version(b, "adult")
    dataset = b.store / "adult"
    assert not (dataset / version).exists()
    assert not list(dataset.glob(".tmp-*")) if dataset.exists() else True

    # Shared again from a's intact copy, b fetches and checks it.
    store.delete(f"adult/{version}/manifest.json")
    assert share_version(project_at(a), "adult", version)
    assert fetch_version(b, "adult") == version
    assert (dataset / version / "manifest.json").is_file()
