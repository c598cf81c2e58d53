"""tabship.models: LightGBM with CV and a holdout, a quality gate, and the MLflow registry.

Importing this package is cheap: the heavy modules (training, registry, job) load on first use.
"""

from importlib.metadata import version

__version__ = version("tabship-models")
