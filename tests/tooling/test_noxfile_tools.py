"""What the noxfile's sessions call instead of holding logic themselves: uv sync's arguments and
mypy's runs (tools/tabship_dev/workspace.py), and the benchmark runner (bench/run.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from tabship_dev import workspace

ROOT = Path(__file__).resolve().parents[2]


def test_uv_sync_fills_a_venv_with_the_workspace_one_package_or_only_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workspace, "uv", lambda: "uv")
    frozen = ["uv", "sync", "--frozen", "--no-default-groups"]
    assert workspace.uv_sync("lint") == [*frozen, "--group=lint", "--all-packages"]
    assert workspace.uv_sync("test", package="data") == [
        *frozen, "--group=test", "--package", "tabship-data",
    ]  # fmt: skip
    assert workspace.uv_sync(package="serving") == [*frozen, "--package", "tabship-serving"]
    assert workspace.uv_sync("ci", only=True) == [*frozen, "--only-group=ci"]
    assert workspace.uv_sync("test", bytecode=True)[-1] == "--compile-bytecode"


def test_mypy_checks_every_source_and_the_tooling_then_each_test_folder_alone() -> None:
    sources, *tests = workspace.mypy_runs()
    assert sources == [*(f"packages/{p}/src" for p in workspace.PACKAGES), *workspace.TOOLING]
    assert tests == [*([f"packages/{p}/tests"] for p in workspace.PACKAGES), ["tests"]]
    assert all((ROOT / path).exists() for run in (sources, *tests) for path in run)


@pytest.fixture(scope="module")
def bench_run() -> ModuleType:
    """bench/run.py, which is a script beside the benchmarks, not a package module."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_names_come_first_and_every_option_goes_to_each(bench_run: ModuleType) -> None:
    assert bench_run.split([]) == (["data", "train"], [])
    assert bench_run.split(["train"]) == (["train"], [])
    assert bench_run.split(["data", "--some-flag"]) == (["data"], ["--some-flag"])
    assert bench_run.split(["monitor", "train", "--rows", "5"]) == (
        ["monitor", "train"], ["--rows", "5"],
    )  # fmt: skip
    assert bench_run.split(["--json"]) == (["data", "train"], ["--json"])


def test_an_unknown_benchmark_runs_nothing(
    bench_run: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_run.main(["train", "nonsense", "--json"]) == 2
    error = capsys.readouterr().err
    assert "no benchmark nonsense" in error and "data, image, monitor" in error


def test_invoke_serve_runs_nox_without_capturing_the_server_s_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """invoke's runner keeps all it captures and joins it on each read: a server's output must
    not go through it (issue 28, point 3)."""
    from invoke.context import Context

    spec = importlib.util.spec_from_file_location("tasks_under_test", ROOT / "tasks.py")
    assert spec is not None and spec.loader is not None
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    calls: list[list[str]] = []

    def call(command: list[str]) -> int:
        calls.append(command)
        return 0

    monkeypatch.setattr(tasks.subprocess, "call", call)

    class Uncaptured(Context):
        def run(self, command: str, **kwargs: object) -> None:  # type: ignore[override]
            raise AssertionError(f"ran through invoke's capturing runner: {command}")

    tasks.serve(Uncaptured(), port=3001, dataset="adult")
    noxfile = str(ROOT / "noxfile.py")
    options = ["--port", "3001", "--host", "127.0.0.1", "--dataset", "adult"]
    assert calls == [["nox", "-f", noxfile, "-s", "serve", "--", *options]]
