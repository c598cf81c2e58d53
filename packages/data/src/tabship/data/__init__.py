"""tabship.data: raw files to validated, versioned datasets, with no row lost. See the README.

The public API, used by the features and models packages:

- `load_config(path=None, dataset=None) -> DatasetConfig`
- `ingest(dataset=None, sources=None, *, holdout=None, config=None, store=None) -> IngestResult`
- `load_dataset(name="adult", version="latest", store=None, *, split=None) -> (DataFrame, Manifest)`
- `list_versions(name="adult", store=None) -> list[Manifest]`
"""

from importlib.metadata import version

from tabship.data.config import DatasetConfig, load_config
from tabship.data.errors import ConfigError, DataError, RunRejectedError
from tabship.data.ingest import IngestResult, ingest
from tabship.data.load import list_versions, load_dataset
from tabship.data.store import Manifest, default_store

__version__ = version("tabship-data")

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
