"""Fixtures shared by every package's tests: small training projects built from the repository.

pytest loads this file for every test under the repository, so the models and serving tests (and
the end-to-end tests) build their projects the same way, from one definition.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import pytest
import yaml

REPO = Path(__file__).resolve().parent
# Short training: a model in a few seconds that still passes LOW_GATE on 2,000 Adult rows.
SMALL = {"folds": 3, "num_boost_round": 40, "early_stopping_rounds": 10}
LOW_GATE = {
    "floors": {"roc_auc": 0.80, "accuracy": 0.75},
    "champion_margin": {"roc_auc": 0.05},
    "group_floors": {},
}


class ProjectMaker(Protocol):
    def __call__(
        self,
        folder: Path,
        train_rows: int | None,
        holdout_rows: int | None,
        train_overrides: Mapping[str, object] | None = None,
        gate: Mapping[str, object] | None = None,
    ) -> Path: ...


def build_project(
    folder: Path,
    train_rows: int | None,
    holdout_rows: int | None,
    train_overrides: Mapping[str, object] | None = None,
    gate: Mapping[str, object] | None = None,
) -> Path:
    """A project folder: the repo's configs, and the first rows of the Adult files (all if None)."""
    shutil.copytree(REPO / "configs", folder / "configs")
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True)
    for name, rows in (("adult.data", train_rows), ("adult.test", holdout_rows)):
        lines = (REPO / "data" / "raw" / name).read_text(encoding="utf-8").splitlines(True)
        # adult.test opens with a non-data line, which the reader skips by config.
        keep = lines if rows is None else lines[: rows + (1 if name == "adult.test" else 0)]
        (raw / name).write_text("".join(keep), encoding="utf-8")
    train_path = folder / "configs" / "datasets" / "adult" / "train.yaml"
    config = yaml.safe_load(train_path.read_text(encoding="utf-8"))
    config.update(dict(train_overrides or {}))
    train_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    if gate is not None:
        (folder / "configs" / "datasets" / "adult" / "gate.yaml").write_text(
            yaml.safe_dump(dict(gate)), encoding="utf-8"
        )
    return folder


def build_small_project(folder: Path) -> Path:
    """2,000 training and 1,000 holdout rows, short training, a gate such a model can pass."""
    return build_project(folder, 2000, 1000, SMALL, LOW_GATE)


@pytest.fixture(scope="session")
def make_project() -> ProjectMaker:
    """Build a project folder from the repository's configs and Adult rows."""
    return build_project


@pytest.fixture(scope="session")
def make_small_project() -> Callable[[Path], Path]:
    """Build the small project in a folder (see build_small_project)."""
    return build_small_project


# Two made-up datasets for the "your own data" tests, written the way users' files come: one
# with a header, string labels, missing numbers and an ID; one headerless, space-separated, with
# coded categories and labels 1/2. Both carry interactions a linear baseline cannot fit, so a
# LightGBM candidate beats the gate's logistic regression on them.


def write_credit_csv(path: Path, rows: int = 3000, seed: int = 1) -> Path:
    """customer_id,income,age,debt_ratio,purpose,years_employed,outcome (good/bad)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 0.5, rows).round(2)
    age = rng.integers(18, 80, rows)
    debt = rng.uniform(0, 1, rows).round(3)
    purpose = rng.choice(["car", "house", "education", "business", "other"], rows)
    years = rng.integers(0, 40, rows)
    logit = (
        -1.2
        + 3.0 * ((debt > 0.6) & (age < 35))
        + 1.5 * (purpose == "business") * (debt > 0.3)
        - 2.0 * ((income > 30000) & (years > 10))
    )
    bad = rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))
    lines = ["customer_id,income,age,debt_ratio,purpose,years_employed,outcome"]
    for i in range(rows):
        money = "" if rng.uniform() < 0.05 else f"{income[i]}"
        employed = "NA" if rng.uniform() < 0.05 else str(years[i])
        outcome = "bad" if bad[i] else "good"
        lines.append(f"{100000 + i},{money},{age[i]},{debt[i]},{purpose[i]},{employed},{outcome}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_coded_file(path: Path, rows: int = 2000, seed: int = 2) -> Path:
    """Seven space-separated fields, no header: codes A1x, a number, codes A3x, an amount, codes
    A6x, an age, and the label (2 is the positive class)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    status = rng.choice(["A11", "A12", "A13", "A14"], rows)
    months = rng.integers(4, 72, rows)
    history = rng.choice(["A30", "A31", "A32", "A33", "A34"], rows)
    amount = rng.integers(250, 18000, rows)
    savings = rng.choice(["A61", "A62", "A63", "A64", "A65"], rows)
    age = rng.integers(19, 75, rows)
    xor = np.isin(status, ["A11", "A12"]) ^ np.isin(history, ["A30", "A31"])
    logit = -1.0 + 2.5 * xor + 1.5 * ((amount > 8000) & (age < 30)) - 1.0 * (savings == "A65")
    label = np.where(rng.uniform(size=rows) < 1 / (1 + np.exp(-logit)), 2, 1)
    lines = [
        f"{status[i]} {months[i]} {history[i]} {amount[i]} {savings[i]} {age[i]} {label[i]}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def credit_csv() -> Callable[..., Path]:
    """write_credit_csv(path, rows=3000, seed=1): the headered dataset."""
    return write_credit_csv


@pytest.fixture(scope="session")
def coded_file() -> Callable[..., Path]:
    """write_coded_file(path, rows=2000, seed=2): the headerless, space-separated dataset."""
    return write_coded_file
