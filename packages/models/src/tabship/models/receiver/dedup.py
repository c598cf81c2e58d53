"""Keys seen within a time window: the receiver's memory of alert groups it already acted on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RecentKeys:
    """Remembers each key for WINDOW seconds (by CLOCK, monotonic by default); thread-safe."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Remember KEY and return True, or return False when it was seen within the window."""
        now = self._clock()
        with self._lock:
            # Forget the expired keys: the dict stays as small as one window's alert groups.
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._window}
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def forget(self, key: str) -> None:
        """Drop KEY, so that the same group sent again is acted on (its dispatch failed)."""
        with self._lock:
            self._seen.pop(key, None)
