"""Each replica's prediction log, shipped to the team's object store (TABSHIP_DATA_STORE=s3://...).

A thread closes the worker's log segment when it is due and uploads every closed segment that is
not yet in the ledger (`.shipped.<worker>` beside the segments) to
`<store>/logs/<model>/<replica>/<segment>`, then adds it to the ledger. An upload is whole or
absent (S3 shows an object only once complete), and a segment is never written after it closes,
so the monitor reading the store sees each segment once, complete. A store that is down only
delays the upload: the segment stays on disk and goes at the next round. At exit the open segment
is closed and shipped; after a kill -9, the next start of the replica ships it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path

from tabship.data import SHIPPED_LEDGER, ObjectStore, StoreError, replica_name, replica_prefix
from tabship.serving.runtime.predictlog import PredictionLog

log = logging.getLogger("tabship.serving")


class Shipper:
    """Uploads one worker's closed segments of MODEL_NAME's log into STORE."""

    def __init__(self, prediction_log: PredictionLog, store: ObjectStore, model_name: str) -> None:
        self.log = prediction_log
        self.store = store
        self.prefix = f"{replica_prefix(model_name)}/{replica_name()}"
        self.ledger = prediction_log.folder / f"{SHIPPED_LEDGER}.{prediction_log.worker}"
        self._lock = threading.Lock()  # the thread and the exit hook never ship at once
        self._failed: str | None = None

    def shipped(self) -> set[str]:
        if not self.ledger.is_file():
            return set()
        return set(self.ledger.read_text(encoding="utf-8").split())

    def ship(self, close: bool = False) -> int:
        """Close the open segment if due (or CLOSE), upload the closed ones not yet shipped;
        returns how many went. A store error is logged once and retried next time."""
        with self._lock:
            self.log.rotate(force=close)
            done = self.shipped()
            sent = 0
            try:
                for path in self.log.closed_segments():
                    if path.name not in done:
                        self.store.upload(f"{self.prefix}/{path.name}", path)
                        self._record(path)
                        sent += 1
            except StoreError as error:
                if str(error) != self._failed:
                    log.warning("prediction log not shipped yet (kept on disk): %s", error)
                self._failed = str(error)
                return sent
            self._failed = None
            return sent

    def _record(self, path: Path) -> None:
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger.open("a", encoding="utf-8") as handle:
            handle.write(path.name + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def start(self, seconds: float) -> None:
        """Ship every SECONDS in a daemon thread, and once more at exit."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(seconds):
                self.ship()

        def at_exit() -> None:
            stop.set()
            self.ship(close=True)

        threading.Thread(target=loop, name="tabship-log-shipper", daemon=True).start()
        atexit.register(at_exit)


def start_shipper(
    prediction_log: PredictionLog, remote_store: str | None, model_name: str, seconds: float
) -> Shipper | None:
    """A running shipper when the project has a team store; None on one machine."""
    if remote_store is None:
        return None
    shipper = Shipper(prediction_log, ObjectStore(remote_store), model_name)
    shipper.start(seconds)
    return shipper
