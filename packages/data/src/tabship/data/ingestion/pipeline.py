"""Ingest: raw source files to a validated, versioned dataset. This module only wires the steps.

read (reader) -> coerce to the schema's dtypes (coerce) -> validate with pandera (schema) -> duplicate
keys (keys) -> quarantine or accept (quarantine) -> row identity and split (splits), chunk by chunk
in `ingestrun.IngestRun` -> report, manifest, version folder and `latest` (outcome, store).

Every row read is either accepted or quarantined; `IngestResult` and the report carry both counts,
and a run that would break that invariant raises rather than publish.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tabship.data.config.dataset import DatasetConfig, load_config
from tabship.data.config.schema import DatasetSchema, load_schema
from tabship.data.errors import ConfigError, DataError
from tabship.data.files import display_path, file_sha256
from tabship.data.ingestion.chunks import DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_ROWS
from tabship.data.ingestion.outcome import IngestResult, conclude, existing_result
from tabship.data.ingestion.reader import check_readable
from tabship.data.ingestion.run import IngestRun, Progress
from tabship.data.project import default_store
from tabship.data.versions import store as st
from tabship.data.versions.splits import FEEDBACK

__all__ = ["IngestResult", "Progress", "ingest"]


def ingest(
    dataset: str | DatasetConfig | None = None,
    sources: Sequence[Path | str] | None = None,
    *,
    holdout: Sequence[Path | str] | None = None,
    config: Path | str | None = None,
    store: Path | str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest DATASET (a name from the config, or a loaded config; default: the config's default).

    SOURCES replace the config's train files and HOLDOUT its holdout files. Raises DataError on a
    structural fault (nothing written), RunRejectedError when the run read everything but may not
    be published (its quarantine and report are kept under `rejected/`), ConfigError on a bad
    config.
    """
    cfg = dataset if isinstance(dataset, DatasetConfig) else load_config(config, dataset)
    schema = load_schema(cfg)
    plan = source_plan(cfg, sources, holdout)
    stamps = [stamp(path) for path, _ in plan]
    root = Path(store) if store is not None else default_store()
    sizes = [(role, size) for (_, role), (size, _) in zip(plan, stamps, strict=True)]
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tabship-data-sha256")
    try:
        if st.could_exist(root, cfg.name, cfg.config_hash(), schema.schema_hash, sizes):
            # A version may already hold this input: hash first, so a rerun answers at once.
            digests = [file_sha256(path) for path, _ in plan]
            version = version_name(cfg, schema.schema_hash, plan, digests)[0]
            final = st.version_dir(root, cfg.name, version)
            if (final / st.MANIFEST_FILE).is_file():
                st.set_latest(root, cfg.name, version)
                return existing_result(cfg.name, version, final)
        # No version can hold it (none has these file sizes): the sources are hashed on a
        # thread while they are read, since sha256 runs outside the GIL.
        pending = [hashing.submit(file_sha256, path) for path, _ in plan]
        return _run(cfg, schema, root, plan, stamps, pending, chunk_bytes, chunk_rows, progress)
    finally:
        hashing.shutdown(wait=True, cancel_futures=True)


def source_plan(
    cfg: DatasetConfig,
    sources: Sequence[Path | str] | None = None,
    holdout: Sequence[Path | str] | None = None,
) -> list[tuple[Path, str]]:
    """Every source file with its role, in read order; each checked to be readable."""
    train = tuple(Path(p) for p in sources) if sources else cfg.train_sources
    held = tuple(Path(p) for p in holdout) if holdout is not None else cfg.holdout_sources
    if cfg.split.method == "file" and not held:
        raise ConfigError(f"{cfg.name}: split method is file but no holdout file was given")
    if cfg.split.method == "hash" and held:
        raise ConfigError(f"{cfg.name}: holdout files given but the split method is hash")
    plan = [(p, "train") for p in train] + [(p, "holdout") for p in held]
    if not plan:
        raise ConfigError(f"{cfg.name}: no source files: give SOURCE or set sources.train")
    # Appended last, so the base rows keep their order; each feedback row is split by its hash.
    plan += [(p, FEEDBACK) for p in cfg.feedback_sources()]
    for path, _ in plan:
        check_readable(path)
    return plan


def _run(
    cfg: DatasetConfig,
    schema: DatasetSchema,
    root: Path,
    plan: list[tuple[Path, str]],
    stamps: list[tuple[int, int]],
    pending: list[Future[str]],
    chunk_bytes: int,
    chunk_rows: int,
    progress: Progress | None,
) -> IngestResult:
    temp = st.new_temp_dir(root, cfg.name)
    run: IngestRun | None = None
    try:
        run = IngestRun(cfg, schema, temp, progress)
        started = time.perf_counter()
        for path, role in plan:
            run.read_source(path, role, chunk_bytes, chunk_rows)
        run.finish()
        digests = [future.result() for future in pending]
        for source, digest in zip(run.stats.sources, digests, strict=True):
            source.sha256 = digest
        for (path, _), before in zip(plan, stamps, strict=True):
            if stamp(path) != before:
                raise DataError("file changed while it was being ingested", path=display_path(path))
        version, full_hash = version_name(cfg, schema.schema_hash, plan, digests)
        return conclude(run, root, version, full_hash, time.perf_counter() - started)
    except BaseException:
        if run is not None:
            run.abort()  # the writer thread must let go of the folder before it is removed
        raise
    finally:
        st.discard(temp)  # a no-op once the folder has been renamed into place


def version_name(
    cfg: DatasetConfig,
    schema_hash: str,
    plan: list[tuple[Path, str]],
    digests: list[str],
    layout: str | None = None,
) -> tuple[str, str]:
    """The version's name and its full content hash."""
    full_hash = st.content_hash(
        cfg.name,
        cfg.config_hash(),
        schema_hash,
        [(role, digest) for (_, role), digest in zip(plan, digests, strict=True)],
        layout,
    )
    return st.short_version(full_hash), full_hash


def stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns
