"""``oemkpi migrate-warehouse``: move a home's ``warehouse.duckdb`` into DuckLake.

For a home that ran on the embedded default and moves to the scale-out
profile: every table of the DuckDB file is copied into the (empty) DuckLake
warehouse in one transaction, under the lake's write lock, and the row counts
are compared before it commits. It refuses a lake that already holds rows (it
never merges two histories) and leaves the DuckDB file as it was: keep it as a
backup until the lake has served a month, then delete it.
"""

from __future__ import annotations

from dataclasses import dataclass

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.settings import LAKE_CATALOG, LAKE_DATA, Settings
from oemkpi.warehouse import SCHEMA, Generated, first_row, render_sql, sql, transaction

SOURCE = "source"


@dataclass(frozen=True)
class Moved:
    table: str
    rows: int


def _table(schema_file: str) -> str:
    return schema_file.removeprefix("create_")


def migrate_warehouse(home: Home, settings: Settings) -> list[Moved]:
    """Copy every table of ``home``'s DuckDB file into the lake; the rows moved per table."""
    if settings.lake is None:
        raise OemkpiError(
            f"migrate-warehouse moves warehouse.duckdb into DuckLake: set {LAKE_CATALOG} and "
            f"{LAKE_DATA} first."
        )
    if not home.warehouse.exists():
        raise OemkpiError(f"There is no warehouse at {home.warehouse} to move.")
    from oemkpi.lake import lake_warehouse

    literal = Generated("'" + str(home.warehouse).replace("'", "''") + "'")
    with lake_warehouse(settings.lake) as con:
        try:
            con.execute(render_sql("feeds/attach_staged", path=literal, alias=SOURCE))
        except Exception as err:
            raise OemkpiError(
                f"The warehouse {home.warehouse} could not be opened ({str(err).splitlines()[0]}); "
                "stop the runs that use it and try again."
            ) from None
        try:
            present = {
                r[0]
                for r in con.execute(
                    sql("schema/select_source_tables"), {"catalog": SOURCE}
                ).fetchall()
            }
            tables = [_table(name) for name in SCHEMA if _table(name) in present]
            for table in (_table(name) for name in SCHEMA):
                (rows,) = first_row(
                    con, render_sql("schema/select_table_rows", catalog="lake", table=table)
                )
                if rows:
                    raise OemkpiError(
                        f"The DuckLake warehouse already holds data ({rows} rows in {table}); "
                        "migrate-warehouse moves a warehouse into an empty one only."
                    )
            moved = []
            with transaction(con):
                for table in tables:
                    con.execute(render_sql("schema/insert_moved_table", table=table, source=SOURCE))
                    (want,) = first_row(
                        con, render_sql("schema/select_table_rows", catalog=SOURCE, table=table)
                    )
                    (got,) = first_row(
                        con, render_sql("schema/select_table_rows", catalog="lake", table=table)
                    )
                    if got != want:
                        raise OemkpiError(
                            f"Moving {table} gave {got} rows instead of {want}; nothing was moved."
                        )
                    moved.append(Moved(table, int(got)))
            return moved
        finally:
            con.execute(render_sql("feeds/detach_staged", alias=SOURCE))
