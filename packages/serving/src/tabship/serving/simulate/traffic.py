"""The simulated traffic: holdout rows with every chosen shift applied, in a fixed order, and each
shift's effect measured on the rows it produced (for `simulate --json`).

The order: rows are chosen first (resampled by each `--shift`, then by label for `--label-rate`,
or else a plain seeded sample), then values move (`--offset`, `--move`), then labels flip for a
slice (`--flip`, judged on the features as they now are), and last a column breaks (`--break`):
a broken feed spoils what the service sees, not the truth the labels follow. One generator
seeded with the plan's seed draws for every step, so the same plan gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tabship.serving.simulate import effects as fx
from tabship.serving.simulate.breakage import Break, break_column
from tabship.serving.simulate.covariate import Move, Shift, move_share, offset, resample_by
from tabship.serving.simulate.labelshift import Flip, flip_labels, label_pair, resample_to_rate


@dataclass(frozen=True)
class Plan:
    """How many rows, the seed, and every shift."""

    rows: int
    seed: int = 0
    replay: bool = False  # rows is the pool's size: its rows as they are, in order, none drawn
    shifts: tuple[Shift, ...] = ()
    offsets: tuple[Shift, ...] = ()
    moves: tuple[Move, ...] = ()
    label_rate: float | None = None
    flips: tuple[Flip, ...] = ()
    breaks: tuple[Break, ...] = ()


@dataclass
class Traffic:
    """The rows to send, with their true labels, and what each shift measurably did."""

    frame: pd.DataFrame
    effects: list[dict[str, Any]] = field(default_factory=list)


def produce(holdout: pd.DataFrame, plan: Plan, target: str, positive: str) -> Traffic:
    """PLAN's rows drawn from HOLDOUT and shifted, in the order the module's docstring gives;
    TARGET is the label column, POSITIVE its positive label."""
    rng = np.random.default_rng(plan.seed)
    frame, effects = holdout, []
    for shift in plan.shifts:
        before, frame = frame, resample_by(frame, shift, plan.rows, rng)
        effects.append(fx.mean_effect("shift", shift.text, shift.feature, before, frame))
    if plan.label_rate is not None:
        before = frame
        frame = resample_to_rate(frame, target, positive, plan.label_rate, plan.rows, rng)
        text = f"{plan.label_rate:g}"
        effects.append(fx.rate_effect("label-rate", text, (target, positive), before, frame))
    if frame is holdout and plan.replay:  # a --source file without --rows: replayed as it is
        frame = holdout.reset_index(drop=True)
    elif frame is holdout:  # no resampling asked for: a plain seeded sample
        sample = holdout.sample(
            n=plan.rows, replace=len(holdout) < plan.rows, random_state=plan.seed
        )
        frame = sample.reset_index(drop=True)
    for value_shift in plan.offsets:
        before, frame = frame, offset(frame, value_shift)
        effects.append(
            fx.mean_effect("offset", value_shift.text, value_shift.feature, before, frame)
        )
    for move in plan.moves:
        before, frame = frame, move_share(frame, move, rng)
        effects.append(fx.move_effect(move.text, move.feature, move.target, before, frame))
    pair = label_pair(holdout[target], positive) if plan.flips else (None, None)
    for flip in plan.flips:
        before, frame = frame, flip_labels(frame, flip, target, pair, rng)
        effect = fx.rate_effect("flip", flip.text, (target, positive), before, frame)
        effect["slice_rows"] = int(flip.mask(before).sum())
        effect["rows_flipped"] = fx.changed(before[target], frame[target])
        effects.append(effect)
    for broken in plan.breaks:
        before, frame = frame, break_column(frame, broken)
        effects.append(fx.break_effect(broken.text, broken.feature, before, frame))
    return Traffic(frame, effects)
