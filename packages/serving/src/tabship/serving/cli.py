"""The `tabship-serving` command: build, serve and predict.

tabship-serving build [--dataset NAME] [--json]     champion -> BentoML model store -> bento
tabship-serving serve [--dataset NAME] [--port 3000] [--host 127.0.0.1] [--model TAG]
    (--port defaults to $TABSHIP_PORT: an image's HEALTHCHECK probes the same variable)
tabship-serving predict FILE.csv [--url URL | --local [--dataset NAME]] [--json]
tabship-serving simulate [--rows N] [--shift F=SD] [--offset F=SD] [--move F:A>B=SHARE]
    [--label-rate P] [--flip SLICE[@SHARE]] [--break F=MODE] [--url URL | --to-log | --log DIR]

serve and predict --local use the champion of the project's dataset (default: its
default_dataset), stored first when it is not yet; with no project (a container), the newest
tabship model in the store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabship.serving import __version__
from tabship.serving.simulate.cli import add_simulate_options, cmd_simulate

if TYPE_CHECKING:
    from tabship.data import Project

SERVICE = "tabship.serving.service:TabshipClassifier"
PORT = 3000
# The port `serve` listens on when --port is not given: the serving image sets it, and its
# HEALTHCHECK probes it, so a container started on another port is still probed where it listens.
PORT_ENV = "TABSHIP_PORT"
DEFAULT_URL = f"http://127.0.0.1:{PORT}"


def chosen_port(environ: Mapping[str, str]) -> int | None:
    """$TABSHIP_PORT, or PORT when it is unset; None when it is not a port number."""
    text = environ.get(PORT_ENV, "").strip() or str(PORT)
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


EXIT_NO_CHAMPION = 4  # distinct, so `nox -s build` can skip the bento before the first training


def _project(value: str | None) -> Project:
    from tabship.data import find_project

    return find_project(value)


def _emit(args: argparse.Namespace, document: dict[str, Any], summary: str) -> None:
    print(json.dumps(document, indent=2) if args.json else summary)


def cmd_build(args: argparse.Namespace) -> int:
    """Store the champion and build the bento."""
    from tabship.serving.bento import build_bento, workspace_root
    from tabship.serving.runtime.modelstore import store_champion

    stored = store_champion(_project(args.project), args.dataset)
    document: dict[str, Any] = {
        "model": stored.tag,
        "model_created": stored.created,
        **asdict(stored.facts),
    }
    if not args.model_only:
        wheels = Path(args.wheels) if args.wheels else None
        requirements = Path(args.requirements) if args.requirements else None
        document.update(
            build_bento(workspace_root(), stored, wheels=wheels, requirements=requirements)
        )
    summary = (
        f"model {stored.tag} ({'new' if stored.created else 'already stored'}): "
        f"{stored.facts.model_name} v{stored.facts.model_version}, "
        f"dataset {stored.facts.dataset_version}"
    )
    if "bento" in document:
        summary += f"\nbento {document['bento']} at {document['path']}"
    _emit(args, document, summary)
    return 0


def serve_command(host: str, port: int) -> list[str]:
    """The `bentoml serve` command line for the service."""
    return [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port)]


def serve_env(project: Project | None, dataset: str | None = None) -> dict[str, str]:
    """The environment the service reads: the serving config of the project, and the project
    and dataset whose registry it follows (reload, watch, shadow), when there is one."""
    from tabship.serving.runtime.reload import RUN_DIR_ENV
    from tabship.serving.settings import DATASET_ENV, PROJECT_ENV, SETTINGS_ENV

    env = dict(os.environ)
    # Each service makes its own folder for its workers; one inherited from here would be shared.
    env.pop(RUN_DIR_ENV, None)
    if project is not None:
        if project.serving_config.is_file():
            env.setdefault(SETTINGS_ENV, str(project.serving_config))
        env[PROJECT_ENV] = str(project.root)
        env[DATASET_ENV] = dataset or project.default_dataset or ""
    return env


def shadow_env(project: Project | None, dataset: str | None, env: dict[str, str]) -> dict[str, str]:
    """The challenger's tag (stored first) when ENV's serving config turns shadow mode on and
    the registry has a challenger; nothing otherwise."""
    from tabship.models import CHALLENGER
    from tabship.serving.runtime.modelstore import store_alias
    from tabship.serving.settings import CHALLENGER_TAG_ENV, SETTINGS_ENV, load_settings

    if project is None or not load_settings(env.get(SETTINGS_ENV)).shadow:
        return {}
    stored = store_alias(project, dataset, CHALLENGER)
    return {CHALLENGER_TAG_ENV: stored.tag} if stored else {}


def _optional_project(value: str | None) -> Project | None:
    """The project, or None where there is none (a container holds only the model store)."""
    from tabship.data import ConfigError

    if value is not None:
        return _project(value)
    try:
        return _project(None)
    except ConfigError:
        return None


def _chosen_model(project: Project | None, explicit: str | None, dataset: str | None) -> str:
    """The tag to serve or score with, its files checked (IntegrityError names a bad one)."""
    from tabship.serving.runtime.artifact import verify_artifact
    from tabship.serving.runtime.modelstore import model_to_serve, stored_folder

    tag = model_to_serve(project, explicit, dataset)
    verify_artifact(stored_folder(tag))
    return tag


def unauthenticated_refusal(host: str, env: dict[str, str]) -> str | None:
    """Why serving on HOST with ENV must not start, or None. Off loopback, an unset
    TABSHIP_API_TOKEN would leave every prediction endpoint open: refused unless serving.yaml's
    `allow_unauthenticated` says so, and then warned about on stderr."""
    import ipaddress

    from tabship.serving.settings import SETTINGS_ENV, load_settings, secret

    if secret("TABSHIP_API_TOKEN", env):  # the variable or TABSHIP_API_TOKEN_FILE
        return None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    if load_settings(env.get(SETTINGS_ENV)).allow_unauthenticated:
        print(f"WARNING: serving on {host} with no TABSHIP_API_TOKEN: the prediction endpoints "
              "are open to anyone who can reach them (allow_unauthenticated: true)",
              file=sys.stderr)  # fmt: skip
        return None
    return (
        f"refusing to serve on {host} with no TABSHIP_API_TOKEN: every prediction endpoint "
        "would be open. Set the token, serve on 127.0.0.1, or set allow_unauthenticated: true "
        "in serving.yaml when a proxy in front authenticates"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Replace this process with `bentoml serve` (signals then reach the server directly)."""
    from tabship.serving.settings import (
        CHALLENGER_TAG_ENV,
        MODEL_TAG_ENV,
        SETTINGS_ENV,
        load_settings,
        secret,
    )

    port = args.port if args.port is not None else chosen_port(os.environ)
    if port is None:
        print(f"tabship-serving serve: {PORT_ENV}={os.environ[PORT_ENV]!r} is not a port (1-65535)",
              file=sys.stderr)  # fmt: skip
        return 2
    project = _optional_project(args.project)
    env = serve_env(project, args.dataset)
    # A token file that cannot be read fails here, in one line, not in the worker at start-up.
    secret(load_settings(env.get(SETTINGS_ENV)).reload_token_env, env)
    refusal = unauthenticated_refusal(args.host, env)
    if refusal:
        print(f"tabship-serving serve: {refusal}", file=sys.stderr)
        return 2
    tag = _chosen_model(project, args.model, args.dataset)
    command = serve_command(args.host, port)
    env.update(shadow_env(project, args.dataset, env), **{MODEL_TAG_ENV: tag})
    shadowed = f", shadowed by {env[CHALLENGER_TAG_ENV]}" if CHALLENGER_TAG_ENV in env else ""
    print(f"serving {tag}{shadowed} on http://{args.host}:{port}", file=sys.stderr, flush=True)
    os.execve(command[0], command, env)  # noqa: S606  (no shell: a fixed argv)


def _missing_tokens(project: Project | None, dataset: str | None) -> list[str]:
    """The dataset's own missing-value tokens (its reader's na_values), so a CSV written the way
    its training files are reads the same; none outside a project."""
    from tabship.data import ConfigError, load_config

    if project is None:
        return []
    try:
        return list(load_config(project.dataset(dataset).data_config).reader.na_values)
    except ConfigError:
        return []


def cmd_predict(args: argparse.Namespace) -> int:
    """Score a CSV over HTTP (or in-process with --local); write the scores as CSV or JSON."""
    from tabship.serving.client.predict import predict_local, predict_remote

    project = _optional_project(args.project)
    na_values = args.na if args.na is not None else _missing_tokens(project, args.dataset)
    if args.local:
        tag = _chosen_model(project, args.model, args.dataset)
        result = predict_local(Path(args.file), tag, na_values)
    else:
        from tabship.serving.settings import secret

        token = secret("TABSHIP_API_TOKEN")  # or the file TABSHIP_API_TOKEN_FILE names
        result = predict_remote(Path(args.file), args.url, token, na_values)
    if result.error is not None:
        print(json.dumps(result.error, indent=2), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.document(), indent=2))
    else:
        labels = sum(p["label"] for p in result.predictions)
        print(
            f"{len(result.predictions)} records scored by model v{result.model_version} "
            f"({result.where}): {labels} positive at the model's threshold"
            + (f"; ignored columns: {', '.join(result.ignored)}" if result.ignored else "")
        )
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(
        prog="tabship-serving",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"tabship-serving {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="champion into the BentoML store, then a bento")
    build.add_argument(
        "--project", "--root", dest="project", help="project folder (default: found)"
    )
    build.add_argument("--model-only", action="store_true", help="store the model, skip the bento")
    build.add_argument("--wheels", help="folder of the workspace wheels (default: built here)")
    build.add_argument("--requirements", help="requirements file (default: exported from uv.lock)")
    build.add_argument("--json", action="store_true", help="print one JSON object")
    build.set_defaults(run=cmd_build)

    serve = commands.add_parser("serve", help="run bentoml serve for the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=int, default=None, help=f"default: ${PORT_ENV} when set, else {PORT}"
    )
    serve.add_argument(
        "--project", "--root", dest="project", help="project folder (default: found, if any)"
    )
    serve.add_argument("--model", help="a model tag in the store (default: the champion)")
    serve.set_defaults(run=cmd_serve)

    predict = commands.add_parser("predict", help="score a CSV file")
    predict.add_argument("file", help="CSV with a header line naming the request fields")
    where = predict.add_mutually_exclusive_group()
    where.add_argument("--url", default=DEFAULT_URL, help=f"service URL (default {DEFAULT_URL})")
    where.add_argument("--local", action="store_true", help="score in-process, no server")
    predict.add_argument("--project", "--root", dest="project", help="with --local: project folder")
    predict.add_argument("--model", help="with --local: a model tag (default: the champion)")
    predict.add_argument(
        "--na", action="append", default=None, metavar="TOKEN",
        help="a cell value that means missing (repeatable; default: the dataset's na_values)",
    )  # fmt: skip
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(run=cmd_predict)
    simulate = commands.add_parser(
        "simulate", help="shifted holdout rows to a service or a prediction log, and their labels"
    )
    add_simulate_options(simulate, DEFAULT_URL)
    simulate.set_defaults(run=cmd_simulate)
    for command in (build, serve, predict, simulate):
        command.add_argument(
            "--dataset", default=None,
            help="dataset whose champion to use: configs/datasets/NAME (default: the project's)",
        )  # fmt: skip
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    from tabship.serving.runtime.modelstore import NoChampionError

    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except NoChampionError as error:  # nothing trained yet: its own status, one plain line
        print(f"tabship-serving {args.command}: {error}", file=sys.stderr)
        return EXIT_NO_CHAMPION
    except Exception as error:  # a one-line message, not a traceback, for any failure
        message = f"{type(error).__name__}: {error}"
        if getattr(args, "json", False):
            print(json.dumps({"error": message}), file=sys.stderr)
        else:
            print(f"tabship-serving {args.command}: {message}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
