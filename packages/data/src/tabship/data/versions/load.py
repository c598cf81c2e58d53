"""Read a processed version back, for the packages downstream (features, models).

Returns pandas, because that is what the modelling code uses; the parquet file itself is
library-neutral. The data file's sha256 is checked against the manifest by default, so a version
that was altered after publishing is refused rather than trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information

from tabship.data.errors import DataError
from tabship.data.files import file_sha256
from tabship.data.project import default_store
from tabship.data.versions import store as st

if TYPE_CHECKING:
    from tabship.data.config.contract import FieldSpec
    from tabship.data.config.dataset import DatasetConfig


@dataclass(frozen=True)
class DatasetVersion:
    """One published version: its accepted rows, its manifest and its folder in the store."""

    frame: pd.DataFrame
    manifest: st.Manifest
    path: Path

    @property
    def data_file(self) -> Path:
        return self.path / st.DATA_FILE

    @property
    def data_files(self) -> list[Path]:
        """The accepted rows' files: the one data file, or each partition's (Dask engine)."""
        return data_files(self.manifest, self.path)

    def request_fields(self, config: DatasetConfig | None = None) -> list[FieldSpec]:
        """The request contract of models trained on this version, checked against its sha256.

        A version published before the contract was stored has none: CONFIG's schema stands in
        for it, but only when its hash is the one that validated the version.
        """
        from tabship.data.config.contract import fields_from_json, request_fields
        from tabship.data.config.schema import load_schema

        path = self.path / st.FIELDS_FILE
        expected = self.manifest.files.get(st.FIELDS_FILE)
        if expected is not None:
            if file_sha256(path) != expected:
                raise DataError("request fields do not match the manifest's sha256", path=path)
            return fields_from_json(path.read_text(encoding="utf-8"))
        schema = load_schema(config) if config is not None else None
        if config is None or schema is None or schema.schema_hash != self.manifest.schema_hash:
            raise DataError(
                f"version {self.manifest.version} stores no request fields, and its schema is not "
                f"the configured one: delete {self.path} and ingest again",
                path=self.path / st.MANIFEST_FILE,
            )
        return request_fields(config, schema)

    def split(self, name: str) -> pd.DataFrame:
        """The rows of one split (`train` or `holdout`), re-indexed from 0."""
        return self.frame[self.frame["split"] == name].reset_index(drop=True)


def data_files(manifest: st.Manifest, folder: Path) -> list[Path]:
    """The data files MANIFEST lists, in partition order, under the version FOLDER."""
    if st.DATA_FILE in manifest.files:
        return [folder / st.DATA_FILE]
    prefix = st.PARTS_FOLDER + "/"
    return [folder / name for name in sorted(manifest.files) if name.startswith(prefix)]


def concat_parts(frames: Sequence[pd.DataFrame], categories: Sequence[str] = ()) -> pd.DataFrame:
    """FRAMES one after the other, re-indexed; the categorical CATEGORIES get one category list
    first (the union, sorted), or concat would turn them into a Python string per value."""
    if len(frames) == 1:
        return frames[0]
    for column in categories:
        union = sorted(set().union(*(f[column].cat.categories for f in frames)))
        for part in frames:
            part[column] = part[column].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)


def open_version(
    name: str = "adult",
    version: str = "latest",
    store: Path | str | None = None,
    *,
    verify: bool = True,
) -> DatasetVersion:
    """NAME at VERSION with its data files checked against the manifest's sha256, but not read
    (its frame is empty): for a reader that reads the files itself, such as a Dask cluster."""
    root = Path(store) if store is not None else default_store()
    manifest = st.read_manifest(root, name, version)
    folder = st.version_dir(root, name, manifest.version)
    if verify:
        for path in data_files(manifest, folder):
            if file_sha256(path) != manifest.files[path.relative_to(folder).as_posix()]:
                raise DataError("data file does not match its manifest's sha256", path=path)
    return DatasetVersion(frame=pd.DataFrame(), manifest=manifest, path=folder)


def load_dataset(
    name: str = "adult",
    version: str = "latest",
    store: Path | str | None = None,
    *,
    split: str | None = None,
    verify: bool = True,
    columns: Sequence[str] | None = None,
    categories: Sequence[str] = (),
) -> DatasetVersion:
    """The accepted rows of NAME at VERSION (or `latest`), its manifest and its folder.

    SPLIT (`train` or `holdout`) keeps only that split. The frame has the dataset's columns
    followed by the manifest's `meta_columns` (split, row_id, source_file, source_line), or only
    COLUMNS when given. CATEGORIES are string columns read as pandas categoricals (from parquet's
    dictionary encoding, without a Python string per value): a tenth of the memory at scale.
    """
    opened = open_version(name, version, store, verify=verify)
    filters = [("split", "==", split)] if split is not None else None
    options: dict[str, Any] = {"read_dictionary": list(categories)} if categories else {}
    picked = list(columns) if columns is not None else None
    frames = [
        pd.read_parquet(path, filters=filters, columns=picked, **options)
        for path in opened.data_files
    ]
    frame = concat_parts(frames, categories)
    # pyarrow's allocator keeps the pages it decoded the files into; at 10M rows that is
    # gigabytes the frame no longer needs.
    pa.default_memory_pool().release_unused()
    return DatasetVersion(frame=frame, manifest=opened.manifest, path=opened.path)


def list_versions(name: str = "adult", store: Path | str | None = None) -> list[st.Manifest]:
    """Manifests of every published version of NAME, oldest first."""
    root = Path(store) if store is not None else default_store()
    return st.list_versions(root, name)
