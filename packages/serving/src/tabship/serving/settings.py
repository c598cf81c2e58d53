"""Serving limits and knobs, read from configs/serving.yaml (unknown keys are errors)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from tabship.data import (
    LOG_ENV,
    ConfigError,
    Project,
    find_project,
    project_at,
    read_yaml_mapping,
)

SETTINGS_ENV = "TABSHIP_SERVING_CONFIG"
MODEL_TAG_ENV = "TABSHIP_MODEL_TAG"
# The challenger to shadow at start (set by `tabship-serving serve` when `shadow` is on).
CHALLENGER_TAG_ENV = "TABSHIP_CHALLENGER_TAG"
# The project and dataset whose registry the service follows (TABSHIP_PROJECT is tabship.data's
# own variable: `find_project` reads it too).
PROJECT_ENV = "TABSHIP_PROJECT"
DATASET_ENV = "TABSHIP_DATASET"
# YAML types per annotation: a wrong type is one line naming the key, not a failure at run time.
TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,),
                                      "str": (str,)}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """Defaults are the documented values; configs/serving.yaml may override any of them."""

    max_records: int = 10_000  # records per /predict request
    max_explain_records: int = 1_000  # records per /explain request (contributions cost more)
    max_bulk_rows: int = 200_000  # rows per /predict_columns request
    max_request_bytes: int = 32 * 1024 * 1024  # any body above this gets a 413, unread
    # Request bodies a worker reads, parses and scores at once; past it a 503 (Retry-After: 1),
    # unread. Two of the largest requests at once: about 1 GB of a worker's memory.
    max_bytes_in_flight: int = 64 * 1024 * 1024
    top_k: int = 5  # contributions per record from /explain, unless the request asks
    tracing: bool = False  # OpenTelemetry spans per request (set BentoML's tracing exporter too)
    workers: int = 1  # one process: LightGBM single-row scoring is far from the bottleneck
    # The variable holding POST /admin/reload's bearer token; unset or empty: reload is off (403).
    reload_token_env: str = "TABSHIP_RELOAD_TOKEN"  # noqa: S105  (a variable's name)
    reload_watch_seconds: float = 0  # poll the registry's champion this often; 0: no watch
    # With a team store: close the prediction log's segment this often and upload it.
    log_segment_seconds: float = 60
    # The prediction log's cap on this disk, shared by the workers: at it, segments already read
    # (uploaded, or compacted by the monitor) are deleted; when none is, predictions get a 503.
    log_max_bytes: int = 1024**3
    shadow: bool = False  # score every request with the registry's challenger too, and log it
    # Serving on an address other than loopback with TABSHIP_API_TOKEN unset is refused unless
    # this says so (a proxy in front that authenticates, say): auth must not go off unnoticed.
    allow_unauthenticated: bool = False


def load_settings(path: Path | str | None = None) -> Settings:
    """Settings from PATH (or $TABSHIP_SERVING_CONFIG); the defaults when neither is given."""
    chosen = path or os.environ.get(SETTINGS_ENV)
    settings = Settings()
    if chosen:
        raw: Any = read_yaml_mapping(Path(chosen))
        known = {f.name: str(f.type) for f in fields(Settings)}
        if "prediction_log" in raw:
            raise ConfigError(
                f"{chosen}: prediction_log moved to configs/project.yaml (or set {LOG_ENV}): "
                "the service, the monitor and the retrain read that one setting"
            )
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ConfigError(f"{chosen}: unknown setting(s) {', '.join(unknown)}")
        for key, value in raw.items():
            wanted = TYPES[known[key]]
            # bool is an int to Python, not to a reader of the file: `workers: true` is a mistake.
            if not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool)):
                raise ConfigError(f"{chosen}: {key} must be of type {known[key]}, not {value!r}")
        if raw.get("log_max_bytes", 1024**3) < 1024**2:
            raise ConfigError(f"{chosen}: log_max_bytes must be 1048576 (1 MiB) or more")
        if raw.get("log_segment_seconds", 60) <= 0:
            raise ConfigError(f"{chosen}: log_segment_seconds must be more than 0")
        if raw.get("reload_watch_seconds", 0) < 0:
            raise ConfigError(f"{chosen}: reload_watch_seconds must be 0 (off) or more")
        settings = replace(settings, **raw)
    return settings


def serving_project() -> Project:
    """The service's project: the one `tabship-serving serve` names in $TABSHIP_PROJECT, or the
    one found from the working directory; outside any project (a bento, the image), the working
    directory with the environment's settings ($TABSHIP_PREDICTION_LOG, $TABSHIP_DATA_STORE)."""
    try:
        return find_project()
    except ConfigError:
        return project_at(Path.cwd())


MAX_SECRET_BYTES = 4096


def secret(name: str, environ: dict[str, str] | None = None) -> str | None:
    """A token from the variable NAME, or from the file the variable NAME_FILE names (how
    Kubernetes and podman mount secrets: no token in the process's environment, where `ps e` and
    a crash report would show it). The file's trailing newline is dropped. Both set, an unreadable
    or empty file: ConfigError, in one line. Neither: None."""
    env = os.environ if environ is None else environ
    direct, path = env.get(name) or None, env.get(f"{name}_FILE") or None
    if direct and path:
        raise ConfigError(f"{name} and {name}_FILE are both set: set one")
    if path is None:
        return direct
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{name}_FILE={path}: cannot read it ({error.strerror})") from None
    text = data.decode("utf-8", errors="replace").rstrip("\r\n")
    if not text or len(data) > MAX_SECRET_BYTES or any(c.isspace() for c in text):
        raise ConfigError(f"{name}_FILE={path}: not a token (one line of at most 4 KiB, no spaces)")
    return text
