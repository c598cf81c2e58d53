"""A full disk during `train --force`: one line saying so, the aliases as they were, and the next
run, with room again, completes. The project lives on a small tmpfs of its own (mounting needs
root: elsewhere the test is skipped)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 12 MB tmpfs, unmounted after the test."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _train(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "tabship-models"), "train", "--json", *args], cwd=root, env=env,
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def test_a_full_disk_during_training_is_one_line_and_moves_no_alias(
    small_disk: Path, make_small_project: Callable[[Path], Path]
) -> None:
    root = make_small_project(small_disk / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    first = _train(root, env)
    assert first.returncode == 0, first.stderr
    version = json.loads(first.stdout)["model_version"]

    free = shutil.disk_usage(small_disk).free
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * max(0, free - 64 * 1024))  # 64 kB left: not a model's worth
    full = _train(root, env, "--force")
    print(full.stderr)
    errors = [line for line in full.stderr.splitlines() if not line.startswith("[")]
    assert full.returncode == 1 and "Traceback" not in full.stderr
    assert len(errors) == 1 and errors[0].startswith("error: the disk is full")

    filler.unlink()
    listed = subprocess.run(
        [str(BIN / "tabship-models"), "versions", "--json"], cwd=root, env=env,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    aliases = {a: r["version"] for r in json.loads(listed.stdout)["versions"] for a in r["aliases"]}
    assert aliases["champion"] == version
    again = _train(root, env, "--force")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "promoted"
