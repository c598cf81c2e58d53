"""`tabship-serving simulate`: its options, and the wiring from them to the shifted rows
(traffic.py), where they go (delivery.py: a running service, or a prediction log) and their label
files (groundtruth.py). Kept light to import: the parser is built on every `tabship-serving` call.

Every problem with an option is one line naming it, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from tabship.data import Project
    from tabship.serving.runtime.artifact import Artifact
    from tabship.serving.simulate.traffic import Plan


def add_simulate_options(simulate: argparse.ArgumentParser, default_url: str) -> None:
    """The simulate command's options."""
    simulate.set_defaults(default_url=default_url)
    add = simulate.add_argument
    add("--url", help=f"service URL (default {default_url})")
    add("--to-log", action="store_true",
        help="no service: score in this process and write the project's prediction log")  # fmt: skip
    add("--log", metavar="DIR", help="like --to-log, into this prediction log folder")
    add("--rows", help="records to send (default 5000 holdout rows; with --source, every row of "
        "the file once, in its order)")  # fmt: skip
    add("--source", metavar="FILE",
        help="rows from this CSV or parquet file (the dataset's column names, the target "
             "included) instead of the holdout; with --rows N or a resampling shift, N rows "
             "are drawn from it (with replacement only when N is more than it holds)")  # fmt: skip
    for name, metavar, words in (
        ("shift", "FEATURE=SD", "resample so FEATURE's mean moves by SD standard deviations"),
        ("offset", "FEATURE=SD", "move FEATURE's values by SD standard deviations, nothing else"),
        ("move", "FEATURE:FROM>TO=SHARE", "move SHARE of all rows from one category to another"),
        ("flip", "FEATURE=VALUE|FEATURE>N|FEATURE<N[@SHARE]",
         "concept drift: flip the label of the slice's rows (or SHARE of them)"),
        ("break", "FEATURE=constant[:VALUE]|missing|scale:FACTOR",
         "a broken upstream column: every value constant, missing, or in other units"),
    ):  # fmt: skip
        add(f"--{name}", dest=f"{name}s", action="append", default=[], metavar=metavar,
            help=f"{words} (repeatable)")  # fmt: skip
    add("--label-rate", metavar="P", help="label shift: resample by label to positive rate P")
    add("--seed", default="0", help="random seed (default 0)")
    add("--batch", default="1000", help="records per request (default 1000)")
    add("--labels", help="folder for the label files (default monitoring/MODEL/labels)")
    add("--no-labels", action="store_true", help="write no label file")
    add("--label-share", default="1", metavar="S",
        help="delayed labels: write labels for a random share S of the rows (default 1)")  # fmt: skip
    add("--label-files", default="1", metavar="K", help="write the labels as K files (default 1)")
    add("--project", "--root", dest="project", help="project folder")
    add("--json", action="store_true", help="print one JSON object")


def _whole(option: str, text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        upto = f" to {high:,}" if high is not None else " or more"
        raise ValueError(f"{option} {text!r}: expected a whole number from {low}{upto}")
    return value


def _share(option: str, text: str, zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value <= 1) or (value == 0 and not zero):
        raise ValueError(
            f"{option} {text!r}: expected a share {'from 0' if zero else 'above 0'} to 1"
        )
    return value


def parse_plan(args: argparse.Namespace) -> Plan:
    """The plan the options ask for; ValueError (one line naming the option) for a bad one."""
    from tabship.serving.simulate.breakage import Break
    from tabship.serving.simulate.covariate import Move, Shift
    from tabship.serving.simulate.labelshift import Flip
    from tabship.serving.simulate.traffic import Plan

    if sum(bool(x) for x in (args.url, args.to_log, args.log)) > 1:
        raise ValueError("--url, --to-log and --log: choose one (a service, or a prediction log)")
    rate = None if args.label_rate is None else _share("--label-rate", args.label_rate, zero=True)
    return Plan(
        rows=5000 if args.rows is None else _whole("--rows", args.rows, 1),
        replay=args.source is not None and args.rows is None,
        seed=_whole("--seed", args.seed, 0),
        shifts=tuple(Shift.parse(text) for text in args.shifts),
        offsets=tuple(Shift.parse(text, "--offset") for text in args.offsets),
        moves=tuple(Move.parse(text) for text in args.moves),
        label_rate=rate,
        flips=tuple(Flip.parse(text) for text in args.flips),
        breaks=tuple(Break.parse(text) for text in args.breaks),
    )


def _log_path(project: Project, explicit: str | None) -> Path:
    """--log, else the project's monitoring folder: where the service writes and
    `tabship-models monitor` reads (tabship.data.logpaths)."""
    return Path(explicit) if explicit else project.monitoring


def _refuse(error: Exception) -> int:
    print(f"tabship-serving simulate: {error}", file=sys.stderr)
    return 2


def _local_model(project: Project, dataset: str | None) -> tuple[str, Artifact]:
    """The model that scores in this process (`--to-log`, `--log`): $TABSHIP_MODEL_TAG, else the
    champion, copied into the BentoML model store first when it is not there, which is said on
    stderr: the store is the user's (~/bentoml or $BENTOML_HOME), not a scratch folder."""
    from tabship.serving.runtime.artifact import load_artifact
    from tabship.serving.runtime.modelstore import store_champion, stored_folder
    from tabship.serving.settings import MODEL_TAG_ENV

    tag = os.environ.get(MODEL_TAG_ENV)
    if not tag:
        stored = store_champion(project, dataset)
        tag = stored.tag
        if stored.created:
            home = os.environ.get("BENTOML_HOME", "~/bentoml")
            print(f"simulate: stored the champion as {tag} in the BentoML model store ({home}) "
                  "to score in this process", file=sys.stderr)  # fmt: skip
    return tag, load_artifact(stored_folder(tag))


def cmd_simulate(args: argparse.Namespace) -> int:
    """Shifted holdout rows to a running service or a prediction log; their labels into a folder."""
    from tabship.data import ModelLogs, find_project
    from tabship.models import load_run_config, load_version
    from tabship.serving.simulate.labels import write_labels
    from tabship.serving.simulate.labelshift import positive_rate
    from tabship.serving.simulate.plan import check_plan
    from tabship.serving.simulate.send import batches, checked_records, score_into_log, send
    from tabship.serving.simulate.traffic import produce

    try:
        plan = parse_plan(args)
        size = _whole("--batch", args.batch, 1, 10_000)  # the service's max_records by default
        share = _share("--label-share", args.label_share, zero=False)
        files = _whole("--label-files", args.label_files, 1, plan.rows)
    except ValueError as error:
        return _refuse(error)
    project = find_project(args.project)
    run = load_run_config(project, args.dataset)
    data = load_version(project, run.data)
    target, positive = run.data.target.column, run.data.target.positive
    local = bool(args.to_log or args.log)
    if local:
        tag, artifact = _local_model(project, args.dataset)
        fields = artifact.fields
    else:
        fields = data.version.request_fields(run.data)
    try:
        pool = data.holdout if args.source is None else read_source(Path(args.source), data.holdout)
        if plan.replay:
            plan = replace(plan, rows=len(pool))
            files = min(files, plan.rows)
        check_plan(plan, pool, fields, target, positive)
        traffic = produce(pool, plan, target, positive)
        requests = batches(checked_records(traffic.frame, fields), size)
    except ValueError as error:
        return _refuse(error)
    if local:
        delivered = score_into_log(artifact, tag.split(":")[0], requests,
                                   _log_path(project, args.log))  # fmt: skip
    else:
        from tabship.serving.settings import secret

        token = secret("TABSHIP_API_TOKEN")  # or the file TABSHIP_API_TOKEN_FILE names
        delivered = send(args.url or args.default_url, requests, token)
    labels: dict[str, Any] | None = None
    if not args.no_labels:
        # Where the monitor job looks for them: <monitoring>/<model name>/labels.
        logs = ModelLogs.under(_log_path(project, args.log), run.train.model_name)
        folder = Path(args.labels) if args.labels else logs.labels
        truth = traffic.frame[target].astype(str).tolist()
        paths = write_labels(folder, delivered.prediction_ids, truth, share, files, plan.seed)
        written = round(share * len(truth))
        labels = {"folder": str(folder), "files": [str(p) for p in paths], "written": written}
    document = {
        "rows": len(traffic.frame),
        "seed": plan.seed,
        "where": delivered.where,
        "log_file": delivered.log_file,
        "requests": delivered.requests,
        "model_version": delivered.model_version,
        "predicted_positive": delivered.predicted_positive,
        "positive_rate": positive_rate(traffic.frame, target, positive),
        "labels": labels,
        "shifts": traffic.effects,
    }
    print(json.dumps(document, indent=2) if args.json else _summary(document))
    return 0


def read_source(path: Path, like: pd.DataFrame) -> pd.DataFrame:
    """Rows to draw from instead of the holdout: FILE's columns named as the dataset's (LIKE, the
    holdout, gives the columns and the number dtypes). Fresh rows never seen in training or the
    holdout make traffic whose retrain is judged fairly: replayed holdout rows, shifted, land in
    training beside their own originals in the holdout."""
    import pandas as pd

    if not path.is_file():
        raise ValueError(f"--source {path}: no such file")
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"--source {path}: not a readable CSV or parquet file ({error})") from None
    columns = [
        c for c in like.columns if c not in ("split", "row_id", "source_file", "source_line")
    ]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"--source {path}: no column {missing[0]!r} (it needs {columns})")
    if frame.empty:
        raise ValueError(f"--source {path}: no rows")
    numbers = {c: like[c].dtype for c in columns if pd.api.types.is_numeric_dtype(like[c])}
    for name, dtype in numbers.items():
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise ValueError(f"--source {path}: column {name!r} holds text, not numbers")
        if not frame[name].isna().any():
            frame[name] = frame[name].astype(dtype)
    return frame[columns].reset_index(drop=True)


def _shown(path: str) -> str:
    """PATH relative to the working folder when it is inside it (shorter to read)."""
    here = Path.cwd()
    return str(Path(path).relative_to(here)) if Path(path).is_relative_to(here) else path


def _summary(document: dict[str, Any]) -> str:
    from tabship.serving.simulate.effects import describe

    where = _shown(document["log_file"]) if document["log_file"] else document["where"]
    lines = [
        f"{document['rows']:,} records in {document['requests']} request(s) scored by model "
        f"v{document['model_version']} ({where}): {document['predicted_positive']:,} predicted "
        f"positive; true positive rate {document['positive_rate']:.3f}"
    ]
    labels = document["labels"]
    if labels:
        lines.append(
            f"labels: {labels['written']:,} in {len(labels['files'])} file(s) in {_shown(labels['folder'])}"
        )
    return "\n".join([*lines, *(describe(effect) for effect in document["shifts"])])
