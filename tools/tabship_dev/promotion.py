"""After `nox -s retrain`: did it promote a challenger? Tell the CI system, so that build, image
and deploy run only after a promotion (`nox -s promotion`).

The retrain command writes dist/retrain/outcome.json (`"status": "promoted" | "refused" |
"skipped" | ...`). Each CI system learns the answer the way it can read one:
- Jenkins: the file dist/retrain/promoted exists only after a promotion (`fileExists` in `when`);
- GitHub Actions: `promoted=true|false` and `status=...` lines in $GITHUB_OUTPUT (a job output);
- GitLab CI: a child pipeline's config (`--gitlab-child FILE`), which the parent triggers: a copy
  of ci-cd/gitlab-release.yml after a promotion, else one job that says why nothing is released.
  GitLab decides which jobs exist when a pipeline is created, so a later job cannot be skipped
  by what an earlier one found; a child pipeline made then can.
"""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tabship_dev.workspace import ROOT, ToolError

OUTCOME = ROOT / "dist" / "retrain" / "outcome.json"
MARKER = "promoted"  # beside the outcome file
RELEASE_PIPELINE = ROOT / "ci-cd" / "gitlab-release.yml"


def read_outcome(path: Path) -> dict[str, Any]:
    """The retrain's outcome; ToolError (one line) when it is missing or not one."""
    try:
        outcome = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file: run `nox -s retrain` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ToolError(f"{path}: not a retrain outcome: {error}") from None
    if not isinstance(outcome, dict) or not isinstance(outcome.get("status"), str):
        raise ToolError(f"{path}: not a retrain outcome (no string 'status')")
    return outcome


def summary(outcome: Mapping[str, Any]) -> str:
    """One line: what the retrain did, and what follows."""
    what = (
        f"retrain ({outcome.get('trigger') or 'unknown trigger'}) of "
        f"{outcome.get('model_name') or outcome.get('dataset') or 'the default dataset'}: "
        f"{outcome['status']}"
    )
    if outcome["status"] == "promoted":
        return f"{what}, version {outcome.get('challenger')} is the champion: build, image, deploy"
    return f"{what}; champion {outcome.get('champion')} stays: nothing to release"


def nothing_pipeline(outcome: Mapping[str, Any]) -> str:
    """A one-job GitLab pipeline config (JSON is YAML) that says why nothing is released."""
    job = {"stage": "report", "script": [f"echo {shlex.quote(summary(outcome))}"]}
    return json.dumps({"stages": ["report"], "nothing-to-release": job}, indent=2) + "\n"


def publish(
    outcome_path: Path, github_output: str | None = None, gitlab_child: Path | None = None
) -> tuple[bool, str]:
    """Tell Jenkins (the marker), GitHub (GITHUB_OUTPUT) and GitLab (GITLAB_CHILD) whether the
    retrain promoted; (promoted, summary line)."""
    outcome = read_outcome(outcome_path)
    promoted = outcome["status"] == "promoted"
    marker = outcome_path.parent / MARKER
    if promoted:
        marker.write_text(str(outcome.get("challenger")) + "\n", encoding="utf-8")
    else:
        marker.unlink(missing_ok=True)
    if github_output:
        with Path(github_output).open("a", encoding="utf-8") as out:
            out.write(f"promoted={'true' if promoted else 'false'}\nstatus={outcome['status']}\n")
    if gitlab_child is not None:
        gitlab_child.parent.mkdir(parents=True, exist_ok=True)
        if promoted:
            shutil.copyfile(RELEASE_PIPELINE, gitlab_child)
        else:
            gitlab_child.write_text(nothing_pipeline(outcome), encoding="utf-8")
    return promoted, summary(outcome)
