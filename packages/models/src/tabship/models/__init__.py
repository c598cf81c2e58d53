"""tabship.models: LightGBM with CV and a holdout, a quality gate, and the MLflow registry.

This module is the package's API; serving imports from here, never from submodules. Importing it
is cheap: each name loads its module on first use (PEP 562), so LightGBM and MLflow load only when
a command needs them.

- `train(project, force=False) -> TrainResult`: the main job (cached when nothing changed)
- `load_run_config(project) -> RunConfig`: every config a run reads, parsed once
- `Registry(project, model_name, experiment)`: versions and the aliases candidate/champion/previous
- `fetch_served_files(registry, version, folder) -> Contract`: a version's served files, checked
- `load_version(project, data_config, version) -> TrainingData`, `predict`, `binary_metrics`
- monitoring, pure functions on JSON-ready data: `build_profile` / `profile_from_dict` (the
  reference), `detect_drift` (per-feature drift of a window), `estimate_performance` (label-free,
  from the calibrated scores), `live_performance` (once labels arrive)
"""

from importlib import import_module
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tabship.models.config import (
        HIGHER_IS_BETTER,
        METRICS,
        GateConfig,
        Group,
        RunConfig,
        TrainConfig,
        gate_config_from_dict,
        load_gate_config,
        load_run_config,
        load_train_config,
        train_config_from_dict,
    )
    from tabship.models.jobs.train import train, train_run
    from tabship.models.monitoring.drift import DriftReport, DriftRule, FeatureDrift, detect_drift
    from tabship.models.monitoring.estimate import PerformanceEstimate, estimate_performance
    from tabship.models.monitoring.performance import LivePerformance, live_performance
    from tabship.models.monitoring.profile import (
        Calibration,
        CategoricalProfile,
        NumericProfile,
        Profile,
        build_profile,
        fit_calibration,
        profile_from_dict,
    )
    from tabship.models.provenance import git_commit
    from tabship.models.registry.contract import Contract, fetch_served_files
    from tabship.models.registry.registry import (
        CANDIDATE,
        CHALLENGER,
        CHAMPION,
        PREVIOUS,
        Registry,
        RegistryError,
        VersionInfo,
    )
    from tabship.models.result import TrainResult
    from tabship.models.training.cache import cache_key
    from tabship.models.training.data import TrainingData, load_training_data, load_version
    from tabship.models.training.fit import Trained, fit_model, predict
    from tabship.models.training.metrics import binary_metrics

__version__ = version("tabship-models")

_EXPORTS = {
    "CANDIDATE": "registry.registry",
    "CHALLENGER": "registry.registry",
    "CHAMPION": "registry.registry",
    "Calibration": "monitoring.profile",
    "CategoricalProfile": "monitoring.profile",
    "Contract": "registry.contract",
    "DriftReport": "monitoring.drift",
    "DriftRule": "monitoring.drift",
    "FeatureDrift": "monitoring.drift",
    "GateConfig": "config",
    "Group": "config",
    "HIGHER_IS_BETTER": "config",
    "LivePerformance": "monitoring.performance",
    "METRICS": "config",
    "NumericProfile": "monitoring.profile",
    "PREVIOUS": "registry.registry",
    "PerformanceEstimate": "monitoring.estimate",
    "Profile": "monitoring.profile",
    "Registry": "registry.registry",
    "RegistryError": "registry.registry",
    "RunConfig": "config",
    "TrainConfig": "config",
    "TrainResult": "result",
    "Trained": "training.fit",
    "TrainingData": "training.data",
    "VersionInfo": "registry.registry",
    "binary_metrics": "training.metrics",
    "build_profile": "monitoring.profile",
    "cache_key": "training.cache",
    "detect_drift": "monitoring.drift",
    "estimate_performance": "monitoring.estimate",
    "fetch_served_files": "registry.contract",
    "fit_calibration": "monitoring.profile",
    "fit_model": "training.fit",
    "gate_config_from_dict": "config",
    "git_commit": "provenance",
    "live_performance": "monitoring.performance",
    "load_gate_config": "config",
    "load_run_config": "config",
    "load_train_config": "config",
    "load_training_data": "training.data",
    "load_version": "training.data",
    "predict": "training.fit",
    "profile_from_dict": "monitoring.profile",
    "train": "jobs.train",
    "train_config_from_dict": "config",
    "train_run": "jobs.train",
}
__all__ = [
    "CANDIDATE",
    "CHALLENGER",
    "CHAMPION",
    "HIGHER_IS_BETTER",
    "METRICS",
    "PREVIOUS",
    "Calibration",
    "CategoricalProfile",
    "Contract",
    "DriftReport",
    "DriftRule",
    "FeatureDrift",
    "GateConfig",
    "Group",
    "LivePerformance",
    "NumericProfile",
    "PerformanceEstimate",
    "Profile",
    "Registry",
    "RegistryError",
    "RunConfig",
    "TrainConfig",
    "TrainResult",
    "Trained",
    "TrainingData",
    "VersionInfo",
    "__version__",
    "binary_metrics",
    "build_profile",
    "cache_key",
    "detect_drift",
    "estimate_performance",
    "fetch_served_files",
    "fit_calibration",
    "fit_model",
    "gate_config_from_dict",
    "git_commit",
    "live_performance",
    "load_gate_config",
    "load_run_config",
    "load_train_config",
    "load_training_data",
    "load_version",
    "predict",
    "profile_from_dict",
    "train",
    "train_config_from_dict",
    "train_run",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tabship.models' has no attribute {name!r}")
    return getattr(import_module(f"tabship.models.{module}"), name)
