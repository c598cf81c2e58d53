"""tabship.models: LightGBM with CV and a holdout, a quality gate, and the MLflow registry.

This module is the package's API; serving imports from here, never from submodules. Importing it
is cheap: each name loads its module on first use (PEP 562), so LightGBM and MLflow load only when
a command needs them.

- `train(project, force=False) -> TrainResult`: the main job (cached when nothing changed)
- `load_run_config(project) -> RunConfig`: every config a run reads, parsed once
- `Registry(project, model_name, experiment)`: versions and the aliases candidate/champion/previous
- `fetch_served_files(registry, version, folder) -> Contract`: a version's served files, checked
- `load_version(project, data_config, version) -> TrainingData`, `predict`, `binary_metrics`
- monitoring, pure functions on JSON-ready data: `build_profile` / `profile_from_dict` (the
  reference), `detect_drift` (per-feature drift of a window), `estimate_performance` (label-free,
  from the calibrated scores), `live_performance` (once labels arrive)
"""

from importlib.metadata import version

import lazy_loader

__version__ = version("tabship-models")
# The public names are listed once, in __init__.pyi; each loads its module on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
