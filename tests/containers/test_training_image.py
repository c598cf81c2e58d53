"""The training image trains a mounted project into its sqlite registry, as user 10001, and the
serving image built after it carries exactly the model it registered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tabship_dev.images.engine import podman

BIN = Path(sys.executable).parent


def test_it_trains_into_the_mounted_registry_as_its_own_user(
    trained: dict[str, Any], host_env: dict[str, str]
) -> None:
    result = trained["train"]
    assert result["gate_passed"] is True, result
    project: Path = trained["project"]
    registry = project / "mlruns"
    written = [p for p in registry.rglob("*") if p.is_file()]
    assert written and {p.stat().st_uid for p in written} == {10001}
    versions = subprocess.run(
        [str(BIN / "tabship-models"), "--project", str(project), "versions", "--json"],
        env=host_env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert versions.returncode == 0, versions.stderr[-2000:]
    listed = json.loads(versions.stdout)
    found = listed["versions"] if isinstance(listed, dict) else listed
    champion = [v for v in found if "champion" in v.get("aliases", [])]
    assert [v["run_id"] for v in champion] == [result["run_id"]], found


def test_the_serving_image_carries_the_registered_model(serving_image: dict[str, Any]) -> None:
    image = subprocess.run([*podman(), "image", "inspect", serving_image["name"]],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    labels = json.loads(image)[0]["Config"]["Labels"]
    result = serving_image["trained"]["train"]
    assert labels["io.tabship.model.run_id"] == result["run_id"]
    assert labels["io.tabship.model.version"] == str(result["model_version"])
    assert labels["org.opencontainers.image.revision"]
