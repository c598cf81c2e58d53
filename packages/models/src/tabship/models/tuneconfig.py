"""train.yaml's `tune:`: whether training searches its LightGBM parameters first, with what
budget and over what space (the search itself is tuning/search.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tabship.data import ConfigError, propose_search

TUNE_METRICS = {"roc_auc": "maximize", "log_loss": "minimize"}
# What LightGBM calls the same metrics, for the pruning callback's per-round values.
LIGHTGBM_METRICS = {"roc_auc": "auc", "log_loss": "binary_logloss"}
# Parameters the search may not set: they fix the task, the determinism or the data's binning.
FIXED = {"objective", "seed", "num_threads", "deterministic", "force_row_wise", "verbose",
         "metric", "num_iterations", "num_boost_round", "max_bin"}  # fmt: skip


@dataclass(frozen=True)
class Param:
    """One searched parameter: whole numbers when both bounds are, on a log scale if `log`."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def to_dict(self) -> dict[str, Any]:
        low: Any = int(self.low) if self.integer else self.low
        high: Any = int(self.high) if self.integer else self.high
        return {"low": low, "high": high, "log": self.log}


@dataclass(frozen=True)
class TuneConfig:
    """The search's settings. `space` is empty when train.yaml gives none: the search then uses
    `propose_search` for the training rows it gets (the same rule `tabship-data init` writes)."""

    enabled: bool = False
    trials: int = 30
    timeout_seconds: float = 300.0
    metric: str = "roc_auc"
    pruning: bool = True
    space: tuple[Param, ...] = field(default_factory=tuple)

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if TUNE_METRICS[self.metric] == "maximize" else "minimize"

    def space_for(self, train_rows: int) -> tuple[Param, ...]:
        """The space searched for TRAIN_ROWS training rows."""
        if self.space:
            return self.space
        proposed = propose_search(train_rows).space
        return tuple(_param(name, body, "propose_search") for name, body in proposed.items())

    def identity(self) -> dict[str, Any]:
        """What decides the search's trials (not its budget): part of the study's name, so a
        larger budget continues the same study."""
        return {
            "metric": self.metric,
            "pruning": self.pruning,
            "space": {p.name: p.to_dict() for p in self.space} or "proposed",
        }


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, not {value!r}")
    return float(value)


def _param(name: str, body: Any, where: str) -> Param:
    spot = f"{where}: tune.space.{name}"
    if name in FIXED:
        raise ConfigError(f"{spot}: {name} is fixed by tabship, not searched")
    if not isinstance(body, Mapping) or set(body) - {"low", "high", "log"} or "low" not in body \
            or "high" not in body:  # fmt: skip
        raise ConfigError(f"{spot} must be a mapping like {{low: 4, high: 64, log: true}}")
    low, high = _number(body["low"], f"{spot}.low"), _number(body["high"], f"{spot}.high")
    log = body.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{spot}.log must be true or false")
    if not low < high:
        raise ConfigError(f"{spot}: low must be below high")
    if log and low <= 0:
        raise ConfigError(f"{spot}: a log scale needs low above 0")
    integer = all(
        isinstance(body[k], int) and not isinstance(body[k], bool) for k in ("low", "high")
    )
    return Param(name=str(name), low=low, high=high, log=log, integer=integer)


def tune_config_from_dict(raw: Any, where: str) -> TuneConfig:
    """Build and check `tune:` (absent or null: no search)."""
    if raw is None:
        return TuneConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: field 'tune' must be a mapping")
    known = {"enabled", "trials", "timeout_seconds", "metric", "pruning", "space"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: tune: unknown field(s) {', '.join(map(str, unknown))}")
    defaults = TuneConfig()
    enabled, pruning = raw.get("enabled", True), raw.get("pruning", defaults.pruning)
    if not isinstance(enabled, bool) or not isinstance(pruning, bool):
        raise ConfigError(f"{where}: tune.enabled and tune.pruning must be true or false")
    trials = raw.get("trials", defaults.trials)
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= 10_000:
        raise ConfigError(f"{where}: tune.trials must be a whole number from 1 to 10000")
    timeout = _number(raw.get("timeout_seconds", defaults.timeout_seconds),
                      f"{where}: tune.timeout_seconds")  # fmt: skip
    if timeout <= 0:
        raise ConfigError(f"{where}: tune.timeout_seconds must be above 0")
    metric = raw.get("metric", defaults.metric)
    if metric not in TUNE_METRICS:
        raise ConfigError(f"{where}: tune.metric must be one of {', '.join(TUNE_METRICS)}")
    space = raw.get("space") or {}
    if not isinstance(space, Mapping):
        raise ConfigError(f"{where}: tune.space must be a mapping of parameter to bounds")
    params = tuple(_param(str(name), body, where) for name, body in space.items())
    return TuneConfig(enabled, trials, timeout, str(metric), pruning, params)
