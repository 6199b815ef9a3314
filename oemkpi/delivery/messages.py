"""The month's messages: one per PAM (only that PAM's partners) and one early warning per region.

A PAM's message has an HTML body (each partner's executive summary, charts as PNG parts
referenced by ``cid:``, no SVG: mail programs do not show it), a plain-text part,
and each partner's ``.html``, ``.md`` and ``.json`` attached from the month's report
folder. It is built only from that PAM's partners' report models and files, so no
other partner's name or figure can reach it. A region's early warning lists the high
flags and competitive losses in the region's countries and the partner-level high
flags of partners homed there (SPEC section 8); there is none when there is nothing
to say.

Every message carries a content hash that leaves out generation timestamps (the
"Generated ..." line of the attachments, the Date header), so a re-run sends again
only what changed; its Message-ID is made from that hash, so a resend of the same
content has the same Message-ID, which mail programs de-duplicate.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from oemkpi.delivery.config import checked_address
from oemkpi.errors import OemkpiError
from oemkpi.formats import counted, num
from oemkpi.home import Home
from oemkpi.reference import Partner, region_file_name
from oemkpi.reports.charts import MAIL_CHARTS, chart_png
from oemkpi.reports.flags import plain_message
from oemkpi.reports.model import MonthlyReport, RedFlag
from oemkpi.reports.regional import RegionPack
from oemkpi.reports.render import environment
from oemkpi.reports.words import join_words, os_name, place

#: The report files attached per partner: suffix -> MIME type.
ATTACHMENTS = {".html": "text/html", ".md": "text/markdown", ".json": "application/json"}
_GENERATED = re.compile(r"Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
#: An inline chart of an attached update: its data is in the message's ``charts``.
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


@dataclass(frozen=True)
class Image:
    cid: str  # without angle brackets
    png: bytes
    alt: str  # the PNG's bytes are not hashed: its chart's data is (Outgoing.charts)


@dataclass(frozen=True)
class Outgoing:
    """One message of the month, ready to write or send (Message-ID and Date are added
    by :meth:`as_bytes`, so its content hash stays that of the content alone)."""

    month: str
    kind: str  # pam | region
    key: str  # the PAM's partner ids joined by "+", or the region
    file_name: str  # in outbox/<YYYY-MM>/
    sender: Address
    recipients: tuple[Address, ...]
    subject: str
    text: str
    html: str
    images: tuple[Image, ...] = ()
    attachments: tuple[tuple[str, str, str], ...] = ()  # (file name, MIME type, text)
    data_incomplete: bool = False
    partner_ids: tuple[str, ...] = field(default=())
    #: The definitions (data and targets) of every chart of the message's partners, which
    #: the content hash takes in place of their drawings: the PNG images and the attached
    #: updates' inline SVGs change with a plotting library's upgrade or a change of chart
    #: style, with no figure changed.
    charts: str = ""

    @property
    def recipient_list(self) -> str:
        return ", ".join(a.addr_spec for a in self.recipients)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for part in (
            self.kind,
            self.key,
            str(self.sender),
            *sorted(str(a) for a in self.recipients),
            self.subject,
            self.text,
            self.html,
        ):
            digest.update(part.encode("utf-8") + b"\0")
        for image in self.images:
            digest.update(image.cid.encode() + b"\0" + image.alt.encode("utf-8") + b"\0")
        for name, _, text in self.attachments:
            stable = _SVG.sub("<svg/>", _GENERATED.sub("Generated", text))
            digest.update(name.encode() + b"\0" + stable.encode("utf-8") + b"\0")
        digest.update(self.charts.encode("utf-8"))
        return digest.hexdigest()

    @property
    def message_id(self) -> str:
        # Short enough that the header is never folded (a folded id reads back with a space).
        key = hashlib.sha256(f"{self.kind}:{self.key}".encode()).hexdigest()[:8]
        return f"<{self.month}.{key}.{self.content_hash[:20]}@{self.sender.domain}>"

    def as_message(self) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = self.sender
        msg["To"] = self.recipients
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = self.message_id
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        html_part = msg.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        for image in self.images:
            html_part.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.cid}>")
        for name, mime, text in self.attachments:
            maintype, subtype = mime.split("/")
            if maintype == "text":
                msg.add_attachment(text, subtype=subtype, filename=name)
            else:
                data = text.encode("utf-8")
                msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return msg

    def as_bytes(self) -> bytes:
        return self.as_message().as_bytes(policy=email.policy.SMTP)


def checked_text(value: str, where: str) -> str:
    """``value`` for a header (a subject's partner name): no line breaks or control
    characters, which would start a header of their own."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise OemkpiError(
            f"{where}: the value {value[:40]!r} holds a line break or control character, which "
            "could forge mail headers; write it on one line and deliver again."
        )
    if "=?" in value:
        raise OemkpiError(
            f"{where}: the value {value[:40]!r} holds '=?', which mail programs decode as an "
            "encoded word and show as other text; write it without '=?' and deliver again."
        )
    return value


def partner_address(home: Home, partner: Partner) -> Address:
    """The partner's PAM as a mail address, its names checked for a header (partners.csv)."""
    where = f"{home.partners_csv} partner {partner.partner_id}"
    checked_text(partner.partner_name, f"{where}, column partner_name")
    checked_text(partner.pam_name, f"{where}, column pam_name")
    return checked_address(partner.pam_email, f"{where}, column pam_email", name=partner.pam_name)


def data_incomplete(reports: Sequence[MonthlyReport]) -> bool:
    """A feed of the month is rejected, late or missing, or delivered without a partner's rows
    (an optional feed not delivered leaves nothing incomplete)."""
    return any(any(f.incomplete for f in r.feeds) or bool(r.missing_feeds) for r in reports)


def _subject(month_label: str, names: Sequence[str], incomplete: bool) -> str:
    text = f"{month_label} partner update: {', '.join(names)}"
    return f"{text} (data incomplete)" if incomplete else text


def _images(report: MonthlyReport) -> list[Image]:
    out = []
    for key in MAIL_CHARTS:
        chart = report.charts.get(key)
        png = chart_png(chart) if chart is not None else None
        if png is not None and chart is not None:
            out.append(Image(f"{report.partner.partner_id}.{key}@oemkpi", png, chart.title))
    return out


def _attachments(folder: Path, partner_id: str) -> list[tuple[str, str, str]]:
    out = []
    for suffix, mime in ATTACHMENTS.items():
        path = folder / f"{partner_id}{suffix}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise OemkpiError(
                f"The report {path} could not be read for mail ({err.strerror or err}); run the "
                "month again so its reports are written, then deliver."
            ) from None
        out.append((path.name, mime, text))
    return out


#: The longest outbox file name: a file system takes 255 bytes, and writing the message
#: whole goes through a temporary name a little longer than the file's own.
MAX_FILE_NAME_BYTES = 200


def pam_file_name(partner_ids: Sequence[str]) -> str:
    """``pam-<id>+<id>.eml``: the PAM's message by the partners it holds; with many long ids
    (8 ids of 32 characters did not fit a file name, and the month's delivery stopped), the
    first id, how many more, and a digest of them all."""
    name = f"pam-{'+'.join(partner_ids)}.eml"
    if len(name.encode("utf-8")) <= MAX_FILE_NAME_BYTES:
        return name
    digest = hashlib.sha256("+".join(partner_ids).encode("utf-8")).hexdigest()[:12]
    return f"pam-{partner_ids[0]}+{len(partner_ids) - 1}-more-{digest}.eml"


def still_to_write(report: MonthlyReport) -> str | None:
    """What the update still shows as "to be written", for its PAM before it goes to the
    stakeholders: "the why, correction of error or owner of 2 red flags and the
    escalations"; None when nothing is. (The message is all a PAM may read before
    forwarding it.)"""
    parts = []
    blank = report.flags_to_write
    if blank:
        parts.append(f"the why, correction of error or owner of {counted(blank, 'red flag')}")
    commentary = report.commentary
    if report.escalations_due:
        parts.append("the escalations")
    if commentary is None or not commentary.main_written:  # as the month's index counts it
        parts.append("the commentary")
    return join_words(parts) if parts else None


def pam_messages(
    home: Home, month: str, reports: Sequence[MonthlyReport], sender: Address
) -> list[Outgoing]:
    """One message per PAM (grouped by address) with that PAM's partners only."""
    by_pam: dict[str, list[MonthlyReport]] = {}
    addresses: dict[str, Address] = {}
    for report in reports:
        address = partner_address(home, report.partner)
        key = address.addr_spec.lower()
        addresses.setdefault(key, address)
        by_pam.setdefault(key, []).append(report)
    folder = home.reports_dir(month)
    env = environment()
    out = []
    for key, own in by_pam.items():
        images = [image for r in own for image in _images(r)]
        incomplete = data_incomplete(own)
        context = {
            "reports": own,
            "images": {i.cid: i for i in images},
            "mail_charts": MAIL_CHARTS,
            "incomplete": incomplete,
            "pam_name": own[0].partner.pam_name,
            "to_write": {r.partner.partner_id: still_to_write(r) for r in own},
        }
        ids = tuple(r.partner.partner_id for r in own)
        out.append(
            Outgoing(
                month=month,
                kind="pam",
                key="+".join(ids),
                file_name=pam_file_name(ids),
                sender=sender,
                recipients=(addresses[key],),
                subject=_subject(
                    own[0].month_label, [r.partner.partner_name for r in own], incomplete
                ),
                text=env.get_template("mail/pam_message.txt.j2").render(**context),
                html=env.get_template("mail/pam_message.html.j2").render(**context),
                images=tuple(images),
                attachments=tuple(a for pid in ids for a in _attachments(folder, pid)),
                data_incomplete=incomplete,
                partner_ids=ids,
                charts=repr([sorted(r.charts.items()) for r in own]),
            )
        )
    return out


def _high_flags(pack: RegionPack) -> list[tuple[Partner, RedFlag]]:
    """The pack's high flags an early warning tells as flags: a competitive loss's flag is left
    to the line of its SKU (each competitive loss of the region has one), so a SKU is told once."""
    lost = {(p.partner_id, a.country, a.segment, a.sku) for p, a in pack.competitive_losses}
    return [
        (partner, flag)
        for partner, flag in pack.high_country_flags + pack.high_partner_flags
        if not (
            flag.rule == "competitive_loss"
            and (partner.partner_id, flag.scope, flag.segment, flag.sku) in lost
        )
    ]


def has_warnings(pack: RegionPack) -> bool:
    return bool(_high_flags(pack) or pack.competitive_losses)


def warning_lines(pack: RegionPack) -> list[str]:
    """The early warning's items as plain sentences (mail text and the Teams card)."""
    names = dict(pack.countries)
    lines = []
    for partner, flag in _high_flags(pack):
        where = names.get(flag.scope, "whole partner")
        # The stored message names countries and feeds by code; a reader gets their names.
        lines.append(f"{partner.partner_name} ({where}): {plain_message(flag.message, names)}")
    for partner, item in pack.competitive_losses:
        lines.append(
            f"{partner.partner_name}: competitive loss of {item.sku} in "
            f"{place(item.country, item.segment, names)}, Windows to {os_name(item.to_os)} "
            f"({num(item.prior_units or 0)} units last month)."
        )
    return lines


def region_subject(pack: RegionPack) -> str:
    flags, losses = len(_high_flags(pack)), len(pack.competitive_losses)
    return (
        f"{pack.month_label} early warning for {pack.region}: "
        f"{flags} high red flag{'' if flags == 1 else 's'}, "
        f"{losses} competitive loss{'' if losses == 1 else 'es'}"
    )


def region_message(pack: RegionPack, recipients: Sequence[Address], sender: Address) -> Outgoing:
    """The region's early warning by mail (call only when :func:`has_warnings`)."""
    context = {"pack": pack, "lines": warning_lines(pack)}
    env = environment()
    return Outgoing(
        month=pack.month,
        kind="region",
        key=pack.region,
        file_name=f"region-{region_file_name(pack.region)}.eml",
        sender=sender,
        recipients=tuple(recipients),
        subject=region_subject(pack),
        text=env.get_template("mail/region_warning.txt.j2").render(**context),
        html=env.get_template("mail/region_warning.html.j2").render(**context),
    )
