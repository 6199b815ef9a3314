"""The ``sent_messages`` table: what was sent, to whom, with which content (SPEC section 8).

A message's row is replaced whole in one transaction (delete, insert), so it works on
DuckLake, which has no keys. Sending is at least once: the row says ``pending`` before
the message goes and ``sent`` after; a crash in between leaves ``pending``, and the
next run sends it again with the same Message-ID, which mail programs de-duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from oemkpi.warehouse import sql, transaction

#: A message in one of these states needs nothing more unless its content changes.
DONE = ("sent", "outbox")


@dataclass(frozen=True)
class SentRecord:
    month: str
    kind: str
    message_key: str
    recipient: str
    message_id: str
    content_hash: str
    status: str  # pending | sent | failed | outbox
    subject: str
    detail: str | None
    file: str | None


def month_records(con: duckdb.DuckDBPyConnection, month: str) -> dict[tuple[str, str], SentRecord]:
    """The month's messages by (kind, message key); none in a warehouse opened read-only
    before any delivery created the table."""
    try:
        rows = con.execute(
            sql("delivery/select_sent_messages"), {"month": month, "unsent_only": False}
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {(r[1], r[2]): SentRecord(*r) for r in rows}


def unsent_records(con: duckdb.DuckDBPyConnection) -> list[SentRecord]:
    """Messages of every month that wait in the outbox (pending or failed)."""
    rows = con.execute(
        sql("delivery/select_sent_messages"), {"month": None, "unsent_only": True}
    ).fetchall()
    return [SentRecord(*r) for r in rows]


def record(con: duckdb.DuckDBPyConnection, entry: SentRecord) -> None:
    """Replace the message's row with ``entry``, committed before this returns."""
    key = {"month": entry.month, "kind": entry.kind, "message_key": entry.message_key}
    with transaction(con):
        con.execute(sql("delivery/delete_sent_message"), key)
        con.execute(
            sql("delivery/insert_sent_message"),
            {
                **key,
                "recipient": entry.recipient,
                "message_id": entry.message_id,
                "content_hash": entry.content_hash,
                "status": entry.status,
                "subject": entry.subject,
                "detail": entry.detail,
                "file": entry.file,
            },
        )
