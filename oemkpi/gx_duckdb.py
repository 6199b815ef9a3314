"""A Great Expectations SQL data source for DuckDB files.

Importing this module imports Great Expectations (7-10 s), so only the step
that validates imports it, through :func:`oemkpi.suites.run_suite`.

Why a data source of our own: GX reads a query's rows after closing the
connection it ran on; DuckDB drops the result with the connection, and every
metric fails with ``list index out of range`` (fivetran/great_expectations
#11579; see shared/NOTES.md). Buffering the rows while the connection is
open is the whole fix. Measured on 10M rows: ~5 s and no pandas copy, where
the pandas path needs ~25 s and ~3.9 GB.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal

import great_expectations as gx
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
)
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class BufferedDuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """Fetches every result before DuckDB's connection goes back to the pool."""

    def execute_query(self, query: Any) -> Any:
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            if result.returns_rows:
                return result.freeze()()
            return result


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
