"""The rendered Deployment's pod, run by podman: what Kubernetes would run, flag for flag.

No Kubernetes API server can be had here, so the serving container is run the way its Deployment
says, from the manifests `kubectl kustomize` rendered (deploy/deploy.py): its image, user and group,
read-only root, dropped capabilities, resources, environment, secret and emptyDir volumes, and
termination grace. Two things differ, because podman shares the host's network here: the service
listens on 127.0.0.1 on a free port (`$TABSHIP_PORT`, which the image's HEALTHCHECK also probes)
rather than 0.0.0.0:3000, and probes are made by the caller, not a kubelet.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabship_dev.images.settings import ImageError

CONTAINER = "serving"  # the Deployment's container (deploy/deploy.py sets its image)
KUBERNETES_GRACE = 30  # terminationGracePeriodSeconds when a pod spec does not say


@dataclass(frozen=True)
class Pod:
    """A Deployment's container as `podman run` flags, with the host folders behind its volumes."""

    image: str
    flags: list[str]
    grace_seconds: int
    port: int  # the containerPort the probes and the Service name
    user: str  # "UID:GID"
    read_only: bool
    probes: dict[str, str]  # probe kind -> HTTP path
    volumes: dict[str, Path] = field(default_factory=dict)  # mountPath -> host folder


def deployment(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The one Deployment among rendered manifests."""
    found = [d for d in documents if d and d.get("kind") == "Deployment"]
    if len(found) != 1:
        raise ImageError(f"expected one Deployment in the manifests, found {len(found)}")
    return found[0]


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("2Gi", "512Mi", "1G", "1000") in bytes."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(quantity))
    if not match:
        raise ImageError(f"memory quantity {quantity!r} is not understood")
    scale = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}  # fmt: skip
    return int(match.group(1)) * scale[match.group(2)]


def cpus(quantity: str) -> str:
    """A Kubernetes CPU quantity ("1", "500m") as podman's --cpus."""
    text = str(quantity)
    return f"{int(text[:-1]) / 1000:g}" if text.endswith("m") else f"{float(text):g}"


def _security(pod_spec: dict[str, Any], container: dict[str, Any]) -> tuple[list[str], str, bool]:
    pod_security = pod_spec.get("securityContext", {})
    security = {**pod_security, **container.get("securityContext", {})}
    uid, gid = security.get("runAsUser"), security.get("runAsGroup", security.get("runAsUser"))
    if uid is None:
        raise ImageError("the Deployment does not say which user runs the container")
    flags = ["--user", f"{uid}:{gid}"]
    if "fsGroup" in pod_security:
        flags += ["--group-add", str(pod_security["fsGroup"])]
    read_only = bool(security.get("readOnlyRootFilesystem"))
    flags += ["--read-only"] if read_only else []
    flags += [f"--cap-drop={c}" for c in security.get("capabilities", {}).get("drop", [])]
    if security.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    return flags, f"{uid}:{gid}", read_only


def _volumes(
    pod_spec: dict[str, Any],
    container: dict[str, Any],
    scratch: Path,
    secrets: Mapping[str, Mapping[str, str]],
    owner: tuple[int, int],
) -> tuple[list[str], dict[str, Path]]:
    """Each volumeMount as a host folder: an emptyDir is an empty folder the pod's group owns
    (fsGroup), a secret is a folder of its keys as read-only files (SECRETS: name -> key -> value)."""
    declared = {v["name"]: v for v in pod_spec.get("volumes", [])}
    flags: list[str] = []
    folders: dict[str, Path] = {}
    for mount in container.get("volumeMounts", []):
        volume = declared[mount["name"]]
        host = scratch / mount["name"]
        host.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in volume:
            os.chown(host, *owner)
        elif "secret" in volume:
            name = volume["secret"]["secretName"]
            if name not in secrets:
                raise ImageError(f"the pod mounts secret {name!r}: give its keys")
            for item in volume["secret"].get("items") or [{"key": k, "path": k} for k in
                                                         secrets[name]]:  # fmt: skip
                path = host / item["path"]
                path.write_text(secrets[name][item["key"]], encoding="utf-8")
                os.chown(path, 0, owner[1])
                path.chmod(0o440)
        else:
            raise ImageError(f"volume {mount['name']!r}: only emptyDir and secret are run here")
        read_only = ":ro" if mount.get("readOnly") or "secret" in volume else ""
        flags += ["--volume", f"{host}:{mount['mountPath']}{read_only}"]
        folders[mount["mountPath"]] = host
    return flags, folders


def pod(
    documents: list[dict[str, Any]],
    scratch: Path,
    secrets: Mapping[str, Mapping[str, str]],
    image: str = "",
) -> Pod:
    """The serving container of the Deployment in DOCUMENTS as podman flags (IMAGE replaces the
    Deployment's, e.g. a local build's name), its volumes made under SCRATCH."""
    spec = deployment(documents)["spec"]["template"]["spec"]
    container = next((c for c in spec["containers"] if c["name"] == CONTAINER), None)
    if container is None:
        raise ImageError(f"the Deployment has no container named {CONTAINER!r}")
    flags, user, read_only = _security(spec, container)
    uid, gid = (int(part) for part in user.split(":"))
    volume_flags, folders = _volumes(spec, container, scratch, secrets, (uid, gid))
    flags += volume_flags
    for variable in container.get("env", []):
        if "value" in variable:
            flags += ["--env", f"{variable['name']}={variable['value']}"]
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            flags += ["--env", f"{variable['name']}={secrets[ref['name']][ref['key']]}"]
    limits = container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        flags += ["--memory", str(memory_bytes(limits["memory"]))]
    if "cpu" in limits:
        flags += ["--cpus", cpus(limits["cpu"])]
    grace = int(spec.get("terminationGracePeriodSeconds", KUBERNETES_GRACE))
    flags += ["--stop-timeout", str(grace)]
    ports = {p.get("name", ""): int(p["containerPort"]) for p in container.get("ports", [])}
    probes = {
        kind: container[kind]["httpGet"]["path"]
        for kind in ("livenessProbe", "readinessProbe", "startupProbe")
        if "httpGet" in container.get(kind, {})
    }
    return Pod(
        image=image or container["image"],
        flags=flags,
        grace_seconds=grace,
        port=next(iter(ports.values())),
        user=user,
        read_only=read_only,
        probes=probes,
        volumes=folders,
    )
