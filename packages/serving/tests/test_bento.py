"""The bento's wheels and requirements do not depend on what is in uv's cache (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tabship.serving.bento import make_artifacts
from tabship.serving.runtime.modelstore import BuildError

REPO = Path(__file__).resolve().parents[3]


def test_an_empty_uv_cache_still_gives_wheels_and_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a CI runner that keeps .nox/ but not ~/.cache/uv: uv fetches the build backend."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    wheels, requirements = make_artifacts(REPO, tmp_path / "wheels")
    names = sorted(w.name.split("-")[0] for w in wheels.glob("*.whl"))
    assert names == ["tabship_data", "tabship_features", "tabship_models", "tabship_serving"]
    assert "bentoml==" in requirements.read_text(encoding="utf-8")


def test_offline_with_an_empty_cache_names_the_cause_and_the_remedy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("UV_OFFLINE", "1")
    with pytest.raises(BuildError) as raised:
        make_artifacts(REPO, tmp_path / "wheels")
    message = str(raised.value)
    assert "\n" not in message
    assert "hatchling" in message and "uv's cache" in message
    assert "nox -s build" in message
    assert "CalledProcessError" not in message
