"""Read a YAML config file whose top level is a mapping, with one-line errors naming the file.

Every package's configs go through this reader, so their faults read the same and never show a
traceback. It lives apart from config/ because the project file is read with it too.

A config is small and written by people, so the reader refuses what only an attack needs: a file
over 1 MiB, and YAML aliases (`*name`), whose nesting expands a 2 KB file into gigabytes once
anything walks it (measured: a 1.6 KB schema.yaml ran 70 s to 4.5 GB). Only the safe loader's
tags are known; a `!!python/...` tag is one line, not PyYAML's four.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from tabship.data.errors import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases before anything is built from them."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in a config", event.start_mark
            )
        return super().compose_node(parent, index)


def read_config_text(path: Path, error: type[Exception] = ConfigError) -> str:
    """PATH's text, at most MAX_CONFIG_BYTES of UTF-8. ERROR (one line, naming the file) else."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise error(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, too large for a config")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None


def parse_config(text: str, path: Path, error: type[Exception] = ConfigError) -> Any:
    """TEXT as YAML (safe tags, no aliases). ERROR with one line naming PATH and the line."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise error(f"{where}: not valid YAML: {problem[:200]}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {str(exc).splitlines()[0][:200]}") from None
    except RecursionError:
        raise error(f"{path}: not valid YAML: nested too deeply") from None


def read_yaml_mapping(path: Path, error: type[Exception] = ConfigError) -> dict[str, Any]:
    """A YAML file whose top level is a mapping. Every fault raises ERROR with one line that names
    the file."""
    loaded = parse_config(read_config_text(path, error), path, error)
    if not isinstance(loaded, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return cast("dict[str, Any]", loaded)
