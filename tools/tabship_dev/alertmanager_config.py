"""Render configs/monitoring/alertmanager.yml with the retraining webhook's URL and token file.

Alertmanager 0.25 (Debian bookworm) expands no environment variables in its configuration and
its webhooks have no `url_file` (added in 0.26). So the committed file holds
`${TABSHIP_RETRAIN_WEBHOOK_URL}` and `${TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE}`, and this fills
them in from the environment at start, refusing a missing or malformed value rather than leaving
Alertmanager to post to nowhere. The token itself stays in its file: Alertmanager reads it
(`http_config.authorization.credentials_file`) for every notification.
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
PATH = re.compile(r"/[^\s\"\\]*")
# Each placeholder the template may hold: what it is, and the form its value must have.
PLACEHOLDERS = {
    "TABSHIP_RETRAIN_WEBHOOK_URL": ("the retraining webhook's URL", URL, "an http(s) URL"),
    "TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE": (
        "the file holding the receiver's bearer token", PATH, "an absolute path to a file",
    ),
}  # fmt: skip


def _value(name: str, env: Mapping[str, str]) -> str:
    if name not in PLACEHOLDERS:
        raise ToolError(f"${{{name}}}: the template names a variable this renderer does not know")
    what, form, described = PLACEHOLDERS[name]
    found = env.get(name, "")
    if not found:
        raise ToolError(f"{name} is not set: export it ({what})")
    if not form.fullmatch(found):
        raise ToolError(f"{name}={found!r} is not {described} without spaces or quotes")
    if form is PATH and not Path(found).is_file():
        raise ToolError(f"{name}={found!r}: no such file ({what})")
    return found


def render(text: str, env: Mapping[str, str]) -> str:
    """TEXT with each ${NAME} outside comments replaced by env[NAME], checked for its form."""

    def value(match: re.Match[str]) -> str:
        return _value(match.group(1), env)

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
