"""`python -m tabship_dev COMMAND`: the workspace tasks behind nox's build, release and check sessions.

    artifacts [--out DIR] [--requirements FILE] [--sdists] [--rebuild] [--offline] [--check]
    version-check [TARGET]          fail when a package changed without a new version (exit 1)
    release PACKAGE PART            bump, CHANGELOG, dependents' ranges, lock, commit, tag
    publish TAG                     build and upload the package a release tag names
    alertmanager-config --out FILE  configs/monitoring/alertmanager.yml with the webhook URL filled in
    dashboards [--check]            write (or check) configs/monitoring/dashboards/*.json
    promotion [--outcome F] [--gitlab-child F]  after a retrain: tell CI whether it promoted
    cycles                          import circles in packages/ (exit 1 when there is one)
    stack up|down|status [--dir D] [--purge] [--json]  the team stack on loopback
    act [--only JOB,JOB] EVENT [act options]  GitHub Actions jobs on this host (ci-cd/act stand-ins)
    review [--against X] [--post auto|github|gitlab|none] [--warn-only] [--json]
                                    the model review, posted on the pull or merge request
    repeat --pytest P [--count N] [--json] TEST [pytest options]
                                    one test N times, each in a fresh pytest; how many passed

Run with tools/ on PYTHONPATH. Every failure is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabship_dev import (
    act,
    alertmanager_config,
    artifacts,
    cycles,
    dashboards,
    promotion,
    release,
    repeat,
    reviewpost,
    stack,
    versions,
)
from tabship_dev.workspace import PACKAGES, ToolError, git


def cmd_artifacts(args: argparse.Namespace) -> int:
    """The workspace wheels and the serving requirements, for the bento and the images."""
    out: Path = args.out
    wheels = artifacts.build_wheels(
        out, sdists=args.sdists, offline=args.offline, rebuild=args.rebuild
    )
    requirements = args.requirements or out / artifacts.SERVING_REQUIREMENTS
    # The bento installs these beside the wheels: pinned, but without hashes (the wheels have none).
    artifacts.export_requirements(requirements, package="tabship-serving", hashes=False)
    document = {"wheels": [str(w) for w in wheels], "requirements": str(requirements)}
    if args.check:
        document["imported"] = artifacts.check_wheels(wheels)
    names = ", ".join(w.name for w in wheels)
    print(json.dumps(document) if args.json else f"wheels: {names}\nrequirements: {requirements}")
    return 0


def cmd_version_check(args: argparse.Namespace) -> int:
    """Exit 1 when a package's source changed against TARGET without a new version."""
    try:
        git("rev-parse", "--verify", "--quiet", f"{args.target}^{{commit}}")
    except subprocess.CalledProcessError:
        print(f"version-check: skipped, {args.target!r} does not exist here to compare against")
        return 0
    problems = versions.version_problems(args.target)
    for problem in problems:
        print(f"version-check: {problem}", file=sys.stderr)
    if problems:
        print(
            f"version-check: {len(problems)} package(s) need a release: "
            "invoke release --package NAME",
            file=sys.stderr,
        )
        return 1
    print(f"every changed package since {args.target} has a new version and a CHANGELOG entry")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Release one package and tag it."""
    tag = release.release(args.package, args.part)
    print(f"tagged {tag}; push it with: git push origin HEAD {tag}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Build and upload one package for its release tag."""
    files = release.publish(args.tag)
    print("uploaded: " + ", ".join(f.name for f in files))
    return 0


def cmd_alertmanager_config(args: argparse.Namespace) -> int:
    """Render Alertmanager's configuration with the environment's webhook URL."""
    out = alertmanager_config.write(args.out, os.environ, args.template)
    print(f"wrote {out}")
    return 0


def cmd_dashboards(args: argparse.Namespace) -> int:
    """Write the Grafana dashboards' JSON, or with --check fail when the committed files differ."""
    if args.check:
        stale = dashboards.stale(args.folder)
        for name in stale:
            print(
                f"dashboards: {name} differs from tools/tabship_dev/dashboards.py", file=sys.stderr
            )
        if stale:
            print("dashboards: run `python -m tabship_dev dashboards` and commit", file=sys.stderr)
        return 1 if stale else 0
    for path in dashboards.write(args.folder):
        print(f"wrote {path}")
    return 0


def cmd_promotion(args: argparse.Namespace) -> int:
    """Tell the CI system whether the retrain promoted (the marker, GITHUB_OUTPUT, GitLab child)."""
    _, line = promotion.publish(args.outcome, os.environ.get("GITHUB_OUTPUT"), args.gitlab_child)
    print(line)
    return 0


def cmd_cycles(args: argparse.Namespace) -> int:
    """Every import circle in packages/, one line each; exit 1 when there is one."""
    edges = cycles.import_graph()
    found = cycles.report(edges)
    for line in found:
        print(f"import circle: {line}", file=sys.stderr)
    print(f"cycles: {len(edges)} modules, {len(found)} import circle(s)")
    return 1 if found else 0


def cmd_stack(args: argparse.Namespace) -> int:
    """Start, stop or check the team stack; exit 1 from `status` when a part is not healthy."""
    folder = stack.stack_dir(args.dir)
    if args.action == "up":
        document = stack.up(folder)
    elif args.action == "down":
        document = stack.down(folder, purge=args.purge)
    else:
        document = stack.status(folder)
    print(json.dumps(document) if args.json else stack.describe(args.action, document))
    return 1 if args.action == "status" and not document["up"] else 0


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(
        prog="python -m tabship_dev",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True)
    made = commands.add_parser("artifacts", help="workspace wheels and exported requirements")
    made.add_argument("--out", type=Path, default=artifacts.WHEELS, help="default: dist/wheels")
    made.add_argument("--requirements", type=Path, default=None,
                      help=f"default: OUT/{artifacts.SERVING_REQUIREMENTS}")  # fmt: skip
    made.add_argument("--sdists", action="store_true", help="sdists too (always rebuilds)")
    made.add_argument("--rebuild", action="store_true", help="even when OUT's wheels are current")
    made.add_argument("--offline", action="store_true", help="never reach the index (uv --offline)")
    made.add_argument("--check", action="store_true", help="install them in a new venv and import")
    made.add_argument("--json", action="store_true", help="print one JSON object")
    made.set_defaults(run=cmd_artifacts)
    check = commands.add_parser("version-check", help="a changed package needs a new version")
    check.add_argument("target", nargs="?", default="origin/main")
    check.set_defaults(run=cmd_version_check)
    bump = commands.add_parser("release", help="release one package")
    bump.add_argument("package", choices=PACKAGES)
    bump.add_argument("part", choices=release.PARTS)
    bump.set_defaults(run=cmd_release)
    publish = commands.add_parser("publish", help="build and upload a release tag's package")
    publish.add_argument("tag")
    publish.set_defaults(run=cmd_publish)
    alerts = commands.add_parser("alertmanager-config", help="render alertmanager.yml from the env")
    alerts.add_argument("--out", type=Path, required=True)
    alerts.add_argument("--template", type=Path, default=alertmanager_config.TEMPLATE)
    alerts.set_defaults(run=cmd_alertmanager_config)
    boards = commands.add_parser("dashboards", help="the Grafana dashboards' JSON")
    boards.add_argument("--folder", type=Path, default=dashboards.FOLDER)
    boards.add_argument("--check", action="store_true", help="fail when the files are not current")
    boards.set_defaults(run=cmd_dashboards)
    promoted = commands.add_parser("promotion", help="after a retrain: did it promote?")
    promoted.add_argument("--outcome", type=Path, default=promotion.OUTCOME,
                          help="the retrain's outcome (default: dist/retrain/outcome.json)")  # fmt: skip
    promoted.add_argument("--gitlab-child", type=Path, help="write GitLab's child pipeline here")
    promoted.set_defaults(run=cmd_promotion)
    circled = commands.add_parser("cycles", help="import circles in packages/ (needs grimp)")
    circled.set_defaults(run=cmd_cycles)
    team = commands.add_parser("stack", help="PostgreSQL, S3 and an MLflow server on loopback")
    team.add_argument("action", choices=("up", "down", "status"))
    team.add_argument(
        "--dir", type=Path, default=None, help="default: $TABSHIP_STACK_DIR or .stack/"
    )
    team.add_argument("--purge", action="store_true", help="down: delete the folder and its data")
    team.add_argument("--json", action="store_true", help="print one JSON object")
    team.set_defaults(run=cmd_stack)
    _ci_parsers(commands)
    return top


def _ci_parsers(commands: Any) -> None:
    """`act` and `review`: what the pull-request pipelines run."""
    acted = commands.add_parser("act", help="GitHub Actions jobs on this host (act, host mode)")
    acted.add_argument("--artifacts", type=Path, default=Path("dist/act-artifacts"),
                       help="where the upload-artifact stand-in keeps artifacts")  # fmt: skip
    acted.add_argument("--only", default="", help="JOB,JOB: run these jobs of the workflow, "
                       "without the jobs they need (those ran already)")  # fmt: skip
    acted.add_argument("--workflow", default=".github/workflows/ci.yml")
    acted.add_argument("args", nargs=argparse.REMAINDER, help="an event, then act's options")
    acted.set_defaults(run=lambda args: act.run(
        args.args, args.artifacts.resolve(), only=[j for j in args.only.split(",") if j],
        workflow=args.workflow))  # fmt: skip
    reviewed = commands.add_parser("review", help="the model review, posted on its request")
    reviewed.add_argument("--against", default="champion", help="an alias or a version number")
    reviewed.add_argument("--dataset", default=None, help="default: the project's default")
    reviewed.add_argument("--post", choices=("auto", "github", "gitlab", "none"), default="auto",
                          help="where to post (default: the CI run's platform, if any)")  # fmt: skip
    reviewed.add_argument("--warn-only", action="store_true", help="exit 0 when the gate refuses")
    reviewed.add_argument("--out", type=Path, default=Path("reports/review"))
    reviewed.add_argument("--json", action="store_true", help="print one JSON object")
    reviewed.set_defaults(run=lambda args: reviewpost.review_command(args, os.environ))
    again = commands.add_parser("repeat", help="one test N times, each in a fresh pytest")
    again.add_argument("--pytest", required=True, help="the pytest to run (the test venv's)")
    again.add_argument("--count", type=int, default=50, help="runs in a row (default 50)")
    again.add_argument("--out", type=Path, default=Path("reports/repeat"),
                       help="each failed run's output goes here")  # fmt: skip
    again.add_argument("--json", action="store_true", help="print one JSON object")
    again.add_argument("args", nargs=argparse.REMAINDER, help="the test, then pytest's options")
    again.set_defaults(run=cmd_repeat)


def cmd_repeat(args: argparse.Namespace) -> int:
    """Run one test COUNT times in fresh pytests; exit 1 when a run failed."""
    if not args.args:
        raise ToolError("name the test to repeat, e.g. path/test_x.py::test_y")
    outcome = repeat.repeat(args.pytest, args.args, args.count, args.out)
    print(json.dumps(outcome.to_json()) if args.json else outcome.summary())
    return 0 if outcome.passed == outcome.runs else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ToolError as error:
        print(f"tabship_dev {args.command}: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        command = " ".join(map(str, error.cmd[:3]))
        print(
            f"tabship_dev {args.command}: `{command} ...` failed ({error.returncode})",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
