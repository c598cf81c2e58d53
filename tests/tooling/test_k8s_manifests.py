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
    assert all(v["emptyDir"].get("sizeLimit") for v in pod["volumes"] if "emptyDir" in v)
    # The token comes as a file of the Secret (settings.secret reads NAME_FILE), never a variable.
    container = pod["containers"][0]
    assert not [e for e in container["env"] if "valueFrom" in e]
    tokens = {v["name"]: v for v in pod["volumes"] if "secret" in v}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    files = {e["name"]: e["value"] for e in container["env"]}
    for name, volume in tokens.items():
        assert mounts[name]["readOnly"] is True
        for item in volume["secret"]["items"]:
            assert f"{mounts[name]['mountPath']}/{item['path']}" in files.values()
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


def _deploy_module(repo_root: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_script", repo_root / "deploy/deploy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kustomize_sets_the_image_by_tag_or_digest_and_changes_nothing_else(
    repo_root: Path, tmp_path: Path
) -> None:
    deploy = _deploy_module(repo_root)
    plain = subprocess.run(["kubectl", "kustomize", str(repo_root / "deploy/k8s")],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    pinned = deploy.pinned_image()
    digest = "sha256:" + "0123456789abcdef" * 4
    for image in ("reg.example:5000/team/serving:1.2.3", f"reg.example/serving@{digest}"):
        manifests = deploy.render(image, target=tmp_path / "k8s")
        text = manifests.read_text(encoding="utf-8")
        assert text == plain.replace(pinned, image)  # the one line kustomize changed
        kinds = [d["kind"] for d in yaml.safe_load_all(text) if d]
        assert sorted(kinds) == ["Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
                                 "PodDisruptionBudget", "Service"]  # fmt: skip
        assert validate(manifests).returncode == 0
    with pytest.raises(ValueError, match="image reference"):
        deploy.render("two words", target=tmp_path / "bad")
    assert deploy.split_reference("host:5000/serving") == (
        "host:5000/serving",
        {"newTag": "latest"},
    )
