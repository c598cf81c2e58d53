"""The receiver's worker thread: it takes retrain requests off a bounded queue and dispatches
them one at a time, so that the webhook answers at once and never waits for a pipeline."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from tabship.models.receiver.alertgroup import RetrainRequest
from tabship.models.receiver.dispatch import Dispatcher, DispatchError

log = logging.getLogger("tabship.receiver")


class DispatchQueue:
    """At most MAX_PENDING requests wait while one is dispatched; ON_FAILURE hears of each
    request whose dispatch failed."""

    def __init__(
        self,
        dispatch: Dispatcher,
        max_pending: int,
        on_failure: Callable[[RetrainRequest], None] = lambda _: None,
    ) -> None:
        self._dispatch = dispatch
        self._on_failure = on_failure
        self._max_pending = max_pending
        self._queue: queue.Queue[RetrainRequest] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retrain-dispatch", daemon=True)
        self._thread.start()

    def submit(self, request: RetrainRequest) -> bool:
        """Queue REQUEST; False (and nothing queued) when MAX_PENDING already wait."""
        # Counted as queued plus running, not by the queue's size: whether the worker has taken
        # the first request yet must not decide whether the second one is dropped.
        with self._lock:
            if self._queue.unfinished_tasks > self._max_pending:
                return False
            self._queue.put(request)
        return True

    def pending(self) -> int:
        """Requests queued or being dispatched."""
        return self._queue.unfinished_tasks

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False if TIMEOUT passed first."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        """Stop taking requests, cancel a running local job, and end the thread."""
        self._stopping.set()
        self._dispatch.cancel()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                request = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                log.info("dispatching %s retrain of %s (%s)", request.trigger, request.dataset,
                         ", ".join(request.alertnames))  # fmt: skip
                log.info("dispatched: %s", self._dispatch(request))
            except DispatchError as error:
                log.error("dispatch failed: %s", error)
                self._on_failure(request)
            except Exception as error:  # the thread must outlive any one request
                log.error("dispatch failed: %s: %s", type(error).__name__, error)
                self._on_failure(request)
            finally:
                self._queue.task_done()
