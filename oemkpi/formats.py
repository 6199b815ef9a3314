"""Small Markdown helpers shared by Dagster metadata and the Markdown report."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any


def cell(value: Any, *, limit: int = 80) -> str:
    """A value made safe for a GitHub-style table cell: shown as text, never interpreted."""
    if value is None:
        return ""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False).replace("|", "\\|")
    return " ".join(text.split())


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-style Markdown table."""
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)
