"""The monitoring folder's layout: the one owner of every path the service writes and the monitor,
the retrain and the simulator read.

`<monitoring>/<model name>/` holds one model's prediction log (`tabship_predictions/data/`, written
by the service before each answer), the challenger's shadow log (`tabship_shadow/data/`), the label files
(`labels/`) and the monitor's compacted parquet (`compacted/`, `compacted-shadow/`). The
monitoring folder is `$TABSHIP_PREDICTION_LOG`, else `prediction_log` in configs/project.yaml,
else `monitoring/`, each relative to the project's root, never to a working directory: a service
started from another folder, or in the serving image, logs where the monitor reads.

With a team store (TABSHIP_DATA_STORE=s3://...), each replica of the service also uploads its
closed log segments to `<store>/logs/<model name>/<replica>/<segment file>`, and the monitor and
the retrain fetch the other replicas' segments into the prediction log folder as
`data.r-<replica>.<segment file>`. A replica is named by $TABSHIP_REPLICA, else the host's name
(a pod's, on Kubernetes).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

LOG_ENV = "TABSHIP_PREDICTION_LOG"
DEFAULT_FOLDER = "monitoring"
# The streams' folder names (the layout bentoml.monitor used): `<home>/<name>/data/data.<worker>.log`.
PREDICTIONS_MONITOR = "tabship_predictions"
REPLICA_ENV = "TABSHIP_REPLICA"
REPLICA_LOGS = "logs"  # the team store's prefix of the replicas' log segments
SHIPPED_LEDGER = ".shipped"  # in the log folder, one per worker: segments uploaded
FETCHED_LEDGER = ".fetched"  # in the log folder: segments of other replicas downloaded
SHADOW_MONITOR = "tabship_shadow"
# In the compacted folder: how far the monitor has read each log file. The service deletes a
# segment at its cap only once this says it was read whole.
COMPACTION_STATE = "state.json"


def monitoring_root(root: Path, configured: str | None, env: str | None) -> Path:
    """ENV (the variable's value), else CONFIGURED (project.yaml), else `monitoring`, each
    resolved against ROOT when relative."""
    chosen = env or configured or DEFAULT_FOLDER
    return (root / chosen).resolve()


@dataclass(frozen=True)
class ModelLogs:
    """One model's folder in the monitoring folder, `<monitoring>/<model name>/`."""

    home: Path

    @classmethod
    def under(cls, monitoring: Path, model_name: str) -> ModelLogs:
        return cls(monitoring / model_name)

    @property
    def predictions(self) -> Path:
        """The service's prediction log, JSON lines per worker."""
        return self.home / PREDICTIONS_MONITOR / "data"

    @property
    def shadow(self) -> Path:
        """The challenger's shadow log (shadow mode)."""
        return self.home / SHADOW_MONITOR / "data"

    @property
    def labels(self) -> Path:
        """`prediction_id,label` CSV files, as ground truth arrives."""
        return self.home / "labels"

    @property
    def compacted(self) -> Path:
        """The monitor's parquet of the prediction log."""
        return self.home / "compacted"

    @property
    def compaction_state(self) -> Path:
        """How far the monitor's compaction has read each prediction log file."""
        return self.compacted / COMPACTION_STATE

    @property
    def compacted_shadow(self) -> Path:
        """The monitor's parquet of the shadow log."""
        return self.home / "compacted-shadow"


def replica_name() -> str:
    """This replica's name in the team store: $TABSHIP_REPLICA, else the host's name."""
    name = os.environ.get(REPLICA_ENV) or socket.gethostname()
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "replica"


def replica_prefix(model_name: str) -> str:
    """The team store's prefix holding every replica's segments of MODEL_NAME's log."""
    return f"{REPLICA_LOGS}/{model_name}"


def fetched_name(replica: str, segment: str) -> str:
    """The local name of another replica's segment: the monitor's `data.*.log*` glob reads it."""
    return f"data.r-{replica}.{segment}"
