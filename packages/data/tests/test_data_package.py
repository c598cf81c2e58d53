"""The package's metadata, layout and command line basics."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import tabship.data

if TYPE_CHECKING:
    from packages.data.tests.conftest import RunCli

SRC = Path(tabship.data.__file__).parent


def test_version_is_read_from_the_installed_distribution() -> None:
    pyproject = tomllib.loads((SRC.parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert tabship.data.__version__ == pyproject["project"]["version"]


def test_namespace_package_has_no_init() -> None:
    namespace = importlib.import_module("tabship")
    assert getattr(namespace, "__file__", None) is None
    assert not (SRC.parent / "__init__.py").exists()


def test_cli_version_and_usage_exit_codes(run_cli: RunCli) -> None:
    shown = run_cli(["--version"])
    assert shown.code == 0 and tabship.data.__version__ in shown.out
    assert run_cli([]).code == 2
    wrong = run_cli(["ingest", "--no-such-flag"])
    assert wrong.code == 2 and "error: unrecognized arguments" in wrong.err


def test_no_pickle_and_no_utils_module() -> None:
    sources = {p.name: p.read_text(encoding="utf-8") for p in SRC.glob("*.py")}
    assert "utils.py" not in sources
    assert not any("import pickle" in text or "to_pickle" in text for text in sources.values())


def test_lazy_public_names_are_not_shadowed_by_submodules() -> None:
    """`tabship.data` resolves its names lazily; a submodule of the same name would shadow one."""
    td = tabship.data
    folder = Path(td.__file__).parent
    for module in sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__"):
        importlib.import_module(f"tabship.data.{module}")
    for name in td.__all__:
        value = getattr(td, name)
        assert not isinstance(value, type(td)), f"tabship.data.{name} is a module"
    assert callable(td.ingest)
