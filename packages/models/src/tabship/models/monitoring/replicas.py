"""The other replicas' prediction logs, fetched from the team store before the monitor or the
retrain reads the log (tabship.data.logpaths has the layout; the service's runtime/shipper.py
uploads them).

Each segment in `<store>/logs/<model>/<replica>/` is downloaded once into the prediction log
folder as `data.r-<replica>.<segment>` and its key added to the `.fetched` ledger, so the log's
compaction, which reads every `data.*.log*` file from where it stopped, reads each row of every
replica exactly once. This machine's own replica is skipped: its segments are on disk already.
"""

from __future__ import annotations

import os
from pathlib import Path

from tabship.data import (
    FETCHED_LEDGER,
    ObjectStore,
    Project,
    fetched_name,
    replica_name,
    replica_prefix,
)
from tabship.models.progress import Progress


def fetch_replica_logs(project: Project, model_name: str, folder: Path, say: Progress) -> int:
    """Download the segments of MODEL_NAME's log that other replicas shipped and FOLDER lacks;
    returns how many, and says so when there were any. Nothing happens without a team store."""
    if project.remote_store is None:
        return 0
    store = ObjectStore(project.remote_store)
    prefix = replica_prefix(model_name)
    ledger = folder / FETCHED_LEDGER
    done = set(ledger.read_text(encoding="utf-8").split()) if ledger.is_file() else set()
    own = replica_name()
    fetched = 0
    for key in store.keys(prefix):
        replica, _, segment = key.removeprefix(prefix + "/").partition("/")
        if replica == own or not segment or "/" in segment or key in done:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / fetched_name(replica, segment)
        partial = target.with_name(f".{target.name}.part")  # not matched by the `data.*` glob
        store.download(key, partial)
        partial.replace(target)
        with ledger.open("a", encoding="utf-8") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        fetched += 1
    if fetched:
        say(f"log: {fetched} segment(s) of other replicas fetched from {project.remote_store}")
    return fetched
