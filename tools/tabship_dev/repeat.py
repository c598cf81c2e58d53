"""One test, run N times in a row, each time in a fresh pytest: its own fixtures, servers and
ports, as in a whole-suite run (pytest-repeat reruns inside one process, so module fixtures such
as a server would be shared by the repeats). A flaky test's rate is the count this prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    """What N runs gave: the passes, the failed runs' numbers and the output kept of each."""

    passed: int = 0
    failed: list[int] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    loads: list[float] = field(default_factory=list)  # 1-minute load average after each run

    @property
    def runs(self) -> int:
        return self.passed + len(self.failed)

    def summary(self) -> str:
        loads = f"load average {min(self.loads):.1f} to {max(self.loads):.1f}" if self.loads else ""
        failed = f"; failed: runs {', '.join(map(str, self.failed))}" if self.failed else ""
        return (f"{self.passed} of {self.runs} runs passed in {self.seconds / 60:.1f} min, "
                f"{loads}{failed}")  # fmt: skip

    def to_json(self) -> dict[str, object]:
        return {"runs": self.runs, "passed": self.passed, "failed_runs": self.failed,
                "outputs": self.outputs, "seconds": round(self.seconds, 1),
                "load_min": round(min(self.loads, default=0.0), 2),
                "load_max": round(max(self.loads, default=0.0), 2)}  # fmt: skip


def repeat(pytest: str, args: Sequence[str], count: int, out: Path) -> Outcome:
    """Run `PYTEST ARGS` COUNT times; each failed run's output goes to OUT/run-N.txt."""
    outcome = Outcome()
    started = time.monotonic()
    for run in range(1, count + 1):
        began = time.monotonic()
        done = subprocess.run([pytest, *args], capture_output=True, text=True, check=False)
        outcome.loads.append(os.getloadavg()[0])
        if done.returncode == 0:
            outcome.passed += 1
            verdict = "passed"
        else:
            outcome.failed.append(run)
            out.mkdir(parents=True, exist_ok=True)
            kept = out / f"run-{run}.txt"
            kept.write_text(done.stdout + done.stderr, encoding="utf-8")
            outcome.outputs.append(str(kept))
            verdict = f"FAILED (exit {done.returncode}, output in {kept})"
        took = time.monotonic() - began
        print(f"run {run}/{count}: {verdict} in {took:.1f} s, load average "
              f"{outcome.loads[-1]:.1f}; {outcome.passed} passed so far", file=sys.stderr)  # fmt: skip
    outcome.seconds = time.monotonic() - started
    return outcome
