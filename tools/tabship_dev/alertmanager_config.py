"""Render configs/monitoring/alertmanager.yml with the retraining webhook's URL.

Alertmanager 0.25 (Debian bookworm) expands no environment variables in its configuration and
its webhooks have no `url_file` (added in 0.26). So the committed file holds
`${TABSHIP_RETRAIN_WEBHOOK_URL}` and this fills it in from the environment at start, refusing a
missing or malformed value rather than leaving Alertmanager to post to nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from tabship_dev.workspace import ROOT, ToolError

TEMPLATE = ROOT / "configs" / "monitoring" / "alertmanager.yml"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# The value lands inside a double-quoted YAML string: no quotes, backslashes or spaces.
URL = re.compile(r"https?://[^\s\"\\]+")


def render(text: str, env: Mapping[str, str]) -> str:
    """TEXT with each ${NAME} outside comments replaced by env[NAME], which must be an http(s) URL."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = env.get(name, "")
        if not found:
            raise ToolError(f"{name} is not set: export it (the retraining webhook's URL)")
        if not URL.fullmatch(found):
            raise ToolError(f"{name}={found!r} is not an http(s) URL without spaces or quotes")
        return found

    lines = text.splitlines(keepends=True)
    return "".join(
        line if line.lstrip().startswith("#") else PLACEHOLDER.sub(value, line) for line in lines
    )


def write(out: Path, env: Mapping[str, str], template: Path = TEMPLATE) -> Path:
    """Render TEMPLATE into OUT (its folder is made) and return OUT."""
    rendered = render(template.read_text(encoding="utf-8"), env)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rendered, encoding="utf-8")
    return out
