"""`--source PATH`: a file, or a folder of parquet or CSV partitions, in place of a dataset's sources.

A folder's files are its partitions, in name order (hidden files skipped), so the same folder is
always read in the same order and gives the same version. The rows of a `--source` are split by
row hash at the config's `holdout_fraction`: a `file` split names a holdout file, which a
`--source` does not have, and the hash split decides each row on its own, so it needs no shuffle
when the rows are spread over a cluster.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tabship.data.config.dataset import DatasetConfig, SplitConfig, data_files_in
from tabship.data.errors import DataError


def source_files(path: Path | str) -> tuple[Path, ...]:
    """PATH itself when it is a file, else its folder's data files in name order."""
    where = Path(path)
    if where.is_dir():
        found = data_files_in(where)
        if not found:
            raise DataError("no parquet or CSV files in this folder", path=where)
        return found
    if not where.exists():
        raise DataError("no such file or folder", path=where)
    return (where,)


def with_source(config: DatasetConfig, path: Path | str) -> DatasetConfig:
    """CONFIG reading PATH's files as its training sources, split by row hash."""
    return replace(
        config,
        train_sources=source_files(path),
        holdout_sources=(),
        split=SplitConfig(method="hash", holdout_fraction=config.split.holdout_fraction),
    )
