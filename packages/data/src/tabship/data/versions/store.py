"""The processed store: immutable, content-addressed dataset versions and a `latest` pointer.

Layout, under the store root (default `data/processed`):

    <dataset>/<version>/data.parquet       accepted rows, typed, with split/row_id/lineage columns
    <dataset>/<version>/data/part-N.parquet  the same, one file per source partition (Dask engine)
    <dataset>/<version>/quarantine.jsonl   quarantined rows, each with its reasons
    <dataset>/<version>/report.json        the validation report
    <dataset>/<version>/manifest.json      hashes, sources, row counts, created_at, versions
    <dataset>/latest                       the latest version's name, one line
    <dataset>/rejected/<version>/          a run that read everything but may not be published

A version is written into a temporary folder beside its final place and renamed into place in one
step, so a reader sees either nothing or a complete version. `latest` is replaced (os.replace) only
after the version folder exists. No pickle: parquet, JSON and JSON lines only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tabship.data.errors import ConfigError
from tabship.data.files import atomic_write_text

DATA_FILE = "data.parquet"
PARTS_FOLDER = "data"  # the partitioned layout: data/part-NNNNN.parquet, one per source partition
QUARANTINE_FILE = "quarantine.jsonl"
REPORT_FILE = "report.json"
MANIFEST_FILE = "manifest.json"
FIELDS_FILE = "request_fields.json"  # the request contract of models trained on the version
LATEST = "latest"
REJECTED = "rejected"
# Bump when the processed output changes for the same input, so old versions are not reused.
FORMAT = 1


@dataclass(frozen=True)
class SourceEntry:
    """One raw file that went into a version."""

    path: str
    role: str
    sha256: str
    bytes: int
    format: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int


@dataclass(frozen=True)
class Manifest:
    """What a version is made of. Everything but `created_at` follows from the inputs."""

    dataset: str
    version: str
    content_hash: str
    schema_hash: str
    config_hash: str
    sources: list[SourceEntry]
    rows: dict[str, int]
    columns: dict[str, str]
    meta_columns: list[str]
    target: dict[str, Any]
    key: list[str]
    split: dict[str, Any]
    files: dict[str, str]
    created_at: str
    tabship_data_version: str
    format: int = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Rebuild a manifest read from JSON."""
        values = dict(data)
        values["sources"] = [SourceEntry(**s) for s in values["sources"]]
        return cls(**values)


def content_hash(
    dataset: str,
    config_hash: str,
    schema_hash: str,
    sources: list[tuple[str, str]],
    layout: str | None = None,
) -> str:
    """The version's full hash: the output depends on exactly these, and on FORMAT.

    SOURCES are (role, sha256) pairs in read order. Creation time and file locations are left
    out, so identical input always maps to the same version. LAYOUT names a stored form other
    than the one data file (`partitioned`: one per source partition, the Dask engine's); it is
    hashed only when given, so the one-file versions keep their names.
    """
    document: dict[str, object] = {
        "format": FORMAT,
        "dataset": dataset,
        "config": config_hash,
        "schema": schema_hash,
        "sources": [list(pair) for pair in sources],
    }
    if layout is not None:
        document["layout"] = layout
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def short_version(full_hash: str) -> str:
    """The version's name: 16 hex digits (64 bits) of its content hash."""
    return full_hash[:16]


def dataset_dir(store: Path, dataset: str) -> Path:
    return store / dataset


def version_dir(store: Path, dataset: str, version: str) -> Path:
    return store / dataset / version


def rejected_dir(store: Path, dataset: str, version: str) -> Path:
    return store / dataset / REJECTED / version


def read_latest(store: Path, dataset: str) -> str | None:
    """The version `latest` names, or None before the first ingest."""
    pointer = dataset_dir(store, dataset) / LATEST
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def resolve_version(store: Path, dataset: str, version: str = "latest") -> str:
    """VERSION itself, or what `latest` names; ConfigError when there is none."""
    name = read_latest(store, dataset) if version == LATEST else version
    if name is None:
        raise ConfigError(
            f"{dataset_dir(store, dataset)}: no version of {dataset!r} yet: run `tabship-data ingest`"
        )
    if not (version_dir(store, dataset, name) / MANIFEST_FILE).is_file():
        raise ConfigError(f"{version_dir(store, dataset, name)}: no such version of {dataset!r}")
    return name


def read_manifest(store: Path, dataset: str, version: str = "latest") -> Manifest:
    """The manifest of VERSION (or of the latest version)."""
    name = resolve_version(store, dataset, version)
    path = version_dir(store, dataset, name) / MANIFEST_FILE
    return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))


def list_versions(store: Path, dataset: str) -> list[Manifest]:
    """Every published version of DATASET, oldest first."""
    folder = dataset_dir(store, dataset)
    if not folder.is_dir():
        return []
    manifests = [
        Manifest.from_dict(json.loads((child / MANIFEST_FILE).read_text(encoding="utf-8")))
        for child in folder.iterdir()
        if child.is_dir() and (child / MANIFEST_FILE).is_file()
    ]
    return sorted(manifests, key=lambda m: (m.created_at, m.version))


def could_exist(
    store: Path, dataset: str, config_hash: str, schema_hash: str, sizes: list[tuple[str, int]]
) -> bool:
    """Whether a published version could be the one these inputs make: one with the same config,
    schema, and source roles and sizes in order. False means none can be (equal bytes have equal
    sizes), so the sources' sha256 need not be known before they are read."""
    return any(
        m.config_hash == config_hash
        and m.schema_hash == schema_hash
        and [(s.role, s.bytes) for s in m.sources] == sizes
        for m in list_versions(store, dataset)
    )


def new_temp_dir(store: Path, dataset: str) -> Path:
    """A fresh folder in the dataset's folder: same filesystem, so the final rename is atomic."""
    parent = dataset_dir(store, dataset)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))


def write_json(path: Path, data: Any) -> None:
    """Write JSON and fsync it, so a rename after this call never exposes an empty file."""
    with path.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


EVERY_READER = 0o044  # group and other may read


def readable_by(readers: int) -> tuple[int, int]:
    """(a file's mode, a folder's mode) for a read-only version that READERS (the group 0o040
    and other 0o004 bits) may read: the owner always can, and a reader also lists folders."""
    readers &= EVERY_READER
    return 0o400 | readers, 0o500 | readers | readers >> 2


def restrict(folder: Path, readers: int) -> None:
    """FOLDER and all it holds open to no reader but READERS (the owner keeps write)."""
    file_mode, folder_mode = readable_by(readers)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((folder_mode if path.is_dir() else file_mode) | 0o200)


def publish(temp: Path, final: Path, readers: int = EVERY_READER) -> bool:
    """Rename TEMP to FINAL in one step. False (and TEMP removed) if FINAL already exists.

    Files are made read-only first: a version is immutable once it has a name. READERS says who
    besides the owner may read it: no more than may read the sources it came from.
    """
    file_mode, folder_mode = readable_by(readers)
    for child in temp.iterdir():
        if child.is_dir():  # the partitioned layout's data/: its files read-only, itself listable
            for part in child.iterdir():
                part.chmod(file_mode)
            child.chmod(folder_mode)
        else:
            child.chmod(file_mode)
    temp.chmod(folder_mode | 0o200)  # mkdtemp makes it private; a version is for its readers
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        temp.rename(final)
    except OSError:
        # Another run published the same content first; ours is identical, so drop it.
        if final.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
            return False
        raise
    _fsync_dir(final.parent)
    return True


def set_latest(store: Path, dataset: str, version: str) -> bool:
    """Point `latest` at VERSION atomically; False if it already did (nothing is written)."""
    if read_latest(store, dataset) == version:
        return False
    if not (version_dir(store, dataset, version) / MANIFEST_FILE).is_file():
        raise ValueError(f"refusing to point latest at missing version {version}")
    folder = dataset_dir(store, dataset)
    atomic_write_text(folder / LATEST, version + "\n")
    _fsync_dir(folder)
    return True


def discard(temp: Path) -> None:
    """Remove a half-written temporary folder."""
    shutil.rmtree(temp, ignore_errors=True)
