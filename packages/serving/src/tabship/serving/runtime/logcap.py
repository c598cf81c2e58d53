"""Which closed segments of the prediction log have been read, so that the log's cap
(`log_max_bytes`) may delete them: uploaded to the team store (the shipper's ledger), or
compacted by the monitor on this machine (its state says it read the file to its end)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tabship.data import ModelLogs
from tabship.serving.runtime.shipper import Shipper


def read_segments(logs: ModelLogs, shipper: Shipper | None) -> Callable[[Path], bool]:
    """consumed(path): whether the segment at PATH was read whole, by the shipper or the monitor."""

    def consumed(path: Path) -> bool:
        if shipper is not None and path.name in shipper.shipped():
            return True
        try:
            state = json.loads(logs.compaction_state.read_text(encoding="utf-8"))["files"]
            seen = state[path.name]
            status = path.stat()
            return bool(seen["inode"] == status.st_ino and seen["offset"] >= status.st_size)
        except (OSError, ValueError, KeyError, TypeError):
            return False

    return consumed
