"""`tabship.serving.load_model`: the package API scores a frame in-process, as the service does."""

from __future__ import annotations

import pandas as pd
import pytest

import tabship.serving
from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.scorer import Scorer

from ..conftest import Project


def test_the_api_scores_a_frame_as_the_scorer_scores_its_records(project: Project) -> None:
    holdout = project.holdout().head(200)
    model = tabship.serving.load_model(project.home, tag=project.tag)
    scored = model.score(holdout)  # the target and any other column are left aside
    assert list(scored.columns) == ["prediction_id", "probability", "label", "model_version"]
    assert scored.index.equals(holdout.index)
    assert (scored["model_version"] == model.facts.model_version).all()
    artifact = load_artifact(stored_folder(project.tag))
    names = [f.name for f in artifact.fields]
    records = holdout[names].astype(object).where(holdout[names].notna(), None)
    rows = [{str(k): v for k, v in row.items()} for row in records.to_dict("records")]
    expected = Scorer(artifact).score_records(rows)
    assert scored["probability"].tolist() == pytest.approx(expected.probability.tolist(), abs=1e-12)
    assert scored["label"].tolist() == expected.label.tolist()


def test_the_champion_is_found_from_the_project(project: Project) -> None:
    model = tabship.serving.load_model(project.home)
    assert model.tag == project.tag


def test_a_bad_frame_is_one_line_naming_the_column(project: Project) -> None:
    model = tabship.serving.load_model(project.home, tag=project.tag)
    holdout = project.holdout().head(3)
    with pytest.raises(ValueError, match="lacks the request field"):
        model.score(holdout.drop(columns=["age"]))
    broken = holdout.assign(age=["old", 40, 41])
    with pytest.raises(ValueError, match=r"^age, row 0: "):
        model.score(broken)
    assert isinstance(model.score(pd.DataFrame(holdout)), pd.DataFrame)
