"""tabship.data: raw files to validated, versioned datasets, with no row lost. See the README.

This module is the package's API: the packages above (features, models, serving) import these
names from `tabship.data` and never its submodules (an import-linter contract enforces it).

- `find_project(path=None) -> Project`: where configs, the store and the registry live;
  `Project.dataset(name=None) -> DatasetFiles`: one dataset's config folder
- `load_config(path=None, dataset=None) -> DatasetConfig`, `load_schema(config) -> DatasetSchema`
- `ingest(dataset=None, sources=None, *, holdout=None, config=None, store=None) -> IngestResult`
- `load_dataset(name, version="latest", store=None, *, split=None) -> DatasetVersion`
- `list_versions(name, store=None) -> list[Manifest]`
- `open_version(name, version, store)`: a version's files checked, not read (`.data_files`)
- scale-out: `ingest_partitioned(client, dataset, ...)` (one Dask task per source partition),
  `with_source(config, path)` (a file or folder of partitions as the sources), `row_fraction`
  (a row hash as a per-row draw in [0, 1)), `write_synthetic` (rows shaped like a dataset)
- `request_fields(config, schema) -> list[FieldSpec]`, `fields_to_json`, `fields_from_json`: the
  request contract a model is trained with, which serving validates requests against
- `atomic_write_text`, `atomic_write_json`, `file_sha256`, `verify_files`, `read_yaml_mapping`:
  shared file helpers (`verify_files` raises `IntegrityError`)
"""

from importlib import import_module
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tabship.data.config.contract import (
        FieldSpec,
        fields_from_json,
        fields_to_json,
        request_fields,
    )
    from tabship.data.config.dataset import DatasetConfig, load_config
    from tabship.data.config.schema import DatasetSchema, load_schema
    from tabship.data.config.sources import source_files, with_source
    from tabship.data.errors import ConfigError, DataError, IntegrityError
    from tabship.data.files import (
        atomic_write_json,
        atomic_write_text,
        file_sha256,
        verify_files,
    )
    from tabship.data.ingestion.outcome import IngestResult, RunRejectedError
    from tabship.data.ingestion.partitioned import ingest_partitioned
    from tabship.data.ingestion.pipeline import ingest
    from tabship.data.logpaths import LOG_ENV, PREDICTIONS_MONITOR, SHADOW_MONITOR, ModelLogs
    from tabship.data.project import (
        DatasetFiles,
        Project,
        default_store,
        find_project,
        project_at,
    )
    from tabship.data.synth import write_synthetic
    from tabship.data.versions.load import (
        DatasetVersion,
        concat_parts,
        list_versions,
        load_dataset,
        open_version,
    )
    from tabship.data.versions.splits import row_fraction
    from tabship.data.versions.store import Manifest
    from tabship.data.yamlfile import read_yaml_mapping

__version__ = version("tabship-data")

# Names resolve on first use (PEP 562): `import tabship.data` must not pay for polars and
# pandera, so that a cached `tabship-models train` answers within a second. No exported name may
# equal a submodule's name: importing the submodule would shadow it (hence ingestion.py).
_EXPORTS = {
    "LOG_ENV": "logpaths",
    "PREDICTIONS_MONITOR": "logpaths",
    "SHADOW_MONITOR": "logpaths",
    "ModelLogs": "logpaths",
    "ConfigError": "errors",
    "DataError": "errors",
    "DatasetConfig": "config.dataset",
    "DatasetFiles": "project",
    "DatasetSchema": "config.schema",
    "DatasetVersion": "versions.load",
    "FieldSpec": "config.contract",
    "IngestResult": "ingestion.outcome",
    "IntegrityError": "errors",
    "Manifest": "versions.store",
    "Project": "project",
    "RunRejectedError": "ingestion.outcome",
    "atomic_write_json": "files",
    "atomic_write_text": "files",
    "concat_parts": "versions.load",
    "default_store": "project",
    "fields_from_json": "config.contract",
    "fields_to_json": "config.contract",
    "file_sha256": "files",
    "find_project": "project",
    "ingest": "ingestion.pipeline",
    "ingest_partitioned": "ingestion.partitioned",
    "list_versions": "versions.load",
    "load_config": "config.dataset",
    "load_dataset": "versions.load",
    "load_schema": "config.schema",
    "open_version": "versions.load",
    "project_at": "project",
    "read_yaml_mapping": "yamlfile",
    "request_fields": "config.contract",
    "row_fraction": "versions.splits",
    "source_files": "config.sources",
    "verify_files": "files",
    "with_source": "config.sources",
    "write_synthetic": "synth",
}
__all__ = [
    "LOG_ENV",
    "PREDICTIONS_MONITOR",
    "SHADOW_MONITOR",
    "ConfigError",
    "DataError",
    "DatasetConfig",
    "DatasetFiles",
    "DatasetSchema",
    "DatasetVersion",
    "FieldSpec",
    "IngestResult",
    "IntegrityError",
    "Manifest",
    "ModelLogs",
    "Project",
    "RunRejectedError",
    "__version__",
    "atomic_write_json",
    "atomic_write_text",
    "concat_parts",
    "default_store",
    "fields_from_json",
    "fields_to_json",
    "file_sha256",
    "find_project",
    "ingest",
    "ingest_partitioned",
    "list_versions",
    "load_config",
    "load_dataset",
    "load_schema",
    "open_version",
    "project_at",
    "read_yaml_mapping",
    "request_fields",
    "row_fraction",
    "source_files",
    "verify_files",
    "with_source",
    "write_synthetic",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tabship.data' has no attribute {name!r}")
    return getattr(import_module(f"tabship.data.{module}"), name)
