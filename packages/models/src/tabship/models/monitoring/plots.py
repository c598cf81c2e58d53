"""The monitor job's PNG plots: a drifted feature's reference shares against the window's, and
live and estimated performance over the monitor's runs. matplotlib is imported here only, so the
training job does not pay for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here, and none needed
    import matplotlib.pyplot as plt

    return plt


def shares_plot(
    path: Path, feature: str, bins: Sequence[str], reference: Sequence[float],
    current: Sequence[float], psi: float,
) -> Path:  # fmt: skip
    """Side-by-side bars of the reference's and the window's share of each bin of FEATURE."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(6.0, 0.5 * len(bins) + 2), 3.6))
    positions = range(len(bins))
    axes.bar([p - 0.2 for p in positions], reference, width=0.4, label="reference (training)")
    axes.bar([p + 0.2 for p in positions], current, width=0.4, label="window")
    axes.set_xticks(list(positions), [str(b) for b in bins], rotation=45, ha="right", fontsize=7)
    axes.set_ylabel("share of rows")
    axes.set_title(f"{feature}: PSI {psi:.3f}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def performance_plot(path: Path, history: Sequence[Mapping[str, Any]]) -> Path:
    """Live and estimated ROC-AUC and accuracy at each monitor run (a missing figure is a gap)."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    runs = list(range(1, len(history) + 1))
    for axis, metric in zip(axes, ("roc_auc", "accuracy"), strict=True):
        for source, style in (("live", "-o"), ("estimated", "--s"), ("reference", ":")):
            values = [run.get(source, {}).get(metric) for run in history]
            axis.plot(runs, [float("nan") if v is None else v for v in values], style, label=source)
        axis.set_title(metric.replace("_", "-"))
        axis.set_xlabel("monitor run")
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
