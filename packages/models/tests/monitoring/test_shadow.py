"""The monitor's shadow section: the challenger's log lines (as the service writes them) joined
with the champion's window by prediction_id, compared without and with labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tabship.data import ModelLogs
from tabship.models import VersionInfo
from tabship.models.monitoring.shadow import shadow_report
from tabship.models.monitoring.summary import shadow_line

ROWS = 300


def _lines(folder: Path, ids: list[str], scores: np.ndarray, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "data.1.log").open("a", encoding="utf-8") as handle:
        for i, (prediction_id, score) in enumerate(zip(ids, scores, strict=True)):
            line = {
                "prediction_id": prediction_id, "score": float(score), "label": int(score >= 0.4),
                "model_version": version, "threshold": 0.4, "champion_version": "1",
                "timestamp": f"2026-12-02T10:{i // 60:02d}:{i % 60:02d}", "request_id": "7",
            }  # fmt: skip
            handle.write(json.dumps(line) + "\n")


def test_the_challenger_is_compared_on_the_rows_it_shadowed(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    truth = rng.uniform(size=ROWS) < 0.3
    ours = np.clip(0.3 + 0.3 * truth + rng.normal(0, 0.2, ROWS), 0, 1)
    theirs = np.clip(0.3 + 0.4 * truth + rng.normal(0, 0.2, ROWS), 0, 1)
    ids = [f"r-{i}" for i in range(ROWS)]
    window = pd.DataFrame({"prediction_id": ids, "score": ours, "threshold": 0.5})
    log = ModelLogs.under(tmp_path / "log", "tabship-adult").shadow
    _lines(log, ids[:250], theirs[:250], "3")  # the challenger shadowed 250 of the window's rows
    _lines(log, ids[250:270], theirs[250:270], "2")  # an earlier challenger: left out
    _lines(log, [f"old-{i}" for i in range(10)], theirs[:10], "3")  # not in the window
    labelled = rng.permutation(250)[:200]
    labels = pd.DataFrame({"prediction_id": [ids[i] for i in labelled],
                           "label": truth[labelled].astype(int)})  # fmt: skip
    challenger = VersionInfo("tabship-adult", "3", "run-3")
    store = tmp_path / "compacted-shadow"

    report = shadow_report(challenger, "1", log, store, window, labels, min_labels=100)
    assert report is not None
    assert (report["challenger_version"], report["challenger_run_id"]) == ("3", "run-3")
    assert report["log"]["lines_read"] == 280 and report["log"]["lines_quarantined"] == 0
    assert (report["rows"], report["window_rows"]) == (250, ROWS)
    agreement = report["agreement"]
    same = np.mean((ours[:250] >= 0.5) == (theirs[:250] >= 0.4))
    assert agreement["label_agreement"] == pytest.approx(same)
    assert agreement["mean_abs_diff"] == pytest.approx(np.mean(np.abs(ours - theirs)[:250]))
    assert agreement["max_abs_diff"] == pytest.approx(np.max(np.abs(ours - theirs)[:250]))
    assert 0 < agreement["rank_correlation"] < 1
    for side, scores in (("champion_live", ours), ("challenger_live", theirs)):
        live = report[side]
        assert live["labelled"] == 200 and live["unlabelled_predictions"] == 50
        assert live["roc_auc"] == pytest.approx(roc_auc_score(truth[labelled], scores[labelled]))
    assert report["challenger_live"]["roc_auc"] > report["champion_live"]["roc_auc"]
    line = shadow_line(report)
    assert line.startswith("shadow: challenger version 3 scored 250 of 300 predictions; same label")
    assert f"live ROC-AUC {report['challenger_live']['roc_auc']:.4f} vs the champion's" in line

    again = shadow_report(challenger, "1", log, store, window, labels, min_labels=100)
    assert again is not None and again["log"]["lines_read"] == 0  # compacted once
    assert again["rows"] == 250 and again["agreement"] == agreement


def test_no_challenger_no_shadow_section(tmp_path: Path) -> None:
    window = pd.DataFrame({"prediction_id": ["a"], "score": [0.2], "threshold": [0.5]})
    labels = pd.DataFrame({"prediction_id": [], "label": []})
    log, store = tmp_path / "log", tmp_path / "store"
    assert shadow_report(None, "1", log, store, window, labels, 100) is None
    itself = VersionInfo("tabship-adult", "1", "run-1")  # the challenger was promoted
    assert shadow_report(itself, "1", log, store, window, labels, 100) is None
    assert shadow_line(None) == "shadow: no challenger"
    nothing = shadow_report(VersionInfo("m", "2", "r"), "1", log, store, window, labels, 100)
    assert nothing is not None and nothing["rows"] == 0  # a challenger, no shadow log yet
    assert nothing["agreement"]["label_agreement"] is None
    assert shadow_line(nothing) == "shadow: challenger version 2 scored 0 of 1 predictions"
