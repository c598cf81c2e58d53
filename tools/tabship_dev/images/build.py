"""Builds: one image per target from its Dockerfile and the wheelhouse."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from tabship_dev.images.base import ensure_base
from tabship_dev.images.engine import Engine, choose_engine
from tabship_dev.images.labels import image_labels, label_arguments
from tabship_dev.images.settings import (
    BASE_IMAGE,
    DEBIAN_MIRROR,
    DOCKER_DIR,
    MODEL_HOME,
    MODEL_NAME,
    SBOM_DIR,
    TARGET_WHEELS,
    WHEELHOUSE,
    ImageError,
    log,
    project_wheels,
    run,
    targets,
    timed,
)
from tabship_dev.workspace import ROOT

# The serving Dockerfile's first stage: everything but the model, buildable before a champion
# exists (`image.py prepare`), and reused from the layer cache by the full build.
MODEL_FREE_STAGE = "runtime"


def image_name(target: str, tag: str, stage: str = "") -> str:
    """The local name of a target's image (or of one of its Dockerfile's stages)."""
    return f"localhost/tabship-{target}{f'-{stage}' if stage else ''}:{tag}"


def preflight(target: str, wheelhouse: Path, stage: str = "") -> None:
    """Fail early, with the fix, when the build context lacks what the Dockerfile copies."""
    requirements = wheelhouse / f"requirements-{target}.txt"
    if not requirements.is_file():
        raise ImageError(
            f"no {requirements.relative_to(ROOT)}: run `python docker/image.py wheelhouse`"
        )
    for package in TARGET_WHEELS[target]:
        if not project_wheels(wheelhouse, package):
            raise ImageError(f"no {package} wheel in the wheelhouse: run it again")
    if target != "ci" and not (SBOM_DIR / f"{target}.cdx.json").is_file():
        raise ImageError(f"no SBOM for {target}: run `python docker/image.py wheelhouse`")
    if (
        target == "serving"
        and not stage
        and not (MODEL_HOME / "models" / MODEL_NAME / "latest").is_file()
    ):
        raise ImageError(
            f"no {MODEL_NAME} model under {MODEL_HOME.relative_to(ROOT)}/models: run "
            "`BENTOML_HOME=dist/bento tabship-serving build --model-only` (nox -s image does)"
        )


# A RUN that bind-mounts a folder is cached by its text alone (buildah 1.28 and BuildKit alike):
# without a digest of what it installs in it, a rebuild kept the old wheels and the old model.
DIGEST_ARGS = ("REQUIREMENTS_DIGEST", "PROJECT_WHEELS_DIGEST", "MODELS_DIGEST")


def files_digest(paths: list[Path], base: Path) -> str:
    """sha256 over PATHS: each one's path relative to BASE, then its bytes."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """files_digest of every file under FOLDER."""
    return files_digest([p for p in folder.rglob("*") if p.is_file()], folder)


def mount_digests(
    target: str, wheelhouse: Path = WHEELHOUSE, with_model: bool = True
) -> dict[str, str]:
    """The build arguments that key TARGET's bind-mounted steps by what they install: the
    hash-pinned requirements (the hashes fix every wheel), the project's wheels, the model store."""
    found = {"REQUIREMENTS_DIGEST": files_digest([wheelhouse / f"requirements-{target}.txt"],
                                                 wheelhouse)}  # fmt: skip
    wheels = [w for package in TARGET_WHEELS[target] for w in project_wheels(wheelhouse, package)]
    if wheels:
        found["PROJECT_WHEELS_DIGEST"] = files_digest(wheels, wheelhouse)
    if target == "serving" and with_model:
        found["MODELS_DIGEST"] = folder_digest(MODEL_HOME / "models")
    return found


def build_command(
    engine: Engine,
    target: str,
    base: str,
    name: str,
    no_cache: bool = False,
    labels: dict[str, str] | None = None,
    digests: dict[str, str] | None = None,
    stage: str = "",
) -> list[str]:
    """The engine's build command for one target (up to STAGE when given), with the repository
    as the context."""
    common = [
        *(["--target", stage] if stage else []),
        *label_arguments(labels or {}),
        *(
            arg
            for key, value in (digests or {}).items()
            for arg in ("--build-arg", f"{key}={value}")
        ),
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--tag",
        name,
        *(["--no-cache"] if no_cache else []),
    ]
    return engine.build_command(DOCKER_DIR / f"{target}.Dockerfile", ROOT, common,
                                local_base=base.startswith("localhost/"))  # fmt: skip


def cmd_build(args: argparse.Namespace) -> dict[str, Any]:
    """Build one image (or all), from --base-image or the local base image."""
    engine = choose_engine(args.tool)
    chosen = targets(args.target)
    stage = getattr(args, "stage", "")
    if stage and chosen != ("serving",):
        raise ImageError(f"--stage {stage}: only the serving image has stages")
    for target in chosen:
        preflight(target, WHEELHOUSE, stage)
    timings: dict[str, float] = {}
    base = args.base_image
    if not base:
        with timed("base", timings):
            ensure_base(engine, BASE_IMAGE, DEBIAN_MIRROR, force=False)
        base = BASE_IMAGE
    result: dict[str, Any] = {"tool": engine.name, "base_image": base, "images": {}}
    for target in chosen:
        name = image_name(target, args.tag, stage)
        with timed(f"build {target}{f' {stage}' if stage else ''}", timings):
            labels = image_labels(target, ROOT, WHEELHOUSE, MODEL_HOME, with_model=not stage)
            command = build_command(engine, target, base, name, args.no_cache, labels,
                                    mount_digests(target, with_model=not stage), stage)  # fmt: skip
            run(command, env=engine.env)
        size = engine.size(name)
        log(f"{name}: {size / 1e6:.0f} MB")
        result["images"][target] = {"name": name, "bytes": size}
    result["seconds"] = timings
    return result
