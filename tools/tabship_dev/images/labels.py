"""What an image says about itself: OCI labels for the source revision, the project's package
versions and, for serving, the model it carries; and where its SBOM is.

The labels are image config, not layers: a rebuild with the same content and another revision
reuses every layer. The SBOM (CycloneDX, from the wheelhouse's hash-pinned requirements) is a
file in the image, `/opt/tabship/sbom.cdx.json`, and beside the wheelhouse.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tabship_dev.images.settings import MODEL_NAME, TARGET_PACKAGE, TARGET_WHEELS, project_wheels

SBOM_PATH = "/opt/tabship/sbom.cdx.json"  # in the image


def git_revision(root: Path) -> str:
    """The checkout's commit, or `unknown` outside a git checkout."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                          check=False)  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def wheel_versions(wheelhouse: Path, packages: tuple[str, ...]) -> dict[str, str]:
    """Each project package's version, from its wheel's file name in WHEELHOUSE."""
    found = {}
    for package in packages:
        for wheel in project_wheels(wheelhouse, package):
            match = re.match(rf"{package.replace('-', '_')}-([^-]+)-", wheel.name)
            if match:
                found[package] = match.group(1)
    return found


def model_facts(model_home: Path) -> dict[str, str]:
    """The stored champion's name, version, run and dataset version (its metadata.json)."""
    folder = model_home / "models" / MODEL_NAME
    latest = (folder / "latest").read_text(encoding="utf-8").strip()
    facts = json.loads((folder / latest / "metadata.json").read_text(encoding="utf-8"))
    return {key: str(facts[key]) for key in ("model_name", "model_version", "run_id",
                                               "dataset_version")}  # fmt: skip


def image_labels(
    target: str, root: Path, wheelhouse: Path, model_home: Path, with_model: bool = True
) -> dict[str, str]:
    """TARGET's labels: OCI's standard keys, then tabship's (the model's unless WITH_MODEL is
    False: a stage built before the model exists)."""
    versions = wheel_versions(wheelhouse, TARGET_WHEELS.get(target, ()))
    labels = {
        "org.opencontainers.image.title": f"tabship-{target}",
        "org.opencontainers.image.revision": git_revision(root),
        "org.opencontainers.image.licenses": "Apache-2.0",
        "io.tabship.packages": ",".join(f"{k}=={v}" for k, v in sorted(versions.items())),
    }
    package = TARGET_PACKAGE.get(target)
    if package in versions:
        labels["org.opencontainers.image.version"] = versions[package]
    if target in TARGET_PACKAGE:
        labels["io.tabship.sbom"] = SBOM_PATH
    if target == "serving" and with_model:
        facts = model_facts(model_home)
        labels |= {f"io.tabship.model.{key.removeprefix('model_')}": value
                   for key, value in facts.items()}  # fmt: skip
    return labels


def label_arguments(labels: dict[str, str]) -> list[str]:
    """`--label KEY=VALUE` for each label (docker build and buildah bud take the same flag)."""
    return [argument for key, value in labels.items() for argument in ("--label", f"{key}={value}")]
