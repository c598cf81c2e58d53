"""Training and gate settings, read from a dataset's train.yaml and gate.yaml (in
configs/datasets/NAME/), and the run's whole configuration (data, features, training, gate),
parsed once and handed to every step."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tabship.data import (
    ConfigError,
    DatasetConfig,
    DatasetFiles,
    Project,
    load_config,
    read_yaml_mapping,
    with_source,
)
from tabship.features import FeatureSpec, SpecError, load_spec
from tabship.models.tuneconfig import TuneConfig, tune_config_from_dict

METRICS = ("roc_auc", "log_loss", "accuracy", "f1", "brier")
# Metrics where a larger value is better; the others (log loss, Brier) are losses.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "accuracy": True,
    "f1": True,
    "log_loss": False,
    "brier": False,
}


@dataclass(frozen=True)
class Group:
    """A column to report metrics for, optionally cut into bands."""

    name: str
    column: str
    bins: tuple[float, ...] = ()


ENGINES = ("single", "dask")


@dataclass(frozen=True)
class DaskSettings:
    """train.yaml's `dask:` (the Dask engine). Without a scheduler address a LocalCluster of
    `workers` processes starts on 127.0.0.1 (no dashboard) and is closed at the end."""

    scheduler: str | None = None
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "8GB"  # per LocalCluster worker; Dask spills, then pauses, near it
    profile_rows: int = 200_000  # training rows the monitoring reference is profiled on


@dataclass(frozen=True)
class TrainConfig:
    """What a dataset's train.yaml says; `dataset` is the name of the folder it sits in."""

    dataset: str
    model_name: str
    experiment: str
    seed: int
    folds: int
    num_threads: int
    num_boost_round: int
    early_stopping_rounds: int
    threshold: float
    params: dict[str, Any]
    groups: tuple[Group, ...] = ()
    min_group_size: int = 100
    source: str = field(default="<memory>", compare=False)
    engine: str = "single"  # single (one process) | dask
    dask: DaskSettings = field(default_factory=DaskSettings)
    tune: TuneConfig = field(default_factory=TuneConfig)

    def lightgbm_params(self) -> dict[str, Any]:
        """The parameters given to LightGBM: the config's, plus what makes runs reproducible."""
        return {
            **self.params,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "deterministic": True,
            "force_row_wise": True,
        }


@dataclass(frozen=True)
class GateConfig:
    """What a dataset's gate.yaml says.

    `baseline` names a simple model trained on the same split (see baseline.py), and
    `baseline_margin` how much the candidate's holdout metrics must beat it by: a gate that needs
    no guessing of absolute floors for a new dataset.
    """

    floors: dict[str, float]
    champion_margin: dict[str, float]
    group_floors: dict[str, float]
    baseline: str | None = None
    baseline_margin: dict[str, float] = field(default_factory=dict)
    source: str = field(default="<memory>", compare=False)


def _get(raw: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in raw:
        raise ConfigError(f"{where}: missing field '{key}'")
    value = raw[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
        raise ConfigError(f"{where}: field '{key}' must be {kind.__name__}, not {value!r}")
    return value


def _metric_map(raw: Mapping[str, Any], key: str, where: str) -> dict[str, float]:
    value = raw.get(key, {}) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: field '{key}' must be a mapping of metric to number")
    out: dict[str, float] = {}
    for metric, number in value.items():
        if metric not in METRICS:
            raise ConfigError(f"{where}: {key}.{metric}: unknown metric (one of {METRICS})")
        if not isinstance(number, int | float) or isinstance(number, bool):
            raise ConfigError(f"{where}: {key}.{metric} must be a number, not {number!r}")
        out[metric] = float(number)
    return out


def train_config_from_dict(
    raw: Mapping[str, Any], where: str = "<memory>", dataset: str = "dataset"
) -> TrainConfig:
    """Build and check DATASET's TrainConfig. The model's name and experiment default to
    `tabship-DATASET`."""
    if "dataset" in raw:
        raise ConfigError(
            f"{where}: field 'dataset' is not used any more: the folder "
            "configs/datasets/NAME/ that holds this file names the dataset"
        )
    groups = []
    raw_groups = raw.get("groups", {}) or {}
    if not isinstance(raw_groups, dict):
        raise ConfigError(f"{where}: field 'groups' must be a mapping")
    for name, body in raw_groups.items():
        if not isinstance(body, dict) or not isinstance(body.get("column"), str):
            raise ConfigError(f"{where}: groups.{name} needs a 'column'")
        bins = tuple(float(b) for b in body.get("bins", []) or [])
        if bins and list(bins) != sorted(set(bins)):
            raise ConfigError(f"{where}: groups.{name}.bins must increase")
        groups.append(Group(name=str(name), column=body["column"], bins=bins))
    config = TrainConfig(
        dataset=dataset,
        model_name=_get({"model_name": f"tabship-{dataset}", **raw}, "model_name", str, where),
        experiment=_get({"experiment": f"tabship-{dataset}", **raw}, "experiment", str, where),
        seed=_get(raw, "seed", int, where),
        folds=_get(raw, "folds", int, where),
        num_threads=_get(raw, "num_threads", int, where),
        num_boost_round=_get(raw, "num_boost_round", int, where),
        early_stopping_rounds=_get(raw, "early_stopping_rounds", int, where),
        threshold=_get(raw, "threshold", float, where),
        params=dict(_get(raw, "params", dict, where)),
        groups=tuple(groups),
        min_group_size=int(raw.get("min_group_size", 100)),
        source=where,
        engine=_engine(raw.get("engine", "single"), where),
        dask=_dask_settings(raw.get("dask") or {}, where),
        tune=tune_config_from_dict(raw.get("tune"), where),
    )
    if config.folds < 2:
        raise ConfigError(f"{where}: field 'folds' must be at least 2")
    if not 0.0 < config.threshold < 1.0:
        raise ConfigError(f"{where}: field 'threshold' must lie between 0 and 1")
    if config.engine == "dask" and config.tune.enabled:
        raise ConfigError(_DASK_TUNE.format(where=where))
    if config.num_threads < 1:
        raise ConfigError(
            f"{where}: field 'num_threads' must be at least 1 (fixed, for determinism)"
        )
    return config


# A search is dozens of k-fold CVs: at the scale the Dask engine is for, tune on a sample with the
# single engine, and copy the best parameters into `params:`.
_DASK_TUNE = "{where}: the dask engine does not search parameters; set tune.enabled: false"


def _engine(value: Any, where: str) -> str:
    if value not in ENGINES:
        raise ConfigError(f"{where}: field 'engine' must be one of {', '.join(ENGINES)}")
    return str(value)


def _dask_settings(raw: Any, where: str) -> DaskSettings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: field 'dask' must be a mapping")
    unknown = sorted(set(raw) - set(DaskSettings.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"{where}: dask: unknown field(s) {', '.join(unknown)}")
    defaults = DaskSettings()
    scheduler = raw.get("scheduler")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ConfigError(f"{where}: dask.scheduler must be an address like tcp://HOST:8786")
    counts = {}
    for name in ("workers", "threads_per_worker", "profile_rows"):
        value = raw.get(name, getattr(defaults, name))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: dask.{name} must be a whole number of at least 1")
        counts[name] = value
    memory = raw.get("memory_limit", defaults.memory_limit)
    if not isinstance(memory, str):
        raise ConfigError(f"{where}: dask.memory_limit must be a size like 8GB")
    return DaskSettings(scheduler=scheduler, memory_limit=memory, **counts)


BASELINES = ("logistic_regression", "best_single_feature")


def gate_config_from_dict(raw: Mapping[str, Any], where: str = "<memory>") -> GateConfig:
    """Build and check a GateConfig."""
    unknown = sorted(set(raw) - {"floors", "champion_margin", "group_floors", "baseline"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    baseline = raw.get("baseline") or {}
    if not isinstance(baseline, dict):
        raise ConfigError(f"{where}: field 'baseline' must be a mapping with 'model' and 'margin'")
    extra = sorted(set(baseline) - {"model", "margin"})
    if extra:
        raise ConfigError(f"{where}: baseline: unknown field(s) {', '.join(extra)}")
    model = baseline.get("model")
    if baseline and model not in BASELINES:
        raise ConfigError(f"{where}: baseline.model must be one of {', '.join(BASELINES)}")
    margin = _metric_map(baseline, "margin", f"{where}: baseline")
    if model and not margin:
        raise ConfigError(f"{where}: baseline.margin must name at least one metric")
    return GateConfig(
        floors=_metric_map(raw, "floors", where),
        champion_margin=_metric_map(raw, "champion_margin", where),
        group_floors=_metric_map(raw, "group_floors", where),
        baseline=model,
        baseline_margin=margin,
        source=where,
    )


def load_train_config(files: DatasetFiles) -> TrainConfig:
    """Read a dataset's train.yaml."""
    path = files.train_config
    return train_config_from_dict(read_yaml_mapping(path, ConfigError), str(path), files.name)


def load_gate_config(path: Path) -> GateConfig:
    """Read a dataset's gate.yaml."""
    return gate_config_from_dict(read_yaml_mapping(path, ConfigError), str(path))


def file_digest(*paths: Path) -> str:
    """sha256 over the bytes of several files, in order: part of the training cache key."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class RunConfig:
    """Every config a training run reads, each parsed once, at the start of the command."""

    files: DatasetFiles
    data: DatasetConfig
    features: FeatureSpec
    train: TrainConfig
    gate: GateConfig


def with_overrides(
    run: RunConfig,
    engine: str | None = None,
    scheduler: str | None = None,
    source: Path | None = None,
) -> RunConfig:
    """RUN with the command line's `--engine`, `--scheduler` and `--source` (see `with_source`:
    its rows are split by row hash)."""
    train = run.train
    if engine is not None:
        train = replace(train, engine=_engine(engine, "--engine"))
        if train.engine == "dask" and train.tune.enabled:
            raise ConfigError(_DASK_TUNE.format(where=f"--engine dask ({run.files.train_config})"))
    if scheduler is not None:
        if train.engine != "dask":
            raise ConfigError("--scheduler: the single engine uses no cluster; add --engine dask")
        settings = _dask_settings({**asdict(train.dask), "scheduler": scheduler}, "--scheduler")
        train = replace(train, dask=settings)
    data = with_source(run.data, source) if source is not None else run.data
    return replace(run, train=train, data=data)


def load_run_config(project: Project, dataset: str | None = None) -> RunConfig:
    """Parse DATASET's (default: the project's default) train, data, features and gate configs,
    each once.

    Every fault is a tabship.data.ConfigError naming the file and the field, whichever package
    parsed it: the features package's SpecError is re-raised as one, with the same message.
    """
    files = project.dataset(dataset)
    train = load_train_config(files)
    data = load_config(files.data_config, files.name)
    try:
        features = load_spec(files.features_config)
    except SpecError as error:
        raise ConfigError(str(error)) from None
    gate = load_gate_config(files.gate_config)
    return RunConfig(files=files, data=data, features=features, train=train, gate=gate)
