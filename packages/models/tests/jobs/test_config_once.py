"""A cold training run parses each config file once and hashes each raw file once."""

from __future__ import annotations

import importlib
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tabship.models.cli import main


def test_a_cold_train_parses_each_config_once_and_hashes_each_raw_file_once(
    small_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = importlib.import_module("tabship.data.files")
    files._DIGESTS.clear()  # a cold process remembers nothing
    hashed: Counter[str] = Counter()
    parsed: Counter[str] = Counter()
    digest, read_text, path_open = files._digest_file, Path.read_text, Path.open
    configs = small_project / "configs"

    def counting_digest(path: Path) -> str:
        hashed[path.name] += 1
        return str(digest(path))

    def count(path: Path) -> None:
        if path.suffix == ".yaml" and path.is_relative_to(configs):
            parsed[str(path.relative_to(small_project))] += 1

    def counting_read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        count(self)
        return read_text(self, *args, **kwargs)

    def counting_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # The config readers open a file once, bounded (tabship.data.yamlfile, features' spec);
        # hashing configs for the cache key reads their bytes (read_bytes, not counted).
        if "r" in mode:
            count(self)
        return path_open(self, mode, *args, **kwargs)

    def uncounted_read_bytes(self: Path) -> bytes:
        with io.open(self, "rb") as handle:  # noqa: UP020  (not through the counted Path.open)
            return handle.read()

    monkeypatch.setattr(files, "_digest_file", counting_digest)
    monkeypatch.setattr(Path, "read_text", counting_read_text)
    monkeypatch.setattr(Path, "open", counting_open)
    monkeypatch.setattr(Path, "read_bytes", uncounted_read_bytes)
    assert main(["--project", str(small_project), "train", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] is False
    assert dict(parsed) == {
        "configs/project.yaml": 1,
        "configs/datasets/adult/train.yaml": 1,
        "configs/datasets/adult/data.yaml": 1,
        "configs/datasets/adult/features.yaml": 1,
        "configs/datasets/adult/gate.yaml": 1,
        "configs/datasets/adult/schema.yaml": 1,
    }
    assert hashed["adult.data"] == 1
    assert hashed["adult.test"] == 1
