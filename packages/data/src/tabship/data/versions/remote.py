"""Dataset versions shared through the team's object store (TABSHIP_DATA_STORE=s3://bucket/prefix).

Each machine keeps its working copy in its local store, written as today (a temporary folder
renamed into place). The object store holds the same content-addressed layout:

    <dataset>/<version>/<each file the manifest lists>
    <dataset>/<version>/manifest.json   written last: a version without it is not published
    <dataset>/latest                    the newest shared version's name

`share_version` uploads a local version, its files first and its manifest last (S3 shows an object only
when its upload is complete, so a reader sees the manifest only after every file it names).
`fetch_version` downloads a version another machine shared, checks every file against the manifest's
sha256, and renames it into the local store in one step: a half-fetched version is never read.
"""

from __future__ import annotations

import json
import os

from tabship.data.errors import ConfigError, IntegrityError
from tabship.data.files import file_sha256
from tabship.data.objectstore import ObjectStore
from tabship.data.project import Project
from tabship.data.versions import store as st


def share_version(project: Project, dataset: str, version: str) -> bool:
    """Upload VERSION of DATASET from the local store and point the shared `latest` at it.
    False when there is no team store. A version already there is not uploaded again."""
    if project.remote_store is None:
        return False
    objects = ObjectStore(project.remote_store)
    folder = st.version_dir(project.store, dataset, version)
    manifest = st.read_manifest(project.store, dataset, version)
    base = f"{dataset}/{version}"
    if objects.get(f"{base}/{st.MANIFEST_FILE}") is None:
        for name in manifest.files:
            objects.upload(f"{base}/{name}", folder / name)
        if os.environ.get("TABSHIP_FAULT_AT") == "shared-files":  # tests: die before publishing
            os._exit(137)
        objects.upload(f"{base}/{st.MANIFEST_FILE}", folder / st.MANIFEST_FILE)
    objects.put(f"{dataset}/{st.LATEST}", f"{version}\n".encode())
    return True


def fetch_version(project: Project, dataset: str, version: str = st.LATEST) -> str:
    """VERSION's name (the shared `latest` resolved), downloaded into the local store unless it is
    there already. Without a team store, VERSION as given (the local store resolves it)."""
    if project.remote_store is None:
        return version
    objects = ObjectStore(project.remote_store)
    if version == st.LATEST:
        pointer = objects.get(f"{dataset}/{st.LATEST}")
        if pointer is None:
            raise ConfigError(
                f"{objects.where(dataset)}: no version of {dataset!r} shared yet: "
                "run `tabship-data ingest` (or train) on a machine with the data"
            )
        version = pointer.body.decode().strip()
    if (st.version_dir(project.store, dataset, version) / st.MANIFEST_FILE).is_file():
        return version
    base = f"{dataset}/{version}"
    found = objects.get(f"{base}/{st.MANIFEST_FILE}")
    if found is None:
        raise ConfigError(f"{objects.where(base)}: no version {version} of {dataset!r} there")
    manifest = st.Manifest.from_dict(json.loads(found.body))
    temp = st.new_temp_dir(project.store, dataset)
    try:
        for name, digest in manifest.files.items():
            target = temp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            objects.download(f"{base}/{name}", target)
            if file_sha256(target) != digest:
                raise IntegrityError(
                    "does not match the sha256 its manifest records",
                    path=objects.where(f"{base}/{name}"),
                )
        (temp / st.MANIFEST_FILE).write_bytes(found.body)
        st.publish(temp, st.version_dir(project.store, dataset, version))
    finally:
        st.discard(temp)  # gone already when published
    return version
