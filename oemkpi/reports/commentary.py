"""A PAM's commentary file: split by ``## `` heading, rendered without raw HTML.

``commentary/<YYYY-MM>/<partner_id>.md`` is hand-written Markdown. The known
headings (``Marketing``, ``Account plan``, ``Best practices``, ``Escalations``,
``Why: <sku>``, ``COE: <sku>``) fill the fields of :class:`Commentary`; anything
else is kept as a note, so nothing a PAM wrote is dropped. The text stays raw
Markdown until rendering: :func:`render_markdown_safe` for HTML and
:func:`neutralise_markdown` for the Markdown report.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

from oemkpi.errors import OemkpiError
from oemkpi.reports.model import Commentary

#: Heading (lower-cased) -> Commentary field.
SECTION_FIELDS: dict[str, str] = {
    "marketing": "marketing",
    "account plan": "account_plan",
    "best practices": "best_practices",
    "escalations": "escalations",
}
PREAMBLE_TITLE = "Notes"

_HEADING_RE = re.compile(r"^ {0,3}##[ \t]+(.*?)[ \t]*$")
_CLOSING_HASHES_RE = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_SKU_HEADING_RE = re.compile(r"^(why|coe)[ \t]*:[ \t]*(.+)$", re.IGNORECASE)
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
#: Schemes a commentary link may use; anything else (javascript:, data:, file:...) stays text.
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:")
#: Commentary is shown inside a report section, so its own headings start at level 4.
_HEADING_SHIFT = 3


def _heading_text(line: str) -> str | None:
    """The text of a level-2 ATX heading line, or None for any other line."""
    match = _HEADING_RE.match(line)
    if match is None:
        return None
    return _CLOSING_HASHES_RE.sub("", match.group(1)).strip()


def _blocks(text: str) -> list[tuple[str | None, str]]:
    """(heading, body) in file order; the text before the first heading has heading None."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    fence: str | None = None
    for line in text.splitlines():
        opened = _FENCE_RE.match(line)
        if fence is not None:
            # Inside a fenced code block a "## " line is code, not a heading.
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            blocks[-1][1].append(line)
            continue
        if opened:
            fence = opened.group(1)
            blocks[-1][1].append(line)
            continue
        heading = _heading_text(line)
        if heading is not None:
            blocks.append((heading, []))
        else:
            blocks[-1][1].append(line)
    return [(heading, "\n".join(lines).strip("\n").rstrip()) for heading, lines in blocks]


def _joined(existing: str | None, body: str) -> str:
    """A repeated heading adds to what was written under the first one."""
    if not existing:
        return body
    return f"{existing}\n\n{body}" if body else existing


def parse_commentary(text: str) -> Commentary:
    """Split a commentary file's Markdown into the fields of :class:`Commentary`.

    Headings match case-insensitively after trimming; a ``Why:``/``COE:`` heading is
    keyed by the SKU exactly as written after the colon (trimmed). Text before the
    first heading becomes a note titled "Notes"; unknown headings become notes in
    file order. Empty sections count as no commentary.
    """
    fields: dict[str, str | None] = dict.fromkeys(SECTION_FIELDS.values())
    why: dict[str, str] = {}
    coe: dict[str, str] = {}
    notes: list[tuple[str, str]] = []
    for heading, body in _blocks(text.replace("\r\n", "\n").lstrip("\ufeff")):
        if heading is None:
            if body.strip():
                notes.append((PREAMBLE_TITLE, body))
            continue
        key = " ".join(heading.lower().split())
        if key in SECTION_FIELDS:
            name = SECTION_FIELDS[key]
            if body.strip():
                fields[name] = _joined(fields[name], body)
            continue
        sku_heading = _SKU_HEADING_RE.match(heading)
        if sku_heading:
            target = why if sku_heading.group(1).lower() == "why" else coe
            sku = sku_heading.group(2).strip()
            if body.strip():
                target[sku] = _joined(target.get(sku), body)
            continue
        notes.append((heading, body))
    return Commentary(
        marketing=fields["marketing"],
        account_plan=fields["account_plan"],
        best_practices=fields["best_practices"],
        escalations=fields["escalations"],
        why=why,
        coe=coe,
        notes=notes,
    )


def load_commentary(path: Path) -> Commentary | None:
    """The commentary in ``path``, or None when the PAM has not written one."""
    if not path.exists():
        return None
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise OemkpiError(f"The commentary file {path} cannot be read ({err.strerror}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OemkpiError(
            f"The commentary file {path} is not UTF-8 text; save it as UTF-8 and render again."
        ) from None
    return parse_commentary(text)


def _link_allowed(url: str) -> bool:
    """Only web and mail links; relative links and anchors have no scheme and pass too."""
    lowered = "".join(url.split()).lower()
    return not _SCHEME_RE.match(lowered) or lowered.startswith(_SAFE_SCHEMES)


def _image_as_text(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    """Nothing is fetched from a report: an image shows as its alt text."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    return f'<span class="image-alt">[image: {escapeHtml(alt or "no description")}]</span>'


def _shifted_heading(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    level = min(int(token.tag[1]) + _HEADING_SHIFT, 6)
    token.tag = f"h{level}"
    return self.renderToken(tokens, idx, options, env)


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    # A link in a forwarded report must not hand the opener or the referrer to the site.
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _markdown_it() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = _link_allowed  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_text)
    md.add_render_rule("heading_open", _shifted_heading)
    md.add_render_rule("heading_close", _shifted_heading)
    md.add_render_rule("link_open", _link_open)
    return md


def render_markdown_safe(text: str) -> Markup:
    """Commentary Markdown as HTML that cannot run or fetch anything.

    Raw HTML shows as escaped text, links other than http(s)/mailto/relative stay
    text, images show their alt text, and headings start at ``<h4>`` because
    commentary sits inside a report section. Tables, lists and emphasis work.
    """
    # A fresh parser per call: MarkdownIt instances are cheap and not shared state.
    return Markup(_markdown_it().render(text or ""))


_TAG_RE = re.compile(r"<(?=[A-Za-z/!?])[^<>]*>?")
_REFERENCE_RE = re.compile(r"^( {0,3})\[([^\]]+)\]:[ \t]*<?([^ \t>]*)")
_IMAGE_RE = re.compile(r"!\[")
_MD_HEADING_RE = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")


def _unsafe(target: str) -> bool:
    """Whether a Markdown link target starts with a scheme other than http(s)/mailto."""
    # Renderers decode entities and drop blanks before they look at the scheme: so do we.
    target = "".join(html.unescape(target).lstrip("<").split()).lower()
    return _SCHEME_RE.match(target) is not None and not target.startswith(_SAFE_SCHEMES)


def _neutralise_line(line: str) -> str:
    reference = _REFERENCE_RE.match(line)
    if reference and _unsafe(reference.group(3)):
        line = reference.group(1) + "\\" + line[len(reference.group(1)) :]
    line = _TAG_RE.sub(lambda m: m.group(0).replace("<", "&lt;").replace(">", "&gt;"), line)
    line = _IMAGE_RE.sub("!\\[", line)
    # Links keep working only with a safe scheme or none: "](javascript:" becomes "]\(".
    pieces = line.split("](")
    out = pieces[0]
    for piece in pieces[1:]:
        out += ("]\\(" if _unsafe(piece) else "](") + piece
    heading = _MD_HEADING_RE.match(out)
    if heading:
        level = min(len(heading.group(2)) + _HEADING_SHIFT, 6)
        out = heading.group(1) + "#" * level + out[heading.end() :]
    return out


def neutralise_markdown(text: str) -> str:
    """Commentary for the Markdown report: as the PAM wrote it, minus anything active.

    HTML tags are escaped (``<script>`` becomes ``&lt;script&gt;``), images and links
    with a scheme other than http(s)/mailto are turned into plain text, and headings
    move down three levels to sit inside the report's sections. Fenced code is kept
    verbatim, where nothing is interpreted anyway.
    """
    lines = []
    fence: str | None = None
    for line in (text or "").splitlines():
        opened = _FENCE_RE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            lines.append(line)
            continue
        if opened:
            fence = opened.group(1)
            lines.append(line)
            continue
        lines.append(_neutralise_line(line))
    return "\n".join(lines)
