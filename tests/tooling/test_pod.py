"""images/pod.py: the Deployment's pod spec as podman flags (tests/containers runs them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tabship_dev.images.pod import cpus, memory_bytes, pod
from tabship_dev.images.settings import ImageError

ROOT = Path(__file__).resolve().parents[2]


def deployment() -> list[dict[str, Any]]:
    return [yaml.safe_load((ROOT / "deploy/k8s/deployment.yaml").read_text(encoding="utf-8"))]


def test_quantities() -> None:
    assert memory_bytes("2Gi") == 2 * 2**30 and memory_bytes("512Mi") == 512 * 2**20
    assert memory_bytes("1G") == 10**9 and memory_bytes("1000") == 1000
    assert cpus("1") == "1" and cpus("500m") == "0.5" and cpus("1.5") == "1.5"
    with pytest.raises(ImageError, match="not understood"):
        memory_bytes("lots")


def test_the_deployment_becomes_the_flags_kubernetes_would_apply(tmp_path: Path) -> None:
    made = pod(deployment(), tmp_path, {"tabship-serving": {"api-token": "t0ken"}}, image="x:1")
    flags = made.flags
    assert made.image == "x:1" and made.user == "10001:10001" and made.read_only
    assert flags[flags.index("--user") + 1] == "10001:10001"
    assert "--read-only" in flags and "--cap-drop=ALL" in flags
    assert flags[flags.index("--security-opt") + 1] == "no-new-privileges"
    assert flags[flags.index("--stop-timeout") + 1] == str(made.grace_seconds) == "30"
    assert flags[flags.index("--memory") + 1] == str(2 * 2**30)
    assert made.probes == {"livenessProbe": "/livez", "readinessProbe": "/readyz"}
    assert made.port == 3000
    token = made.volumes["/var/run/secrets/tabship"] / "api-token"
    assert token.read_text(encoding="utf-8") == "t0ken" and token.stat().st_mode & 0o777 == 0o440
    assert f"{token.parent}:/var/run/secrets/tabship:ro" in flags
    assert "TABSHIP_API_TOKEN_FILE=/var/run/secrets/tabship/api-token" in flags
    assert made.volumes["/var/lib/tabship"].stat().st_uid == 10001


def test_a_secret_not_given_or_a_volume_not_run_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="secret 'tabship-serving'"):
        pod(deployment(), tmp_path, {})
    documents = deployment()
    volumes = documents[0]["spec"]["template"]["spec"]["volumes"]
    volumes[[v["name"] for v in volumes].index("state")] = {"name": "state", "hostPath": {}}
    with pytest.raises(ImageError, match="only emptyDir and secret"):
        pod(documents, tmp_path / "other", {"tabship-serving": {"api-token": "t"}})
