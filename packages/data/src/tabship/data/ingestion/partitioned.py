"""Ingest on a Dask cluster: one task per source partition, then the passes that span partitions.

Each source file is a partition. The workers run partitionwork.ingest_partition on them in
parallel (the same reader, coercion, pandera schema, quarantine and row-hash split as the
single-process engine, per partition); the driver then gathers their counts, moves the accepted
rows into `data/part-NNNNN.parquet` (one per partition, no shuffle) and the quarantined rows into
one quarantine.jsonl in partition order, runs the checks that span partitions (crosscheck.py)
and publishes the version like the single-process engine does.

The version's name is the content hash of the same inputs plus the layout `partitioned`, so the
same files give the same version whatever the cluster's shape or the order tasks finish in. The
store and the source files must be on a filesystem every worker sees (a LocalCluster shares this
machine's).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tabship.data.config.dataset import DatasetConfig, load_config
from tabship.data.config.schema import DatasetSchema, load_schema
from tabship.data.errors import ConfigError, DataError
from tabship.data.files import display_path, file_sha256
from tabship.data.ingestion.chunks import DEFAULT_CHUNK_ROWS
from tabship.data.ingestion.crosscheck import quarantine_duplicate_keys, rows_in_both_splits
from tabship.data.ingestion.outcome import IngestResult, conclude, existing_result
from tabship.data.ingestion.partition import PartitionOutcome, ingest_partition
from tabship.data.ingestion.pipeline import source_plan, stamp, version_name
from tabship.data.ingestion.report import RunStats, merge_stats
from tabship.data.project import default_store
from tabship.data.versions import store as st

if TYPE_CHECKING:
    from distributed import Client

LAYOUT = "partitioned"


def part_name(index: int) -> str:
    """Partition INDEX's data file, relative to the version folder."""
    return f"{st.PARTS_FOLDER}/part-{index:05d}.parquet"


@dataclass
class PartitionedRun:
    """The gathered partitions of one run, laid out as the version folder will hold them."""

    cfg: DatasetConfig
    schema: DatasetSchema
    temp: Path
    stats: RunStats = field(default_factory=RunStats)
    parts: dict[str, Path] = field(default_factory=dict)

    def data_files(self) -> dict[str, Path]:
        return dict(self.parts)

    def manifest_extra(self) -> dict[str, object]:
        """The partitions: each one's index, source file and data file (hashes: `files`)."""
        return {
            "layout": LAYOUT,
            "partitions": [
                {"index": index, "source": source.path, "file": name}
                for index, (source, name) in enumerate(
                    zip(self.stats.sources, self.parts, strict=True)
                )
            ],
        }

    def gather(self, outcomes: Sequence[PartitionOutcome]) -> None:
        """Move each partition's files into place (in partition order) and sum its counts."""
        (self.temp / st.PARTS_FOLDER).mkdir()
        with (self.temp / st.QUARANTINE_FILE).open("wb") as quarantine:
            for outcome in sorted(outcomes, key=lambda o: o.index):
                name = part_name(outcome.index)
                outcome.data_file.replace(self.temp / name)
                self.parts[name] = self.temp / name
                with outcome.quarantine_file.open("rb") as part:
                    shutil.copyfileobj(part, quarantine)
                shutil.rmtree(outcome.data_file.parent)
        self.stats = merge_stats([o.stats for o in sorted(outcomes, key=lambda o: o.index)])


def ingest_partitioned(
    client: Client,
    dataset: str | DatasetConfig | None = None,
    *,
    config: Path | str | None = None,
    store: Path | str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    """Ingest DATASET on CLIENT's cluster, one task per source file; see `tabship.data.ingestion`
    for the errors. A dataset whose `file` split takes feedback is refused: a feedback row's split
    then depends on every base row, which this engine does not gather yet."""
    say = progress or (lambda _: None)
    cfg = dataset if isinstance(dataset, DatasetConfig) else load_config(config, dataset)
    schema = load_schema(cfg)
    if cfg.split.method == "file" and cfg.feedback_sources():
        raise ConfigError(
            f"{cfg.name}: the dask engine does not ingest feedback files under the file split "
            "yet; use the single engine, or the hash split"
        )
    plan = source_plan(cfg)
    stamps = [stamp(path) for path, _ in plan]
    root = Path(store) if store is not None else default_store()
    sizes = [(role, size) for (_, role), (size, _) in zip(plan, stamps, strict=True)]
    if st.could_exist(root, cfg.name, cfg.config_hash(), schema.schema_hash, sizes):
        digests = [file_sha256(path) for path, _ in plan]
        version = version_name(cfg, schema.schema_hash, plan, digests, LAYOUT)[0]
        final = st.version_dir(root, cfg.name, version)
        if (final / st.MANIFEST_FILE).is_file():
            st.set_latest(root, cfg.name, version)
            return existing_result(cfg.name, version, final)
    temp = st.new_temp_dir(root, cfg.name)
    try:
        started = time.perf_counter()
        say(f"ingest: {len(plan)} partitions on {len(client.scheduler_info()['workers'])} workers")
        futures = client.map(
            ingest_partition,
            [cfg] * len(plan),
            [schema] * len(plan),
            range(len(plan)),
            [path.resolve() for path, _ in plan],
            [role for _, role in plan],
            [temp] * len(plan),
            [chunk_rows] * len(plan),
            pure=False,
        )
        try:
            outcomes: list[PartitionOutcome] = client.gather(futures)
        except BaseException:
            client.cancel(futures)
            raise
        run = PartitionedRun(cfg, schema, temp)
        run.gather(outcomes)
        say("ingest: checks across partitions")
        if cfg.key:
            quarantine_duplicate_keys(run.cfg, run.stats, run.parts, temp / st.QUARANTINE_FILE)
        if cfg.split.method == "file":
            run.stats.rows_in_both_splits = rows_in_both_splits(list(run.parts.values()))
        for (path, _), before in zip(plan, stamps, strict=True):
            if stamp(path) != before:
                raise DataError("file changed while it was being ingested", path=display_path(path))
        digests = [source.sha256 for source in run.stats.sources]
        version, full_hash = version_name(cfg, schema.schema_hash, plan, digests, LAYOUT)
        return conclude(run, root, version, full_hash, time.perf_counter() - started)
    finally:
        st.discard(temp)  # a no-op once the folder has been renamed into place
