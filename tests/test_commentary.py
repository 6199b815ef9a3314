"""The PAM's commentary file: splitting by heading, loading, and rendering without raw HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import Markup

from oemkpi.errors import OemkpiError
from oemkpi.reports.commentary import load_commentary, parse_commentary
from oemkpi.reports.model import Commentary
from oemkpi.reports.safe_markdown import neutralise_markdown, render_markdown_safe

FULL = """\
# Acme — October commentary
Written by Ann.

## Marketing
Back-to-school campaign in **DE**.

## Account plan
- QBR on 12 Nov

### Next steps
Pitch the Pro refresh.

## Best practices
Bundle Office with commercial notebooks.

## Escalations
Pricing dispute in JP.

## Why: Aero&14 <Pro>
Converted after a joint pitch.

## COE: Bolt|X 13
Mis-coded OS, corrected.

## Travel
Tokyo in week 46.

## Random thoughts
More.
"""


def test_every_heading_goes_to_its_field():
    c = parse_commentary(FULL)
    assert c.marketing == "Back-to-school campaign in **DE**."
    assert c.account_plan == "- QBR on 12 Nov\n\n### Next steps\nPitch the Pro refresh."
    assert c.best_practices == "Bundle Office with commercial notebooks."
    assert c.escalations == "Pricing dispute in JP."
    assert c.why == {"Aero&14 <Pro>": "Converted after a joint pitch."}
    assert c.coe == {"Bolt|X 13": "Mis-coded OS, corrected."}
    assert c.notes == [
        ("Notes", "# Acme — October commentary\nWritten by Ann."),
        ("Travel", "Tokyo in week 46."),
        ("Random thoughts", "More."),
    ]


@pytest.mark.parametrize(
    ("heading", "field"),
    [
        ("## Marketing", "marketing"),
        ("## marketing", "marketing"),
        ("##   MARKETING   ", "marketing"),
        ("## Marketing ##", "marketing"),
        ("## Account  Plan", "account_plan"),
        ("## account plan", "account_plan"),
        ("## Best Practices", "best_practices"),
        ("## ESCALATIONS", "escalations"),
    ],
)
def test_headings_match_case_insensitively_after_trimming(heading: str, field: str):
    c = parse_commentary(f"{heading}\nText.\n")
    assert getattr(c, field) == "Text."
    assert c.notes == []


@pytest.mark.parametrize(
    ("heading", "kind", "sku"),
    [
        ("## Why: SKU-1", "why", "SKU-1"),
        ("## why:SKU-1", "why", "SKU-1"),
        ("## WHY :   Aero&14 <Pro>  ", "why", "Aero&14 <Pro>"),
        ("## COE: Bolt|X 13", "coe", "Bolt|X 13"),
        ("## coe: sku with: colon", "coe", "sku with: colon"),
    ],
)
def test_why_and_coe_are_keyed_by_the_sku_as_written(heading: str, kind: str, sku: str):
    c = parse_commentary(f"{heading}\nBecause.\n")
    assert getattr(c, kind) == {sku: "Because."}


def test_what_is_not_a_known_heading_is_kept_in_order():
    c = parse_commentary("## Why:\nno sku\n## Marketing plan\nx\n## Zebra\nz\n## Alpha\n")
    assert c.notes == [("Why:", "no sku"), ("Marketing plan", "x"), ("Zebra", "z"), ("Alpha", "")]
    assert c.marketing is None


def test_level_one_and_three_headings_and_code_fences_are_not_split():
    text = "## Marketing\n# Big\n### Small\n```\n## Escalations\n```\nafter\n"
    c = parse_commentary(text)
    assert c.marketing == "# Big\n### Small\n```\n## Escalations\n```\nafter"
    assert c.escalations is None


def test_empty_sections_count_as_no_commentary_and_repeats_are_joined():
    c = parse_commentary("## Marketing\n\n   \n## Escalations\nOne.\n## escalations\nTwo.\n")
    assert c.marketing is None
    assert c.escalations == "One.\n\nTwo."


def test_bom_and_crlf_are_handled():
    c = parse_commentary("\ufeffIntro\r\n## Marketing\r\nLine 1\r\nLine 2\r\n")
    assert c.marketing == "Line 1\nLine 2"
    assert c.notes == [("Notes", "Intro")]


def test_empty_file_is_empty_commentary():
    assert parse_commentary("") == Commentary()


def test_load_commentary(tmp_path: Path):
    assert load_commentary(tmp_path / "missing.md") is None
    path = tmp_path / "acme.md"
    path.write_text("## Marketing\nCampaign.\n", encoding="utf-8")
    loaded = load_commentary(path)
    assert loaded is not None and loaded.marketing == "Campaign."


def test_control_characters_in_commentary_show_as_replacement_characters(tmp_path: Path):
    """An ESC sequence reached the .md attached to mail, where a terminal would act on it."""
    path = tmp_path / "acme.md"
    path.write_bytes(b"## Marketing\r\nCampaign \x1b[31mred\x1b[0m\tok\x01.\r\n")
    loaded = load_commentary(path)
    assert loaded is not None and loaded.marketing == "Campaign \ufffd[31mred\ufffd[0m\tok\ufffd."


def test_load_commentary_refuses_non_utf8(tmp_path: Path):
    path = tmp_path / "acme.md"
    path.write_bytes("## Marketing\nCampa\xf1a en Espa\xf1a\n".encode("latin-1"))
    with pytest.raises(OemkpiError) as caught:
        load_commentary(path)
    message = str(caught.value)
    assert str(path) in message and "UTF-8" in message
    assert message.endswith(".") and message.count(". ") == 0


@pytest.mark.parametrize(
    ("source", "present", "absent"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<script"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;", "<img"),
        ("<div>\n*x*\n</div>", "&lt;div&gt;", "<div"),
        ("<!-- hidden -->", "&lt;!-- hidden --&gt;", "<!--"),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))", "<a"),
        ("[x](JaVaScRiPt:alert(1))", "[x](JaVaScRiPt:alert(1))", "<a"),
        ("[x](&#106;avascript:alert(1))", "[x](javascript:alert(1))", "<a"),
        ("[x](vbscript:msgbox(1))", "[x](vbscript:msgbox(1))", "<a"),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "[x](data:text/html", "<a"),
        ("[x](data:image/png;base64,AAAA)", "[x](data:image/png", "<a"),
        ("[x](file:///etc/passwd)", "[x](file:///etc/passwd)", "<a"),
        ("<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;", "<a"),
        ("[x][r]\n\n[r]: javascript:alert(1)", "[x][r]", "<a"),
        ("![chart](https://tracker.example/pixel.png)", "[image: chart]", "<img"),
        ("![](https://tracker.example/pixel.png)", "[image: no description]", "tracker"),
        ("![a <b>](x.png)", "[image: a &lt;b&gt;]", "<b>"),
    ],
)
def test_render_markdown_safe_passes_nothing_active(source: str, present: str, absent: str):
    html = render_markdown_safe(source)
    assert isinstance(html, Markup)
    assert present in html
    assert absent not in html


def test_render_markdown_safe_keeps_formatting():
    html = render_markdown_safe(
        "# Plan\n\n**Bold** and *it*.\n\n- one\n- two\n\n1. first\n\n"
        "| a | b |\n|---|--:|\n| 1 | 2 |\n\n[site](https://example.com/x?a=1&b=2) "
        "[mail](mailto:ann@example.com) [rel](#summary)"
    )
    assert "<h4>Plan</h4>" in html  # commentary headings sit below the report's own
    assert "<strong>Bold</strong>" in html and "<em>it</em>" in html
    assert "<ul>\n<li>one</li>" in html and "<ol>" in html
    assert "<table>" in html and '<td style="text-align:right">2</td>' in html
    links = re.findall(r'<a href="([^"]+)" rel="noopener noreferrer">', html)
    assert links == ["https://example.com/x?a=1&amp;b=2", "mailto:ann@example.com", "#summary"]


def test_render_markdown_safe_of_nothing():
    assert render_markdown_safe("") == Markup("")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain **bold**", "plain **bold**"),
        ("<script>alert(1)</script>", "\\<script>alert(1)\\</script>"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)>"),
        ("\\<b>kept</b>", "\\<b>kept\\</b>"),  # already escaped: not twice
        ("\\\\<b>x", "\\\\\\<b>x"),  # an escaped backslash, then a tag
        ("x<y", "x\\<y"),
        ("a < b and c > d", "a < b and c > d"),
        ("> quoted", "> quoted"),
        ("[x](javascript:alert(1))", "[x]\\(javascript:alert(1))"),
        ("[x](&#106;avascript:alert(1))", "[x]\\(&#106;avascript:alert(1))"),
        ("[ok](https://example.com)", "[ok](https://example.com)"),
        ("[ok](#anchor)", "[ok](#anchor)"),
        ("![pixel](https://tracker.example/p.png)", "!\\[pixel](https://tracker.example/p.png)"),
        ("[r]: javascript:alert(1)", "\\[r]: javascript:alert(1)"),
        ("<https://example.com>", "<https://example.com>"),  # a web autolink stays
        ("<mailto:ann@example.com>", "<mailto:ann@example.com>"),
        ("<javascript:alert(1)>", "\\<javascript:alert(1)>"),
        ('<https://x" onmouseover="a>', '\\<https://x" onmouseover="a>'),
        ("# Title", "#### Title"),
        ("### Deep", "###### Deep"),
        ("```\n<b>code</b>\n# not a heading\n```", "```\n<b>code</b>\n# not a heading\n```"),
    ],
)
def test_neutralise_markdown(source: str, expected: str):
    assert neutralise_markdown(source) == expected


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("## Flag: competitive_loss BR", ("competitive_loss", "BR")),
        ("## flag:  Competitive loss br", ("competitive_loss", "BR")),
        ("## FLAG: target_gap partner", ("target_gap", "partner")),
        ("## Flag: windows_share_drop Partner ##", ("windows_share_drop", "partner")),
    ],
)
def test_flag_headings_are_keyed_by_rule_and_scope(heading: str, key: tuple[str, str]):
    commentary = parse_commentary(f"{heading}\nWhy: tender lost.\n")
    assert list(commentary.flags) == [key]
    assert commentary.flags[key].why == "tender lost."
    assert commentary.notes == []


def test_flag_fields_why_coe_owner_and_the_rest():
    text = (
        "## Flag: competitive_loss BR\n"
        "Context first.\n"
        "- Why: an education tender\n"
        "  asked for ChromeOS.\n"
        "- **COE:** Windows 11 SE bundle | priced for the next tender.\n"
        "Owner: Lars Henriksen\n"
        "\n"
        "A closing remark.\n"
        "## Flag: competitive_loss BR\n"
        "Owner: the regional OEM lead\n"
        "## Flag: forecast_miss partner\n"
        "\n"
        "## Flag: nothing\n"
        "Why: a heading without a scope stays a note.\n"
    )
    commentary = parse_commentary(text)
    note = commentary.flags[("competitive_loss", "BR")]
    assert note.why == "an education tender asked for ChromeOS."
    assert note.coe == "Windows 11 SE bundle | priced for the next tender."
    assert note.owner == "Lars Henriksen; the regional OEM lead"
    assert note.text == "Context first.\n\nA closing remark."
    assert ("forecast_miss", "partner") not in commentary.flags  # empty: no commentary
    assert commentary.notes == [("Flag: nothing", "Why: a heading without a scope stays a note.")]
