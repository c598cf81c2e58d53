"""The checks that span partitions, run as passes of their own after every partition is in.

pandera and `IngestRun` see one partition at a time, so a key repeated in two partitions, or a
row in both splits, is invisible to them. Both passes read only the few columns they need from the
accepted partitions, on the cluster (dask.dataframe, with the client the caller set up):

- duplicate keys: the key columns are grouped across all partitions and only keys seen more than
  once come back to the driver (normally none); of each such key the first occurrence in read
  order (partition, then line) is kept, as the single-process engine does, and the later ones
  are removed from their partitions' files and quarantined, naming where the key was first seen.
  Only the partitions that hold one are rewritten.
- rows in both splits (the `file` split only; under the hash split a row's split follows from its
  identity alone, so no row can be in both): the distinct holdout row ids joined with the
  training ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import polars as pl

from tabship.data.config.dataset import DatasetConfig
from tabship.data.ingestion.report import RunStats

_CHECK = "duplicate_key"


def rows_in_both_splits(parts: list[Path]) -> int:
    """Distinct row ids found in the holdout and in training, over all PARTS."""
    ids = dd.read_parquet([str(p) for p in parts], columns=["row_id", "split"])
    held = ids[ids["split"] == "holdout"][["row_id"]].drop_duplicates()
    trained = ids[ids["split"] != "holdout"][["row_id"]].drop_duplicates()
    return int(dd.merge(trained, held, on="row_id").shape[0].compute())


def _repeated(cfg: DatasetConfig, parts: list[Path]) -> pd.DataFrame:
    """Every occurrence of a key that occurs more than once, with its file and line."""
    key = list(cfg.key)
    rows = dd.read_parquet([str(p) for p in parts], columns=[*key, "source_file", "source_line"])
    counts = rows.groupby(key).size()
    repeated = counts[counts > 1].compute()
    if repeated.empty:
        return pd.DataFrame()
    wanted = dd.from_pandas(repeated.reset_index()[key], npartitions=1)
    found: pd.DataFrame = rows.merge(wanted, on=key, how="inner").compute()
    return found.reset_index(drop=True)  # each partition's index starts at 0


def quarantine_duplicate_keys(
    cfg: DatasetConfig, stats: RunStats, parts: dict[str, Path], quarantine: Path
) -> int:
    """Move every later occurrence of a key out of PARTS into QUARANTINE; return how many."""
    found = _repeated(cfg, list(parts.values()))
    if found.empty:
        return 0
    key = list(cfg.key)
    order = {source.path: index for index, source in enumerate(stats.sources)}
    found["_partition"] = found["source_file"].map(order)
    found = found.sort_values(["_partition", "source_line"], kind="stable")
    first = found.groupby(key, sort=False).head(1)
    first_at = {
        tuple(row[k] for k in key): f"{row['source_file']}:{row['source_line']}"
        for _, row in first.iterrows()
    }
    later = found.drop(index=first.index)
    names = list(parts)
    for index, group in later.groupby("_partition", sort=True):
        lines = [int(v) for v in group["source_line"]]
        where = {
            int(r["source_line"]): first_at[tuple(r[k] for k in key)] for _, r in group.iterrows()
        }
        _move(cfg, stats, int(str(index)), parts[names[int(str(index))]], lines, where, quarantine)
    return len(later)


def _move(
    cfg: DatasetConfig,
    stats: RunStats,
    index: int,
    part: Path,
    lines: list[int],
    first_at: dict[int, str],
    quarantine: Path,
) -> None:
    """Rewrite partition INDEX's file without LINES; append those rows to the quarantine."""
    frame = pl.read_parquet(part)
    hit = pl.col("source_line").is_in(lines)
    moved, kept = frame.filter(hit), frame.filter(~hit)
    temporary = part.with_name(f".{part.name}")
    kept.write_parquet(temporary, compression="zstd", compression_level=1)
    temporary.replace(part)
    source = stats.sources[index]
    column = ",".join(cfg.key)
    records = []
    for row in moved.sort("source_line").iter_rows(named=True):
        values = {name: row[name] for name in cfg.columns}
        key_text = ", ".join(f"{k}={row[k]}" for k in cfg.key)
        line = int(row["source_line"])
        reason = {"column": column, "check": _CHECK,
                  "value": f"{key_text} (first seen at {first_at[line]})"}  # fmt: skip
        record = {"source": source.path, "role": source.role, "line": line,
                  "raw": json.dumps(values, default=str), "reasons": [reason]}  # fmt: skip
        records.append(record)
        stats.split_labels[(str(row["split"]), str(row[cfg.target.column]))] -= 1
        if len(stats.failure_examples) < 20:
            stats.failure_examples.append({"source": source.path, "line": line, **reason})
    with quarantine.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
    source.rows_accepted -= len(records)
    source.rows_quarantined += len(records)
    source.failures[(column, _CHECK)] += len(records)
    stats.failures[(column, _CHECK)] += len(records)
