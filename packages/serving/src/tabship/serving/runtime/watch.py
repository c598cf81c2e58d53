"""Each worker's background thread: follow the other workers' reloads, and watch the registry.

Twice a second it reads the marker a reloading worker writes (`Reloader.follow`: a file read).
With `reload_watch_seconds` set it also reads the registry's `champion` (and, in shadow mode,
`challenger`) alias that often, and reloads when either names another run than the last one
seen. The watch reads two aliases and nothing else until they move, so it costs the registry
two queries per period per worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from tabship.serving.runtime.reload import Reloader, ReloadError, Source
from tabship.serving.runtime.served import Served

TICK = 0.5  # seconds between two reads of the marker
log = logging.getLogger("tabship.serving.runtime.reload")
State = tuple[str | None, str | None]  # the run ids of the champion and the challenger


def served_state(served: Served) -> State:
    """The run ids a worker serves, in the registry watch's terms."""
    challenger = served.challenger.facts.run_id if served.challenger else None
    return served.champion.facts.run_id, challenger


class RegistryWatch:
    """Reload when the registry's aliases move; each new state of them is tried once (again
    after a failure that may pass, such as a locked registry, but not after a 409)."""

    def __init__(self, reloader: Reloader, source: Source) -> None:
        self.reloader = reloader
        self.source = source
        self.seen = served_state(reloader.current)
        self._registry: Any = None  # opened on the first check, in the thread

    def state(self) -> State:
        """The run ids the registry's aliases name now."""
        from tabship.models import CHALLENGER, CHAMPION, Registry

        if self._registry is None:
            self._registry = Registry.for_dataset(self.source.project, self.source.dataset)
        champion = self._registry.alias(CHAMPION)
        challenger = self._registry.alias(CHALLENGER) if self.reloader.shadow else None
        return (champion.run_id if champion else None, challenger.run_id if challenger else None)

    def check(self) -> None:
        """One look at the registry; a reload when it moved."""
        state = self.state()
        if state == self.seen:
            return
        try:
            self.reloader.reload()
        except ReloadError as error:
            log.warning("registry watch: %s", error.body.message)
            if error.body.status != 409:
                return  # perhaps passing: the next check tries again
        self.seen = state


def _safely(step: Callable[[], None]) -> None:
    # The thread must outlive any one failure, or the worker would silently stop following.
    try:
        step()
    except Exception as error:
        log.warning("model watch: %s: %s", type(error).__name__, error)


def start_watch(reloader: Reloader, watch_seconds: float) -> threading.Thread:
    """Start the worker's daemon thread (marker always; registry when WATCH_SECONDS > 0)."""
    watch = None
    if watch_seconds > 0 and reloader.source is not None:
        watch = RegistryWatch(reloader, reloader.source)
    elif watch_seconds > 0:
        log.warning("reload_watch_seconds is set, but the service has no project to watch")

    def loop() -> None:
        due = time.monotonic() + watch_seconds
        while True:
            time.sleep(TICK)
            _safely(reloader.follow)
            if watch is not None and time.monotonic() >= due:
                _safely(watch.check)
                due = time.monotonic() + watch_seconds

    thread = threading.Thread(target=loop, name="tabship-model-watch", daemon=True)
    thread.start()
    return thread
