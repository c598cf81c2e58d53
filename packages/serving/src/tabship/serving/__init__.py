"""tabship.serving: the BentoML service, and scoring in-process (see the package README).

- `load_model(project=None, dataset=None, tag=None) -> LocalModel`: the champion (or a stored
  tag) in this process, its files hash-checked; `LocalModel.score(frame)` scores a DataFrame
  through the request schema, as the service does
"""

from importlib.metadata import version

import lazy_loader

__version__ = version("tabship-serving")
# The public names are listed once, in __init__.pyi; each loads its module on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
