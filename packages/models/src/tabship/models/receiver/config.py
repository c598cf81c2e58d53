"""The retraining receiver's settings, read from configs/receiver.yaml.

Secrets never sit in that file: each is named by where to read it, `{env: NAME}` or
`{file: PATH}`, and read once at start (restart the receiver to rotate one). Every fault is a
ConfigError of one line naming the file and the field.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any

from tabship.data import ConfigError, read_yaml_mapping

MODES = ("local", "gitlab", "github", "jenkins")
# The retrain command's --trigger values; `manual` and `schedule` never come from an alert.
TRIGGERS = ("manual", "schedule", "drift", "live_drop", "estimate_drop")
DEFAULT_TRIGGERS = {
    "TabshipFeatureDrift": "drift",
    "TabshipLive*Drop": "live_drop",
    "TabshipEstimated*Drop": "estimate_drop",
}
DEFAULT_COMMAND = ("nox", "-s", "retrain", "--", "--trigger", "{trigger}", "--dataset", "{dataset}")
# What a local command's arguments may name: the request's fields.
PLACEHOLDERS = frozenset({"trigger", "dataset", "model_name", "alertnames"})
TOP = {"host", "port", "path", "auth", "dedup_window_seconds", "unknown_alerts", "triggers", "mode"}


@dataclass(frozen=True)
class LocalSettings:
    """Start COMMAND (placeholders filled in) in CWD, one job at a time, output to LOG."""

    command: tuple[str, ...]
    cwd: Path
    log: Path


@dataclass(frozen=True)
class RemoteSettings:
    """A CI server to ask for a pipeline: its base URL and what each API needs."""

    url: str
    token: str = field(repr=False)
    project: str = ""  # GitLab: project id or path
    ref: str = ""  # GitLab: branch or tag
    repository: str = ""  # GitHub: owner/name
    event_type: str = ""  # GitHub: repository_dispatch event_type
    job: str = ""  # Jenkins: job name, folders separated by /
    user: str = ""  # Jenkins: the user whose API token `token` is


@dataclass(frozen=True)
class ReceiverConfig:
    """What configs/receiver.yaml says, with its secrets read."""

    host: str
    port: int
    path: str
    bearer_token: str | None = field(repr=False)
    hmac_secret: bytes | None = field(repr=False)
    dedup_window_seconds: float
    unknown_alerts: str  # "refuse" (422) or "ignore" (200)
    triggers: dict[str, str]
    mode: str
    local: LocalSettings | None = None
    remote: RemoteSettings | None = None
    source: str = "<memory>"

    def trigger_for(self, alertname: str) -> str | None:
        """The trigger the first matching pattern (fnmatch, in file order) names, or None."""
        for pattern, trigger in self.triggers.items():
            if fnmatch.fnmatchcase(alertname, pattern):
                return trigger
        return None


def read_secret(spec: Any, where: str, env: Mapping[str, str]) -> str:
    """The secret that SPEC (`{env: NAME}` or `{file: PATH}`) points at, stripped of whitespace."""
    if isinstance(spec, str):
        raise ConfigError(
            f"{where}: a secret is not written here: give {{env: NAME}} or {{file: PATH}}"
        )
    if not isinstance(spec, dict) or len(spec) != 1 or not {"env", "file"} >= set(spec):
        raise ConfigError(f"{where}: must be {{env: NAME}} or {{file: PATH}}")
    if "env" in spec:
        value = env.get(str(spec["env"]), "").strip()
        if not value:
            raise ConfigError(f"{where}: the environment variable {spec['env']} is not set")
        return value
    path = Path(str(spec["file"])).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{where}: cannot read {path}: {error.strerror}") from None
    if not value:
        raise ConfigError(f"{where}: {path} is empty")
    return value


def _string(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: field '{key}' must be a non-empty string")
    return value


def _url(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = _string(raw, key, where, default)
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: field '{key}' must be an http(s) URL, not {value!r}")
    return value.rstrip("/")


def _mapping(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: field '{key}' must be a mapping")
    return value


def _command(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
        raise ConfigError(f"{where}: must be a non-empty list of strings (the argv)")
    for argument in raw:
        try:
            names = {name for _, name, _, _ in Formatter().parse(argument) if name is not None}
        except ValueError as error:
            raise ConfigError(f"{where}: {argument!r}: {error}") from None
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ConfigError(
                f"{where}: {argument!r} names {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}"
            )
    return tuple(raw)


def _local(raw: Mapping[str, Any], where: str, root: Path) -> LocalSettings:
    command = _command(raw.get("command", list(DEFAULT_COMMAND)), f"{where}.command")
    cwd = root / _string(raw, "cwd", where, ".")
    log = root / _string(raw, "log", where, "artifacts/receiver/jobs.log")
    return LocalSettings(command=command, cwd=cwd, log=log)


def _remote(
    mode: str, raw: Mapping[str, Any], where: str, env: Mapping[str, str]
) -> RemoteSettings:
    token = read_secret(raw.get("token"), f"{where}.token", env)
    if mode == "gitlab":
        project = raw.get("project")
        if isinstance(project, bool) or not isinstance(project, str | int) or project == "":
            raise ConfigError(f"{where}: field 'project' must be the project's id or path")
        url = _url(raw, "url", where, "https://gitlab.com")
        ref = _string(raw, "ref", where, "main")
        return RemoteSettings(url=url, token=token, project=str(project), ref=ref)
    if mode == "github":
        repository = _string(raw, "repository", where)
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise ConfigError(f"{where}: field 'repository' must be OWNER/NAME, not {repository!r}")
        event_type = _string(raw, "event_type", where, "tabship-retrain")
        if len(event_type) > 100:  # GitHub's limit for repository_dispatch
            raise ConfigError(f"{where}: field 'event_type' must be at most 100 characters")
        url = _url(raw, "url", where, "https://api.github.com")
        return RemoteSettings(url=url, token=token, repository=repository, event_type=event_type)
    user = raw.get("user")
    # The Jenkins user's name is no secret, but it may come from the environment like the token.
    login: object = read_secret(user, f"{where}.user", env) if isinstance(user, dict) else user
    if not isinstance(login, str) or not login:
        raise ConfigError(f"{where}: field 'user' must be the Jenkins user whose API token is used")
    job = _string(raw, "job", where).strip("/")
    return RemoteSettings(url=_url(raw, "url", where), token=token, job=job, user=login)


def _triggers(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return dict(DEFAULT_TRIGGERS)
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: field 'triggers' must map alert names (globs) to triggers")
    for pattern, trigger in raw.items():
        if trigger not in TRIGGERS:
            raise ConfigError(f"{where}: triggers.{pattern}: {trigger!r} is not one of {TRIGGERS}")
    return {str(k): str(v) for k, v in raw.items()}


def _auth(
    raw: Mapping[str, Any], where: str, env: Mapping[str, str]
) -> tuple[str | None, bytes | None]:
    unknown = sorted(set(raw) - {"bearer_token", "hmac_secret"})
    if unknown:
        raise ConfigError(f"{where}: auth: unknown field(s) {', '.join(unknown)}")
    token = raw.get("bearer_token")
    secret = raw.get("hmac_secret")
    if token is None and secret is None:
        raise ConfigError(f"{where}: auth needs bearer_token or hmac_secret (or both)")
    return (
        read_secret(token, f"{where}: auth.bearer_token", env) if token is not None else None,
        read_secret(secret, f"{where}: auth.hmac_secret", env).encode()
        if secret is not None
        else None,
    )


def receiver_config_from_dict(
    raw: Mapping[str, Any], where: str, root: Path, env: Mapping[str, str]
) -> ReceiverConfig:
    """Build and check the config; ROOT anchors the local job's relative paths."""
    unknown = sorted(set(raw) - TOP - set(MODES))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    mode = raw.get("mode", "local")
    if mode not in MODES:
        raise ConfigError(f"{where}: field 'mode' must be one of {', '.join(MODES)}, not {mode!r}")
    port = raw.get("port", 9095)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{where}: field 'port' must be a TCP port number (0: any free one)")
    window = raw.get("dedup_window_seconds", 3600)
    if isinstance(window, bool) or not isinstance(window, int | float) or window < 0:
        raise ConfigError(f"{where}: field 'dedup_window_seconds' must be a number >= 0")
    unknown_alerts = raw.get("unknown_alerts", "refuse")
    if unknown_alerts not in ("refuse", "ignore"):
        raise ConfigError(f"{where}: field 'unknown_alerts' must be refuse or ignore")
    path = _string(raw, "path", where, "/alerts")
    if not path.startswith("/"):
        raise ConfigError(f"{where}: field 'path' must start with /")
    token, secret = _auth(_mapping(raw, "auth", where), where, env)
    settings = _mapping(raw, mode, where)
    section = f"{where}: {mode}"
    return ReceiverConfig(
        host=_string(raw, "host", where, "127.0.0.1"), port=port, path=path,
        bearer_token=token, hmac_secret=secret, dedup_window_seconds=float(window),
        unknown_alerts=unknown_alerts, triggers=_triggers(raw.get("triggers"), where), mode=mode,
        local=_local(settings, section, root) if mode == "local" else None,
        remote=None if mode == "local" else _remote(mode, settings, section, env), source=where,
    )  # fmt: skip


def load_receiver_config(
    path: Path, root: Path, env: Mapping[str, str] | None = None
) -> ReceiverConfig:
    """Read PATH (configs/receiver.yaml) and the secrets it names from ENV (default: os.environ)."""
    raw = read_yaml_mapping(path, ConfigError)
    return receiver_config_from_dict(raw, str(path), root, os.environ if env is None else env)
