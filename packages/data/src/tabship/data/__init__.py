"""tabship.data: see the package README."""

from importlib.metadata import version

__version__ = version("tabship-data")
