"""tabship's friendly front: `invoke --list`.

Every task delegates to a nox session or a package CLI, so that what you run here is exactly what the
pre-commit hooks and CI run.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

# nox runs in the noxfile's folder, the repository's root, wherever invoke was started (invoke
# finds tasks.py in a parent folder; nox alone looks for noxfile.py in the working directory).
NOXFILE = Path(__file__).resolve().parent / "noxfile.py"


def _nox_uncaptured(session: str, *args: str) -> None:
    """As _nox, for a server: its output goes straight to the terminal. invoke's runner keeps
    everything it captures and joins it on each read, so a long-running, chatty server made it
    slower and slower to drain the pipe, until the worker blocked writing to it (a 422 echoing a
    10 MB field name stalled /healthz for 39 s)."""
    command = ["nox", "-f", str(NOXFILE), "-s", session, *(["--", *args] if args else [])]
    code = subprocess.call(command)
    if code:
        raise Exit(code=code)


def _nox(c: Context, session: str, *args: str) -> None:
    extra = f" -- {shlex.join(args)}" if args else ""
    # pty=False keeps stderr apart and CI logs free of colour codes and carriage returns.
    c.run(f"nox -f {shlex.quote(str(NOXFILE))} -s {shlex.quote(session)}{extra}", pty=False)


DATASET_HELP = "dataset: configs/datasets/NAME (default: the project's default_dataset)"


def _dataset(dataset: str) -> list[str]:
    return ["--dataset", dataset] if dataset else []


@task(
    help={
        "file": "a CSV (or other delimited text) file of labelled rows",
        "target": "the binary target column (with no header line: column_N, from 1)",
        "positive": "the target's positive value",
        "name": "the dataset's name (default: from the file's name)",
        "force": "overwrite the dataset's existing configs",
        "json": "print one JSON object",
    }
)
def init(
    c: Context, file: str, target: str, positive: str, name: str = "", force: bool = False,
    json: bool = False,
) -> None:  # fmt: skip
    """A new dataset's starting configs in configs/datasets/NAME/, inferred from FILE (nox -s init)."""
    # nox runs in the repository's root: a path relative to where invoke was started must not move.
    path = str(Path(file).resolve())
    args = [path, "--target", target, "--positive", positive, *(["--name", name] if name else [])]
    _nox(c, "init", *args, *(["--force"] if force else []), *(["--json"] if json else []))


@task(help={"dataset": DATASET_HELP, "json": "print one JSON object"})
def ingest(c: Context, dataset: str = "", json: bool = False) -> None:
    """Validate, quarantine and version a dataset (tabship-data ingest, via nox -s ingest)."""
    _nox(c, "ingest", *_dataset(dataset), *(["--json"] if json else []))


@task(
    help={
        "force": "retrain even when a matching run exists",
        "dataset": DATASET_HELP,
        "json": "print one JSON object",
        "engine": "single (one process) or dask (default: train.yaml's engine, else single)",
        "scheduler": "the Dask scheduler, tcp://HOST:8786 (default: a LocalCluster on 127.0.0.1)",
        "source": "a file, or a folder of parquet or CSV partitions, in the dataset's shape",
    }
)
def train(
    c: Context, force: bool = False, dataset: str = "", json: bool = False, engine: str = "",
    scheduler: str = "", source: str = "",
) -> None:  # fmt: skip
    """The main job: raw data to a validated dataset and a gated champion model (nox -s train)."""
    _nox(
        c,
        "train",
        *(["--force"] if force else []),
        *_dataset(dataset),
        *(["--json"] if json else []),
        *(["--engine", engine] if engine else []),
        *(["--scheduler", scheduler] if scheduler else []),
        # nox runs in the repository's root: a path relative to where invoke started must not move.
        *(["--source", str(Path(source).resolve())] if source else []),
    )


@task(help={"dataset": "configs/datasets/NAME (default: the project's)", "json": "one JSON object"})
def tune(c: Context, dataset: str = "", json: bool = False) -> None:
    """The hyperparameter search alone, continuing its study; train uses it (nox -s tune)."""
    _nox(c, "tune", *_dataset(dataset), *(["--json"] if json else []))


@task(
    help={
        "rows": "how many rows, e.g. 10_000_000",
        "out": "the folder to write part-NNNNN.parquet files to",
        "partitions": "how many files (default: one per million rows)",
        "dataset": DATASET_HELP,
        "seed": "the same seed writes the same files (default 0)",
    }
)
def synth(
    c: Context, rows: int, out: str, partitions: int = 0, dataset: str = "", seed: int = 0
) -> None:
    """Synthetic rows shaped like the dataset, with a learnable label, as parquet (nox -s synth)."""
    args = ["--rows", str(rows), "--out", str(Path(out).resolve()), "--seed", str(seed)]
    _nox(c, "synth", *args, *(["--partitions", str(partitions)] if partitions else []),
         *_dataset(dataset))  # fmt: skip


@task(
    help={
        "against": "an alias or a version number (default: champion)",
        "post": "auto (the CI run's platform), github, gitlab or none",
        "warn_only": "exit 0 even when the gate would refuse the candidate",
        "dataset": DATASET_HELP,
        "json": "print one JSON object",
    }
)
def review(
    c: Context, against: str = "champion", post: str = "auto", warn_only: bool = False,
    dataset: str = "", json: bool = False,
) -> None:  # fmt: skip
    """This checkout's candidate against the champion, on the same rows (nox -s review)."""
    args = ["--against", against, "--post", post, *_dataset(dataset)]
    _nox(c, "review", *args, *(["--warn-only"] if warn_only else []), *(["--json"] if json else []))


@task(
    help={
        "version": "model version number (default: the champion)",
        "alias": "model alias, when no version is given",
        "dataset_version": "dataset version (default: latest)",
        "dataset": DATASET_HELP,
        "json": "print one JSON object",
    }
)
def evaluate(
    c: Context, version: str = "", alias: str = "champion", dataset_version: str = "latest",
    dataset: str = "", json: bool = False,
) -> None:  # fmt: skip
    """Re-score a registered model version on a dataset version's holdout (nox -s evaluate)."""
    args = ["--version", version] if version else ["--alias", alias]
    args += ["--dataset-version", dataset_version, *_dataset(dataset)]
    _nox(c, "evaluate", *args, *(["--json"] if json else []))


@task(
    help={
        "dataset": DATASET_HELP,
        "json": "print one JSON object",
        "notify": "a running service's URL: it reloads ($TABSHIP_RELOAD_TOKEN)",
    }
)
def rollback(c: Context, dataset: str = "", json: bool = False, notify: str = "") -> None:
    """Restore the previous champion model version (nox -s rollback)."""
    args = [*_dataset(dataset), *(["--notify", notify] if notify else [])]
    _nox(c, "rollback", *args, *(["--json"] if json else []))


@task(help={"dataset": DATASET_HELP})
def bento(c: Context, dataset: str = "") -> None:
    """The champion into the BentoML model store, then a bento (nox -s bento)."""
    _nox(c, "bento", *_dataset(dataset))


@task(
    help={
        "port": "port to listen on",
        "host": "interface (default: loopback only)",
        "dataset": DATASET_HELP,
    }
)
def serve(c: Context, port: int = 3000, host: str = "127.0.0.1", dataset: str = "") -> None:
    """Serve the current champion with BentoML (nox -s serve)."""
    _nox_uncaptured("serve", "--port", str(port), "--host", host, *_dataset(dataset))


@task(
    help={
        "file": "CSV file of records to score",
        "local": "score in-process instead of through the running service",
        "url": "service URL (default: http://127.0.0.1:3000)",
        "dataset": DATASET_HELP + "; its model with --local, and its missing-value tokens",
        "json": "print one JSON object",
    }
)
def predict(
    c: Context, file: str, local: bool = False, url: str = "", dataset: str = "", json: bool = False
) -> None:
    """Score a CSV through the running service, or in-process with --local (nox -s predict)."""
    args = [file, *(["--local"] if local else []), *(["--url", url] if url else [])]
    _nox(c, "predict", *args, *_dataset(dataset), *(["--json"] if json else []))


@task(
    help={
        "dataset": DATASET_HELP,
        "window": "newest logged predictions to judge (default 10000)",
        "pushgateway": "push the figures to this Pushgateway URL",
        "log": "the monitoring folder (default: the project's, or $TABSHIP_PREDICTION_LOG)",
        "labels": "a folder of prediction_id,label CSV files",
        "no_plots": "write no PNG plots",
        "json": "print one JSON object",
    }
)
def monitor(
    c: Context, dataset: str = "", window: int = 0, pushgateway: str = "", log: str = "",
    labels: str = "", no_plots: bool = False, json: bool = False,
) -> None:  # fmt: skip
    """Drift, estimated and live performance of the champion's predictions (nox -s monitor)."""
    args = [*_dataset(dataset), *(["--window", str(window)] if window else [])]
    args += ["--pushgateway", pushgateway] if pushgateway else []
    # nox runs in the repository's root: a folder relative to where invoke started must not move.
    args += ["--log", str(Path(log).resolve())] if log else []
    args += ["--labels", str(Path(labels).resolve())] if labels else []
    args += ["--no-plots"] if no_plots else []
    _nox(c, "monitor", *args, *(["--json"] if json else []))


@task(
    help={
        "dataset": DATASET_HELP,
        "trigger": "what caused it: manual, schedule, drift, live_drop or estimate_drop",
        "report": "the monitor report that caused it (recorded with the run)",
        "data": "a file of labelled rows (the dataset's shape) to append as well",
        "force": "ignore the cooldown and the minimum of new rows",
        "notify": "a running service's URL: it reloads ($TABSHIP_RELOAD_TOKEN)",
        "json": "print one JSON object",
    }
)
def retrain(
    c: Context, dataset: str = "", trigger: str = "manual", report: str = "", data: str = "",
    force: bool = False, notify: str = "", json: bool = False,
) -> None:  # fmt: skip
    """Retrain on new labelled data; promote only a better challenger (nox -s retrain)."""
    args = ["--trigger", trigger, *(["--report", str(Path(report).resolve())] if report else [])]
    args += [
        *(["--data", str(Path(data).resolve())] if data else []),
        *(["--force"] if force else []),
    ]
    args += ["--notify", notify] if notify else []
    _nox(c, "retrain", *args, *_dataset(dataset), *(["--json"] if json else []))


@task(
    help={
        "config": "the receiver's config (default: configs/receiver.yaml)",
        "host": "interface (default: the config's, loopback)",
        "port": "port (default: the config's, 9095)",
    }
)
def receive(c: Context, config: str = "", host: str = "", port: int = 0) -> None:
    """Serve Alertmanager's webhook and start the retrain pipeline (nox -s receive)."""
    args = ["--config", str(Path(config).resolve())] if config else []
    args += (["--host", host] if host else []) + (["--port", str(port)] if port else [])
    _nox(c, "receive", *args)


@task(
    iterable=["shift", "offset", "move", "flip", "break_"],
    help={
        "rows": "records to send (default 5000)",
        "shift": "FEATURE=SD: resample so the feature's mean moves by SD standard deviations",
        "offset": "FEATURE=SD: move the feature's values by SD standard deviations",
        "move": "FEATURE:FROM>TO=SHARE: move a share of rows between two categories",
        "label_rate": "P: label shift, resample by label to positive rate P",
        "flip": "FEATURE=VALUE, FEATURE>N or FEATURE<N, then @SHARE: the slice's labels flip",
        "break_": "FEATURE=constant[:VALUE], FEATURE=missing or FEATURE=scale:FACTOR",
        "to_log": "no service: score in-process into the project's prediction log",
        "log": "like --to-log, into this prediction log folder",
        "source": "draw rows from this CSV or parquet file (the dataset's columns) not the holdout",
        "label_share": "write labels for this share of the rows only (default 1)",
        "label_files": "write the labels as this many files (default 1)",
        "url": "service URL (default: http://127.0.0.1:3000)",
        "seed": "random seed (default 0)",
        "json": "print one JSON object",
        "dataset": DATASET_HELP,
    },
)
def simulate(
    c: Context, rows: int = 5000, shift: list[str] | None = None,
    offset: list[str] | None = None, move: list[str] | None = None, label_rate: str = "",
    flip: list[str] | None = None, break_: list[str] | None = None, to_log: bool = False,
    log: str = "", label_share: str = "", label_files: int = 0, url: str = "", seed: int = 0,
    json: bool = False, dataset: str = "", source: str = "",
) -> None:  # fmt: skip
    """Shifted holdout traffic to the running service or the prediction log, and its labels."""
    args = ["--rows", str(rows), "--seed", str(seed), *(["--url", url] if url else [])]
    args += [f"--shift={s}" for s in shift or []] + [f"--offset={o}" for o in offset or []]
    args += [f"--move={m}" for m in move or []] + [f"--flip={f}" for f in flip or []]
    args += [f"--break={b}" for b in break_ or []]
    args += [f"--label-rate={label_rate}"] if label_rate else []
    args += [f"--label-share={label_share}"] if label_share else []
    args += [f"--label-files={label_files}"] if label_files else []
    # nox runs in the repository's root: a log folder relative to where invoke started must not move.
    args += ["--to-log"] if to_log else []
    args += [f"--log={Path(log).resolve()}"] if log else []
    args += [f"--source={Path(source).resolve()}"] if source else []
    _nox(c, "simulate", *args, *(["--json"] if json else []), *_dataset(dataset))


@task(
    help={
        "changed_since": "test only packages changed since this git revision, and dependents",
        "k": "only tests matching this pytest -k expression",
    }
)
def test(c: Context, changed_since: str = "", k: str = "") -> None:
    """Run every package's tests and the cross-package tests (nox -s test)."""
    args = (["--changed-since", changed_since] if changed_since else []) + (["-k", k] if k else [])
    _nox(c, "test", *args)


@task
def lint(c: Context) -> None:
    """Ruff lint and format check, and the layer contract (nox -s lint)."""
    _nox(c, "lint")


@task
def typecheck(c: Context) -> None:
    """mypy --strict over all packages (nox -s typecheck)."""
    _nox(c, "typecheck")


@task
def build(c: Context) -> None:
    """Wheels and sdists into dist/, and the champion's bento (nox -s build)."""
    _nox(c, "build")


@task(help={"package": "data, features, models or serving", "part": "major, minor or patch"})
def release(c: Context, package: str, part: str = "patch") -> None:
    """Bump one package's version, add a CHANGELOG section and tag tabship-PACKAGE-vX.Y.Z."""
    _nox(c, "release", package, part)


@task(
    help={
        "action": "up, down or status",
        "json": "print one JSON object",
        "purge": "down: delete the stack's folder and its data too",
    }
)
def stack(c: Context, action: str, json: bool = False, purge: bool = False) -> None:
    """The team stack on loopback: PostgreSQL, S3 (SeaweedFS) and an MLflow server (nox -s stack)."""
    _nox(c, "stack", action, *(["--json"] if json else []), *(["--purge"] if purge else []))
