"""A dataset's optional `retrain.yaml`: when `tabship-models retrain` may run, and what a
challenger must show to replace the champion. Every key is optional; unknown keys are errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabship.data import ConfigError, read_yaml_mapping
from tabship.models.promotion.delong import PromotionRule

TRIGGERS = ("manual", "schedule", "drift", "live_drop", "estimate_drop")


@dataclass(frozen=True)
class RetrainConfig:
    """Cooldown, the minimum of new labelled rows, and the promotion rule."""

    cooldown_hours: float = 24.0  # a retrain within this long of the last one is skipped
    min_new_rows: int = 200  # labelled rows the champion never saw, needed before training
    promotion: PromotionRule = field(default_factory=PromotionRule)


def _number(raw: dict[str, Any], key: str, where: str, low: float, high: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(
            f"{where}: {key} must be a number from {low:g} to {high:g}, not {value!r}"
        )
    return float(value)


def _check_keys(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {sorted(allowed)})"
        )


def load_retrain_config(path: Path) -> RetrainConfig:
    """PATH's settings, or the defaults when the dataset has no retrain.yaml."""
    if not path.is_file():
        return RetrainConfig()
    raw = read_yaml_mapping(path, ConfigError)
    where = str(path)
    _check_keys(raw, {"cooldown_hours", "min_new_rows", "promotion"}, where)
    promotion = raw.get("promotion") or {}
    if not isinstance(promotion, dict):
        raise ConfigError(f"{where}: promotion must be a mapping (min_gain, alpha)")
    _check_keys(promotion, {"min_gain", "alpha"}, f"{where}: promotion")
    defaults, rule = RetrainConfig(), PromotionRule()
    rows = _number(raw, "min_new_rows", where, 0, 1e12)
    cooldown = _number(raw, "cooldown_hours", where, 0, 24 * 365)
    gain = _number(promotion, "min_gain", f"{where}: promotion", -1, 1)
    alpha = _number(promotion, "alpha", f"{where}: promotion", 1e-9, 0.5)
    return RetrainConfig(
        cooldown_hours=defaults.cooldown_hours if cooldown is None else cooldown,
        min_new_rows=defaults.min_new_rows if rows is None else int(rows),
        promotion=PromotionRule(
            min_gain=rule.min_gain if gain is None else gain,
            alpha=rule.alpha if alpha is None else alpha,
        ),
    )
