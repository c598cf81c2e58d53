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
- `propose_search(train_rows) -> SearchProposal`: the hyperparameter search `init` writes into
  train.yaml, sized to the rows (tabship.models uses it when `tune:` has no `space:`)
- `atomic_write_text`, `atomic_write_json`, `file_sha256`, `verify_files`, `read_yaml_mapping`:
  shared file helpers (`verify_files` raises `IntegrityError`)
"""

from importlib.metadata import version

import lazy_loader

__version__ = version("tabship-data")
# The public names are listed once, in __init__.pyi; each loads its module on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
