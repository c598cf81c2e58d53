"""The API of tabship.serving: the one list of its public names.

Type checkers read it, and `lazy_loader.attach_stub` in __init__.py reads it to load each
name's module on first use (PEP 562). Add a public name here, and nowhere else.
"""

__version__: str
__all__: list[str]

from .client.local import LocalModel as LocalModel
from .client.local import load_model as load_model
