"""The monitor report in a few lines for people: the verdict, the window, the figures, and the
drift table. Imports nothing heavy: the CLI loads it on every command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _figure(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def shadow_line(shadow: Mapping[str, Any] | None) -> str:
    """One line on the challenger in shadow mode (see monitorshadow.shadow_report)."""
    if shadow is None:
        return "shadow: no challenger"
    line = (
        f"shadow: challenger version {shadow['challenger_version']} scored {shadow['rows']:,} "
        f"of {shadow['window_rows']:,} predictions"
    )
    agree = shadow["agreement"]
    if shadow["rows"]:
        line += (
            f"; same label on {agree['label_agreement']:.1%}, mean |score diff| "
            f"{agree['mean_abs_diff']:.4f}"
        )
    ours, theirs = shadow["champion_live"], shadow["challenger_live"]
    if theirs.get("roc_auc") is not None and ours.get("roc_auc") is not None:
        line += (
            f"; live ROC-AUC {_figure(theirs['roc_auc'])} vs the champion's "
            f"{_figure(ours['roc_auc'])} on {theirs['labelled']:,} labels"
        )
    return line


def monitor_summary(report: Mapping[str, Any]) -> str:
    """A short table of REPORT (see monitorjob.run_monitor)."""
    window, drift, live = report["window"], report["drift"], report["live"]
    log = report["log"]
    lines = [
        f"{report['model_name']} version {report['model_version']}: {report['status']}",
        f"log: {log['lines_read']:,} new lines, {log['rows_written']:,} rows stored, "
        f"{log['lines_quarantined']:,} quarantined, {log['duplicates']:,} duplicates",
        f"window: {window['rows']:,} predictions ({window['first']} to {window['last']})",
        "",
        f"{'':12}{'ROC-AUC':>10}{'accuracy':>10}",
    ]
    for name, figures in (
        ("reference", report["reference"]),
        ("estimated", report["estimated"]),
        ("live", live),
    ):
        lines.append(
            f"{name:12}{_figure(figures.get('roc_auc')):>10}{_figure(figures.get('accuracy')):>10}"
        )
    lines.append(
        f"live: {live['labelled']:,} labelled of {live['min_labels']:,} needed; "
        f"{live['unmatched_labels']:,} labels match no prediction"
    )
    lines.append(shadow_line(report.get("shadow")))
    lines.append("")
    if not drift["enough_data"]:
        lines.append(f"drift: not enough data ({window['rows']:,} < {drift['rule']['min_rows']:,})")
        return "\n".join(lines)
    lines.append(f"{'feature':24}{'test':>6}{'PSI':>8}{'distance':>10}{'adj. p':>10}  verdict")
    for feature in drift["features"]:
        p_value = feature["adjusted_p"]
        lines.append(
            f"{feature['feature'][:24]:24}{feature['test']:>6}{_figure(feature['psi']):>8}"
            f"{_figure(feature['distance']):>10}"
            f"{(f'{p_value:.1e}' if p_value is not None else '-'):>10}  {feature['verdict']}"
        )
    return "\n".join(lines)
