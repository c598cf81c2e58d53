"""The review's HTML page as people see it: rendered by headless Chromium (Debian `chromium`),
the screenshot kept in reports/ (a CI artifact), and read back pixel by pixel: the verdict's
banner is drawn at the top and both charts' candidate lines are drawn below the tables."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tabship.models.review.page import COLOURS, render_page

from .test_markdown import _review

SCREENSHOT = Path(__file__).resolve().parents[4] / "reports" / "review-page.png"
WIDTH, HEIGHT = 1200, 6000


def _chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    message = "chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def _rows_with(image: np.ndarray, colour: str, tolerance: int = 12) -> np.ndarray:
    """The pixel rows where COLOUR is drawn."""
    close = np.abs(image[:, :, :3].astype(int) - _rgb(colour)).max(axis=2) <= tolerance
    return np.flatnonzero(close.any(axis=1))


def test_the_page_shows_the_verdict_and_the_charts(tmp_path: Path) -> None:
    review = _review(groups=4, diff_lines=5)
    page = tmp_path / "review.html"
    page.write_text(render_page(review), encoding="utf-8")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={SCREENSHOT}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and SCREENSHOT.is_file(), done.stderr[-2000:]
    image = np.asarray(Image.open(SCREENSHOT).convert("RGB"))
    banner = _rows_with(image, "#e6f4ea", tolerance=3)  # the "promote" verdict's background
    assert banner.size > 20 and banner.min() < 150  # a band at the very top
    lines = _rows_with(image, COLOURS["candidate"])  # the candidate's lines in both charts
    assert lines.size > 100 and lines.min() > banner.max()
    # Two charts side by side: the candidate's colour in both halves of the charts' band.
    band = image[lines.min() : lines.max() + 1]
    left, right = band[:, : WIDTH // 2], band[:, WIDTH // 2 :]
    assert (
        _rows_with(left, COLOURS["candidate"]).size and _rows_with(right, COLOURS["candidate"]).size
    )
