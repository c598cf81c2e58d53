"""Read a dataset's `configs/datasets/NAME/data.yaml`: every dataset-specific fact (files, reader
options, columns, target, key, split, quarantine limit, schema file) comes from there, so a new
dataset needs no code.

Unknown keys are errors rather than ignored, because a misspelt option that silently does nothing
is exactly the kind of quiet data change this package exists to prevent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from tabship.data.errors import ConfigError
from tabship.data.project import check_dataset_name, find_project
from tabship.data.yamlfile import read_yaml_mapping

SplitMethod = Literal["file", "hash"]
FEEDBACK_SUFFIXES = (".parquet", ".csv", ".csv.gz")
MalformedPolicy = Literal["fail", "quarantine"]


@dataclass(frozen=True)
class ReaderOptions:
    """How raw text becomes fields. Parquet files use only `na_values` and `strip_label_suffix`."""

    header: bool = False
    separator: str = ","
    quote_char: str | None = '"'
    na_values: tuple[str, ...] = ()
    comment_prefix: str | None = None
    strip_label_suffix: str | None = None
    malformed_lines: MalformedPolicy = "fail"


@dataclass(frozen=True)
class Target:
    """The binary target column and which of its two labels is the positive class."""

    column: str
    positive: str


@dataclass(frozen=True)
class SplitConfig:
    """`file`: rows of the holdout sources are the holdout. `hash`: a row-hash threshold."""

    method: SplitMethod = "hash"
    holdout_fraction: float = 0.2


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset's entry in the config file, with paths resolved against the file's folder."""

    name: str
    config_path: Path
    train_sources: tuple[Path, ...]
    holdout_sources: tuple[Path, ...]
    reader: ReaderOptions
    columns: tuple[str, ...]
    target: Target
    key: tuple[str, ...]
    split: SplitConfig
    max_quarantined_fraction: float
    schema_path: Path
    description: str = ""
    # Labelled production rows (and files a user adds) are appended from here: every file in the
    # folder, in name order, split by row hash. None: the dataset takes no feedback.
    feedback_dir: Path | None = None

    def feedback_sources(self) -> tuple[Path, ...]:
        """The feedback folder's data files (parquet, CSV, gzip CSV), in name order."""
        if self.feedback_dir is None or not self.feedback_dir.is_dir():
            return ()
        return data_files_in(self.feedback_dir)

    def fingerprint(self) -> dict[str, Any]:
        """Everything that shapes the processed output, minus file locations and prose.

        Source paths are left out on purpose: versions are addressed by content, so the same
        bytes moved to another folder give the same version.
        """
        return {
            "name": self.name,
            "reader": {
                "header": self.reader.header,
                "separator": self.reader.separator,
                "quote_char": self.reader.quote_char,
                "na_values": list(self.reader.na_values),
                "comment_prefix": self.reader.comment_prefix,
                "strip_label_suffix": self.reader.strip_label_suffix,
                "malformed_lines": self.reader.malformed_lines,
            },
            "columns": list(self.columns),
            "target": {"column": self.target.column, "positive": self.target.positive},
            "key": list(self.key),
            "split": {
                "method": self.split.method,
                "holdout_fraction": self.split.holdout_fraction,
            },
            "max_quarantined_fraction": self.max_quarantined_fraction,
        }

    def config_hash(self) -> str:
        """sha256 of the canonical JSON of `fingerprint()`."""
        canonical = json.dumps(self.fingerprint(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def data_files_in(folder: Path) -> tuple[Path, ...]:
    """FOLDER's data files (parquet, CSV, gzip CSV; hidden files skipped), in name order."""
    found = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.endswith(FEEDBACK_SUFFIXES) and not p.name.startswith(".")
    ]
    return tuple(sorted(found, key=lambda p: p.name))


def load_config(path: Path | str | None = None, dataset: str | None = None) -> DatasetConfig:
    """Load a dataset's data config: the file PATH, else DATASET's (default: the project's default
    dataset) `configs/datasets/NAME/data.yaml`.

    The dataset's name is DATASET, else the file's `name`, else its folder's name.
    """
    if path is None:
        path = find_project().dataset(dataset).data_config
    config_path = Path(path).resolve()
    document = read_yaml_mapping(config_path)
    if "datasets" in document:
        raise ConfigError(
            f"{config_path}: one file holds one dataset now; move each entry of `datasets:` to "
            "configs/datasets/NAME/data.yaml (see the README's 'Your own data')"
        )
    named = document.pop("name", None)
    if named is not None and not isinstance(named, str):
        raise ConfigError(f"{config_path}: name must be a string")
    try:
        name = check_dataset_name(dataset or named or config_path.parent.name)
    except ConfigError as error:
        raise ConfigError(f"{config_path}: {error} (set `name:` in the file)") from None
    return _parse_dataset(config_path, name, document)


_DATASET_KEYS = {
    "description",
    "sources",
    "reader",
    "columns",
    "target",
    "key",
    "split",
    "max_quarantined_fraction",
    "schema",
}
_READER_KEYS = set(ReaderOptions.__dataclass_fields__)


def _check_keys(path: Path, where: str, mapping: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} in {where} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def _str_list(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {where} must be a list of strings")
    return tuple(value)


def _fraction(path: Path, where: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{path}: {where} must be a number between 0 and 1, not {value!r}")
    return float(value)


def _parse_dataset(path: Path, name: str, entry: dict[str, Any]) -> DatasetConfig:
    where = ""  # a prefix for nested fields' names; a data config holds one dataset
    _check_keys(path, "the top level", entry, _DATASET_KEYS)
    base = path.parent

    sources = entry.get("sources") or {}
    if not isinstance(sources, dict):
        raise ConfigError(f"{path}: {where}sources must map `train`/`holdout` to file lists")
    _check_keys(path, f"{where}sources", sources, {"train", "holdout", "feedback"})
    feedback = sources.get("feedback")
    if feedback is not None and (not isinstance(feedback, str) or not feedback):
        raise ConfigError(f"{path}: {where}sources.feedback must be a folder's path")
    train = tuple(base / p for p in _str_list(path, f"{where}sources.train", sources.get("train")))
    holdout = tuple(
        base / p for p in _str_list(path, f"{where}sources.holdout", sources.get("holdout"))
    )

    reader_raw = entry.get("reader") or {}
    if not isinstance(reader_raw, dict):
        raise ConfigError(f"{path}: {where}reader must be a mapping")
    _check_keys(path, f"{where}reader", reader_raw, _READER_KEYS)
    reader = _parse_reader(path, where, reader_raw)

    columns = _str_list(path, f"{where}columns", entry.get("columns"))
    if not columns:
        raise ConfigError(f"{path}: {where}columns must list the column names")
    if len(set(columns)) != len(columns):
        raise ConfigError(f"{path}: {where}columns has duplicate names")

    target_raw = entry.get("target")
    if not isinstance(target_raw, dict):
        raise ConfigError(f"{path}: {where}target must give `column` and `positive`")
    _check_keys(path, f"{where}target", target_raw, {"column", "positive"})
    target_column, positive = target_raw.get("column"), target_raw.get("positive")
    if not isinstance(target_column, str) or target_column not in columns:
        raise ConfigError(f"{path}: {where}target.column must be one of the columns")
    if not isinstance(positive, str | int | bool):
        raise ConfigError(f"{path}: {where}target.positive must be the positive label")

    key = _str_list(path, f"{where}key", entry.get("key"))
    missing_keys = [k for k in key if k not in columns]
    if missing_keys:
        raise ConfigError(f"{path}: {where}key names unknown column(s) {missing_keys}")

    split = _parse_split(path, where, entry.get("split") or {}, bool(holdout))
    schema = entry.get("schema")
    if not isinstance(schema, str):
        raise ConfigError(f"{path}: {where}schema must be the path of a pandera YAML schema")
    description = entry.get("description") or ""
    return DatasetConfig(
        name=name,
        config_path=path,
        train_sources=train,
        holdout_sources=holdout,
        reader=reader,
        columns=columns,
        target=Target(column=target_column, positive=str(positive)),
        key=key,
        split=split,
        max_quarantined_fraction=_fraction(
            path, f"{where}max_quarantined_fraction", entry.get("max_quarantined_fraction"), 0.05
        ),
        schema_path=base / schema,
        description=str(description),
        feedback_dir=(base / feedback) if feedback else None,
    )


def _parse_reader(path: Path, where: str, raw: dict[str, Any]) -> ReaderOptions:
    defaults = ReaderOptions()
    separator = raw.get("separator", defaults.separator)
    if not isinstance(separator, str) or not separator or "\n" in separator:
        raise ConfigError(f"{path}: {where}reader.separator must be a non-empty string")
    quote = raw.get("quote_char", defaults.quote_char)
    if quote is not None and (not isinstance(quote, str) or len(quote) != 1):
        raise ConfigError(f"{path}: {where}reader.quote_char must be one character or null")
    if quote is not None and len(separator) != 1:
        raise ConfigError(
            f"{path}: {where}reader: quoting needs a one-character separator; "
            "set quote_char: null for a separator like ', '"
        )
    policy = raw.get("malformed_lines", defaults.malformed_lines)
    if policy not in ("fail", "quarantine"):
        raise ConfigError(f"{path}: {where}reader.malformed_lines must be fail or quarantine")
    header = raw.get("header", defaults.header)
    if not isinstance(header, bool):
        raise ConfigError(f"{path}: {where}reader.header must be true or false")
    optional_strings = {}
    for option in ("comment_prefix", "strip_label_suffix"):
        value = raw.get(option)
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigError(f"{path}: {where}reader.{option} must be a non-empty string")
        optional_strings[option] = value
    return ReaderOptions(
        header=header,
        separator=separator,
        quote_char=quote,
        na_values=_str_list(path, f"{where}reader.na_values", raw.get("na_values")),
        comment_prefix=optional_strings["comment_prefix"],
        strip_label_suffix=optional_strings["strip_label_suffix"],
        malformed_lines=cast("MalformedPolicy", policy),
    )


def _parse_split(path: Path, where: str, raw: Any, has_holdout: bool) -> SplitConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where}split must be a mapping")
    _check_keys(path, f"{where}split", raw, {"method", "holdout_fraction"})
    method = raw.get("method", "file" if has_holdout else "hash")
    if method not in ("file", "hash"):
        raise ConfigError(f"{path}: {where}split.method must be file or hash")
    if method == "file" and not has_holdout:
        raise ConfigError(f"{path}: {where}split.method is file but sources.holdout is empty")
    if method == "hash" and has_holdout:
        raise ConfigError(
            f"{path}: {where}split.method is hash but sources.holdout is set; "
            "use method: file to keep the holdout file as the holdout"
        )
    fraction = _fraction(path, f"{where}split.holdout_fraction", raw.get("holdout_fraction"), 0.2)
    return SplitConfig(method=cast("SplitMethod", method), holdout_fraction=fraction)
