"""The monthly update as HTML and Markdown, and the month's index page, from Jinja2 templates.

Templates live in ``reports/templates``. HTML templates (``*.html.j2``) are
autoescaped; Markdown templates (``*.md.j2``) run in an environment whose
``finalize`` escapes every printed value for Markdown
(:func:`oemkpi.reports.safe_markdown.md_escape`), so a value from a feed can
neither break a table nor smuggle in HTML or a link. Text that is Markdown on
purpose (commentary, made safe by
:func:`oemkpi.reports.safe_markdown.neutralise_markdown`) is marked with
:class:`~oemkpi.reports.safe_markdown.MarkdownText` and printed as it is.
Numbers are formatted by :mod:`oemkpi.formats`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from oemkpi.formats import change_text, kpi_change, kpi_value, num, pct, pts, rel, usd, when
from oemkpi.months import month_label
from oemkpi.packaged import packaged_dir
from oemkpi.reports import marketing
from oemkpi.reports import template_helpers as helpers
from oemkpi.reports.compiled_templates import HelperBytecodeCache
from oemkpi.reports.flags import plain_message
from oemkpi.reports.index import SCOREBOARD_KPIS
from oemkpi.reports.model import MonthIndex, MonthlyReport
from oemkpi.reports.safe_markdown import (
    md_block,
    md_cell_commentary,
    md_commentary,
    md_escape,
    render_markdown_inline,
    render_markdown_safe,
)
from oemkpi.reports.targets import STATUS_TEXT
from oemkpi.reports.words import capitalize_first, check_words, feed_name


def _md_finalize(value: Any) -> Any:
    return md_escape(value)


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "pct": pct,
        "pts": pts,
        "rel": rel,
        "num": num,
        "usd": usd,
        "month_label": month_label,
        "when": when,
        "kpi_value": kpi_value,
        "kpi_change": kpi_change,
        "change_text": change_text,
        "change_mark": helpers.change_mark,
        "markdown_safe": render_markdown_safe,
        "markdown_inline": render_markdown_inline,
        "md": md_escape,
        "md_commentary": md_commentary,
        "md_block": md_block,
        "md_cell_commentary": md_cell_commentary,
        "capitalize_first": capitalize_first,
        "plain_message": plain_message,
        "check_words": check_words,
    }


def _globals() -> dict[str, Any]:
    return {
        "sections": helpers.SECTIONS,
        "section_titles": helpers.SECTION_TITLES,
        "no_commentary": helpers.NO_COMMENTARY,
        "to_be_written": helpers.TO_BE_WRITTEN,
        "no_escalations": helpers.NO_ESCALATIONS,
        "na_kpi": helpers.NA_KPI,
        "status_text": STATUS_TEXT,
        "feed_status_text": helpers.FEED_STATUS_TEXT,
        "feed_name": feed_name,
        "scoreboard_kpis": SCOREBOARD_KPIS,
        **helpers.TEMPLATE_GLOBALS,
        **marketing.TEMPLATE_GLOBALS,
    }


@lru_cache(maxsize=4)
def environment(markdown: bool = False, templates: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment for HTML (autoescaped) or Markdown (values escaped on output)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates or packaged_dir("templates")),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=(), default=False
        ),
        undefined=jinja2.StrictUndefined,
        # Templates are part of the code: no file-system check on every get_template.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_md_finalize if markdown else None,
        # The packaged templates' code, compiled by the drawing process if it runs.
        bytecode_cache=HelperBytecodeCache(markdown) if templates is None else None,
    )
    env.filters.update(_filters())
    env.globals.update(_globals())
    return env


def tidy_markdown(text: str) -> str:
    """At most one blank line in a row and one newline at the end."""
    lines: list[str] = []
    for line in text.splitlines():
        # Content lines keep trailing spaces: two of them are a line break in commentary.
        if not line.strip():
            if lines and lines[-1]:
                lines.append("")
            continue
        lines.append(line)
    return "\n".join(lines).strip() + "\n"


def render_html(report: MonthlyReport) -> str:
    """The partner's monthly update as one self-contained HTML page."""
    return environment().get_template("monthly_update.html.j2").render(report=report)


def render_markdown(report: MonthlyReport) -> str:
    """The partner's monthly update as GitHub-flavoured Markdown, for mail and chat."""
    text = environment(markdown=True).get_template("monthly_update.md.j2").render(report=report)
    return tidy_markdown(text)


def render_index(index: MonthIndex) -> str:
    """The month's overview page: every partner's headline KPIs, red flags and report links."""
    return environment().get_template("index.html.j2").render(index=index)
