"""The act stand-ins' artifact store: a folder per artifact under $TABSHIP_ACT_ARTIFACTS.

upload: the files the paths match (folders whole), stored relative to their common folder, as
actions/upload-artifact@v4 stores them; dot files only with include-hidden-files. download: the
artifact's files into `path`. Stdlib only: it runs with the machine's python3.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from pathlib import Path


def _matches(patterns: list[str], hidden: bool) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        # glob.glob, not Path.glob: a pattern may be absolute, and include_hidden is wanted.
        for match in sorted(glob.glob(pattern, recursive=True, include_hidden=hidden)):  # noqa: PTH207
            path = Path(match)
            if path.is_dir():
                found += [
                    p
                    for p in sorted(path.rglob("*"))
                    if p.is_file()
                    and (
                        hidden
                        or not any(part.startswith(".") for part in p.relative_to(path).parts)
                    )
                ]
            elif path.is_file():
                found.append(path)
    return found


def upload(store: Path, name: str) -> int:
    patterns = [line.strip() for line in os.environ["ARTIFACT_PATHS"].splitlines() if line.strip()]
    files = _matches(patterns, os.environ.get("ARTIFACT_HIDDEN") == "true")
    if not files:
        message = f"upload-artifact (act stand-in): no files match {patterns}"
        print(message, file=sys.stderr)
        return 1 if os.environ.get("ARTIFACT_MISSING") == "error" else 0
    roots = [f.parent.resolve() for f in files]
    common = Path(os.path.commonpath(roots))
    if len(patterns) == 1 and Path(patterns[0]).is_dir():
        common = Path(patterns[0]).resolve()
    target = store / name
    shutil.rmtree(target, ignore_errors=True)
    for file in files:
        destination = target / file.resolve().relative_to(common)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
    print(f"upload-artifact (act stand-in): {len(files)} files as {name!r}")
    return 0


def download(store: Path, name: str) -> int:
    source = store / name
    if not source.is_dir():
        print(f"download-artifact (act stand-in): no artifact {name!r}", file=sys.stderr)
        return 1
    shutil.copytree(source, Path(os.environ.get("ARTIFACT_PATHS") or "."), dirs_exist_ok=True)
    print(f"download-artifact (act stand-in): {name!r} into {os.environ.get('ARTIFACT_PATHS')}")
    return 0


if __name__ == "__main__":
    folder = Path(os.environ["TABSHIP_ACT_ARTIFACTS"])
    folder.mkdir(parents=True, exist_ok=True)
    run = {"upload": upload, "download": download}[sys.argv[1]]
    sys.exit(run(folder, os.environ["ARTIFACT_NAME"]))
