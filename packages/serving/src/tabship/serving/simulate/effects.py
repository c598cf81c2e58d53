"""The measured effect of each simulated shift: the rows before and after it, compared (the
`shifts` list of `simulate --json`, and its lines of words without --json)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tabship.serving.simulate.labelshift import positive_rate


def changed(old: pd.Series, new: pd.Series) -> int:
    """How many rows hold another value in NEW than in OLD (missing in both is no change)."""
    same = (old == new).fillna(False) | (old.isna() & new.isna())
    return int((~same).sum())


def _mean(values: pd.Series) -> float | None:
    numbers = pd.to_numeric(values, errors="coerce")
    return float(numbers.mean()) if numbers.notna().any() else None


def column_facts(values: pd.Series) -> dict[str, Any]:
    """A column's mean (numbers only), share missing and count of distinct values."""
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    return {
        "mean": _mean(values) if numeric else None,
        "missing": float(values.isna().mean()) if len(values) else 0.0,
        "distinct": int(values.nunique(dropna=True)),
    }


def mean_effect(
    kind: str, text: str, feature: str, before: pd.DataFrame, after: pd.DataFrame
) -> dict[str, Any]:
    """A `--shift` or `--offset`: the feature's mean before and after, and the move in sd."""
    old, new = _mean(before[feature]), _mean(after[feature])
    spread = float(pd.to_numeric(before[feature], errors="coerce").std()) or 1.0
    moved = None if old is None or new is None else (new - old) / spread
    return {"kind": kind, "option": f"--{kind} {text}", "feature": feature,
            "mean_before": old, "mean_after": new, "moved_sd": moved}  # fmt: skip


def move_effect(
    text: str, feature: str, category: str, before: pd.DataFrame, after: pd.DataFrame
) -> dict[str, Any]:
    """A `--move`: rows moved, and the share of the target CATEGORY before and after."""
    old, new = before[feature], after[feature]
    return {
        "kind": "move", "option": f"--move {text}", "feature": feature,
        "rows_moved": changed(old, new),
        "share_before": float((old == category).mean()),
        "share_after": float((new == category).mean()),
    }  # fmt: skip


def rate_effect(
    kind: str, text: str, target: tuple[str, str], before: pd.DataFrame, after: pd.DataFrame
) -> dict[str, Any]:
    """A `--label-rate` or `--flip`: the positive rate before and after (TARGET is the label
    column and its positive label)."""
    return {
        "kind": kind, "option": f"--{kind} {text}",
        "positive_rate_before": positive_rate(before, *target),
        "positive_rate_after": positive_rate(after, *target),
    }  # fmt: skip


def break_effect(
    text: str, feature: str, before: pd.DataFrame, after: pd.DataFrame
) -> dict[str, Any]:
    """A `--break`: rows changed, and the column's mean, missing share and distinct values."""
    old, new = before[feature], after[feature]
    return {
        "kind": "break", "option": f"--break {text}", "feature": feature,
        "rows_changed": changed(old, new),
        "before": column_facts(old), "after": column_facts(new),
    }  # fmt: skip


def describe(effect: dict[str, Any]) -> str:
    """One line of words for one effect."""
    option, kind = effect["option"], effect["kind"]
    if kind in ("shift", "offset"):
        return (f"{option}: {effect['feature']} mean {_number(effect['mean_before'])} -> "
                f"{_number(effect['mean_after'])} ({_number(effect['moved_sd'])} sd)")  # fmt: skip
    if kind == "move":
        return (f"{option}: {effect['rows_moved']:,} rows moved; share "
                f"{effect['share_before']:.3f} -> {effect['share_after']:.3f}")  # fmt: skip
    if kind == "break":
        old, new = effect["before"], effect["after"]
        return (f"{option}: {effect['rows_changed']:,} rows changed; mean {_number(old['mean'])} "
                f"-> {_number(new['mean'])}, missing {old['missing']:.0%} -> "
                f"{new['missing']:.0%}, {old['distinct']:,} -> {new['distinct']:,} distinct "
                "values")  # fmt: skip
    rate = (f"positive rate {effect['positive_rate_before']:.3f} -> "
            f"{effect['positive_rate_after']:.3f}")  # fmt: skip
    if kind == "flip":
        return (f"{option}: {effect['rows_flipped']:,} of {effect['slice_rows']:,} rows in the "
                f"slice flipped; {rate}")  # fmt: skip
    return f"{option}: {rate}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
