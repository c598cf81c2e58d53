"""The served files fetched from the registry: a deleted artifact is named, not a temporary path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tabship.data import IntegrityError, project_at
from tabship.models import CHAMPION, Registry, fetch_served_files, train


def test_a_deleted_model_file_is_named_in_one_line(small_project: Path, tmp_path: Path) -> None:
    """Issue 28, point 10: the error named the download's temporary path."""
    assert train(small_project).status == "promoted"
    removed = [p for p in (small_project / "mlruns").rglob("model.lgb") if p.is_file()]
    assert removed
    for path in removed:
        path.unlink()
    registry = Registry.for_dataset(project_at(small_project))
    champion = registry.alias(CHAMPION)
    assert champion is not None
    with pytest.raises(IntegrityError) as caught:
        fetch_served_files(registry, champion, tmp_path / "served")
    message = str(caught.value)
    assert message.startswith(f"tabship-adult version {champion.version} (run {champion.run_id}): ")
    assert "model.lgb is missing from the registry's artifacts" in message
    assert str(tmp_path) not in message and "\n" not in message
