"""`nox -s repeat`: one test N times in a row, each in a fresh process, and the count printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# A stand-in for pytest: each run counts itself in a file and fails on its second run.
FLAKY = """
import sys
from pathlib import Path
count = Path(sys.argv[1])
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
print(f"run {n}")
sys.exit(1 if n == 2 else 0)
"""


def repeat(root: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "flaky.py"
    script.write_text(FLAKY, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "tabship_dev", "repeat", "--pytest", sys.executable,
         "--out", str(tmp_path / "out"), *args, str(script), str(tmp_path / "count")],
        env={"PYTHONPATH": str(root / "tools")}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_every_run_is_counted_and_a_failed_one_kept(repo_root: Path, tmp_path: Path) -> None:
    done = repeat(repo_root, tmp_path, "--count", "3", "--json")
    assert done.returncode == 1  # a run failed
    document = json.loads(done.stdout)
    assert document["runs"] == 3 and document["passed"] == 2
    assert document["failed_runs"] == [2]
    assert Path(document["outputs"][0]).read_text() == "run 2\n"
    assert done.stderr.count("\n") == 3  # a progress line a run
    assert "run 2/3: FAILED (exit 1" in done.stderr


def test_all_passing_is_exit_0_and_one_summary_line(repo_root: Path, tmp_path: Path) -> None:
    (tmp_path / "count").write_text("2")  # past the failing run
    done = repeat(repo_root, tmp_path, "--count", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 of 2 runs passed in ") and done.stdout.count("\n") == 1


def test_no_test_named_is_one_line(repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tabship_dev", "repeat", "--pytest", sys.executable],
        env={"PYTHONPATH": str(repo_root / "tools")}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "name the test to repeat" in done.stderr and done.stderr.count("\n") == 1
