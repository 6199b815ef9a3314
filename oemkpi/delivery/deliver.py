"""Deliver one month: build its messages, write them to the outbox, send them, record them.

What the ``deliveries`` asset and ``oemkpi deliver`` run. Each message is recorded in
``sent_messages`` ``pending`` (with its ``.eml`` in the outbox) before it is sent and
``sent`` after; a message whose content hash matches a done record is left alone
unless ``resend``. A server that is down or refuses a message ends nothing: the
message stays in the outbox as ``failed`` with its one-sentence reason, and the next
run (of any month) sends it. Without a mail server the outbox is where messages go
(status ``outbox``). The reports are only read.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from oemkpi.delivery.config import DeliveryConfig, load_delivery_config
from oemkpi.delivery.messages import (
    Outgoing,
    has_warnings,
    pam_messages,
    region_message,
    region_subject,
    warning_lines,
)
from oemkpi.delivery.outbox import outbox_path, read_eml, remove_eml, write_eml
from oemkpi.delivery.record import SentRecord, month_records, record, unsent_records
from oemkpi.delivery.smtp import NotSent, send_raw
from oemkpi.delivery.teams import card_payload, post_card
from oemkpi.home import Home
from oemkpi.months import DEFAULT_FY_START_MONTH
from oemkpi.reference import Reference, load_reference
from oemkpi.reports.build import build_report
from oemkpi.reports.commentary import commentary_or_warning
from oemkpi.reports.data import load_month
from oemkpi.reports.model import Commentary, MonthlyReport
from oemkpi.reports.regional import RegionPack, build_region_packs
from oemkpi.reports.writing import WrittenMonth
from oemkpi.warehouse import home_warehouse


@dataclass
class MonthDelivery:
    """What delivering a month did, message by message."""

    month: str
    dry_run: bool = False
    #: (kind, key, recipients, what happened: sent | outbox | unchanged | failed | would send)
    messages: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: one sentence per message that was not sent, this month's and earlier months' alike
    failures: list[str] = field(default_factory=list)
    #: things worth saying that are not failures (a webhook variable that is not set)
    notes: list[str] = field(default_factory=list)
    #: the month's messages by recorded status after the run (sent, outbox, pending, failed)
    status_counts: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(m[3] == outcome for m in self.messages)

    def recipients_markdown(self) -> str:
        if not self.messages:
            return "No messages this month."
        lines = ["| kind | message | recipients | outcome |", "|---|---|---|---|"]
        for kind, key, recipients, outcome in self.messages:
            cells = [c.replace("|", "\\|") for c in (kind, key, recipients, outcome)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _month_models(
    con: duckdb.DuckDBPyConnection, home: Home, month: str, reference: Reference, fy: int
) -> tuple[list[MonthlyReport], list[RegionPack]]:
    data = load_month(
        con,
        month,
        reference,
        fy_start_month=fy,
        red_flags_yaml=home.red_flags_yaml,
    )
    commentaries: dict[str, Commentary | None] = {}
    reports = []
    for partner in reference.partners:
        # Refused files were said when the reports were written, which left them out too.
        commentary = commentary_or_warning(home.commentary_file(month, partner.partner_id), [])
        commentaries[partner.partner_id] = commentary
        reports.append(build_report(data, partner, commentary))
    return reports, build_region_packs(con, data, reference, commentaries)


def _done(rec: SentRecord | None, config: DeliveryConfig, content_hash: str) -> bool:
    if rec is None or rec.content_hash != content_hash:
        return False
    return rec.status == "sent" or (rec.status == "outbox" and config.smtp is None)


def _entry(msg: Outgoing, status: str, detail: str | None, file: str | None) -> SentRecord:
    return SentRecord(
        msg.month,
        msg.kind,
        msg.key,
        msg.recipient_list,
        msg.message_id,
        msg.content_hash,
        status,
        msg.subject,
        detail,
        file,
    )


def _deliver_message(
    con: duckdb.DuckDBPyConnection, home: Home, config: DeliveryConfig, msg: Outgoing
) -> tuple[str, str | None]:
    """Outbox, record pending, send, record the outcome: (outcome, failure sentence)."""
    path = outbox_path(home, msg.month, msg.file_name)
    raw = msg.as_bytes()
    write_eml(path, raw)
    if config.smtp is None:
        record(con, _entry(msg, "outbox", None, str(path)))
        return "outbox", None
    record(con, _entry(msg, "pending", None, str(path)))
    try:
        send_raw(config.smtp, raw, [a.addr_spec for a in msg.recipients])
    except NotSent as err:
        sentence = f"{msg.kind} message {msg.key!r} of {msg.month} was not sent: {err}"
        record(con, _entry(msg, "failed", str(err), str(path)))
        return "failed", sentence
    record(con, _entry(msg, "sent", None, None))
    remove_eml(path)
    return "sent", None


def _teams(
    con: duckdb.DuckDBPyConnection,
    config: DeliveryConfig,
    pack: RegionPack,
    records: dict[tuple[str, str], SentRecord],
    resend: bool,
    dry_run: bool,
    result: MonthDelivery,
) -> None:
    route = config.regions.get(pack.region)
    if route is None or route.teams_webhook_env is None:
        return
    variable = route.teams_webhook_env
    url = route.webhook_url()
    if url is None:
        result.notes.append(
            f"The Teams post for {pack.region} was skipped: the environment variable "
            f"{variable} that delivery.yaml names is not set."
        )
        return
    payload = card_payload(region_subject(pack), warning_lines(pack))
    content_hash = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    rec = records.get(("teams", pack.region))
    label = ("teams", pack.region, f"${variable}")
    if not resend and rec is not None and rec.content_hash == content_hash and rec.status == "sent":
        result.messages.append((*label, "unchanged"))
        return
    if dry_run:
        result.messages.append((*label, "would send"))
        return
    entry = SentRecord(
        pack.month,
        "teams",
        pack.region,
        f"${variable}",
        f"<oemkpi.{pack.month}.teams.{content_hash[:24]}@teams>",
        content_hash,
        "pending",
        region_subject(pack),
        None,
        None,
    )
    record(con, entry)
    try:
        post_card(url, payload, variable)
    except NotSent as err:
        record(con, _replace(entry, status="failed", detail=str(err)))
        result.messages.append((*label, "failed"))
        result.failures.append(f"The Teams post for {pack.region} of {pack.month}: {err}")
        return
    record(con, _replace(entry, status="sent"))
    result.messages.append((*label, "sent"))


def _replace(entry: SentRecord, **changes: str | None) -> SentRecord:
    return replace(entry, **changes)  # type: ignore[arg-type]


def _retry_earlier(
    con: duckdb.DuckDBPyConnection, config: DeliveryConfig, month: str, result: MonthDelivery
) -> None:
    """Send what earlier runs of other months left in the outbox, from its ``.eml``."""
    if config.smtp is None:
        return
    for rec in unsent_records(con):
        if rec.month == month or rec.kind == "teams" or not rec.file:
            continue
        raw = read_eml(Path(rec.file))
        if raw is None:
            continue
        try:
            send_raw(config.smtp, raw, [r.strip() for r in rec.recipient.split(",") if r.strip()])
        except NotSent as err:
            record(con, _replace(rec, status="failed", detail=str(err)))
            result.failures.append(
                f"{rec.kind} message {rec.message_key!r} of {rec.month} was not sent: {err}"
            )
            continue
        record(con, _replace(rec, status="sent", detail=None, file=None))
        remove_eml(Path(rec.file))
        result.messages.append(
            (rec.kind, f"{rec.message_key} ({rec.month})", rec.recipient, "sent")
        )


def deliver_month(
    home: Home,
    month: str,
    *,
    resend: bool = False,
    dry_run: bool = False,
    fy_start_month: int = DEFAULT_FY_START_MONTH,
    models: WrittenMonth | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> MonthDelivery:
    """Send ``month``'s messages (SPEC section 8): each PAM's, each region's early warning
    by mail and Teams; only what changed unless ``resend``; nothing at all with
    ``dry_run`` (it says what would be sent). ``models``: the month's updates and regional
    packs as the report step of the same run built them; else they are built here.
    ``con``: the step's warehouse (its DuckLake conflicts retry the step, as every step's
    do); else the home's warehouse is opened here."""
    reference = load_reference(home.reference)
    config = load_delivery_config(home.delivery_yaml, set(reference.regions))
    if config.smtp is not None:
        config.smtp.credentials()  # a variable named but not set: one sentence, before anything
    result = MonthDelivery(month, dry_run=dry_run)
    opened = nullcontext(con) if con is not None else home_warehouse(home, read_only=dry_run)
    with opened as con:
        if models is None:
            reports, packs = _month_models(con, home, month, reference, fy_start_month)
        else:
            reports, packs = models.reports, models.packs
        outgoing = pam_messages(home, month, reports, config.sender)
        for pack in packs:
            route = config.regions.get(pack.region)
            if route is not None and route.emails and has_warnings(pack):
                outgoing.append(region_message(pack, route.emails, config.sender))
        records = month_records(con, month)
        for msg in outgoing:
            label = (msg.kind, msg.key, msg.recipient_list)
            if not resend and _done(records.get((msg.kind, msg.key)), config, msg.content_hash):
                result.messages.append((*label, "unchanged"))
                continue
            if dry_run:
                result.messages.append((*label, "would send"))
                continue
            outcome, failure = _deliver_message(con, home, config, msg)
            result.messages.append((*label, outcome))
            if failure:
                result.failures.append(failure)
        for pack in packs:
            if has_warnings(pack):
                _teams(con, config, pack, records, resend, dry_run, result)
        if not dry_run:
            _drop_superseded(con, records, {(m.kind, m.key) for m in outgoing})
            _retry_earlier(con, config, month, result)
        counts = Counter(r.status for r in month_records(con, month).values())
    result.status_counts = dict(counts)
    return result


def _drop_superseded(
    con: duckdb.DuckDBPyConnection,
    records: dict[tuple[str, str], SentRecord],
    current: set[tuple[str, str]],
) -> None:
    """A waiting message the month no longer has (a partner moved to another PAM) is not
    sent later: its ``.eml`` goes and its record says so."""
    for key, rec in records.items():
        if key in current or rec.kind == "teams" or rec.status not in ("pending", "failed"):
            continue
        if rec.file:
            remove_eml(Path(rec.file))
        record(con, _replace(rec, status="superseded", file=None))
