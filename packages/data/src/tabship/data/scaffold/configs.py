"""`tabship-data init`: a new dataset's complete, commented starting configs, inferred from a file.

It writes `configs/datasets/NAME/` (data.yaml, schema.yaml, features.yaml, train.yaml, gate.yaml),
and `configs/project.yaml` when the project has none. The files are text with comments that say
what was guessed and why, for the user to read and adjust; nothing existing is overwritten
without `force`. Each write is atomic, and the folder appears whole or not at all.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandera.io.polars_io as pandera_io
import yaml

from tabship.data.errors import ConfigError
from tabship.data.files import display_path, replace_folder
from tabship.data.project import MARKER, Project, check_dataset_name
from tabship.data.scaffold.inference import ColumnFacts, Inferred, infer
from tabship.data.scaffold.search import search_yaml
from tabship.data.scaffold.sniff import RawTable, describe_reader, na_tokens, read_raw

HOLDOUT = 0.2  # the share of rows data.yaml's hash split sends to the holdout
FILES = ("data.yaml", "schema.yaml", "features.yaml", "train.yaml", "gate.yaml")


@dataclass(frozen=True)
class InitResult:
    """What init wrote, and the facts for its summary."""

    name: str
    folder: Path
    files: list[Path]
    table: RawTable
    inferred: Inferred
    na_values: tuple[str, ...]

    def summary(self) -> str:
        facts = self.inferred
        lines = [
            f"dataset {self.name}: {self.table.rows_total:,} rows, "
            f"{len(self.table.columns)} columns ({describe_reader(self.table)})",
            f"  target   {self._target().name} (labels {', '.join(facts.labels)})",
            f"  numeric  {', '.join(facts.of_kind('integer', 'number')) or '-'}",
            f"  category {', '.join(facts.of_kind('category')) or '-'}",
            f"  key      {', '.join(facts.keys) or '- (rows are identified by their content)'}",
            f"  missing  {', '.join(repr(t) for t in self.na_values) or '-'}",
            *(
                [
                    f"  ragged   {self.table.ragged:,} line(s) with another field count: ingest "
                    "quarantines them"
                ]
                if self.table.ragged
                else []
            ),
            f"wrote {display_path(self.folder)}/: {', '.join(p.name for p in self.files)}",
            "read them, then: invoke train --dataset " + self.name,
        ]
        return "\n".join(lines)

    def _target(self) -> ColumnFacts:
        return next(c for c in self.inferred.columns if c.kind == "target")

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.name,
            "folder": str(self.folder),
            "files": [str(p) for p in self.files],
            "rows": self.table.rows_total,
            "columns": list(self.table.columns),
            "header": self.table.header,
            "separator": self.table.separator,
            "na_values": list(self.na_values),
            "labels": list(self.inferred.labels),
            "numeric": self.inferred.of_kind("integer", "number"),
            "categorical": self.inferred.of_kind("category"),
            "key": self.inferred.keys,
        }


def default_name(path: Path) -> str:
    """A dataset name from a file name: `German Credit.csv` -> `german-credit`."""
    stem = path.name.split(".")[0].lower()
    return re.sub(r"[^a-z0-9_-]+", "-", stem).strip("-_") or "dataset"


def resolve_target(table: RawTable, target: str) -> str:
    """TARGET as a column name; with no header line, `7` means the seventh column."""
    if target not in table.columns and target.isdigit() and not table.header:
        number = int(target)
        if 1 <= number <= len(table.columns):
            return table.columns[number - 1]
    return target


def init_dataset(
    project: Project,
    source: Path,
    target: str,
    positive: str,
    name: str | None = None,
    force: bool = False,
) -> InitResult:
    """Infer SOURCE's configs and write them as dataset NAME of PROJECT."""
    chosen = check_dataset_name(name or default_name(source))
    folder = project.datasets_folder / chosen
    existing = [folder / f for f in FILES if (folder / f).exists()]
    if existing and not force:
        raise ConfigError(
            f"{existing[0]}: exists; init never overwrites a config (use --force to replace "
            f"the {len(existing)} file(s) of dataset {chosen!r})"
        )
    table = read_raw(source)
    column = resolve_target(table, target)
    na_values = na_tokens(table)
    inferred = infer(table, column, positive, na_values)
    texts = {
        "data.yaml": data_yaml(
            chosen, source.resolve(), folder, table, inferred, column, positive, na_values
        ),
        "schema.yaml": schema_yaml(chosen, inferred),
        "features.yaml": features_yaml(inferred),
        "train.yaml": train_yaml(chosen, inferred, round(table.rows_total * (1 - HOLDOUT))),
        "gate.yaml": GATE_YAML,
    }
    _write_folder(folder, texts)
    marker = project.root / MARKER
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(PROJECT_YAML.format(name=chosen), encoding="utf-8")
    return InitResult(chosen, folder, [folder / f for f in FILES], table, inferred, na_values)


def _write_folder(folder: Path, texts: dict[str, str]) -> None:
    """Write every file into a temporary sibling folder, then swap it in: all or nothing."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for file_name, text in texts.items():
            (scratch / file_name).write_text(text, encoding="utf-8")
        replace_folder(scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _dump(value: object) -> str:
    """VALUE as one line of flow-style YAML (a scalar alone would get a document-end marker)."""
    return yaml.safe_dump([value], default_flow_style=True, width=1000).strip()[1:-1]


def data_yaml(
    name: str,
    source: Path,
    folder: Path,
    table: RawTable,
    inferred: Inferred,
    target: str,
    positive: str,
    na_values: tuple[str, ...],
) -> str:
    relative = os.path.relpath(source, folder)
    header_note = (
        "the first line names the columns"
        if table.header
        else "no header line: the columns are named column_1.. in file order"
    )
    columns = "\n".join(f"  - {_dump(c)}" for c in table.columns)
    return f"""\
# Dataset {name}: written by `tabship-data init` from {source.name}. Read it and adjust it: these
# are guesses from {table.rows_total:,} rows. Relative paths resolve against this file's folder.
description: {_dump(f"{name}, from {source.name}")}
sources:
  train: [{_dump(relative)}]
  # No holdout file: a stable hash of each row sends holdout_fraction of the rows to the holdout.
  # Labelled production rows that `tabship-models retrain` appends (and files you drop in).
  feedback: {_dump(f"../../../data/feedback/{name}")}
# To rename a column, rename it here and in schema.yaml, features.yaml and train.yaml together.
reader:
  header: {_dump(table.header)}{" " * 8}# {header_note}
  separator: {_dump(table.separator)}
  quote_char: {_dump(table.quote_char)}{" " * 4}# {"fields may be quoted" if table.quote_char else "no field was quoted"}
  na_values: {_dump(list(na_values))}{" " * 4}# whole fields that mean missing, as seen in the file
  comment_prefix: {_dump(table.comment_prefix)}
  strip_label_suffix: null
  malformed_lines: quarantine  # ragged or non-UTF-8 lines go to the quarantine, with their text
columns:
{columns}
target:
  column: {_dump(target)}
  positive: {_dump(positive)}    # labels seen: {", ".join(inferred.labels)}
# Rows whose key repeats are quarantined. Proposed: columns whose every value was distinct.
key: {_dump(inferred.keys)}
split:
  method: hash
  holdout_fraction: {HOLDOUT}
# A run is refused when more than this share of the rows of any one file (or of the run) fails.
max_quarantined_fraction: 0.05
schema: schema.yaml
"""  # noqa: E501


def schema_yaml(name: str, inferred: Inferred) -> str:
    body = pandera_io.to_yaml(inferred.schema)
    notes = {c.name: c.note for c in inferred.columns if c.note}
    lines = []
    for line in str(body).splitlines():
        match = re.match(r"^  (\S.*):$", line)
        column = yaml.safe_load(match.group(1)) if match else None
        lines.append(f"{line}  # {notes[column]}" if column in notes else line)
    return (
        f"# pandera schema for {name} (polars API; pandera.io.polars_io), inferred by "
        "`tabship-data init`\n# with pandera.infer_schema, then tightened: categories are "
        "Enums (an unknown category is\n# quarantined), numeric ranges are widened, and "
        "nullability is what the data showed.\n" + "\n".join(lines) + "\n"
    )


def features_yaml(inferred: Inferred) -> str:
    numeric = inferred.of_kind("integer", "number")
    categorical = inferred.of_kind("category")
    left_out = [c.name for c in inferred.columns if c.is_key or c.kind == "text"]
    return f"""\
# The feature pipeline (tabship.features): fitted on the training rows only, saved as JSON
# beside the model, and the same code transforms rows in training and in serving.
# Left out: {", ".join(left_out) or "nothing"} (keys and free text are not features).
format_version: 1
numeric: {_dump(numeric)}
categorical: {_dump(categorical)}
# A category not seen at fit time becomes missing (`error` refuses such rows instead).
unseen_category: missing
min_category_count: 1
# Derived numeric features (op: subtract, add, ratio, log1p), e.g.
#   - {{name: a_per_b, op: ratio, columns: [a, b]}}
derived: []
# Indicators for columns whose missingness itself may carry signal.
missing_indicators: []
"""


def train_yaml(name: str, inferred: Inferred, train_rows: int) -> str:
    groups = "".join(f"#   {g}: {{column: {g}}}\n" for g in inferred.group_candidates)
    proposal = (
        f"# Proposed (low-cardinality categories); uncomment the ones you report on:\n{groups}"
        if groups
        else "# e.g. sex: {column: sex}, or age_band: {column: age, bins: [0, 30, 60, 200]}\n"
    )
    return f"""\
# Training for dataset {name} (tabship.models). The same dataset version, this file and the seed
# give a byte-identical model file: LightGBM runs deterministic, with a fixed thread count.
model_name: tabship-{name}        # the MLflow registered model, and the served model's name
experiment: tabship-{name}        # the MLflow experiment
seed: 42
folds: 5                          # stratified k-fold CV on the training split
num_threads: 2
num_boost_round: 1000             # an upper bound: CV's early stopping picks the count
early_stopping_rounds: 50
threshold: 0.5                    # probability at and above which the label is positive
params:                           # passed to lightgbm.train; the search's best replace these
  objective: binary
  learning_rate: 0.05
  num_leaves: 31
  min_data_in_leaf: 20
  feature_fraction: 0.9
  verbose: -1
# Groups reported on the model card (optional), each with its metrics.
groups: {{}}
{proposal}min_group_size: 100               # smaller groups are listed but not gated
{search_yaml(train_rows)}"""


GATE_YAML = """\
# The quality gate: only a candidate that passes every check becomes `champion`.
# A new dataset's gate is relative: a simple baseline is trained on the same split and scored on
# the same holdout rows, and the candidate fails when the 95% interval of its gain over it (paired,
# DeLong for ROC-AUC) lies wholly below this margin: significantly short of it. A small holdout's
# point difference is noise. (logistic_regression: one-hot categories and scaled numbers;
# best_single_feature: the one feature that ranks the training rows best.)
baseline:
  model: logistic_regression
  margin: {roc_auc: 0.005}
# Absolute floors on the holdout are optional: add them once you know what good looks like here,
# e.g. {roc_auc: 0.85, accuracy: 0.80}.
floors: {}
# The candidate may be worse than the current champion, on the same holdout, by at most this much.
champion_margin:
  roc_auc: 0.005
# Every group with at least min_group_size holdout rows (train.yaml) must reach these.
group_floors: {}
"""

PROJECT_YAML = """\
# The tabship project: this file marks the project's root for every command.
# Each dataset lives in configs/datasets/NAME/; `--dataset NAME` picks one.
default_dataset: {name}
"""
