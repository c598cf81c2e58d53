"""The command line: predict --local and over HTTP give the same scores; build makes a bento."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tabship.serving.cli import main

from .conftest import Project, Server


def _csv(project: Project, folder: Path) -> Path:
    frame = project.holdout().head(50)
    path = folder / "rows.csv"
    frame.drop(columns=["split"], errors="ignore").to_csv(path, index=False)
    return path


def test_predict_local_and_remote_agree(
    project: Project,
    server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABSHIP_MODEL_TAG", project.tag)
    path = _csv(project, tmp_path)
    assert main(["predict", str(path), "--local", "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["predict", str(path), "--url", server.url, "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert len(local["predictions"]) == 50
    assert "income" in local["ignored_columns"]
    assert [p["probability"] for p in local["predictions"]] == [
        p["probability"] for p in remote["predictions"]
    ]
    assert main(["predict", str(path), "--local"]) == 0
    assert "50 records scored" in capsys.readouterr().out


def test_predict_reports_bad_rows(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABSHIP_MODEL_TAG", project.tag)
    path = _csv(project, tmp_path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("age")] = "old"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    assert main(["predict", str(path), "--local"]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["details"][0]["record"] == 2
    assert error["details"][0]["field"] == "age"


@pytest.mark.slow
def test_build_stores_the_champion_and_builds_a_bento(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "--root", str(project.root), "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["model"] == project.tag and built["model_created"] is False
    labels = built["labels"]
    assert labels["model_version"] == built["model_version"]
    assert labels["dataset_version"] == built["dataset_version"]
    assert labels["git_commit"]
    bentofile = Path(built["path"]) / "bento.yaml"
    assert bentofile.is_file()
    requirements = (Path(built["path"]) / "env" / "python" / "requirements.txt").read_text()
    assert "bentoml==1.4.40" in requirements


def test_build_without_a_registry_exits_4_and_creates_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_small_project: Callable[[Path], Path]
) -> None:
    root = make_small_project(tmp_path / "untrained")
    assert main(["build", "--project", str(root), "--model-only"]) == 4
    assert "no registry yet: train one first" in capsys.readouterr().err
    assert not (root / "mlruns").exists()


def test_serving_off_loopback_without_a_token_is_refused_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, point 12: an unset TABSHIP_API_TOKEN turned auth off without a word."""
    from tabship.serving.cli import unauthenticated_refusal

    monkeypatch.delenv("TABSHIP_SERVING_CONFIG", raising=False)
    refusal = unauthenticated_refusal("0.0.0.0", {})
    assert (
        refusal is not None and "refusing to serve on 0.0.0.0 with no TABSHIP_API_TOKEN" in refusal
    )
    assert unauthenticated_refusal("127.0.0.1", {}) is None
    assert unauthenticated_refusal("::1", {}) is None
    assert unauthenticated_refusal("0.0.0.0", {"TABSHIP_API_TOKEN": "t"}) is None
    allowed = tmp_path / "serving.yaml"
    allowed.write_text("allow_unauthenticated: true\n", encoding="utf-8")
    env = {"TABSHIP_SERVING_CONFIG": str(allowed)}
    assert unauthenticated_refusal("0.0.0.0", env) is None
    assert "WARNING: serving on 0.0.0.0 with no TABSHIP_API_TOKEN" in capsys.readouterr().err

    monkeypatch.delenv("TABSHIP_API_TOKEN", raising=False)
    code = main(["serve", "--host", "0.0.0.0", "--project", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing to serve on 0.0.0.0" in err


def test_the_port_comes_from_tabship_port_and_a_bad_one_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tabship.serving.cli import chosen_port

    assert chosen_port({}) == 3000
    assert chosen_port({"TABSHIP_PORT": "8080"}) == 8080
    assert [chosen_port({"TABSHIP_PORT": v}) for v in ("0", "70000", "http", "-1")] == [None] * 4
    monkeypatch.setenv("TABSHIP_PORT", "eighty")
    assert main(["serve", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "tabship-serving serve: TABSHIP_PORT='eighty' is not a port (1-65535)\n"
