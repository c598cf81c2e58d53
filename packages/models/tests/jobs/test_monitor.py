"""`tabship-models monitor` over a prediction log written as the service writes it: the champion's
holdout scores, one feature shifted, labels delivered later as a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from tabship.data import project_at
from tabship.models import CHAMPION, Registry, load_run_config, load_training_data, predict
from tabship.models.cli import main

if TYPE_CHECKING:
    from packages.models.tests.conftest import LogWriter


def test_monitor_flags_the_shifted_feature_and_measures_live_and_estimated_performance(
    small_project: Path, capsys: pytest.CaptureFixture[str], log_writer: LogWriter
) -> None:
    root = ["--project", str(small_project)]
    assert main([*root, "train", "--json"]) == 0
    capsys.readouterr()
    project = project_at(small_project)
    run = load_run_config(project)
    data = load_training_data(project, run.data)
    registry = Registry(project, run.train.model_name, run.train.experiment)
    champion = registry.alias(CHAMPION)
    assert champion is not None
    booster, pipeline = registry.load(champion)

    window = data.holdout[list(run.data.columns)].copy()
    hours = window["hours-per-week"]
    window["hours-per-week"] = (hours + 0.5 * float(hours.std())).round().astype("int64")
    scores = predict(booster, pipeline.transform(window).matrix)
    target = run.data.target.column
    sent = window.drop(columns=target)
    records = [
        {str(k): v for k, v in r.items()}
        for r in sent.astype(object).where(sent.notna(), None).to_dict(orient="records")
    ]
    ids = log_writer(small_project, run.train.model_name, records, scores.tolist())
    labels = small_project / "monitoring" / run.train.model_name / "labels"
    labels.mkdir()
    pd.DataFrame({"prediction_id": ids, "label": window[target]}).to_csv(
        labels / "day1.csv", index=False
    )

    assert main([*root, "monitor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["window"]["rows"] == len(window) == 1000
    assert report["log"]["rows_written"] == 1000 and report["log"]["lines_quarantined"] == 0
    inputs = [f for f in report["drift"]["drifted"] if f != "__score__"]
    assert inputs == ["hours-per-week"]  # that feature alone
    live = report["live"]
    assert live["labelled"] == 1000 and live["unmatched_labels"] == 0
    realised = float(np.mean((scores >= 0.5) == (window[target] == ">50K")))
    assert live["accuracy"] == pytest.approx(realised)
    assert abs(report["estimated"]["roc_auc"] - live["roc_auc"]) < 0.05
    folder = Path(report["folder"])
    assert {"report.json", "performance.png", "drift-hours-per-week.png"} <= {
        p.name for p in folder.iterdir()
    }

    assert main([*root, "monitor", "--json"]) == 0  # the same log again: nothing added
    again = json.loads(capsys.readouterr().out)
    assert again["log"]["lines_read"] == 0 and again["window"]["rows"] == 1000
    assert "version 1:" in _summary(small_project, capsys)


def _summary(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--project", str(root), "monitor", "--no-plots"]) == 0
    return capsys.readouterr().out


def test_monitor_without_a_champion_says_so(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(small_project), "monitor"]) == 4
    assert "has no champion" in capsys.readouterr().err
