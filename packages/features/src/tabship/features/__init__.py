"""tabship.features: see the package README."""

from importlib.metadata import version

__version__ = version("tabship-features")
