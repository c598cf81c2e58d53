"""The `tabship-models` command: train (the main job), tune, evaluate, review, rollback, versions,
monitor, retrain and receive.

Heavy libraries (LightGBM, MLflow, pandas) are imported only when a command needs them, so that a
cached `train` answers within a second.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabship.data import ConfigError, atomic_write_json, find_project
from tabship.models import __version__
from tabship.models.config import load_train_config
from tabship.models.failures import failure_line
from tabship.models.monitoring.summary import monitor_summary
from tabship.models.result import metrics_table, train_summary

if TYPE_CHECKING:
    from tabship.data import Project

EXIT_OK, EXIT_FAILED, EXIT_GATE, EXIT_NO_CHAMPION = 0, 1, 3, 4
# retrain: the champion stays (a challenger refused, or superseded by another run), or no run.
EXIT_REFUSED, EXIT_SKIPPED = 5, 6
RETRAIN_EXIT = {"promoted": EXIT_OK, "refused": EXIT_REFUSED, "superseded": EXIT_REFUSED,
                "skipped": EXIT_SKIPPED}  # fmt: skip


def _progress(started: float) -> Any:
    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    return say


def _train(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.jobs.train import train  # light: a cached run loads no LightGBM or MLflow

    result = train(project, args.force, _progress(time.perf_counter()), args.dataset,
                   engine=args.engine, scheduler=args.scheduler, source=args.source,
                   review=args.review)  # fmt: skip
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(train_summary(result))
    if result.status == "reviewed":  # the review (`review`) judges it, and says so
        return EXIT_OK
    if not result.gate_passed:
        print(
            "error: the quality gate failed (" + ", ".join(result.gate_failures) + "); "
            "the champion is unchanged",
            file=sys.stderr,
        )
        return EXIT_GATE
    if result.status == "superseded":
        print(f"error: superseded: another run moved the champion while this one was deciding; "
              f"version {result.model_version} stays 'candidate'", file=sys.stderr)  # fmt: skip
        return EXIT_REFUSED
    return EXIT_OK


def _tune(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.jobs.tune import tune

    found = tune(project, args.dataset, _progress(time.perf_counter()))
    print(json.dumps(found.to_dict()) if args.json else found.report())
    return EXIT_OK


def _evaluate(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.jobs.evaluate import evaluate
    from tabship.models.registry.registry import RegistryError

    try:
        found = evaluate(project, args.dataset, args.version, args.alias, args.dataset_version)
    except RegistryError as error:  # no version holds the alias
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(found.to_dict()))
    else:
        print(f"{found.model_name} version {found.model_version} on dataset version "
              f"{found.dataset_version} ({found.holdout_rows} holdout rows)")  # fmt: skip
        print(metrics_table({"holdout": found.holdout}))
    return EXIT_OK


def _review(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.jobs.review import review
    from tabship.models.review.output import write_review

    found = review(project, args.dataset, args.against, _progress(time.perf_counter()))
    found.links.update(dict(link.split("=", 1) for link in args.link))
    files = write_review(found, args.out)
    if args.json:
        print(json.dumps({**found.to_dict(), "files": {k: str(v) for k, v in files.items()}}))
    else:
        print(found.summary())
        print(f"review: {files['markdown']} and {files['html']}")
    if not found.gate_passed and not args.warn_only:
        print(f"error: the gate would refuse candidate version {found.candidate.version}",
              file=sys.stderr)  # fmt: skip
        return EXIT_GATE
    return EXIT_OK


def _rollback(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.registry.notify import reload_url
    from tabship.models.registry.registry import Registry

    if args.notify:
        reload_url(args.notify)  # a malformed URL stops here, before the registry moves
    registry = Registry.for_dataset(project, args.dataset)
    restored, replaced = registry.rollback()
    document: dict[str, Any] = {"champion": restored.version, "previous": replaced.version}
    if not args.json:
        print(f"{registry.name}: champion is version {restored.version} again "
              f"(version {replaced.version} is now 'previous')")  # fmt: skip
    failed = _notify(args, document)
    if args.json:
        print(json.dumps(document))
    if failed:
        print(f"error: the rollback is done, but the service did not reload: {failed}",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    return EXIT_OK


def _notify(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
    """With --notify: reload the service, its answer into DOCUMENT["service"] (and a line for
    people); why it did not reload, else None."""
    from tabship.models.registry.notify import reload_service

    if not args.notify:
        return None
    answer, failed = reload_service(args.notify)
    if answer is not None:
        document["service"] = answer
        if not args.json:
            print(f"service {args.notify}: {answer.get('status')}, serving version "
                  f"{answer.get('model_version')}")  # fmt: skip
    return failed


def _versions(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.registry.registry import Registry

    registry = Registry.for_dataset(project, args.dataset)
    rows = registry.versions()
    if args.json:
        print(json.dumps({"model_name": registry.name, "versions": rows}))
    else:
        print(f"{registry.name}: {len(rows)} version(s)")
        for row in rows:
            print(f"  {row['version']:>4}  run {row['run_id']}  {' '.join(row['aliases'])}")
    return EXIT_OK


def _monitor(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.jobs.monitor import MonitorError, MonitorSettings, monitor

    settings = MonitorSettings(
        window_rows=args.window,
        min_labels=args.min_labels,
        margin=args.margin,
        log_path=args.log,
        labels=args.labels,
        plots=not args.no_plots,
    )
    say = _progress(time.perf_counter())
    try:
        report, folder = monitor(project, args.dataset, settings, say, args.pushgateway)
    except MonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NO_CHAMPION
    if args.json:
        print(json.dumps(report))
    else:
        print(monitor_summary(report))
        shown = folder / "report.json"
        if shown.is_relative_to(Path.cwd()):
            shown = shown.relative_to(Path.cwd())
        print(f"report: {shown}")
    return EXIT_OK


def _retrain(args: argparse.Namespace, project: Project) -> int:
    from tabship.models.feedback.rows import FeedbackError
    from tabship.models.feedback.summary import retrain_summary
    from tabship.models.jobs.retrain import NoChampionError, RetrainError, RetrainRequest, retrain
    from tabship.models.registry.notify import reload_service, reload_url

    if args.notify:
        reload_url(args.notify)  # a malformed URL stops here, before anything is trained
    request = RetrainRequest(
        trigger=args.trigger,
        report=args.report,
        force=args.force,
        data_file=args.data,
        log_path=args.log,
        labels=args.labels,
    )
    try:
        outcome = retrain(project, args.dataset, request, _progress(time.perf_counter()))
    except NoChampionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NO_CHAMPION
    except (RetrainError, FeedbackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    code = RETRAIN_EXIT[outcome.status]
    if args.notify and outcome.status != "skipped":
        # Promoted: the champion moved. Refused: the challenger did (a shadowing service scores
        # it). Either way the service reloads; nothing moved when the run was skipped.
        outcome.service, failed = reload_service(args.notify)
        if failed:
            outcome.reasons.append(f"the service did not reload: {failed}")
            print(f"error: the retrain is done, but the service did not reload: {failed}",
                  file=sys.stderr)  # fmt: skip
            code = EXIT_FAILED
    if args.outcome:
        atomic_write_json(args.outcome, outcome.to_dict())
    print(json.dumps(outcome.to_dict()) if args.json else retrain_summary(outcome))
    return code


def _receive(args: argparse.Namespace, project: Project) -> int:
    """Serve Alertmanager's webhook and start retrains (see tabship.models.receiver.server)."""
    from dataclasses import replace

    from tabship.models.receiver.config import load_receiver_config
    from tabship.models.receiver.server import serve

    config = load_receiver_config(args.config or project.configs / "receiver.yaml", project.root)
    overrides = {"host": args.host, "port": args.port}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    # Alerts name the model; the retrain command takes the dataset whose train.yaml names it.
    names = project.dataset_names()
    datasets = {load_train_config(project.dataset(name)).model_name: name for name in names}
    return serve(config, datasets)


def _review_parser(commands: Any) -> None:
    review = commands.add_parser(
        "review", help="this checkout's candidate against the champion, on the same rows"
    )
    review.add_argument("--against", default="champion", help="an alias or a version number "
                        "(default: champion)")  # fmt: skip
    review.add_argument("--out", type=Path, default=Path("reports/review"),
                        help="folder for review.md, review.html and review.json")  # fmt: skip
    review.add_argument("--link", action="append", default=[], metavar="LABEL=URL",
                        help="a link shown under the summary (the HTML page in CI)")  # fmt: skip
    review.add_argument("--warn-only", action="store_true",
                        help="exit 0 even when the gate would refuse the candidate")  # fmt: skip


def _common_options(commands: dict[str, argparse.ArgumentParser]) -> None:
    """--dataset and --json on every command but `receive`: one receiver serves every dataset,
    and it prints a log, not JSON."""
    for name, sub in commands.items():
        if name == "receive":
            continue
        sub.add_argument(
            "--dataset", default=None,
            help="dataset: configs/datasets/NAME (default: the project's default_dataset)",
        )  # fmt: skip
        sub.add_argument("--json", action="store_true", help="print one JSON object")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (3 when the quality gate fails)."""
    parser = argparse.ArgumentParser(prog="tabship-models", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tabship-models {__version__}")
    parser.add_argument(
        "--project", "--root", dest="project", type=Path, default=None,
        help="project folder (default: $TABSHIP_PROJECT, or found from the cwd)",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="ingest, features, CV, holdout, registry and gate")
    train.add_argument("--force", action="store_true", help="retrain even if a matching run exists")
    train.add_argument(
        "--engine", choices=("single", "dask"), help="one process, or a Dask cluster (default: "
        "train.yaml's engine, else single)",
    )  # fmt: skip
    train.add_argument("--scheduler", help="the Dask scheduler, tcp://HOST:8786 (default: a "
                       "LocalCluster on 127.0.0.1, closed at the end)")  # fmt: skip
    train.add_argument("--review", action="store_true", help="a pull or merge request's "
                       "candidate: registered, no alias moved (then: review)")  # fmt: skip
    train.add_argument("--source", type=Path, help="a file, or a folder of parquet or CSV "
                       "partitions, in the dataset's shape (rows split by row hash)")  # fmt: skip
    commands.add_parser("tune", help="the hyperparameter search alone (train.yaml `tune:`); "
                        "train then uses its result")  # fmt: skip
    evaluate = commands.add_parser("evaluate", help="re-score a registered version on a dataset")
    evaluate.add_argument("--version", dest="version", default=None, help="model version number")
    evaluate.add_argument("--alias", default="champion", help="model alias (default: champion)")
    evaluate.add_argument("--dataset-version", default="latest", help="dataset version")
    _review_parser(commands)
    rollback = commands.add_parser("rollback", help="restore the 'previous' version as champion")
    rollback.add_argument(
        "--notify", metavar="URL",
        help="then POST to this service's reload endpoint (http://HOST:PORT or its "
        "/admin/reload), with the bearer token in $TABSHIP_RELOAD_TOKEN",
    )  # fmt: skip
    commands.add_parser("versions", help="list registered versions and their aliases")
    monitor = commands.add_parser(
        "monitor", help="drift, estimated and live performance of the champion's predictions"
    )
    monitor.add_argument("--window", type=int, default=10_000, help="newest predictions to judge")
    monitor.add_argument("--min-labels", type=int, default=200, help="labels before a live figure")
    monitor.add_argument(
        "--margin", type=float, default=0.02, help="allowed drop below the holdout figures"
    )
    monitor.add_argument("--log", type=Path, help="the monitoring folder: the prediction log, its "
                         "compacted rows and the labels (default: the project's)")  # fmt: skip
    monitor.add_argument("--labels", type=Path, help="folder of prediction_id,label CSV files")
    monitor.add_argument("--pushgateway", help="push the figures to this Pushgateway URL")
    monitor.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    retrain = commands.add_parser(
        "retrain", help="retrain on new labelled data; promote only a better challenger"
    )
    retrain.add_argument(
        "--trigger", default="manual",
        choices=("manual", "schedule", "drift", "live_drop", "estimate_drop"),
        help="what caused this run (recorded with it)",
    )  # fmt: skip
    retrain.add_argument("--report", type=Path, help="the monitor report that caused it")
    retrain.add_argument("--force", action="store_true", help="ignore the cooldown and row minimum")
    retrain.add_argument("--data", type=Path, help="a file of labelled rows to append as well")
    retrain.add_argument("--log", type=Path, help="the monitoring folder (as monitor --log)")
    retrain.add_argument("--labels", type=Path, help="folder of prediction_id,label CSV files")
    retrain.add_argument("--outcome", type=Path, help="also write the outcome JSON to this file")
    retrain.add_argument(
        "--notify", metavar="URL",
        help="then POST to this service's reload endpoint (as rollback --notify)",
    )  # fmt: skip
    receive = commands.add_parser("receive", help="serve Alertmanager's webhook: start retrains")
    receive.add_argument("--config", type=Path, help="default: configs/receiver.yaml")
    receive.add_argument("--host", help="interface to listen on (default: the config's)")
    receive.add_argument("--port", type=int, help="port to listen on, 0 for any free one")
    _common_options(commands.choices)
    args = parser.parse_args(argv)
    handlers = {
        "train": _train,
        "tune": _tune,
        "evaluate": _evaluate,
        "review": _review,
        "rollback": _rollback,
        "versions": _versions,
        "monitor": _monitor,
        "retrain": _retrain,
        "receive": _receive,
    }
    try:
        return handlers[args.command](args, find_project(args.project))
    except ConfigError as error:  # already one line naming the file and the field
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # every failure becomes one clear line, never a traceback
        print(f"error: {failure_line(error)}", file=sys.stderr)
        return EXIT_FAILED


def run() -> None:
    """The console script: main(), then exit without a last garbage collection.

    Python's exit walks every object the run made (MLflow, pandas, sklearn), about 0.6 s of a
    forced training run; freezing them first skips that. atexit handlers still run. main() itself
    leaves the collector alone, because tests call it in their own process.
    """
    code = main()
    gc.disable()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
