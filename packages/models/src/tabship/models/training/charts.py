"""The model card's two charts (ROC and calibration) as small, dependency-free SVG files.

SVG rather than matplotlib PNGs: the charts are a few polylines on a unit square, and importing
matplotlib cost a forced training run about 0.3 s of its 0.4 s of plotting. SVG is text, diffs
cleanly, and renders wherever the card's Markdown does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

SIZE, MARGIN = 360, 48
PLOT = SIZE - 2 * MARGIN


@dataclass(frozen=True)
class Series:
    """One line on a chart, in data coordinates within [0, 1]."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    colour: str = "#1f77b4"
    dashed: bool = False
    markers: bool = False


def _point(x: float, y: float) -> tuple[float, float]:
    return MARGIN + x * PLOT, MARGIN + (1.0 - y) * PLOT


def line_chart(title: str, x_label: str, y_label: str, series: Sequence[Series]) -> str:
    """An SVG document: the unit square with ticks at 0, 0.5 and 1, each series and a legend."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{PLOT}" height="{PLOT}" fill="none" '
        'stroke="#444"/>',
        f'<text x="{SIZE / 2}" y="{MARGIN - 16}" text-anchor="middle" font-size="13">'
        f"{escape(title)}</text>",
        f'<text x="{SIZE / 2}" y="{SIZE - 12}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="14" y="{SIZE / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {SIZE / 2})">{escape(y_label)}</text>',
    ]
    for tick in (0.0, 0.5, 1.0):
        x, y = _point(tick, tick)
        parts.append(f'<text x="{x}" y="{SIZE - MARGIN + 14}" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{MARGIN - 6}" y="{y + 4}" text-anchor="end">{tick:g}</text>')
    for index, line in enumerate(series):
        points = " ".join(
            "{:.1f},{:.1f}".format(*_point(x, y)) for x, y in zip(line.x, line.y, strict=True)
        )
        dash = ' stroke-dasharray="5,4"' if line.dashed else ""
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{line.colour}" '
            f'stroke-width="1.6"{dash}/>'
        )
        if line.markers:
            for x, y in zip(line.x, line.y, strict=True):
                cx, cy = _point(x, y)
                parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{line.colour}"/>')
        legend_y = MARGIN + 14 + 14 * index
        parts.append(
            f'<line x1="{MARGIN + 8}" y1="{legend_y - 4}" x2="{MARGIN + 28}" y2="{legend_y - 4}" '
            f'stroke="{line.colour}" stroke-width="1.6"{dash}/>'
        )
        parts.append(f'<text x="{MARGIN + 34}" y="{legend_y}">{escape(line.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
