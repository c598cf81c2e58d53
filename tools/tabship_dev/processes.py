"""Start a local server (Prometheus, Alertmanager, the Pushgateway, the service) on a loopback
port, wait until it answers, and stop it by its process id. Used by the monitoring tests.

Each program runs in its own session (process group), so that stopping it also stops what it
started (BentoML's workers) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tabship_dev.workspace import ToolError

T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    if not url.startswith("http://"):
        raise ToolError(f"{url}: a local server is reached over http://")
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - http only, above
            return int(answer.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def start(
    argv: Sequence[str],
    ready_url: str,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
    ready: Callable[[], bool] | None = None,
    preexec: Mapping[str, Any] | None = None,
) -> subprocess.Popen[bytes]:
    """Run ARGV with its output in LOG, and return once READY_URL answers 200 (or READY, a check
    of a server that speaks no HTTP, returns True). PREEXEC: more Popen arguments (user, group).

    Raises ToolError with the end of the log when the program exits or does not answer in time,
    and when something already answers READY_URL: a port that free_port() found free can be
    taken by another process before this one binds it, and its answers are not this program's.
    """
    answers = ready or (lambda: _answers(ready_url))
    if answers():
        raise ToolError(
            f"{ready_url or argv[0]} answers before {argv[0]} started: the port is taken"
        )
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, env=dict(env) if env else None,
            cwd=cwd, start_new_session=True, **(preexec or {}),
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while not answers():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise ToolError(f"{argv[0]} did not answer {ready_url} (log {log}):\n{tail}")
        time.sleep(0.1)
    if process.poll() is not None:  # it lost the port to another server that answered for it
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise ToolError(f"{argv[0]} exited though {ready_url} answers (log {log}):\n{tail}")
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the process's group (it leads its own session), SIGKILL it if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
        except ProcessLookupError:
            pass


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Call CHECK until it returns something other than None (or falsy), and return that.

    Raises ToolError naming WHAT after TIMEOUT seconds. For states that a running server reaches
    on its own clock (a scrape, a rule evaluation, an alert sent), never for timing claims.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise ToolError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def is_program(pid: int, program: str) -> bool:
    """PID is a live process of PROGRAM (a pid written down earlier may since belong to another
    process, and a zombie's command line is empty)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    # A script's first word is its interpreter: look at the second too.
    return program in {Path(word.decode(errors="replace")).name for word in argv[:2]}


def stop_pid(
    pid: int, program: str, timeout: float = 15.0, first: signal.Signals = signal.SIGTERM
) -> bool:
    """Stop the session that PID leads with FIRST, then SIGKILL if it lingers, when PID is still
    PROGRAM (a pid written down earlier may since belong to another process). False when it was
    not running."""
    if not is_program(pid, program):
        return False
    for sig in (first, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                _reap(pid)
                return True
            time.sleep(0.1)
    return True


def _reap(pid: int) -> None:
    """Collect PID's exit status when this process started it (else it stays a zombie)."""
    # Started by another process (an earlier `stack up`): its parent reaps it.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def running(pid: int) -> bool:
    """PID is a live process (a zombie, dead but not yet collected by its parent, is not)."""
    return Path(f"/proc/{pid}").exists() and not _zombie(pid)
