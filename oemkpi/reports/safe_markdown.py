"""Text from feeds and commentary made safe for the reports' HTML and Markdown.

Values (a SKU, a partner name) are always literal text: :func:`md_escape` for
Markdown, Jinja2's autoescaping for HTML. Commentary is Markdown on purpose and
keeps its lists, tables, emphasis and web links, minus anything active:
:func:`render_markdown_safe` renders it to HTML, :func:`neutralise_markdown`
keeps it Markdown for the Markdown report. Raw HTML, images and links with a
scheme other than http(s) or mailto never pass.
"""

from __future__ import annotations

import html
import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

from oemkpi.formats import NA
from oemkpi.reports.commentary import FENCE_RE

#: Schemes a commentary link may use; anything else (javascript:, data:, file:...) stays text.
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:")
#: Commentary is shown inside a report section, so its own headings start at level 4.
_HEADING_SHIFT = 3

_MD_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "[": "\\[",
        "]": "\\]",
        "`": "\\`",
        "*": "\\*",
    }
)
#: What a renderer would read as a tag, an autolink, a comment or an entity: backslashed
#: (CommonMark prints the character itself), so "Zenith Seven & Co" stays as written.
#: An underscore that could open or close emphasis (not one inside a word, as in a SKU
#: like AUR_NB13, which CommonMark never reads as emphasis): backslashed as well.
_ACTIVE_RE = re.compile(r"<(?=[A-Za-z/!?])|&(?=#?[A-Za-z0-9]+;)|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


class MarkdownText(str):
    """Text that is Markdown on purpose and is printed as it is by the Markdown templates."""

    __slots__ = ()


def md_escape(value: Any) -> str:
    """A value as literal text in Markdown, safe inside a table cell, with no HTML entity.

    Newlines become spaces (a row is one line); ``|``, brackets, backticks, asterisks and
    backslashes are backslash-escaped, and so are a ``<`` that would open a tag or an
    autolink, an ``&`` that would start an entity and an ``_`` at a word's edge, so no value
    can open a tag, a link or emphasis. Anything else (``Zenith Seven & Co``, ``a < b``,
    ``AUR_NB13``) is printed as it is.
    """
    if isinstance(value, MarkdownText):
        return value
    if value is None:
        return NA
    text = " ".join(str(value).split()).translate(_MD_ESCAPES)
    return _ACTIVE_RE.sub(lambda m: "\\" + m.group(0), text)


def md_commentary(text: str | None) -> MarkdownText:
    """Commentary for the Markdown report, with raw HTML, images and unsafe links neutralised."""
    return MarkdownText(neutralise_markdown(text or "").strip())


def md_cell_commentary(text: str | None) -> MarkdownText:
    """A short piece of commentary (a flag's why, COE, owner) inside a Markdown table cell:
    neutralised like any commentary, on one line, its pipes escaped."""
    line = " ".join(neutralise_markdown(text or "").split())
    return MarkdownText(re.sub(r"(?<!\\)\|", "\\|", line))


def md_block(text: str) -> MarkdownText:
    """Mark the output of a Markdown template macro, already escaped inside, as Markdown."""
    return MarkdownText(text)


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


def render_markdown_inline(text: str | None) -> Markup:
    """A line of commentary (a flag's why, COE or owner) as inline HTML, as safe as
    :func:`render_markdown_safe`: emphasis, code and web links, nothing active."""
    return Markup(_markdown_it().renderInline(text or ""))


def render_markdown_safe(text: str) -> Markup:
    """Commentary Markdown as HTML that cannot run or fetch anything.

    Raw HTML shows as escaped text, links other than http(s)/mailto/relative stay
    text, images show their alt text, and headings start at ``<h4>`` because
    commentary sits inside a report section. Tables, lists and emphasis work.
    """
    # A fresh parser per call: MarkdownIt instances are cheap and not shared state.
    return Markup(_markdown_it().render(text or ""))


_TAG_RE = re.compile(r"<(?=[A-Za-z/!?])[^<>]*>?")
_AUTOLINK_RE = re.compile(r"<(?:https?|mailto):[^\s<>]*>", re.IGNORECASE)
_REFERENCE_RE = re.compile(r"^( {0,3})\[([^\]]+)\]:[ \t]*<?([^ \t>]*)")
_IMAGE_RE = re.compile(r"!\[")
_MD_HEADING_RE = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")


def _unsafe(target: str) -> bool:
    """Whether a Markdown link target starts with a scheme other than http(s)/mailto."""
    # Renderers decode entities and drop blanks before they look at the scheme: so do we.
    target = "".join(html.unescape(target).lstrip("<").split()).lower()
    return _SCHEME_RE.match(target) is not None and not target.startswith(_SAFE_SCHEMES)


def _escaped_tag(line: str, match: re.Match[str]) -> str:
    """A tag, comment or autolink as text: its ``<`` backslashed (no HTML entity, which
    the Markdown report does not print), unless a backslash already escapes it. A web or
    mail autolink (``<https://example.com>``) stays a link."""
    tag = match.group(0)
    backslashes = len(line[: match.start()]) - len(line[: match.start()].rstrip("\\"))
    if backslashes % 2 or _AUTOLINK_RE.fullmatch(tag):
        return tag
    return "\\" + tag


def _neutralise_line(line: str) -> str:
    reference = _REFERENCE_RE.match(line)
    if reference and _unsafe(reference.group(3)):
        line = reference.group(1) + "\\" + line[len(reference.group(1)) :]
    line = _TAG_RE.sub(lambda m: _escaped_tag(line, m), line)
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

    HTML tags are escaped (``<script>`` becomes ``\\<script>``), images and links
    with a scheme other than http(s)/mailto are turned into plain text, and headings
    move down three levels to sit inside the report's sections. Fenced code is kept
    verbatim, where nothing is interpreted anyway.

    Links are first made safe a line at a time; a link can also span lines (its target
    on the next line, a reference definition over two), so the result is then read as
    a CommonMark reader would read it, and in every block that still holds a link or
    definition with another scheme, brackets become plain text.
    """
    out = _neutralise_lines(text)
    for _ in range(3):
        unsafe = _unsafe_link_blocks(out)
        if not unsafe:
            return out
        lines = out.split("\n")
        for start, end in unsafe:
            for number in range(start, min(end, len(lines))):
                lines[number] = lines[number].translate(_LINK_BRACKETS)
        out = "\n".join(lines)
    # Unreachable in practice: each round turns every bracket of the blocks found into text.
    return "\n".join(line.translate(_LINK_BRACKETS) for line in out.split("\n"))


#: What turns a block's link syntax into plain text: escaped brackets and backslashes.
_LINK_BRACKETS = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]", "<": "\\<"})


def _unsafe_link_blocks(text: str) -> list[tuple[int, int]]:
    """Line ranges of the blocks in which a CommonMark reader that follows any link would
    find one with an unsafe target (links, images, autolinks, reference definitions)."""
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign,assignment]
    env: dict[str, Any] = {}
    found: list[tuple[int, int]] = []
    for token in md.parse(text, env):
        if token.type != "inline" or token.map is None:
            continue
        for child in token.children or []:
            target = child.attrGet("href") or child.attrGet("src")
            if isinstance(target, str) and _unsafe(target):
                found.append((token.map[0], token.map[1]))
                break
    for reference in env.get("references", {}).values():
        if _unsafe(str(reference.get("href", ""))) and reference.get("map"):
            found.append((reference["map"][0], reference["map"][1]))
    return found


def _neutralise_lines(text: str) -> str:
    lines = []
    fence: str | None = None
    for line in (text or "").splitlines():
        opened = FENCE_RE.match(line)
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
