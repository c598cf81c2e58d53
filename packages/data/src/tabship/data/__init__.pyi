"""The API of tabship.data: the one list of its public names.

Type checkers read it, and `lazy_loader.attach_stub` in __init__.py reads it to load each
name's module on first use (PEP 562). Add a public name here, and nowhere else.
"""

__version__: str
__all__: list[str]

from .config.contract import (
    FieldSpec as FieldSpec,
)
from .config.contract import (
    fields_from_json as fields_from_json,
)
from .config.contract import (
    fields_to_json as fields_to_json,
)
from .config.contract import (
    request_fields as request_fields,
)
from .config.dataset import (
    DatasetConfig as DatasetConfig,
)
from .config.dataset import (
    load_config as load_config,
)
from .config.schema import (
    DatasetSchema as DatasetSchema,
)
from .config.schema import (
    load_schema as load_schema,
)
from .config.sources import (
    source_files as source_files,
)
from .config.sources import (
    with_source as with_source,
)
from .errors import (
    ConfigError as ConfigError,
)
from .errors import (
    DataError as DataError,
)
from .errors import (
    IntegrityError as IntegrityError,
)
from .files import (
    atomic_write_json as atomic_write_json,
)
from .files import (
    atomic_write_text as atomic_write_text,
)
from .files import (
    file_sha256 as file_sha256,
)
from .files import (
    verify_files as verify_files,
)
from .ingestion.outcome import (
    IngestResult as IngestResult,
)
from .ingestion.outcome import (
    RunRejectedError as RunRejectedError,
)
from .ingestion.partitioned import ingest_partitioned as ingest_partitioned
from .ingestion.pipeline import ingest as ingest
from .logpaths import (
    COMPACTION_STATE as COMPACTION_STATE,
)
from .logpaths import (
    FETCHED_LEDGER as FETCHED_LEDGER,
)
from .logpaths import (
    LOG_ENV as LOG_ENV,
)
from .logpaths import (
    PREDICTIONS_MONITOR as PREDICTIONS_MONITOR,
)
from .logpaths import (
    SHADOW_MONITOR as SHADOW_MONITOR,
)
from .logpaths import (
    SHIPPED_LEDGER as SHIPPED_LEDGER,
)
from .logpaths import (
    ModelLogs as ModelLogs,
)
from .logpaths import (
    fetched_name as fetched_name,
)
from .logpaths import (
    replica_name as replica_name,
)
from .logpaths import (
    replica_prefix as replica_prefix,
)
from .objectstore import (
    ObjectStore as ObjectStore,
)
from .objectstore import (
    PreconditionFailedError as PreconditionFailedError,
)
from .objectstore import (
    StoreError as StoreError,
)
from .objectstore import (
    is_object_url as is_object_url,
)
from .project import (
    DatasetFiles as DatasetFiles,
)
from .project import (
    Project as Project,
)
from .project import (
    default_store as default_store,
)
from .project import (
    find_project as find_project,
)
from .project import (
    project_at as project_at,
)
from .scaffold.search import SearchProposal as SearchProposal
from .scaffold.search import propose_search as propose_search
from .synth import write_synthetic as write_synthetic
from .versions.load import (
    DatasetVersion as DatasetVersion,
)
from .versions.load import (
    concat_parts as concat_parts,
)
from .versions.load import (
    list_versions as list_versions,
)
from .versions.load import (
    load_dataset as load_dataset,
)
from .versions.load import (
    open_version as open_version,
)
from .versions.remote import (
    fetch_version as fetch_version,
)
from .versions.remote import (
    share_version as share_version,
)
from .versions.splits import row_fraction as row_fraction
from .versions.store import Manifest as Manifest
from .yamlfile import read_yaml_mapping as read_yaml_mapping
