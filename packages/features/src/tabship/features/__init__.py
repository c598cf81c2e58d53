"""tabship.features: a feature pipeline fitted on training rows and saved as JSON.

This module is the package's API; the packages above import from here, never from submodules.
Names load on first use (PEP 562), so reading a spec (`load_spec`) does not import numpy and
pandas: a cached `tabship-models train` reads the spec and must answer within a second.
"""

from importlib.metadata import version

import lazy_loader

__version__ = version("tabship-features")
# The public names are listed once, in __init__.pyi; each loads its module on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
