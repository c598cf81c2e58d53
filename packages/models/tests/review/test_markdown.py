"""The comment stays under GitHub's limit and hostile names stay text, in Markdown and HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabship.models import Group
from tabship.models.promotion.paired import compare
from tabship.models.review.calibration import calibration
from tabship.models.review.flips import count_flips
from tabship.models.review.groups import compare_groups
from tabship.models.review.markdown import LIMIT, render_markdown
from tabship.models.review.page import render_page
from tabship.models.review.report import MARKER, Review, Scoring, Side

HOSTILE = "<script>alert(1)</script>|x"


def _review(groups: int, diff_lines: int) -> Review:
    rng = np.random.default_rng(0)
    rows = 20_000
    y = rng.integers(0, 2, rows)
    a = np.clip(y * 0.3 + rng.uniform(0, 0.7, rows), 0, 1)
    b = np.clip(y * 0.3 + rng.uniform(0, 0.7, rows), 0, 1)
    frame = pd.DataFrame({"g": [f"{HOSTILE}{i % groups}" for i in range(rows)]})
    changes, level = compare_groups(frame, y, a, b, [Group("attr", "g")], 0.5, 100)
    side = Side("1", "r1", "d1", rows, rows, "c1", "s1", 10, 1.0, 1000, {}, {HOSTILE: 1.0})
    return Review(
        model_name="m", registry="sqlite:///x", against="champion", threshold=0.5,
        candidate=Side(**{**side.__dict__, "version": "2"}), champion=side,
        scorings=[Scoring("d1", "candidate's", rows, compare(y, a, b, 0.5), changes, level,
                          count_flips(y, a, b, 0.5),
                          {"champion": calibration(y, a), "candidate": calibration(y, b)})],
        gate_passed=True, gate_checks=[], candidate_holdout={},
        config_diff={"train.yaml": [f"+line {i} " + "x" * 80 for i in range(diff_lines)]},
    )  # fmt: skip


def test_a_huge_review_is_cut_under_the_limit_keeping_the_summary() -> None:
    review = _review(groups=150, diff_lines=2000)
    text = render_markdown(review)
    assert len(text) <= LIMIT and text.startswith(MARKER)
    assert review.summary().replace("|", "\\|")[:40] in text or "Model review" in text
    whole = render_markdown(review, whole=True)
    assert len(whole) > LIMIT and whole.count("+line ") == 2000


def test_hostile_names_are_text_not_markup() -> None:
    review = _review(groups=3, diff_lines=3)
    assert "<script>" not in render_markdown(review)
    page = render_page(review)
    assert "<script>" not in page and "&lt;script&gt;" in page
