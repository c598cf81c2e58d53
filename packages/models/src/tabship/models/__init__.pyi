"""The API of tabship.models: the one list of its public names.

Type checkers read it, and `lazy_loader.attach_stub` in __init__.py reads it to load each
name's module on first use (PEP 562). Add a public name here, and nowhere else.
"""

__version__: str
__all__: list[str]

from .config import (
    HIGHER_IS_BETTER as HIGHER_IS_BETTER,
)
from .config import (
    METRICS as METRICS,
)
from .config import (
    GateConfig as GateConfig,
)
from .config import (
    Group as Group,
)
from .config import (
    RunConfig as RunConfig,
)
from .config import (
    TrainConfig as TrainConfig,
)
from .config import (
    gate_config_from_dict as gate_config_from_dict,
)
from .config import (
    load_gate_config as load_gate_config,
)
from .config import (
    load_run_config as load_run_config,
)
from .config import (
    load_train_config as load_train_config,
)
from .config import (
    train_config_from_dict as train_config_from_dict,
)
from .jobs.train import train as train
from .jobs.train_run import train_run as train_run
from .monitoring.drift import (
    DriftReport as DriftReport,
)
from .monitoring.drift import (
    DriftRule as DriftRule,
)
from .monitoring.drift import (
    FeatureDrift as FeatureDrift,
)
from .monitoring.drift import (
    detect_drift as detect_drift,
)
from .monitoring.estimate import (
    PerformanceEstimate as PerformanceEstimate,
)
from .monitoring.estimate import (
    estimate_performance as estimate_performance,
)
from .monitoring.performance import (
    LivePerformance as LivePerformance,
)
from .monitoring.performance import (
    live_performance as live_performance,
)
from .monitoring.profile import (
    Calibration as Calibration,
)
from .monitoring.profile import (
    CategoricalProfile as CategoricalProfile,
)
from .monitoring.profile import (
    NumericProfile as NumericProfile,
)
from .monitoring.profile import (
    Profile as Profile,
)
from .monitoring.profile import (
    build_profile as build_profile,
)
from .monitoring.profile import (
    fit_calibration as fit_calibration,
)
from .monitoring.profile import (
    profile_from_dict as profile_from_dict,
)
from .provenance import git_commit as git_commit
from .registry.contract import (
    Contract as Contract,
)
from .registry.contract import (
    fetch_served_files as fetch_served_files,
)
from .registry.files import (
    FIELDS_FILE as FIELDS_FILE,
)
from .registry.files import (
    MODEL_FILE as MODEL_FILE,
)
from .registry.files import (
    PIPELINE_FILE as PIPELINE_FILE,
)
from .registry.files import (
    SERVED_FILES as SERVED_FILES,
)
from .registry.registry import (
    CANDIDATE as CANDIDATE,
)
from .registry.registry import (
    CHALLENGER as CHALLENGER,
)
from .registry.registry import (
    CHAMPION as CHAMPION,
)
from .registry.registry import (
    PREVIOUS as PREVIOUS,
)
from .registry.registry import (
    Registry as Registry,
)
from .registry.registry import (
    RegistryError as RegistryError,
)
from .registry.registry import (
    VersionInfo as VersionInfo,
)
from .result import TrainResult as TrainResult
from .training.cache import cache_key as cache_key
from .training.data import (
    TrainingData as TrainingData,
)
from .training.data import (
    load_training_data as load_training_data,
)
from .training.data import (
    load_version as load_version,
)
from .training.fit import (
    Trained as Trained,
)
from .training.fit import (
    fit_model as fit_model,
)
from .training.fit import (
    predict as predict,
)
from .training.metrics import binary_metrics as binary_metrics
