"""What is served is what was trained: the run's contract, checked by hash, keyed by the run.

Each test works on its own copy of the trained project, because it changes configs, the registry
or stored files. The copy's registry lives at another path, so its entries in the shared BentoML
store are its own: a model is keyed by the registry and the run, never by the version number.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tabship.data import IntegrityError, project_at
from tabship.models import MODEL_FILE
from tabship.serving.cli import main
from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.modelstore import store_champion

from ..conftest import Project, own_home, start_server, stop_server


@pytest.fixture
def copy(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A copy of the trained project: configs, dataset store and registry."""
    root = tmp_path / "project"
    shutil.copytree(project.root, root, symlinks=True)
    # The copied sqlite registry keeps the original's artifact location, so the artifacts are the
    # trained run's own.
    monkeypatch.delenv("TABSHIP_MODEL_TAG", raising=False)
    yield Project(root, project.bentoml_home, "", tmp_path / "monitoring")


def _folder(tag: str) -> Path:
    return Path(os.environ["BENTOML_HOME"]) / "models" / tag.replace(":", "/")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} has no {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_rebuild_serves_the_runs_threshold_and_schema_not_todays_configs(
    copy: Project,
) -> None:
    configs = copy.root / "configs" / "datasets" / "adult"
    _edit(configs / "train.yaml", "threshold: 0.5", "threshold: 0.97")
    _edit(configs / "schema.yaml", "'Self-emp-inc', ", "")  # a category gone
    stored = store_champion(project_at(copy.root))
    assert stored.created
    assert stored.facts.threshold == 0.5  # the run's, not the edited 0.97
    records = holdout_records(copy, 300)
    for record in records[:10]:
        record["workclass"] = "Self-emp-inc"  # refused by today's schema, valid for the run
    home = own_home(copy.log_path.parent / "bentoml", stored.tag)
    server = start_server(Project(copy.root, home, stored.tag, copy.log_path))
    try:
        document = httpx.get(f"{server.url}/docs.json").json()
        answer = httpx.post(f"{server.url}/predict", json={"records": records}, timeout=30)
    finally:
        stop_server(server.process)
    assert "Self-emp-inc" in json.dumps(document["components"]["schemas"]["Record"])
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert all(p["label"] == int(p["probability"] >= 0.5) for p in predictions)
    assert any(0.5 <= p["probability"] < 0.97 for p in predictions)  # where the two differ


def holdout_records(project: Project, rows: int) -> list[dict[str, object]]:
    """Holdout rows as request records (the target and the meta columns dropped), via JSON."""
    frame = project.holdout().head(rows)
    frame = frame.drop(columns=["income", "split", "row_id", "source_file", "source_line"])
    records: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return records


def test_a_corrupted_stored_file_is_refused_at_load_with_one_line(
    copy: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stored = store_champion(project_at(copy.root))
    folder = _folder(stored.tag)
    model = folder / MODEL_FILE
    model.write_bytes(model.read_bytes()[:-100])  # truncated
    with pytest.raises(IntegrityError, match=re.escape(str(model))):
        load_artifact(folder)
    rows = tmp_path / "rows.csv"
    copy.holdout().head(5).to_csv(rows, index=False)
    assert main(["predict", str(rows), "--local", "--model", stored.tag]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "model.lgb" in err and "sha256" in err
    assert main(["serve", "--model", stored.tag, "--port", "1"]) == 1  # refused before serving
    assert "model.lgb" in capsys.readouterr().err
    # The next build replaces the damaged entry instead of reusing it.
    again = store_champion(project_at(copy.root))
    assert again.created and again.tag != stored.tag
    load_artifact(_folder(again.tag))


def test_a_restarted_registry_never_gets_the_old_model_served(copy: Project) -> None:
    first = store_champion(project_at(copy.root))
    shutil.rmtree(copy.root / "mlruns")  # the registry and the training cache

    # Then train and build in new processes, as a user does: MLflow keeps one database engine per
    # URI per process, which the deleted sqlite file would confuse.
    def run(*command: str) -> dict[str, Any]:
        done = subprocess.run(
            [*command, "--json"], capture_output=True, text=True, check=False, cwd=copy.root
        )
        assert done.returncode == 0, done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    trained = run("tabship-models", "--project", str(copy.root), "train", "--force")
    assert trained["model_version"] == first.facts.model_version == "1"  # numbering began again
    second = run("tabship-serving", "build", "--project", str(copy.root), "--model-only")
    assert second["model_created"] is True
    assert second["run_id"] == trained["run_id"] != first.facts.run_id
    assert second["model"] != first.tag


def test_serve_without_a_champion_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TABSHIP_MODEL_TAG", raising=False)
    root = tmp_path / "untrained"
    shutil.copytree(Path(__file__).resolve().parents[4] / "configs", root / "configs")
    assert main(["serve", "--project", str(root)]) == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invoke train" in err
    assert not (root / "mlruns").exists()
