"""One partition's ingest, as a Dask worker runs it: the single-process run, on one source file.

Each partition is read, coerced, validated with the dataset's pandera schema, checked for
duplicate keys within itself, split and written by the same `IngestRun` the single-process engine
uses, into a folder of its own in the run's temporary folder. Nothing here talks to the cluster:
the worker returns the partition's counts, and the driver (partitioned.py) sums them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tabship.data.config.dataset import DatasetConfig
from tabship.data.config.schema import DatasetSchema
from tabship.data.files import file_sha256
from tabship.data.ingestion.chunks import DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_ROWS
from tabship.data.ingestion.report import RunStats
from tabship.data.ingestion.run import IngestRun
from tabship.data.versions import store as st


@dataclass(frozen=True)
class PartitionOutcome:
    """What a worker hands back: the partition's counts and where its two files are."""

    index: int
    stats: RunStats
    data_file: Path
    quarantine_file: Path


def part_folder(temp: Path, index: int) -> Path:
    """Where partition INDEX is written inside the run's temporary folder."""
    return temp / f".part-{index:05d}"


def ingest_partition(
    cfg: DatasetConfig,
    schema: DatasetSchema,
    index: int,
    path: Path,
    role: str,
    temp: Path,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> PartitionOutcome:
    """Read, check and write partition INDEX (the file PATH, in role ROLE) under TEMP."""
    folder = part_folder(temp, index)
    folder.mkdir()
    run = IngestRun(cfg, schema, folder, None)
    try:
        run.read_source(path, role, DEFAULT_CHUNK_BYTES, chunk_rows)
        run.finish()
    except BaseException:
        run.abort()
        raise
    # Hashed here, where the file was just read (it is in this machine's page cache).
    run.stats.sources[0].sha256 = file_sha256(path)
    return PartitionOutcome(index, run.stats, run.data_path, folder / st.QUARANTINE_FILE)
