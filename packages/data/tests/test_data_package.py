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
    sources = {str(p): p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")}
    assert not any(name.endswith("utils.py") for name in sources)
    assert not any("import pickle" in text or "to_pickle" in text for text in sources.values())


def test_lazy_public_names_are_not_shadowed_by_submodules() -> None:
    """`tabship.data` resolves its names lazily; a submodule of the same name would shadow one."""
    td = tabship.data
    folder = Path(td.__file__).parent
    for path in sorted(folder.rglob("*.py")):  # every module, in every folder
        parts = path.relative_to(folder).with_suffix("").parts
        importlib.import_module(".".join(("tabship.data", *parts)).removesuffix(".__init__"))
    for name in td.__all__:
        value = getattr(td, name)
        assert not isinstance(value, type(td)), f"tabship.data.{name} is a module"
    assert callable(td.ingest)
