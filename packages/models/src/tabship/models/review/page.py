"""A review as one self-contained HTML page: the whole Markdown (every group, every diff line)
rendered by markdown-it-py, and the charts inline as SVG, so the file opens anywhere, offline.

markdown-it-py (already in the lock) rather than a second renderer by hand: the page and the
comment then say the same things by construction.
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from tabship.models.review.calibration import HISTOGRAM_BINS
from tabship.models.review.markdown import render_markdown
from tabship.models.review.report import Review, Scoring
from tabship.models.training.charts import Series, line_chart

COLOURS = {"champion": "#7f7f7f", "candidate": "#1f77b4"}
STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; font-size: 14px; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; }
.verdict { font-size: 20px; padding: 10px 14px; border-radius: 6px; margin-bottom: 1em; }
.promote { background: #e6f4ea; border: 1px solid #34a853; }
.refuse { background: #fce8e6; border: 1px solid #d93025; }
.charts svg { margin-right: 12px; }
"""


def _diagonal() -> Series:
    return Series("perfect", [0.0, 1.0], [0.0, 1.0], colour="#bbbbbb", dashed=True)


def charts(scoring: Scoring) -> list[str]:
    """The reliability curves and the score distributions of both models, as SVG documents."""
    reliability = [_diagonal()]
    distribution = []
    centres = [(i + 0.5) / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS)]
    tallest = max(max(c.histogram) for c in scoring.calibration.values()) or 1.0
    for role, found in scoring.calibration.items():
        colour = COLOURS[role]
        reliability.append(Series(f"{role} (ECE {found.ece:.3f})", found.predicted,
                                  found.observed, colour=colour, markers=True))  # fmt: skip
        distribution.append(Series(role, centres, [h / tallest for h in found.histogram],
                                   colour=colour))  # fmt: skip
    where = f"{scoring.whose} holdout"
    return [
        line_chart(f"Calibration ({where})", "mean score", "observed positive rate", reliability),
        line_chart(f"Scores ({where})", "score", "share of rows (largest = 1)", distribution),
    ]


def render_page(review: Review) -> str:
    """The HTML page: the verdict on top, the whole review, then the charts."""
    body = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render(render_markdown(review, whole=True))
    )
    figures = "".join(f'<div class="charts">{"".join(charts(s))}</div>' for s in review.scorings)
    verdict = "promote" if review.gate_passed else "refuse"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Model review: {escape(review.model_name)}</title><style>{STYLE}</style></head>"
        f'<body><div class="verdict {verdict}" id="verdict">Verdict: {verdict} '
        f"&mdash; {escape(review.summary())}</div>{body}<h2>Charts</h2>{figures}</body></html>\n"
    )
