"""Shadow mode, judged live: the challenger's logged scores beside the champion's window.

In shadow mode the service logs the challenger's score of every request it logs for the champion,
in its own stream (`<log_path>/<model name>/tabship_shadow/data/`, one JSON line per record, keyed
by the champion's prediction_id). This compacts that stream as the prediction log is compacted
(`logstore.compact`, into `monitoring/<model name>/compacted-shadow/`), takes the registry
challenger's rows for the prediction ids of the champion's window, and reports, on exactly the
rows both models scored: how far they agree (no labels needed) and, once labels arrive, both
models' live figures (`live_performance`) on the same labelled rows, so the two are compared like
for like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from tabship.models.monitoring.logstore import CompactResult, compact
from tabship.models.monitoring.performance import live_performance
from tabship.models.registry.registry import VersionInfo

# Kept beside the columns every logged row has (logstore.REQUIRED): the challenger's threshold,
# and the champion version whose request it shadowed.
SHADOW_COLUMNS: dict[str, pl.DataType] = {
    "threshold": pl.Float64(),
    "champion_version": pl.String(),
}


def _challenger_rows(store: Path, version: str, ids: pd.Series) -> pd.DataFrame:
    """The compacted shadow rows of challenger VERSION for the prediction IDS (the filter runs
    in the parquet scan)."""
    files = sorted(store.glob("date=*/*.parquet"))
    if not files:
        return pd.DataFrame({"prediction_id": [], "score": [], "threshold": []})
    wanted = pl.Series("prediction_id", ids.astype(str).tolist(), dtype=pl.String)
    rows = (
        pl.scan_parquet(files)
        .filter(
            (pl.col("model_version") == version) & pl.col("prediction_id").is_in(wanted.implode())
        )
        .select("prediction_id", "score", "threshold")
        .unique("prediction_id", keep="first", maintain_order=True)
        .collect()
    )
    return rows.to_pandas()


def agreement(champion: pd.DataFrame, challenger: pd.DataFrame) -> dict[str, float | None]:
    """How alike two models' scores of the same rows are (both frames: score, threshold, in the
    same row order): the share of equal labels (each at its own threshold), the mean and largest
    absolute score difference, and the rank (Spearman) correlation. None on no rows."""
    if champion.empty:
        return {"label_agreement": None, "mean_abs_diff": None, "max_abs_diff": None,
                "rank_correlation": None}  # fmt: skip
    first = champion["score"].to_numpy(np.float64)
    second = challenger["score"].to_numpy(np.float64)
    labels = first >= champion["threshold"].to_numpy(np.float64)
    other = second >= challenger["threshold"].to_numpy(np.float64)
    diff = np.abs(first - second)
    ranked = pd.Series(first).corr(pd.Series(second), method="spearman")
    return {
        "label_agreement": float(np.mean(labels == other)),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff": float(diff.max()),
        "rank_correlation": None if pd.isna(ranked) else float(ranked),
    }


def shadow_report(
    challenger: VersionInfo | None,
    champion_version: str,
    log: Path,
    store: Path,
    window: pd.DataFrame,
    labels: pd.DataFrame,
    min_labels: int,
) -> dict[str, Any] | None:
    """The report's `shadow` section: the registry's CHALLENGER against the champion on the
    WINDOW's rows it shadowed (WINDOW: the champion's prediction_id, score, threshold; LABELS:
    prediction_id, label). LOG is the shadow stream's folder, STORE its compacted copy. None when
    there is no challenger, or the challenger is the champion."""
    if challenger is None or challenger.version == champion_version:
        return None
    compacted = compact(log, store, SHADOW_COLUMNS) if log.is_dir() else CompactResult()
    shadowed = _challenger_rows(store, challenger.version, window["prediction_id"])
    both = window.assign(prediction_id=window["prediction_id"].astype(str)).merge(
        shadowed, on="prediction_id", suffixes=("", "_challenger")
    )
    theirs = both[["prediction_id", "score_challenger", "threshold_challenger"]].rename(
        columns={"score_challenger": "score", "threshold_challenger": "threshold"}
    )
    ours = both[["prediction_id", "score", "threshold"]]
    return {
        "challenger_version": challenger.version,
        "challenger_run_id": challenger.run_id,
        "log": compacted.to_dict(),
        "window_rows": len(window),
        "rows": len(both),
        "agreement": agreement(ours, theirs),
        "champion_live": live_performance(ours, labels, min_labels).to_dict(),
        "challenger_live": live_performance(theirs, labels, min_labels).to_dict(),
    }
