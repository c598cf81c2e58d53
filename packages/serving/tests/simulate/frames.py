"""A small frame shaped like Adult's rows, for the simulation's tests on plain frames."""

from __future__ import annotations

import numpy as np
import pandas as pd


def adult_like(n: int = 20_000) -> pd.DataFrame:
    """N seeded rows: age (integers), hours (floats), sex (a category) and an income label."""
    rng = np.random.default_rng(3)
    age = rng.integers(18, 80, n).astype("int64")
    hours = rng.normal(40, 10, n)
    # The label depends on the features, as a real one does: older and longer hours, richer.
    odds = np.exp(-6 + 0.06 * age + 0.05 * hours)
    rich = rng.uniform(size=n) < odds / (1 + odds)
    return pd.DataFrame(
        {
            "age": age,
            "hours": hours,
            "sex": rng.choice(["Female", "Male"], n, p=[0.35, 0.65]),
            "income": np.where(rich, ">50K", "<=50K"),
        }
    )
