"""The `tabship-data` command: start a dataset's configs from a file, ingest raw files, show and
list dataset versions.

Exit codes: 0 success, 1 a structural fault in the data or a rejected run (quarantine over the
limit, malformed lines), 2 a usage or configuration error. Errors are one line on stderr,
`error: FILE:LINE: message`, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabship.data import __version__
from tabship.data.config.dataset import load_config
from tabship.data.errors import ConfigError, DataError
from tabship.data.ingestion.outcome import RunRejectedError
from tabship.data.ingestion.pipeline import Progress, ingest
from tabship.data.project import default_store, find_project
from tabship.data.versions import store as st
from tabship.data.versions.remote import share_version

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but its usage errors use the same one-line `error:` form and exit code 2."""

    def error(self, message: str) -> Any:  # argparse's signature is NoReturn-ish
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tabship-data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"tabship-data {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "--project",
        type=Path,
        help="project folder (default: $TABSHIP_PROJECT, or found from the cwd)",
    )
    common.add_argument(
        "--dataset", help="dataset name: configs/datasets/NAME (default: the project's default)"
    )
    common.add_argument(
        "--config", type=Path, help="data config file (default: the dataset's data.yaml)"
    )
    common.add_argument(
        "--store", type=Path, help="store root (default: $TABSHIP_DATA_STORE or data/processed)"
    )
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser(
        "ingest", parents=[common], help="validate raw files into a new dataset version"
    )
    run.add_argument(
        "sources", nargs="*", type=Path, metavar="SOURCE",
        help="CSV, gzip CSV or parquet files (default: the config's train files)",
    )  # fmt: skip
    run.add_argument(
        "--holdout", nargs="+", type=Path, metavar="FILE",
        help="holdout files (default: the config's holdout files)",
    )  # fmt: skip
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")

    init = commands.add_parser(
        "init", help="write a new dataset's configs, inferred from a CSV file"
    )
    init.add_argument("file", type=Path, metavar="FILE", help="a delimited text file with labels")
    init.add_argument(
        "--target", required=True, help="the binary target column (no header line: its number)"
    )
    init.add_argument("--positive", required=True, help="the target's positive value")
    init.add_argument("--name", help="the dataset's name (default: from FILE's name)")
    init.add_argument("--force", action="store_true", help="replace the dataset's configs")
    init.add_argument(
        "--project", type=Path, help="project folder (default: $TABSHIP_PROJECT, or the cwd's)"
    )
    init.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    synth = commands.add_parser(
        "synth", parents=[common], help="write synthetic rows shaped like the dataset, as parquet"
    )
    synth.add_argument("--rows", type=int, required=True, help="how many rows (10_000_000 works)")
    synth.add_argument("--out", type=Path, required=True, help="the folder to write part files to")
    synth.add_argument("--partitions", type=int, default=0, help="files (default: 1 per 1M rows)")
    synth.add_argument("--seed", type=int, default=0, help="the same seed writes the same files")

    show = commands.add_parser("show", parents=[common], help="print a version's manifest")
    show.add_argument("--version", dest="dataset_version", default="latest", metavar="VERSION")
    commands.add_parser("versions", parents=[common], help="list the published versions")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    commands = {"ingest": _ingest, "show": _show, "versions": _versions, "init": _init,
                "synth": _synth}  # fmt: skip
    try:
        if args.command != "init":
            _resolve(args)
        return commands[args.command](args)
    except ConfigError as exc:
        return _fail(args, str(exc), EXIT_USAGE)
    except DataError as exc:
        return _fail(args, str(exc), EXIT_DATA)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args, f"{where}{exc.strerror or exc}", EXIT_DATA)
    except KeyboardInterrupt:
        print("error: interrupted; nothing was published", file=sys.stderr)
        return 130
    except Exception as exc:  # a library's own failure (polars on a full disk): one line
        text = str(exc).strip()
        first = text.splitlines()[0][:300] if text else "(no message)"
        return _fail(args, f"{type(exc).__name__}: {first}", EXIT_DATA)


def _fail(
    args: argparse.Namespace, message: str, code: int, extra: dict[str, Any] | None = None
) -> int:
    print(f"error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"status": "error", "exit_code": code, "error": message, **(extra or {})}))
    return code


def _resolve(args: argparse.Namespace) -> None:
    """Fill in --config and --store from the project, once: the steps get paths, not guesses."""
    if args.config is None or args.store is None:
        # With --project (or $TABSHIP_PROJECT) it must exist; without, outside a project the store
        # is data/processed under the cwd, as it always was.
        project = find_project(args.project) if args.project else None
        if args.config is None:
            args.config = (project or find_project()).dataset(args.dataset).data_config
        args.store = args.store or (project.store if project else default_store())


def _dataset_name(args: argparse.Namespace) -> str:
    return load_config(args.config, args.dataset).name


def _store(args: argparse.Namespace) -> Path:
    return Path(args.store)


def _progress() -> Progress:
    """Progress lines on stderr, at most one a second, so large files show they are moving."""
    last = [time.monotonic()]

    def report(source: str, done: int, total: int, rows: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or (done >= total and now - last[0] >= 1.0):
            share = f"{done / total:.0%}" if total else "?"
            print(f"  {source}: {share} of bytes, {rows:,} rows", file=sys.stderr, flush=True)
            last[0] = now

    return report


def _ingest(args: argparse.Namespace) -> int:
    try:
        result = ingest(
            args.dataset,
            args.sources or None,
            holdout=args.holdout,
            config=args.config,
            store=args.store,
            progress=None if (args.json or args.quiet) else _progress(),
        )
    except RunRejectedError as exc:
        rejected = exc.result
        if not args.json:
            print(rejected.summary())
        return _fail(args, str(exc), EXIT_DATA, extra=rejected.to_json() | {"status": "rejected"})
    _share(args, result.dataset, result.version)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(result.summary())
    return EXIT_OK


def _share(args: argparse.Namespace, dataset: str, version: str) -> None:
    """With a team store (TABSHIP_DATA_STORE=s3://...), upload the version ingested into the
    project's own copy, so that other machines read the same one."""
    try:
        project = find_project(args.project)
    except ConfigError:
        return  # outside a project: a plain ingest into a folder
    ours = Path(args.store).resolve() == project.store
    if ours and share_version(project, dataset, version) and not (args.json or args.quiet):
        print(f"shared: {project.remote_store}/{dataset}/{version}", file=sys.stderr)


def _synth(args: argparse.Namespace) -> int:
    from tabship.data.config.schema import load_schema
    from tabship.data.synth import write_synthetic

    cfg = load_config(args.config, args.dataset)
    started = time.perf_counter()
    files = write_synthetic(cfg, load_schema(cfg), args.rows, args.out, args.partitions, args.seed)
    seconds = time.perf_counter() - started
    out = {"dataset": cfg.name, "rows": args.rows, "files": [str(f) for f in files],
           "seconds": round(seconds, 3)}  # fmt: skip
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.rows:,} synthetic {cfg.name} rows in {len(files)} parquet files under "
              f"{args.out} ({seconds:.1f}s)")  # fmt: skip
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from tabship.data.project import project_at
    from tabship.data.scaffold.configs import init_dataset

    try:
        project = find_project(args.project)
    except ConfigError:
        if args.project is not None:
            raise
        project = project_at(Path.cwd())  # a new project: init writes configs/project.yaml
    result = init_dataset(
        project, args.file, args.target, args.positive, name=args.name, force=args.force
    )
    print(json.dumps(result.to_json()) if args.json else result.summary())
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    name = _dataset_name(args)
    manifest = st.read_manifest(_store(args), name, args.dataset_version)
    data = manifest.to_dict()
    if args.json:
        print(json.dumps(data))
        return EXIT_OK
    rows = manifest.rows
    print(f"{manifest.dataset} {manifest.version} (created {manifest.created_at})")
    print(
        f"  rows     {rows['in']:,} read, {rows['accepted']:,} accepted "
        f"(train {rows['train']:,}, holdout {rows['holdout']:,}), "
        f"{rows['quarantined']:,} quarantined"
    )
    for source in manifest.sources:
        print(f"  source   {source.role:<8} {source.path} sha256:{source.sha256[:12]}")
    print(f"  target   {manifest.target['column']} (positive {manifest.target['positive']!r})")
    print(
        f"  schema   sha256:{manifest.schema_hash[:12]}  tabship-data {manifest.tabship_data_version}"
    )
    print(f"  folder   {st.version_dir(_store(args), name, manifest.version)}")
    return EXIT_OK


def _versions(args: argparse.Namespace) -> int:
    name = _dataset_name(args)
    store = _store(args)
    manifests = st.list_versions(store, name)
    latest = st.read_latest(store, name)
    if args.json:
        print(
            json.dumps(
                {
                    "dataset": name,
                    "latest": latest,
                    "versions": [
                        {"version": m.version, "created_at": m.created_at, "rows": m.rows}
                        for m in manifests
                    ],
                }
            )
        )
        return EXIT_OK
    if not manifests:
        print(f"no versions of {name} in {store}")
    for m in manifests:
        mark = "*" if m.version == latest else " "
        print(
            f"{mark} {m.version}  {m.created_at}  {m.rows['accepted']:,} accepted, "
            f"{m.rows['quarantined']:,} quarantined"
        )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
