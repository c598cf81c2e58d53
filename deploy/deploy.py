"""Render deploy/k8s for one serving image, validate it, and apply it with kubectl.

Run by `nox -s deploy -- --image REF [--dry-run]`, which CI runs behind a manual approval. The
rendered manifests land in dist/k8s/ (what was applied stays inspectable).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ("deployment.yaml", "service.yaml", "hpa.yaml")


def render(image: str, source: Path, target: Path) -> list[Path]:
    """Copy the manifests into TARGET with the serving container's image set to IMAGE."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MANIFESTS:
        document: dict[str, Any] = yaml.safe_load((source / name).read_text(encoding="utf-8"))
        if document["kind"] == "Deployment":
            for container in document["spec"]["template"]["spec"]["containers"]:
                if container["name"] == "serving":
                    container["image"] = image
        path = target / name
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


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
    files = render(args.image, ROOT / "deploy" / "k8s", ROOT / "dist" / "k8s")
    checked = subprocess.run(["kubernetes-validate", "--strict", *map(str, files)], check=False)
    if checked.returncode != 0:
        print("deploy: the rendered manifests are not valid; nothing applied", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"deploy: rendered and validated {len(files)} manifests in dist/k8s (dry run)")
        return 0
    if shutil.which("kubectl") is None:
        print("deploy: kubectl is not on PATH; nothing applied", file=sys.stderr)
        return 1
    namespace = ["--namespace", args.namespace] if args.namespace else []
    applied = subprocess.run(
        ["kubectl", "apply", *namespace, "-f", str(ROOT / "dist" / "k8s")], check=False
    )
    return applied.returncode


if __name__ == "__main__":
    sys.exit(main())
