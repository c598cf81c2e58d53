"""Read a processed version back, for the packages downstream (features, models).

Returns pandas, because that is what the modelling code uses; the parquet file itself is
library-neutral. The data file's sha256 is checked against the manifest by default, so a version
that was altered after publishing is refused rather than trained on.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tabship.data import store as st
from tabship.data.errors import DataError


def load_dataset(
    name: str = "adult",
    version: str = "latest",
    store: Path | str | None = None,
    *,
    split: str | None = None,
    verify: bool = True,
) -> tuple[pd.DataFrame, st.Manifest]:
    """The accepted rows of NAME at VERSION (or `latest`) and that version's manifest.

    SPLIT (`train` or `holdout`) keeps only that split. The frame has the dataset's columns
    followed by the manifest's `meta_columns` (split, row_id, source_file, source_line).
    """
    root = Path(store) if store is not None else st.default_store()
    manifest = st.read_manifest(root, name, version)
    path = st.version_dir(root, name, manifest.version) / st.DATA_FILE
    if verify and st.file_sha256(path) != manifest.files[st.DATA_FILE]:
        raise DataError("data file does not match its manifest's sha256", path=path)
    filters = [("split", "==", split)] if split is not None else None
    frame = pd.read_parquet(path, filters=filters)
    return frame, manifest


def list_versions(name: str = "adult", store: Path | str | None = None) -> list[st.Manifest]:
    """Manifests of every published version of NAME, oldest first."""
    root = Path(store) if store is not None else st.default_store()
    return st.list_versions(root, name)
