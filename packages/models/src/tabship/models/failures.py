"""Any failure of a command as one line: its kind and its first line (libraries chain many), a
full disk named as such wherever it is in the chain, and the MLflow server's address when a
request to it failed. The CLI prints it; nothing here imports a heavy library."""

from __future__ import annotations

import os

MLFLOW_SIDE = {"mlflow", "requests", "urllib3"}  # where a tracking server's failures come from
DISK_FULL = ("No space left on device", "database or disk is full", "File too large")


def _disk_full(error: BaseException) -> str | None:
    """The line that says the disk is full, anywhere in ERROR's chain of causes, or None."""
    seen: BaseException | None = error
    while seen is not None:
        for line in str(seen).splitlines():
            if any(marker in line for marker in DISK_FULL):
                return line.strip()
        seen = seen.__cause__ or seen.__context__
    return None


def failure_line(error: Exception) -> str:
    """One line for any failure: its kind and its first line (libraries chain many), after the
    MLflow server's address when a request to it failed mid-command."""
    text = str(error).strip()
    first = f"{type(error).__name__}: {text.splitlines()[0] if text else '(no message)'}"[:300]
    full = _disk_full(error)
    if full is not None:
        first = f"the disk is full: {full}"[:300]
    server = os.environ.get("MLFLOW_TRACKING_URI", "")
    if server.startswith("http") and type(error).__module__.split(".")[0] in MLFLOW_SIDE:
        # MLflow failed, so it is loaded already: the registry's import costs nothing more.
        from tabship.models.registry.registry import display_uri

        return f"MLflow server {display_uri(server)}: {first}"
    return first
