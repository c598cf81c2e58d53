"""Training on a 2-worker Dask LocalCluster (127.0.0.1, no dashboard): the same pipeline, close to
the single-process model on the same rows, the same model from two identical fits, and the
registered model a plain LightGBM text model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import dask
import numpy as np
import pytest
from distributed import LocalCluster

import tabship.data as td
from tabship.models import Registry, fit_model, load_run_config, load_version
from tabship.models.cli import main
from tabship.models.config import RunConfig, with_overrides
from tabship.models.dask.train import train_on_dask
from tabship.models.training.fit import training_columns

ROWS, PARTITIONS = 20_000, 4


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """One LocalCluster for the module (its workers import LightGBM once), stealing off as the
    engine's own LocalCluster has it."""
    with (
        dask.config.set({"distributed.scheduler.work-stealing": False}),
        LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)
        as cluster,
    ):  # fmt: skip
        yield str(cluster.scheduler_address)


@pytest.fixture
def synth_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_project: Callable[..., Path]
) -> tuple[Path, Path]:
    """A project with the repo's configs, and ROWS synthetic rows in PARTITIONS parquet files."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TABSHIP_DATA_STORE", raising=False)
    folder = make_project(tmp_path / "project", 10, 10)
    config = td.load_config(folder / "configs" / "datasets" / "synth" / "data.yaml", "synth")
    td.write_synthetic(config, td.load_schema(config), ROWS, tmp_path / "rows", PARTITIONS)
    return folder, tmp_path / "rows"


def _run(folder: Path, source: Path, scheduler: str) -> RunConfig:
    run = with_overrides(load_run_config(td.project_at(folder), "synth"), "dask", scheduler, source)
    return replace(run, train=replace(run.train, num_boost_round=60, early_stopping_rounds=10))


def test_dask_fits_are_repeatable_and_close_to_the_single_process_model(
    synth_project: tuple[Path, Path], scheduler: str
) -> None:
    folder = synth_project[0]
    project, run = td.project_at(folder), _run(*synth_project, scheduler)
    first_data, first, _ = train_on_dask(project, run, lambda _: None)
    second_data, second, _ = train_on_dask(project, run, lambda _: None)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    assert first.cv == second.cv
    assert first_data.manifest.version == second_data.manifest.version

    # The single engine on the very same version: the pipeline fitted from per-partition
    # counts is the one a fit on all the rows learns, and the model scores within 0.005.
    local = load_version(project, run.data, first_data.manifest.version, *training_columns(run))
    single = fit_model(local, run.features, run.train, lambda _: None)
    assert first.pipeline == single.pipeline
    assert len(first_data.holdout) == len(local.holdout) and first_data.rows_trained == len(
        local.train
    )
    assert np.array_equal(np.sort(first_data.y_holdout), np.sort(local.y_holdout))
    assert abs(first.holdout["roc_auc"] - single.holdout["roc_auc"]) <= 0.005
    assert first.holdout["roc_auc"] > 0.8  # the synthetic label is learnable
    assert abs(first.cv.best_iteration - single.cv.best_iteration) <= 10
    # The monitoring profile's sample: every training row here (fewer than profile_rows).
    assert len(first_data.train) == first_data.rows_trained == len(first.cv.oof)


def test_cli_trains_on_dask_and_registers_a_plain_lightgbm_model(
    synth_project: tuple[Path, Path], scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, source = synth_project
    train_yaml = folder / "configs" / "datasets" / "synth" / "train.yaml"
    train_yaml.write_text(
        train_yaml.read_text().replace("num_boost_round: 100", "num_boost_round: 40"), "utf-8"
    )
    args = ["--project", str(folder), "train", "--dataset", "synth", "--json"]
    dask_args = ["--engine", "dask", "--scheduler", scheduler, "--source", str(source)]
    assert main([*args, *dask_args]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["model_version"]) == ("promoted", "1")
    registry = Registry(td.project_at(folder), "tabship-synth", "tabship-synth")
    champion = registry.alias("champion")
    assert champion is not None
    text = registry.model_file(champion, folder / "download").read_text(encoding="utf-8")
    assert text.startswith("tree\nversion=v4") and "[num_machines: 2]" in text
    assert "[machines: " not in text and "[local_listen_port: " not in text
    card = json.loads((Path(result["card_path"]).parent / "model_card.json").read_text())
    assert card["train_rows"] + card["holdout_rows"] == ROWS

    assert main([*args, *dask_args]) == 0  # nothing changed: the cached run
    assert json.loads(capsys.readouterr().out)["cached"] is True
    assert main([*args, "--source", str(source)]) == 0  # the single engine: another key
    assert json.loads(capsys.readouterr().out)["cached"] is False


def test_bad_engine_options_are_one_clear_line(
    synth_project: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, source = synth_project
    args = ["--project", str(folder), "train", "--dataset", "synth"]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert capsys.readouterr().err == (
        "error: --scheduler: the single engine uses no cluster; add --engine dask\n"
    )
    assert main([*args, "--source", str(source / "nothing-here")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no such file or folder" in err
