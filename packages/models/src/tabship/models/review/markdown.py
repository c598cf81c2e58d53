"""A review as Markdown: the comment posted on a pull or merge request, and the HTML page's text.

GitHub and GitLab render the same subset (tables, `<details>`, fenced diffs); neither shows an
image that is not on a web server, so the charts are in the HTML page (linked when CI gives its
address) and the Markdown carries each chart's numbers as a table with text bars. The comment is
cut to stay under GitHub's 65,536 characters: long tables keep their worst rows.
"""

from __future__ import annotations

from typing import Any

from tabship.models.config import METRICS
from tabship.models.promotion.paired import Difference
from tabship.models.review.calibration import BINS, Calibration
from tabship.models.review.report import MARKER, Review, Scoring, Side

LIMIT = 60_000  # characters: GitHub's limit is 65,536, and the marker and a footer come on top
GROUP_ROWS = 20  # groups in the comment's table; the page lists them all
IMPORTANCE_ROWS = 8
NAMES = {"roc_auc": "ROC-AUC", "log_loss": "log loss", "accuracy": "accuracy", "f1": "F1",
         "brier": "Brier score"}  # fmt: skip
BAR = "█"


def cell(text: object, width: int = 80) -> str:
    """Data-derived text (a group's value, a feature's name) made safe in a table cell and in the
    HTML page: no raw HTML, no column breaks, no line breaks, at most WIDTH characters."""
    flat = " ".join(str(text).split())
    flat = flat if len(flat) <= width else flat[: width - 3] + "..."
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _difference(d: Difference) -> str:
    return f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"


def _bar(share: float, width: int = 20) -> str:
    return BAR * round(share * width) or "·"


def _bytes(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def _metrics(scoring: Scoring, champion: Side, candidate: Side) -> list[str]:
    level = scoring.differences[0].level
    lines = [
        f"| metric | {_version('champion', champion)} | {_version('candidate', candidate)} | "
        f"candidate - champion ({level:.0%} interval) | call |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    lines += [
        f"| {NAMES[d.metric]} | {d.champion:.4f} | {d.candidate:.4f} | {_difference(d)} | "
        f"{d.call} |"
        for d in scoring.differences
    ]
    return lines


def _version(role: str, side: Side) -> str:
    return f"{role} v{side.version}"


def _groups(scoring: Scoring, limit: int | None) -> list[str]:
    called = sum(1 for g in scoring.groups if g.differences)
    lines = [
        f"Intervals at {scoring.group_level:.2%} each (Bonferroni over {called} groups x 2 "
        "metrics), so that all the calls together are wrong at most 5% of the time; groups under "
        "the gate's minimum size are not called.",
        "",
        "| group | rows | ROC-AUC change | accuracy change | decisions changed | call |",
        "| --- | ---: | --- | --- | ---: | --- |",
    ]
    shown = scoring.groups if limit is None else scoring.groups[:limit]
    for group in shown:
        by_metric = {d.metric: d for d in group.differences}
        cells = [_difference(by_metric[m]) if m in by_metric else "(too few rows)"
                 for m in ("roc_auc", "accuracy")]  # fmt: skip
        calls = sorted({d.call for d in group.differences}) or ["not called"]
        call = "**worse**" if group.worse else ", ".join(calls)
        lines.append(
            f"| {cell(f'{group.attribute}={group.group}')} | {group.rows} | {cells[0]} | {cells[1]} | "
            f"{group.flips.changed} ({group.flips.share:.1%}) | {call} |"
        )
    if len(shown) < len(scoring.groups):
        lines.append(f"\n{len(scoring.groups) - len(shown)} more groups in the HTML page.")
    return lines


def _flips(scoring: Scoring, threshold: float) -> list[str]:
    f = scoring.flips
    return [
        f"At the threshold {threshold:g}, {f.changed} of {f.rows} rows ({f.share:.2%}) change "
        f"label: {f.to_positive} to positive, {f.to_negative} to negative; on them the candidate "
        f"is now right {f.now_right} times and wrong {f.now_wrong} times.",
    ]


def _calibration(scoring: Scoring) -> list[str]:
    before, after = scoring.calibration["champion"], scoring.calibration["candidate"]
    lines = [
        f"Expected calibration error ({BINS} equal bins): champion {before.ece:.4f}, "
        f"candidate {after.ece:.4f}.",
        "",
        "| scores | champion: observed rate (rows) | candidate: observed rate (rows) | "
        "candidate's share of rows |",
        "| --- | --- | --- | --- |",
    ]
    for low in range(BINS):
        cells = [_bin(c, low) for c in (before, after)]
        share = sum(after.histogram[2 * low : 2 * low + 2])
        lines.append(f"| {low / BINS:.1f}-{(low + 1) / BINS:.1f} | {cells[0]} | {cells[1]} | "
                     f"{_bar(share)} {share:.1%} |")  # fmt: skip
    return lines


def _bin(found: Calibration, index: int) -> str:
    for predicted, observed, count in zip(found.predicted, found.observed, found.counts,
                                          strict=True):  # fmt: skip
        if min(int(predicted * BINS), BINS - 1) == index:
            return f"{observed:.3f} ({count})"
    return "-"


def _importance(champion: Side, candidate: Side) -> list[str]:
    names = set(champion.feature_importance) | set(candidate.feature_importance)
    changes = sorted(
        ((n, champion.feature_importance.get(n, 0.0), candidate.feature_importance.get(n, 0.0))
         for n in names), key=lambda c: -abs(c[2] - c[1]))[:IMPORTANCE_ROWS]  # fmt: skip
    lines = ["| feature | champion's share of gain | candidate's | change |",
             "| --- | ---: | ---: | ---: |"]  # fmt: skip
    lines += [f"| {cell(n)} | {a:.3f} | {b:.3f} | {b - a:+.3f} |" for n, a, b in changes]
    return lines


def _changes(review: Review, champion: Side, candidate: Side, diff_lines: int | None) -> list[str]:
    def pair(label: str, before: Any, after: Any) -> str:
        return (
            f"- {label}: {before} -> {after}" if before != after else f"- {label}: {after} (same)"
        )

    packages = [f"{name} {champion.packages.get(name, '-')} -> {version}"
                for name, version in sorted(candidate.packages.items())
                if champion.packages.get(name) != version]  # fmt: skip
    seconds = [f"{s:.1f} s" if s is not None else "not recorded"
               for s in (champion.train_seconds, candidate.train_seconds)]  # fmt: skip
    lines = [
        pair("Dataset version", champion.dataset_version, candidate.dataset_version),
        pair("Training rows", champion.train_rows, candidate.train_rows),
        pair("Schema hash", champion.schema_hash[:12], candidate.schema_hash[:12]),
        pair("Commit", champion.git_commit[:12], candidate.git_commit[:12]),
        "- Packages: " + ("; ".join(packages) if packages else "same versions"),
        pair("Boosting rounds", champion.best_iteration, candidate.best_iteration),
        f"- Training time: {seconds[0]} -> {seconds[1]}; model file: "
        f"{_bytes(champion.model_bytes)} -> {_bytes(candidate.model_bytes)}",
    ]
    if not review.configs_recorded:
        lines.append("- Configs: the champion's run logged none (trained before the review "
                     "existed), so no diff")  # fmt: skip
    elif not review.config_diff:
        lines.append("- Configs: identical")
    for name, diff in review.config_diff.items():
        shown = diff if diff_lines is None else diff[:diff_lines]
        cut = [f"... {len(diff) - len(shown)} more lines in the HTML page"] if shown != diff else []
        lines += ["", f"<details><summary>{name} changed</summary>", "", "```diff", *shown, *cut,
                  "```", "", "</details>"]  # fmt: skip
    return lines


def _gate(review: Review) -> list[str]:
    against = f"{review.against} v{review.champion.version}" if review.champion else "no champion"
    lines = [
        f"### Gate: {'passes' if review.gate_passed else 'REFUSES the candidate'}",
        "",
        f"As a promotion would judge it now, against {against}, on the candidate's holdout.",
        "",
        "| check | value | limit | result |",
        "| --- | ---: | ---: | --- |",
    ]
    checks = sorted(review.gate_checks, key=lambda c: c["passed"])
    lines += [f"| {cell(c['name'])} | {c['value']:.4f} | {c['limit']:.4f} | "
              f"{'pass' if c['passed'] else '**FAIL**'} |" for c in checks]  # fmt: skip
    return lines


# Shorter and shorter renderings, until one fits a comment: (group rows, diff lines per file).
FITS = ((GROUP_ROWS, 200), (10, 60), (5, 20), (3, 0))


def render_markdown(review: Review, whole: bool = False) -> str:
    """The review as Markdown, its first line the hidden marker. WHOLE lists every group and
    diff line (the HTML page); otherwise it is cut to fit a comment, the worst rows kept."""
    if whole:
        return _render(review, None, None)
    for group_rows, diff_lines in FITS:
        text = _render(review, group_rows, diff_lines)
        if len(text) <= LIMIT:
            return text
    return text[:LIMIT] + "\n\n(cut here: the HTML page has the whole review)\n"


def _render(review: Review, group_rows: int | None, diff_lines: int | None) -> str:
    lines = [
        MARKER,
        f"## Model review: {review.model_name}",
        "",
        f"**{cell(review.summary(), 2000)}**",
        "",
    ]
    links = review.links
    if links:
        lines += [" · ".join(f"[{label}]({url})" for label, url in links.items()), ""]
    lines += [f"- {cell(note, 300)}" for note in review.notes] + ([""] if review.notes else [])
    champion, candidate = review.champion, review.candidate
    if champion is None:
        lines += ["| metric | candidate |", "| --- | ---: |"]
        lines += [f"| {NAMES[m]} | {review.candidate_holdout[m]:.4f} |" for m in METRICS]
        lines.append("")
    if champion is not None:
        for scoring in review.scorings:
            lines += [f"### On the {scoring.whose} holdout: dataset version "
                      f"{scoring.dataset_version}, {scoring.rows} rows", ""]  # fmt: skip
            lines += [*_metrics(scoring, champion, candidate), ""]
            lines += ["#### By group", "", *_groups(scoring, group_rows), ""]
            lines += ["#### Decisions that flip", "", *_flips(scoring, review.threshold), ""]
            lines += ["#### Calibration and scores", "", *_calibration(scoring), ""]
        lines += ["### Feature importance: the largest changes", ""]
        lines += [*_importance(champion, candidate), ""]
        lines += ["### What changed", ""]
        lines += [*_changes(review, champion, candidate, diff_lines), ""]
    lines += _gate(review)
    return "\n".join(lines) + "\n"
