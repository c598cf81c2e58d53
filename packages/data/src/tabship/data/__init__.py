"""tabship.data: raw files to validated, versioned datasets, with no row lost. See the README.

The public API, used by the features and models packages:

- `load_config(path=None, dataset=None) -> DatasetConfig`
- `ingest(dataset=None, sources=None, *, holdout=None, config=None, store=None) -> IngestResult`
- `load_dataset(name="adult", version="latest", store=None, *, split=None) -> (DataFrame, Manifest)`
- `list_versions(name="adult", store=None) -> list[Manifest]`
"""

from importlib import import_module
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tabship.data.config import DatasetConfig, load_config
    from tabship.data.errors import ConfigError, DataError, RunRejectedError
    from tabship.data.ingestion import IngestResult, ingest
    from tabship.data.load import list_versions, load_dataset
    from tabship.data.store import Manifest, default_store

__version__ = version("tabship-data")

# Names resolve on first use (PEP 562): `import tabship.data.config` must not pay for polars and
# pandera, so that a cached `tabship-models train` answers within a second. No exported name may
# equal a submodule's name: importing the submodule would shadow it (hence ingestion.py).
_EXPORTS = {
    "ConfigError": "errors",
    "DataError": "errors",
    "DatasetConfig": "config",
    "IngestResult": "ingestion",
    "Manifest": "store",
    "RunRejectedError": "errors",
    "default_store": "store",
    "ingest": "ingestion",
    "list_versions": "load",
    "load_config": "config",
    "load_dataset": "load",
}
__all__ = [
    "ConfigError",
    "DataError",
    "DatasetConfig",
    "IngestResult",
    "Manifest",
    "RunRejectedError",
    "__version__",
    "default_store",
    "ingest",
    "list_versions",
    "load_config",
    "load_dataset",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tabship.data' has no attribute {name!r}")
    return getattr(import_module(f"tabship.data.{module}"), name)
