"""What a feed-month holds, and a re-delivery that is told apart from it and slow to read.

The crash tests kill a run while it reads a re-delivery inside its load
transaction. The re-delivery has every unit one higher than what is in force
(so the two states differ in every row) and a padding column (an extra column
is a warning, not a problem: the delivery still loads clean) that makes the
files big enough for the read to be caught in the act.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from oemkpi.home import Home
from oemkpi.ingest.contract import get_feed
from oemkpi.ingest.folder import delivery_files

PADDING_BYTES = 50_000


def feed_month_rows(con: duckdb.DuckDBPyConnection, feed: str, month: str) -> set[tuple]:
    columns = ", ".join(get_feed(feed).column_names)
    return set(con.execute(f"select {columns} from {feed} where month = ?", [month]).fetchall())


def redeliver_padded(home: Home, feed_name: str, month: str, bump: int = 1) -> set[tuple]:
    """Replace the feed-month's landing files by one padded CSV with units + ``bump``;
    the rows the warehouse holds once it is loaded."""
    feed = get_feed(feed_name)
    folder = home.landing_dir(feed.name, month)
    con = duckdb.connect()
    try:
        parts = []
        files = delivery_files(folder)
        for path in files:
            reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
            options = "" if path.suffix == ".parquet" else ", all_varchar = true"
            relation = con.sql(f"select * from {reader}('{path}'{options})")
            lower = {c.lower(): c for c in relation.columns}
            parts.append(
                "select "
                + ", ".join(f'"{lower[c]}"::varchar as {c}' for c in feed.column_names)
                + f" from {reader}('{path}'{options})"
            )
        rows = con.sql(" union all ".join(parts)).fetchall()
        for path in files:
            path.unlink()
        units = feed.column_names.index("units")
        out = folder / "redelivery.csv"
        with out.open("w", encoding="utf-8") as f:
            f.write(",".join(feed.column_names) + ",note\n")
            for row in rows:
                values = list(row)
                values[units] = str(int(values[units]) + bump)
                f.write(",".join(v or "" for v in values) + "," + "x" * PADDING_BYTES + "\n")
        typed = ", ".join(f"{c}::bigint" if c == "units" else c for c in feed.column_names)
        return set(
            con.execute(
                f"select {typed} from read_csv(?, all_varchar = true)", [str(out)]
            ).fetchall()
        )
    finally:
        con.close()


#: A date and time of day as JSON writes one (check and delivery times differ run to run).
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")


def export_texts(root: Path) -> dict[str, str]:
    """Every JSON export under ``root/reports`` as written, by relative path, with
    timestamps blanked: equal texts are the same bytes, timestamps aside."""
    return {
        str(path.relative_to(root)): _TIMESTAMP.sub("<time>", path.read_text(encoding="utf-8"))
        for path in sorted((root / "reports").rglob("*.json"))
    }
