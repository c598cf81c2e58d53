"""File primitives every package shares: an atomic write, and a sha256 that a run computes once.

A write goes to a temporary file in the target's folder (the same filesystem), is fsynced, then
renamed over the target in one step: a reader sees the old file or the new one, never half of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tabship.data.errors import IntegrityError

_BLOCK = 4 * 1024 * 1024
# (path, size, mtime, inode) -> sha256: within one process a file is hashed once, however many
# steps ask (the training cache key, the ingest's version hash, the manifest).
_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace PATH with TEXT in one step; on any failure PATH is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(name).chmod(mode)
        Path(name).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()
        raise


def replace_folder(temp: Path, final: Path) -> None:
    """Put the folder TEMP (made by mkdtemp beside FINAL) at FINAL, replacing what was there, so
    a reader sees the old folder or the new one, never a mix."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp.chmod(0o755)  # mkdtemp makes it private; the folder is for every reader
    if final.exists():
        old = final.with_name(final.name + ".old-" + temp.name)
        final.rename(old)
        temp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        temp.rename(final)


def atomic_write_json(path: Path, data: Any) -> None:
    """PATH as indented, key-sorted JSON, written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _digest_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_BLOCK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks so memory stays flat; remembered per process
    until the file's size, modification time or inode changes."""
    info = path.stat()
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns, info.st_ino)
    found = _DIGESTS.get(key)
    if found is None:
        found = _DIGESTS[key] = _digest_file(path)
    return found


def verify_files(folder: Path, expected: Mapping[str, str]) -> None:
    """Check each file NAME in FOLDER against its recorded sha256; IntegrityError names the first
    one that is missing or differs."""
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise IntegrityError(
                "missing: it was recorded with a sha256 but is not there", path=path
            )
        found = file_sha256(path)
        if found != digest:
            raise IntegrityError(
                f"sha256 {found[:12]}... differs from the recorded {digest[:12]}...: the file was "
                "changed or truncated after it was written",
                path=path,
            )


def display_path(path: Path) -> str:
    """PATH relative to the cwd when it is below it: short in messages, stable in reports."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())
