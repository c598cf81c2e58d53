"""Config files are read safely: an alias bomb, a Python tag or a huge file is one line, at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tabship.data import ConfigError, read_yaml_mapping

if TYPE_CHECKING:
    from packages.data.tests.conftest import Loans, RunCli


def alias_bomb(levels: int = 9) -> str:
    """Nine aliases a level, LEVELS deep: 9**LEVELS leaves from a few hundred bytes (9 levels:
    387M; walking it took minutes and gigabytes before aliases were refused)."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_is_refused_in_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        read_yaml_mapping(path)
    message = str(caught.value)
    assert message == f"{path}:2: not valid YAML: YAML aliases (*name) are not allowed in a config"
    assert time.perf_counter() - started < 5  # the bound that matters: nothing was expanded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
        ("a: [1, 2\n", "expected ',' or ']'"),
        ("a:\n  - b\n c: d\n", "not valid YAML"),
    ],
)
def test_a_bad_document_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml_mapping(path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")
    assert expected in str(caught.value)


def test_a_config_over_one_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "large.yaml"
    path.write_text("a: " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"larger than 1024 KiB, too large for a config"):
        read_yaml_mapping(path)


def test_an_alias_bomb_in_the_schema_or_the_data_config_stops_ingest_in_one_line(
    loans: Loans, run_cli: RunCli
) -> None:
    source = loans.write("loans.csv", ["1,1000,36,yes"])
    schema = loans.root / "schemas" / "loans.yaml"
    schema.write_text(schema.read_text(encoding="utf-8") + alias_bomb(), encoding="utf-8")
    result = run_cli(loans.ingest_args(source))
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and "aliases (*name) are not allowed" in result.err

    schema.write_text(schema.read_text(encoding="utf-8").split("a: &a")[0], encoding="utf-8")
    loans.config.write_text(
        loans.config.read_text(encoding="utf-8") + alias_bomb(), encoding="utf-8"
    )
    result = run_cli(loans.ingest_args(source))
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and "aliases (*name) are not allowed" in result.err
