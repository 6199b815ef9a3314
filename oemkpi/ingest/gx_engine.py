"""A Great Expectations SQL data source for DuckDB: a workaround on GX internals.

Written against great-expectations 1.24, SQLAlchemy 2.1, duckdb-engine 0.17 and
duckdb 1.5 (:data:`WRITTEN_FOR`; tests/test_validation.py fails when the
installed versions move, so the overrides below are re-checked on an upgrade).
Importing this module imports Great Expectations, so only the step that
validates imports it, through :mod:`oemkpi.ingest.suite_runs`.

Why a data source of our own: GX reads a query's rows after closing the
connection it ran on; DuckDB drops the result with the connection, and every
metric fails with ``list index out of range`` (fivetran/great_expectations
#11579; see shared/NOTES.md). Buffering the rows while the connection is open
(:class:`BufferedDuckDBExecutionEngine`) is the whole fix, and it validates
DuckDB tables in place, with no pandas copy. Three more pieces:
:class:`DuckDBCompoundColumnsCount` and :class:`DuckDBColumnValuesInSet` replace
GX's SQL for key uniqueness and for a set of values with SQL DuckDB runs well
(the same verdicts, the same unexpected rows), and :func:`connection_datasource`
lets GX read an open transaction's rows.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal, cast

from oemkpi.ingest.deferred_modules import defer

# Before GX is imported: it imports these for one expectation type no suite of ours uses.
defer("altair", "scipy.stats")

import great_expectations as gx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
)
from great_expectations.datasource.fluent import SQLDatasource  # noqa: E402
from great_expectations.execution_engine import SqlAlchemyExecutionEngine  # noqa: E402
from great_expectations.expectations.metrics.column_map_metrics.column_values_in_set import (  # noqa: E402
    ColumnValuesInSet,
)
from great_expectations.expectations.metrics.map_metric_provider import (  # noqa: E402
    ColumnMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_function_partial import (  # noqa: E402
    multicolumn_function_partial,
)

#: The versions these overrides of GX internals were written and tested against.
WRITTEN_FOR = {
    "great-expectations": "1.24",
    "sqlalchemy": "2.1",
    "duckdb-engine": "0.17",
    "duckdb": "1.5",
}


class BufferedDuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """Fetches every result before DuckDB's connection goes back to the pool."""

    def execute_query(self, query: Any) -> Any:
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            if result.returns_rows:
                return result.freeze()()
            return result


class DuckDBCompoundColumnsCount(MulticolumnMapMetricProvider):
    """``compound_columns.count`` (behind ``expect_compound_columns_to_be_unique``) for DuckDB.

    GX's SQL joins every row back to a GROUP BY of the whole table on all key columns,
    most of a big delivery's validation time. The same map (every row with
    ``_num_rows``, the count of rows sharing its key) is built from the few keys that
    can repeat: keys whose 64-bit hash repeats (one pass over a single integer), counted
    exactly on their rows only, then looked up by every row (bench/ has the timings).
    GX finds this provider for :class:`BufferedDuckDBExecutionEngine` by its class, and
    its own ``compound_columns.unique`` condition (``_num_rows < 2``) then applies as is.
    """

    function_metric_name = "compound_columns.count"

    @multicolumn_function_partial(engine=BufferedDuckDBExecutionEngine)
    def _duckdb_function(self, column_list: Any, **kwargs: Any) -> Any:
        keys: list[str] = list(kwargs["_column_names"])
        table = kwargs["_table"]
        rows: Any = sa.select(*(sa.column(c) for c in kwargs["_table_columns"])).select_from(table)
        original = rows.alias("original_table_clause")
        hashed = rows.alias("hashed")
        counted = rows.alias("counted")

        def key_hash(source: Any) -> Any:
            return sa.func.hash(*(source.c[k] for k in keys))

        repeating_hashes = (
            sa.select(key_hash(hashed))
            .group_by(key_hash(hashed))
            .having(sa.func.count() > 1)
            .scalar_subquery()
        )
        repeated_keys = (
            sa.select(*(counted.c[k] for k in keys), sa.func.count().label("_num_rows"))
            .where(key_hash(counted).in_(repeating_hashes))
            .group_by(*(counted.c[k] for k in keys))
            .having(sa.func.count() > 1)
            .alias("repeated_keys")
        )
        return (
            sa.select(
                original,
                sa.func.coalesce(repeated_keys.c._num_rows, 1).label("_num_rows"),
            )
            .select_from(
                original.join(
                    repeated_keys,
                    sa.and_(*(original.c[k] == repeated_keys.c[k] for k in keys)),
                    isouter=True,
                )
            )
            .alias("records_with_grouped_column_counts_subquery")
        )


class DuckDBColumnValuesInSet(ColumnMapMetricProvider):
    """``column_values.in_set`` (behind ``expect_column_values_to_be_in_set``) for DuckDB.

    GX writes ``column IN (v1, ..., vn)``, which DuckDB tests value by value on every
    row: at 10M rows a month (the bench's 6 partners and 34 countries) the partner and
    country sets were two thirds of the suite's single-column query (1.2 of 2.0 s), and
    a longer set costs more. ``list_contains`` over the same values, bound as
    parameters, takes 0.1 s and holds for exactly the same rows
    (text equals text). A set GX treats specially (none, empty, holding a NULL) or one
    that is not all text gets GX's own condition.
    """

    condition_metric_name = "column_values.in_set"
    condition_value_keys = ("value_set",)

    @column_condition_partial(engine=BufferedDuckDBExecutionEngine)
    def _duckdb(cls, column: Any, value_set: Any, **kwargs: Any) -> Any:
        if not value_set or not all(isinstance(v, str) for v in value_set):
            return ColumnValuesInSet._sqlalchemy_impl(column, value_set, **kwargs)
        return sa.func.list_contains(sa.func.list_value(*value_set), column)


class DuckDBFileDatasource(SQLDatasource):
    """``SQLDatasource`` over ``duckdb:///<file>`` with the buffering engine."""

    type: Literal["oemkpi_duckdb"] = "oemkpi_duckdb"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> builtins.type[SqlAlchemyExecutionEngine]:
        return BufferedDuckDBExecutionEngine


def ephemeral_context() -> Any:
    """A GX context that keeps nothing on disk, sends no usage statistics, draws no bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    return context


class _InTransaction:
    """A DuckDB connection as GX's SQLAlchemy engine sees it while the caller's
    transaction is open: queries go through, so GX reads the rows the transaction
    has written; beginning, committing, rolling back and closing are the caller's."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def connection_datasource(context: Any, name: str, con: Any) -> Any:
    """A data source over the open DuckDB connection ``con`` (see :class:`_InTransaction`)."""
    from duckdb_engine import ConnectionWrapper
    from sqlalchemy.pool import StaticPool

    return context.data_sources.add_oemkpi_duckdb(
        name=name,
        connection_string="duckdb:///:memory:",  # names the dialect; ``creator`` connects
        kwargs={
            "creator": lambda: ConnectionWrapper(cast(Any, _InTransaction(con))),
            "poolclass": StaticPool,
        },
    )
