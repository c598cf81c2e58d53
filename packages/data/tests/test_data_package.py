"""The package's metadata and command line."""

from __future__ import annotations

import json

import pytest

import tabship.data
from tabship.data import cli


def test_version_is_read_from_the_installed_distribution() -> None:
    assert tabship.data.__version__ == "0.1.0"


def test_namespace_package_has_no_init() -> None:
    import tabship

    assert getattr(tabship, "__file__", None) is None
