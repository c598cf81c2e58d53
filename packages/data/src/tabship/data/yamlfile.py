"""Read a YAML config file whose top level is a mapping, with one-line errors naming the file.

Every package's configs go through this reader, so their faults read the same and never show a
traceback. It lives apart from config.py because the project file is read with it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from tabship.data.errors import ConfigError


def read_yaml_mapping(path: Path, error: type[Exception] = ConfigError) -> dict[str, Any]:
    """A YAML file whose top level is a mapping. Every fault raises ERROR with one line that names
    the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return cast("dict[str, Any]", loaded)
