"""The delivery record: what happened to each delivery, in ``deliveries`` and ``delivery_checks``.

Every outcome (loaded or rejected) is recorded inside the transaction that
settles it, so the record and the feed table never disagree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from oemkpi.ingest.folder import delivered_at
from oemkpi.ingest.outcomes import DeliveryOutcome
from oemkpi.ingest.problems import problem_count
from oemkpi.warehouse import first_row, render_sql, sql


def record_delivery(
    con: duckdb.DuckDBPyConnection, outcome: DeliveryOutcome, files: list[Path]
) -> None:
    """Write the outcome's row in ``deliveries`` and its check results in ``delivery_checks``."""
    con.execute(
        sql("feeds/insert_delivery"),
        {
            "feed": outcome.feed,
            "month": outcome.month,
            "fingerprint": outcome.fingerprint,
            "status": outcome.status,
            "files": json.dumps(outcome.files),
            "delivered_at": delivered_at(files),
            "checked_at": datetime.now(UTC).replace(tzinfo=None),
            "rows": outcome.rows,
            "problems": problem_count(outcome.problems),
            "checks_failed": sum(not c.passed for c in outcome.checks),
            "warnings": json.dumps([w.message for w in outcome.warnings]),
            "quarantine": str(outcome.quarantine) if outcome.quarantine else None,
        },
    )
    key = {"feed": outcome.feed, "month": outcome.month, "fingerprint": outcome.fingerprint}
    con.execute(sql("feeds/delete_delivery_checks"), key)
    con.execute(
        sql("feeds/insert_delivery_checks"),
        {
            **key,
            "check_names": [c.check for c in outcome.checks],
            "passed": [c.passed for c in outcome.checks],
            "unexpected_counts": [c.unexpected_count for c in outcome.checks],
            "details": [c.error or (None if c.passed else c.description) for c in outcome.checks],
        },
    )


def count_in_force(con: duckdb.DuckDBPyConnection, outcome: DeliveryOutcome) -> None:
    """Fill in the rows and partners of the outcome's feed-month now in the warehouse."""
    rows, partners = first_row(
        con,
        render_sql("feeds/select_feed_month_counts", feed=outcome.feed),
        {"month": outcome.month},
    )
    outcome.rows_in_force, outcome.partners = int(rows), int(partners)
