"""tabship's single source of commands: `nox -l` lists every session with its help.

Every venv is filled from the one lock with `uv sync --frozen`. Sessions only install and run: the
logic lives in tools/tabship_dev (`python -m tabship_dev`) and in docker/image.py and bench/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))  # the unpublished workspace tooling, stdlib only

from tabship_dev.ci_tools import npm_bin  # noqa: E402
from tabship_dev.images.cli import make_targets  # noqa: E402
from tabship_dev.selection import plan  # noqa: E402
from tabship_dev.stack import read_env_file, stack_dir  # noqa: E402
from tabship_dev.workspace import PACKAGES, ToolError, mypy_runs, uv_sync  # noqa: E402

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True  # else nox skips a session whose Python is missing
nox.options.sessions = ["lint", "typecheck", "test"]
nox.options.reuse_venv = "yes"  # `uv sync --frozen` keeps it exact; its bytecode caches stay warm
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")  # offline, a download would only fail

PYTHON = "3.11"
JOB_ENV = {"PYTHONDONTWRITEBYTECODE": ""}  # write bytecode even so: recompiling MLflow costs s
TOOLS_ENV = {"PYTHONPATH": str(ROOT / "tools")}
WHEELS = ROOT / "dist" / "wheels"
BENTO_HOME = {"BENTOML_HOME": str(ROOT / "dist" / "bento")}
BENTO_WHEELS = ["--wheels", str(WHEELS), "--requirements", str(WHEELS / "requirements-serving.txt")]
IMAGE_PY = str(ROOT / "docker" / "image.py")
RETRAIN_OUTCOME = str(ROOT / "dist" / "retrain" / "outcome.json")  # `nox -s promotion` reads it


def sync(
    session: nox.Session,
    *groups: str,
    package: str = "",
    only: bool = False,
    bytecode: bool = False,
) -> None:
    """Install the locked workspace (or PACKAGE and its dependencies) with GROUPS, or ONLY them;
    BYTECODE compiles it all (for sessions that start many Pythons: see uv_sync)."""
    env = {"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}
    # stderr=None: nox would merge uv's lines into stdout, and `--json` means one JSON document.
    uv = uv_sync(*groups, package=package, only=only, bytecode=bytecode)
    session.run_install(*uv, env=env, external=True, stderr=None)


def dev(session: nox.Session, *args: str, stderr: int | None = subprocess.STDOUT) -> None:
    """`python -m tabship_dev ARGS` (stdlib only, so any Python will do); STDERR=None keeps its
    stderr apart from stdout (nox merges them), for a command whose stdout is JSON."""
    session.run(sys.executable, "-m", "tabship_dev", *args, env=TOOLS_ENV, external=True,
                stderr=stderr)  # fmt: skip


def team_env(session: nox.Session) -> dict[str, str]:
    """The team stack's variables (`nox -s stack -- up` wrote them), unless already set here."""
    found = {k: v for k, v in read_env_file(stack_dir()).items() if k not in os.environ}
    if "MLFLOW_TRACKING_URI" in found:
        session.log(f"team stack: registry {found['MLFLOW_TRACKING_URI']} ({stack_dir()})")
    return found


def run_cli(session: nox.Session, package: str, *args: str, codes: Sequence[int] = (0,)) -> None:
    """`tabship-PACKAGE ARGS POSARGS` in a venv holding that package and what it depends on."""
    sync(session, package=package)
    session.run(
        f"tabship-{package}", *args, *session.posargs, env={**team_env(session), **JOB_ENV},
        success_codes=codes,
        stderr=None,  # progress and errors stay on stderr: stdout is the command's own
    )  # fmt: skip


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, the import-linter contracts (layers, APIs), and no import circle."""
    args = session.posargs or ["."]
    sync(session, "lint")
    session.run("ruff", "check", *args)
    session.run("ruff", "format", "--check", *args)
    # --no-cache: grimp's cache kept a module that had become a folder (a false BROKEN); it costs 0.6 s.
    session.run("lint-imports", "--no-cache")
    session.run("python", "-m", "tabship_dev", "cycles", env=TOOLS_ENV)  # grimp: the lint group


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's source and tests, the cross-package tests and tooling."""
    sync(session, "typecheck")
    for paths in [session.posargs] if session.posargs else mypy_runs():
        session.run("mypy", *paths)


@nox.session(python=PYTHON)
def test(session: nox.Session) -> None:
    """All tests; `-- --changed-since REV` picks changed packages and dependents; args go to pytest."""
    try:
        chosen = plan(session.posargs)
    except ToolError as error:
        session.error(str(error))
    if chosen.rev is not None:
        session.log(f"changed since {chosen.rev}: testing {', '.join(chosen.paths) or 'nothing'}")
    if chosen.nothing_to_test:
        session.skip("no package changed")
    sync(session, "test", bytecode=True)  # the tests start hundreds of Pythons
    session.run("pytest", *chosen.pytest_args())


@nox.session(python=PYTHON)
@nox.parametrize("package", PACKAGES)
def test_package(session: nox.Session, package: str) -> None:
    """One package's tests, in a venv holding only that package and its dependencies."""
    sync(session, "test", package=package, bytecode=True)
    session.run("pytest", *(session.posargs or [f"packages/{package}/tests"]))


@nox.session(python=PYTHON)
def repeat(session: nox.Session) -> None:
    """One test N times in a row, each in a fresh pytest: `-- [--count N] [--json] TEST [ARGS]`."""
    sync(session, "test", bytecode=True)
    pytest = str(Path(session.bin) / "pytest")
    dev(session, "repeat", "--pytest", pytest, *session.posargs, stderr=None)


@nox.session(python=PYTHON)
def notebook(session: nox.Session) -> None:
    """Execute notebooks/eda.ipynb top to bottom against a temporary data store, so it cannot rot."""
    notebooks = session.posargs or ["eda.ipynb"]
    sync(session, "notebook", package="data")
    with tempfile.TemporaryDirectory() as store:  # jupyter-execute saves nothing: outputs stay out
        session.chdir(ROOT / "notebooks")
        session.run("jupyter-execute", *notebooks, env={"TABSHIP_DATA_STORE": store, **JOB_ENV})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: `-- [NAME ...] [OPTIONS]`, NAME of bench/bench_NAME.py (default: data train)."""
    sync(session, "bench")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session(python=PYTHON)
def stack(session: nox.Session) -> None:
    """The team stack on loopback: `-- up|down|status [--json]` (PostgreSQL, S3, an MLflow server)."""
    sync(session, "stack")
    session.run("python", "-m", "tabship_dev", "stack", *(session.posargs or ["status"]),
                env=TOOLS_ENV, stderr=None, success_codes=[0, 1])  # fmt: skip


@nox.session(python=PYTHON)
def ci_check(session: nox.Session) -> None:
    """Prove the CI definitions offline: parity, JSON schemas, actionlint, Jenkinsfile lint."""
    sync(session, "ci", only=True)
    session.run("python", "-m", "tabship_dev.ci_check", "--root", ROOT, "--lint", env=TOOLS_ENV)


@nox.session(python=False)
def ci_gitlab(session: nox.Session) -> None:
    """Run GitLab CI jobs for real on this host with gitlab-ci-local (default: lint typecheck test)."""
    jobs = session.posargs or ["lint", "typecheck", "test"]  # in the host shell, not their images
    session.run(npm_bin() / "gitlab-ci-local", "--force-shell-executor", *jobs, external=True)


@nox.session(python=PYTHON)
def ci_github(session: nox.Session) -> None:
    """Run GitHub Actions jobs for real on this host with act (default: `push -j lint`):
    `-- [--only JOB,JOB] EVENT -j JOB [-e EVENT.json] [--var K=V] [--secret K=V]`."""
    sync(session, "ci", only=True)
    args = session.posargs or ["push", "-j", "lint"]
    session.run("python", "-m", "tabship_dev", "act", *args, env=TOOLS_ENV)


@nox.session(python=PYTHON)
def hooks(session: nox.Session) -> None:
    """Every pre-commit hook over all files (all are `repo: local`, so this works offline)."""
    args = session.posargs or ["--all-files", "--show-diff-on-failure"]
    sync(session, "hooks", only=True)
    session.run("pre-commit", "run", *args)


def _bento(session: nox.Session, env: dict[str, str], *args: str) -> None:
    """The workspace wheels once (dist/wheels), then the champion's bento from them."""
    dev(session, "artifacts", "--out", str(WHEELS))
    sync(session, package="serving")
    build = ["tabship-serving", "build", *BENTO_WHEELS, *args]
    session.run(
        *build, env={**team_env(session), **JOB_ENV, **env}, success_codes=[0, 4]
    )  # 4: no champion yet


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Wheels and sdists into dist/wheels, import-checked in a new venv; the bento in dist/bento."""
    dev(session, "artifacts", "--out", str(WHEELS), "--sdists", "--check")
    _bento(session, BENTO_HOME)


@nox.session(python=PYTHON)
def bento(session: nox.Session) -> None:
    """The champion into the BentoML model store, then a bento (no network beyond the index)."""
    _bento(session, {}, *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Serve the champion on 127.0.0.1:3000 (`-- --port N`, `-- --dataset NAME`)."""
    run_cli(session, "serving", "serve")


@nox.session(python=PYTHON)
def predict(session: nox.Session) -> None:
    """Score a CSV: `-- FILE.csv [--local | --url URL] [--json]`."""
    run_cli(session, "serving", "predict")


@nox.session(python=PYTHON)
def bench_serve(session: nox.Session) -> None:
    """Serving benchmark: load at c=1/8/32, 100k rows, mixed load, 10-min soak (`-- --help`)."""
    sync(session, package="serving")
    session.run("python", "bench/bench_serve.py", *session.posargs, env=JOB_ENV)


@nox.session(python=False)
def wheelhouse(session: nox.Session) -> None:
    """dist/wheelhouse/: the locked wheels (CPython 3.11, Linux x86_64) for offline image builds."""
    session.run(sys.executable, IMAGE_PY, "wheelhouse", *session.posargs, external=True)


@nox.session(python=PYTHON)
def image(session: nox.Session) -> None:
    """Build images and check they run: `-- [--target serving|training|ci|all] [--base-image X]`."""
    if "serving" in make_targets(session.posargs):  # it carries the champion: train, store it
        sync(session, package="serving")
        team = team_env(session)
        session.run("tabship-models", "train", env={**team, **JOB_ENV})  # a no-op when cached
        session.run(
            "tabship-serving", "build", "--model-only", env={**team, **JOB_ENV, **BENTO_HOME}
        )
    session.run(sys.executable, IMAGE_PY, "make", *session.posargs, external=True)


@nox.session(python=PYTHON)
def deploy(session: nox.Session) -> None:
    """Deploy the serving image to Kubernetes: `-- --image REF [--dry-run]` (renders, validates)."""
    sync(session, "deploy", only=True)
    session.run("python", "deploy/deploy.py", *session.posargs)


@nox.session(python=False)
def publish(session: nox.Session) -> None:
    """Build and upload one package for a release tag: `-- tabship-PACKAGE-vX.Y.Z`.

    The index: UV_PUBLISH_URL and UV_PUBLISH_TOKEN, as `uv publish` reads them.
    """
    dev(session, "publish", *session.posargs)


@nox.session(python=PYTHON)
def init(session: nox.Session) -> None:
    """A new dataset's configs from a CSV: `-- FILE --target COLUMN --positive VALUE [--name N]`."""
    run_cli(session, "data", "init")


@nox.session(python=PYTHON)
def ingest(session: nox.Session) -> None:
    """Validate, quarantine and version a dataset (default: the project's default dataset)."""
    run_cli(session, "data", "ingest")


@nox.session(python=PYTHON)
def train(session: nox.Session) -> None:
    """The main job: raw data to a gated champion model (ingest, features, CV, registry, gate)."""
    run_cli(session, "models", "train")


@nox.session(python=PYTHON)
def tune(session: nox.Session) -> None:
    """The hyperparameter search alone (train.yaml `tune:`); `train` then uses its result."""
    run_cli(session, "models", "tune")


@nox.session(python=PYTHON)
def review(session: nox.Session) -> None:
    """The candidate against the registry's champion, posted on the pull or merge request:
    `-- [--against VERSION|ALIAS] [--post auto|github|gitlab|none] [--warn-only] [--json]`."""
    sync(session, package="models")
    env = {**team_env(session), **JOB_ENV, **TOOLS_ENV}
    session.run("python", "-m", "tabship_dev", "review", *session.posargs, env=env, stderr=None)


@nox.session(python=PYTHON)
def synth(session: nox.Session) -> None:
    """Synthetic rows shaped like a dataset, as parquet: `-- --rows N --out DIR [--partitions N]`."""
    run_cli(session, "data", "synth")


@nox.session(python=PYTHON)
def bench_scale(session: nox.Session) -> None:
    """Scale benchmark: 1M and 10M rows, one process vs a 2-worker Dask cluster (`-- --rows N`)."""
    sync(session, package="models")
    session.run("python", "bench/bench_scale.py", *session.posargs, env=JOB_ENV)


@nox.session(python=PYTHON)
def evaluate(session: nox.Session) -> None:
    """Re-score a registered model version on a dataset version (default: champion, latest)."""
    run_cli(session, "models", "evaluate")


@nox.session(python=PYTHON)
def monitor(session: nox.Session) -> None:
    """Drift, estimated and live performance of the champion's logged predictions (`-- --help`)."""
    run_cli(session, "models", "monitor")


@nox.session(python=PYTHON)
def retrain(session: nox.Session) -> None:
    """Retrain on new labels, promote only a better challenger; exit 0, 5 (refused), 6 (skipped) pass."""
    run_cli(session, "models", "retrain", "--outcome", RETRAIN_OUTCOME, codes=[0, 5, 6])


@nox.session(python=PYTHON)
def receive(session: nox.Session) -> None:
    """Serve Alertmanager's webhook and start retrains (`-- --config F --host H --port N`)."""
    run_cli(session, "models", "receive")


@nox.session(python=False)
def promotion(session: nox.Session) -> None:
    """After `nox -s retrain`: tell CI whether it promoted (`-- --gitlab-child F`: GitLab's pipeline)."""
    dev(session, "promotion", *session.posargs)


@nox.session(python=PYTHON)
def simulate(session: nox.Session) -> None:
    """Shifted holdout traffic to a running service or a prediction log, and its labels (`-- --help`)."""
    run_cli(session, "serving", "simulate")


@nox.session(python=PYTHON)
def rollback(session: nox.Session) -> None:
    """Restore the registry's `previous` model version as `champion`."""
    run_cli(session, "models", "rollback")


@nox.session(python=False)
def version_check(session: nox.Session) -> None:
    """Fail if a package changed against `-- TARGET` (origin/main) without a version and CHANGELOG."""
    dev(session, "version-check", *(session.posargs or ["origin/main"]))


@nox.session(python=False)
def release(session: nox.Session) -> None:
    """Release one package: `-- PACKAGE major|minor|patch`: version, CHANGELOG, ranges, lock, tag."""
    dev(session, "release", *session.posargs)
