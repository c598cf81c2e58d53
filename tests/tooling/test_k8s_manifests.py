"""The Kubernetes manifests validate offline against the Kubernetes schemas, and say what we mean."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFESTS = ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "networkpolicy.yaml"]


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubernetes-validate", "--strict", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_is_valid_against_the_kubernetes_schema(repo_root: Path, name: str) -> None:
    result = validate(repo_root / "deploy/k8s" / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_field_is_rejected(repo_root: Path, tmp_path: Path) -> None:
    text = (repo_root / "deploy/k8s/deployment.yaml").read_text()
    planted = tmp_path / "deployment.yaml"
    planted.write_text(text.replace("readinessProbe:", "readynessProbe:"))
    assert validate(planted).returncode != 0


def test_the_deployment_probes_runs_unprivileged_and_is_scraped(repo_root: Path) -> None:
    deployment: dict[str, Any] = yaml.safe_load(
        (repo_root / "deploy/k8s/deployment.yaml").read_text()
    )
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert set(container["resources"]) == {"requests", "limits"}
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    kustomization = yaml.safe_load((repo_root / "deploy/k8s/kustomization.yaml").read_text())
    assert kustomization["resources"] == MANIFESTS


def _load(repo_root: Path, name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((repo_root / "deploy/k8s" / name).read_text())
    return document


def test_the_volumes_are_capped_and_the_image_is_the_serving_packages_version(
    repo_root: Path,
) -> None:
    pod = _load(repo_root, "deployment.yaml")["spec"]["template"]["spec"]
    assert all(v["emptyDir"].get("sizeLimit") for v in pod["volumes"])
    with (repo_root / "packages/serving/pyproject.toml").open("rb") as handle:
        serving = tomllib.load(handle)["project"]["version"]
    assert pod["containers"][0]["image"].endswith(f"/tabship/serving:{serving}")


def test_a_disruption_keeps_a_replica_and_only_the_service_port_is_open(repo_root: Path) -> None:
    labels = _load(repo_root, "deployment.yaml")["spec"]["selector"]["matchLabels"]
    budget = _load(repo_root, "pdb.yaml")["spec"]
    assert budget["minAvailable"] == 1 and budget["selector"]["matchLabels"] == labels
    policy = _load(repo_root, "networkpolicy.yaml")["spec"]
    assert policy["podSelector"]["matchLabels"] == labels and policy["policyTypes"] == ["Ingress"]
    assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == [3000]
