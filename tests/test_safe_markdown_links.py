"""Markdown commentary keeps no unsafe link in any form, as the HTML already does.

Each case is checked the way it would be abused: the Markdown report's text is read
by a CommonMark reader that follows any link (markdown-it with link validation off),
and no link, image or reference definition in it may have a scheme other than
http(s) or mailto. Safe links keep working.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from oemkpi.reports.safe_markdown import neutralise_markdown

SAFE = ("http:", "https:", "mailto:")


def _targets(text: str) -> list[str]:
    """Every link, image and definition target a trusting reader finds in ``text``."""
    md = MarkdownIt("commonmark", {"html": True})
    md.validateLink = lambda url: True  # type: ignore[method-assign,assignment]
    env: dict[str, Any] = {}
    found = []
    for token in md.parse(text, env):
        for child in token.children or []:
            target = child.attrGet("href") or child.attrGet("src")
            if target:
                found.append(str(target))
    found += [str(r["href"]) for r in env.get("references", {}).values()]
    return found


def _unsafe(target: str) -> bool:
    """A target with a scheme (as a browser reads it) other than http(s) or mailto."""
    lowered = "".join(target.split()).lower()
    return re.match(r"[a-z][a-z0-9+.-]*:", lowered) is not None and not lowered.startswith(SAFE)


CASES = {
    "target on the next line": "[click](\njavascript:alert(1))",
    "target indented on the next line": "[click](\n   JaVaScRiPt:alert(1))",
    "target in angle brackets on the next line": "[click](\n<javascript:alert(1)>)",
    "image target on the next line": "![chart](\njavascript:alert(1))",
    "reference definition over two lines": "[x]:\njavascript:alert(1)\n\nsee [x]",
    "reference definition with a title over three lines": (
        "[x]:\n  javascript:alert(1)\n  'title'\n\nsee [x]"
    ),
    "reference label over two lines": "[a\nb]: javascript:alert(1)\n\n[a b]",
    "autolink": "<javascript:alert(1)>",
    "entity-encoded scheme": "[y](&#106;avascript:alert(1))",
    "data URI on the next line": "[q](\n\tdata:text/html,<script>x</script>)",
    "in a list item": "- see [here](\n  vbscript:msgbox(1))",
    "in a table cell": "| a |\n|---|\n| [x](javascript:alert(1)) |",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_no_unsafe_link_survives_in_any_form(text: str) -> None:
    assert any(_unsafe(t) for t in _targets(text))  # the case is a real attack

    out = neutralise_markdown(text)

    assert [t for t in _targets(out) if _unsafe(t)] == []


def test_a_link_target_on_the_next_line_becomes_plain_text() -> None:
    assert neutralise_markdown("Read [the plan](\njavascript:alert(1)) now.") == (
        "Read \\[the plan\\](\njavascript:alert(1)) now."
    )


def test_a_split_reference_definition_becomes_plain_text() -> None:
    assert neutralise_markdown("[x]:\njavascript:alert(1)\n\nsee [x]") == (
        "\\[x\\]:\njavascript:alert(1)\n\nsee \\[x\\]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "[plan](https://example.com/plan)",
        "[mail](\nmailto:pam@example.com)",
        "[ref]\n\n[ref]:\n  https://example.com",
        "[relative](reports/2026-10/index.html)",
    ],
)
def test_safe_links_keep_working_even_over_two_lines(text: str) -> None:
    out = neutralise_markdown(text)

    assert out == text
    assert _targets(out)
