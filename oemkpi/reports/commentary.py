"""A PAM's commentary file: split by ``## `` heading, rendered without raw HTML.

``commentary/<YYYY-MM>/<partner_id>.md`` is hand-written Markdown. The known
headings (``Marketing``, ``Account plan``, ``Best practices``, ``Escalations``,
``Why: <sku>``, ``COE: <sku>``, and ``Flag: <rule> <scope>`` for a red flag, whose
``Why:``, ``COE:`` and ``Owner:`` lines say why it happened, the correction of error
and who owns it) fill the fields of :class:`Commentary`; anything else is kept as a
note, so nothing a PAM wrote is dropped. The text stays raw
Markdown until rendering (:mod:`oemkpi.reports.safe_markdown`).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from oemkpi.errors import OemkpiError
from oemkpi.ingest.folder import printable
from oemkpi.ingest.limits import Limits, env_name, size_text
from oemkpi.reports.model import Commentary, FlagNote

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
_FLAG_HEADING_RE = re.compile(r"^flag[ \t]*:[ \t]*(.+?)[ \t]+(\S+)$", re.IGNORECASE)
#: A line of a flag's text that fills a field: "Why: ...", "- COE: ...", "**Owner:** ...".
_FLAG_FIELD_RE = re.compile(
    r"^[ \t]*(?:[-*+][ \t]+)?(?:\*\*|__)?(why|coe|owner)[ \t]*:(?:\*\*|__)?[ \t]*(.*)$",
    re.IGNORECASE,
)
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


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
        opened = FENCE_RE.match(line)
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


def flag_key(rule: str, scope: str) -> tuple[str, str]:
    """How a flag is looked up: ``("competitive_loss", "BR")``, ``("target_gap", "partner")``.

    The rule may be written with spaces ("competitive loss"); a scope other than
    ``partner`` is a country code, matched in capitals.
    """
    rule_id = "_".join(rule.lower().split())
    scope = scope.strip()
    return rule_id, "partner" if scope.lower() == "partner" else scope.upper()


def parse_flag_note(body: str) -> FlagNote:
    """A ``## Flag:`` section's ``Why:``/``COE:``/``Owner:`` lines; other lines are its text.

    A field runs on over the lines that follow it, up to a blank line or the next field.
    """
    fields: dict[str, list[str]] = {"why": [], "coe": [], "owner": [], "text": []}
    current = "text"
    for line in body.splitlines():
        match = _FLAG_FIELD_RE.match(line)
        if match:
            current = match.group(1).lower()
            fields[current].append(match.group(2).strip())
        elif not line.strip():
            current = "text"
            fields["text"].append("")
        else:
            fields[current].append(line.strip() if current != "text" else line)

    def joined(key: str) -> str | None:
        text = ("\n" if key == "text" else " ").join(fields[key]).strip()
        return text or None

    return FlagNote(joined("why"), joined("coe"), joined("owner"), joined("text"))


def parse_commentary(text: str) -> Commentary:
    """Split a commentary file's Markdown into the fields of :class:`Commentary`.

    Headings match case-insensitively after trimming; a ``Why:``/``COE:`` heading is
    keyed by the SKU exactly as written after the colon (trimmed). Text before the
    first heading becomes a note titled "Notes"; unknown headings become notes in
    file order. Empty sections count as no commentary. ``Flag: <rule> <scope>`` is keyed
    by :func:`flag_key`.
    """
    fields: dict[str, str | None] = dict.fromkeys(SECTION_FIELDS.values())
    why: dict[str, str] = {}
    coe: dict[str, str] = {}
    notes: list[tuple[str, str]] = []
    flags: dict[tuple[str, str], FlagNote] = {}
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
        flag_heading = _FLAG_HEADING_RE.match(heading)
        if flag_heading:
            flag = flag_key(flag_heading.group(1), flag_heading.group(2))
            if body.strip():
                earlier = flags.get(flag)
                note = parse_flag_note(body)
                flags[flag] = _merged(earlier, note) if earlier else note
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
        flags=flags,
    )


def _merged(first: FlagNote, second: FlagNote) -> FlagNote:
    """A repeated flag heading adds to what the first one said."""

    def both(a: str | None, b: str | None, sep: str) -> str | None:
        return f"{a}{sep}{b}" if a and b else (a or b)

    return FlagNote(
        both(first.why, second.why, " "),
        both(first.coe, second.coe, " "),
        both(first.owner, second.owner, "; "),
        both(first.text, second.text, "\n\n"),
    )


def load_commentary(path: Path, limits: Limits | None = None) -> Commentary | None:
    """The commentary in ``path``, or None when the PAM has not written one.

    Only a regular file of at most ``commentary_bytes`` is read: a link is not followed,
    nor a month folder that is one (the report would show whatever it points at), and a
    file over the limit is refused in one sentence rather than read into memory
    (:func:`commentary_or_warning` turns the refusal into a warning).
    """
    limits = limits or Limits.from_env()
    shown = printable(str(path))
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR):
            raise OemkpiError(
                f"The commentary folder {printable(str(path.parent))} is a symbolic link or not "
                "a folder, which is not followed; put the month's commentary files in a folder "
                "of their own there and render again."
            ) from None
        raise OemkpiError(f"The commentary file {shown} cannot be read ({err.strerror}).") from None
    try:
        descriptor = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise OemkpiError(
                f"The commentary file {shown} is a symbolic link, which is not followed; "
                "put the commentary in the file itself and render again."
            ) from None
        raise OemkpiError(f"The commentary file {shown} cannot be read ({err.strerror}).") from None
    finally:
        os.close(folder)
    try:
        st = os.fstat(descriptor)
        if not stat.S_ISREG(st.st_mode):
            raise OemkpiError(
                f"The commentary file {shown} is not a regular file; replace it with a "
                "Markdown file and render again."
            )
        if st.st_size > limits.commentary_bytes:
            raise OemkpiError(
                f"The commentary file {shown} holds {size_text(st.st_size)}, more than the "
                f"limit of {size_text(limits.commentary_bytes)} ({env_name('commentary_bytes')}); "
                "shorten it and render again."
            )
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            raw = handle.read(limits.commentary_bytes + 1)
    except OSError as err:
        raise OemkpiError(f"The commentary file {shown} cannot be read ({err.strerror}).") from None
    finally:
        os.close(descriptor)
    if len(raw) > limits.commentary_bytes:  # it grew since it was measured
        raise OemkpiError(
            f"The commentary file {shown} holds more than the limit of "
            f"{size_text(limits.commentary_bytes)} ({env_name('commentary_bytes')}); "
            "shorten it and render again."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OemkpiError(
            f"The commentary file {shown} is not UTF-8 text; save it as UTF-8 and render again."
        ) from None
    # Control characters (an ESC sequence a terminal would act on) show as U+FFFD.
    return parse_commentary(_CONTROL.sub("\ufffd", text))


#: Control characters other than tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def commentary_or_warning(path: Path, warnings: list[str]) -> Commentary | None:
    """:func:`load_commentary`, a refused file (over its limit, a link, not a file) becoming
    a warning instead of stopping every partner's update: that partner's update is written
    without it, its commentary "to be written" until the PAM mends the file."""
    try:
        return load_commentary(path)
    except OemkpiError as err:
        warning = f"{str(err).rstrip('.')} (meanwhile the update is written without it)."
        if warning not in warnings:  # a linked month folder refuses every partner's file
            warnings.append(warning)
        return None


def unknown_commentary(folder: Path, partner_ids: set[str]) -> list[str]:
    """A warning sentence for each commentary file in ``folder`` (``commentary/<YYYY-MM>/``)
    that names no partner of the reference data, so nobody wonders where it went."""
    if not folder.is_dir():
        return []
    warnings = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name.startswith(".") or (name.endswith(".md") and name[:-3] in partner_ids):
            continue
        if not name.endswith(".md"):
            # ember.MD, notes.txt: read by no report, and said so.
            warnings.append(
                f"The commentary file {printable(str(entry))} does not end in .md, so no "
                "report shows it; name it <partner_id>.md."
            )
            continue
        warnings.append(
            f"The commentary file {printable(str(entry))} is for no partner in "
            f"reference/partners.csv ({printable(name[:-3])!r}), so no report shows it; "
            "name it <partner_id>.md or add the partner."
        )
    return warnings
