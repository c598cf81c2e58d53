"""A review's three files: the comment's Markdown, the HTML page and the JSON, written whole."""

from __future__ import annotations

import json
from pathlib import Path

from tabship.data import atomic_write_text
from tabship.models.review.markdown import render_markdown
from tabship.models.review.page import render_page
from tabship.models.review.report import Review

# The files' names: their one owner (the posting tool and CI read them by these names).
MARKDOWN_FILE, HTML_FILE, JSON_FILE = "review.md", "review.html", "review.json"


def write_review(review: Review, folder: Path) -> dict[str, Path]:
    """Write the three files into FOLDER, each atomically; their paths by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"markdown": folder / MARKDOWN_FILE, "html": folder / HTML_FILE,
             "json": folder / JSON_FILE}  # fmt: skip
    texts = {
        "markdown": render_markdown(review),
        "html": render_page(review),
        "json": json.dumps(review.to_dict(), indent=2) + "\n",
    }
    for kind, path in files.items():
        atomic_write_text(path, texts[kind])
    return files
