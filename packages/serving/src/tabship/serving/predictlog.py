"""The prediction log: one JSON line per scored record through `bentoml.monitor`.

Lines land under `<log_path>/<model name>/tabship_predictions/data/data.<worker>.log` (the
service puts its model's name under the configured log path, so that the services of several
datasets in one project keep apart logs), with the record's
features, score, label, prediction_id, model version and BentoML's timestamp and request_id.
Read them with `read_log`, which keeps request_id and trace_id as strings: they are long digit
strings that pandas would otherwise turn into floats and round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import bentoml
import pandas as pd

from tabship.serving.scorer import Scored

MONITOR_NAME = "tabship_predictions"


def log_predictions(
    records: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]],
    scored: Scored,
    kinds: Mapping[str, str],
) -> None:
    """Log a request's rows, with the version that scored them. RECORDS is a list of records or
    a mapping of columns."""
    n = len(scored.probability)
    with bentoml.monitor(MONITOR_NAME) as monitor:
        for name, kind in kinds.items():
            monitor.log_batch(_column(records, name), name, "feature", kind)
        monitor.log_batch(scored.probability.tolist(), "score", "prediction", "numerical")
        monitor.log_batch(scored.label.tolist(), "label", "prediction", "categorical")
        monitor.log_batch(scored.prediction_ids, "prediction_id", "prediction", "categorical")
        monitor.log_batch([scored.model_version] * n, "model_version", "prediction", "categorical")


def _column(
    records: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]], name: str
) -> list[Any]:
    if isinstance(records, Mapping):
        return list(records[name])
    return [r.get(name) for r in records]


def read_log(log_path: Path, model_name: str) -> pd.DataFrame:
    """Every row logged by MODEL_NAME's service under LOG_PATH, with ids kept as strings."""
    files = sorted((log_path / model_name / MONITOR_NAME / "data").glob("data.*.log*"))
    frames = [
        pd.read_json(
            f,
            lines=True,
            precise_float=True,  # the default parser rounds the last digits of scores
            dtype={"request_id": str, "trace_id": str, "prediction_id": str, "model_version": str},
        )
        for f in files
        if f.stat().st_size
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
