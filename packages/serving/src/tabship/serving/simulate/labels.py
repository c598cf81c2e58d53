"""Ground truth for simulated traffic, as it arrives in production: `prediction_id,label` files
in the folder the monitor reads (`monitoring/<model>/labels/`), for all predictions or only a
share of them (the rest not labelled yet), in one delivery or several files.

Which rows get a label is drawn from its own generator (seeded from the run's seed), so asking
for fewer labels never changes the traffic itself.
"""

from __future__ import annotations

import csv
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_labels(
    folder: Path, ids: Sequence[str], labels: Sequence[str], share: float = 1.0,
    files: int = 1, seed: int = 0,
) -> list[Path]:  # fmt: skip
    """round(SHARE * rows) of the labels, rows drawn at random and kept in prediction order, in
    FILES files of about equal size (none empty), each renamed into place whole."""
    count = len(ids)
    rng = np.random.default_rng([seed, 1])
    chosen = np.sort(rng.choice(count, size=round(share * count), replace=False))
    folder.mkdir(parents=True, exist_ok=True)
    run = f"labels-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    parts = [part for part in np.array_split(chosen, files) if len(part)]
    written = []
    for number, part in enumerate(parts, start=1):
        path = folder / f"{run}-{number}of{len(parts)}.csv"
        scratch = folder / f".{path.name}.tmp"  # not *.csv: the monitor never reads half a file
        with scratch.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["prediction_id", "label"])
            writer.writerows((ids[i], labels[i]) for i in part)
        scratch.replace(path)
        written.append(path)
    return written
