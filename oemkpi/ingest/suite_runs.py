"""Running a feed's suite with Great Expectations, over DuckDB.

Running a suite imports GX (once per process, :mod:`oemkpi.ingest.gx_engine`)
and validates the delivery through DuckDB: a staged delivery
(:func:`run_suite`, each failing row GX reports turned into a
:class:`~oemkpi.ingest.problems.Problem` with file, row, column and value) or
the rows an open transaction has just written (:func:`suite_failures`, pass or
fail only).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.errors import OemkpiError
from oemkpi.ingest.contract import FEEDS
from oemkpi.ingest.problems import MAX_LISTED_PER_RULE, Problem, problem, summary_problem
from oemkpi.ingest.suites import CheckOutcome, Expectation, Suite
from oemkpi.warehouse import DUCKDB_CONFIG, render_sql, sql

#: The module that imports Great Expectations (only the steps that validate import it).
ENGINE_MODULE = "oemkpi.ingest.gx_engine"


def engine_imported() -> bool:
    """Whether this process has imported Great Expectations (through :data:`ENGINE_MODULE`)."""
    return ENGINE_MODULE in sys.modules


def import_suite_engine_in_background() -> None:
    """Start importing Great Expectations (seconds of pure Python) on a thread of its own.

    Called just before a feed's deliveries are read: DuckDB lets go of the GIL while
    it reads, so the import overlaps a large read, and whoever validates next waits
    for the import under way (the import lock) instead of starting another. Started
    beside other Python work it only slows both down, so it is not started at the
    beginning of a run, beside Dagster's set-up (bench/ measured it).
    """
    if not engine_imported():
        threading.Thread(target=importlib.import_module, args=(ENGINE_MODULE,), daemon=True).start()


def run_suite(
    suite: Suite,
    staging_db: Path,
    *,
    months: list[str],
    partner_ids: list[str],
    countries: list[str],
    present_columns: list[str],
    folder: str,
) -> list[CheckOutcome]:
    """Validate table ``delivery`` of ``staging_db`` with ``suite``; one outcome per expectation.

    ``months`` binds the suite's ``month`` parameter: one month for a delivery, the
    months of a batch when several deliveries are validated as one table.
    """
    from oemkpi.ingest import gx_engine  # Great Expectations is imported here and only here.

    context = gx_engine.ephemeral_context()
    datasource = context.data_sources.add_oemkpi_duckdb(
        name="staging",
        connection_string=f"duckdb:///{staging_db}",
        kwargs={"connect_args": {"read_only": True, "config": dict(DUCKDB_CONFIG)}},
    )
    result = _validate(
        suite,
        datasource,
        datasource.add_table_asset("delivery", table_name="delivery"),
        months=months,
        partner_ids=partner_ids,
        countries=countries,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": MAX_LISTED_PER_RULE,
            "unexpected_index_column_names": ["_file", "_row"],
        },
    )
    # GX does not keep the suite's order; each result carries its expectation's meta.
    by_check = {res.expectation_config.meta["check"]: res for res in result.results}
    present = set(present_columns)
    month = ", ".join(months)
    outcomes = [
        _outcome(spec, by_check[spec.check], present, folder, month) for spec in suite.expectations
    ]
    for spec, outcome in zip(suite.expectations, outcomes, strict=True):
        if (
            spec.type == "expect_compound_columns_to_be_unique"
            and not outcome.passed
            and not outcome.error
        ):
            outcome.problems = _duplicate_key_problems(staging_db, spec, folder)
    return outcomes


#: The rows a transaction has just written, as the suite sees them (``suite_failures``).
VALIDATING_VIEW = "oemkpi_validating"


def suite_failures(
    suite: Suite,
    con: Any,
    *,
    feed: str,
    months: list[str],
    partner_ids: list[str],
    countries: list[str],
) -> list[str]:
    """The checks of ``suite`` that ``months`` of table ``feed`` fail, read inside ``con``'s
    open transaction; empty when every expectation holds.

    This is the verdict on rows just inserted and not yet committed, so a delivery is
    judged exactly as it would be loaded. Only pass or fail is asked for: a delivery
    that fails is rolled back and validated again from a staged copy that knows each
    row's file and line, to name its problems. The rows came straight from the files,
    so ``_file`` and ``_row`` are empty here.
    """
    from oemkpi.ingest import gx_engine  # Great Expectations is imported here and only here.

    con.execute(sql("feeds/set_validating_months"), [list(months)])
    con.execute(
        render_sql(
            "feeds/create_validating_view", feed=feed, columns=", ".join(FEEDS[feed].column_names)
        )
    )
    try:
        context = gx_engine.ephemeral_context()
        datasource = gx_engine.connection_datasource(context, "warehouse", con)
        result = _validate(
            suite,
            datasource,
            datasource.add_query_asset("delivery", query=f"select * from {VALIDATING_VIEW}"),
            months=months,
            partner_ids=partner_ids,
            countries=countries,
            result_format={"result_format": "BOOLEAN_ONLY"},
        )
    finally:
        # An expectation whose SQL fails in DuckDB aborts the transaction: its check fails
        # (and the checks after it), the caller rolls back, and the view goes with it.
        with contextlib.suppress(duckdb.Error):
            con.execute(sql("feeds/drop_validating_view"))
    failed = {
        res.expectation_config.meta["check"]
        for res in result.results
        if not res.success or _raised(res.exception_info or {})
    }
    return [spec.check for spec in suite.expectations if spec.check in failed]


def _validate(
    suite: Suite,
    datasource: Any,
    asset: Any,
    *,
    months: list[str],
    partner_ids: list[str],
    countries: list[str],
    result_format: dict[str, Any],
) -> Any:
    """The whole of ``asset`` validated with ``suite``, its parameters bound (the ``month``
    of each delivery, the reference's partners and countries); the data source's engines
    are let go after."""
    expectations = gx_suite(suite)
    try:
        batch = asset.add_batch_definition_whole_table("whole").get_batch()
        return batch.validate(
            expectations,
            expectation_parameters={
                "month": list(months),
                "partner_ids": list(partner_ids),
                "countries": list(countries),
            },
            result_format=result_format,
        )
    finally:
        # The execution engine has an SQLAlchemy engine of its own; both hold DuckDB
        # connections, and the staging file must be free before it is attached or deleted.
        datasource.get_execution_engine().engine.dispose()
        datasource.get_engine().dispose()


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a logger that prints tracebacks for errors we report as a sentence."""
    logger = logging.getLogger(logger_name)
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def gx_suite(suite: Suite) -> Any:
    """The suite as a GX ``ExpectationSuite``, or one sentence naming the bad expectation.

    GX drops an expectation of an unknown type (logging a traceback) and rejects a
    bad kwarg with a pydantic error that names neither the check nor the file, so
    each expectation is tried on its own when the whole suite does not come out whole.
    """
    import great_expectations as gx

    def build(items: list[dict[str, Any]]) -> Any:
        with _quiet("great_expectations.core.expectation_suite"):
            return gx.ExpectationSuite(name=suite.feed, expectations=items)

    items = suite.document["expectations"]
    try:
        gx_suite = build(items)
        if len(gx_suite.expectations) == len(suite.expectations):
            return gx_suite
    except Exception:  # diagnosed expectation by expectation below
        pass
    unknown = []
    for spec, item in zip(suite.expectations, items, strict=True):
        try:
            if not build([item]).expectations:
                unknown.append(f"{spec.check} ({spec.type})")
        except Exception as err:  # GX raises pydantic and its own errors
            raise OemkpiError(
                f"The suite {suite.path}, check {spec.check} ({spec.type}), cannot be loaded "
                f"({_pydantic_detail(err)}); fix the expectation."
            ) from None
    # GX only logs an unknown expectation type and drops it; a suite must never shrink silently.
    raise OemkpiError(
        f"The suite {suite.path} has expectation types Great Expectations does not know: "
        f"{', '.join(unknown) or 'some expectations'}; correct the type names."
    )


def _pydantic_detail(err: BaseException) -> str:
    """``field: message`` of a pydantic error, else the error's first line."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        try:
            found = errors()
        except Exception:  # not a pydantic error after all
            found = None
        if found:
            return "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in found[:3]
            )
    return _first_line(err)


def _duplicate_key_problems(staging_db: Path, spec: Expectation, folder: str) -> list[Problem]:
    """Where the duplicated keys GX counted are: GX reports no rows for compound keys."""

    keys = ", ".join(spec.columns)
    con = duckdb.connect(str(staging_db), read_only=True, config=DUCKDB_CONFIG)
    try:
        rows = con.execute(
            render_sql("feeds/select_duplicate_keys", keys=keys), {"limit": MAX_LISTED_PER_RULE}
        ).fetchall()
    finally:
        con.close()
    problems = []
    total = int(rows[0][4]) if rows else 0
    for file, row, first_file, first_row, _repeats, *key in rows:
        shown = ", ".join(str(v) for v in key)
        problems.append(
            problem(
                file,
                int(row),
                "+".join(spec.columns),
                shown,
                spec.rule,
                f"repeats the key ({keys}) of {first_file} row {first_row}",
            )
        )
    if total > len(problems):
        problems.append(
            summary_problem(folder, "+".join(spec.columns), spec.rule, total - len(problems))
        )
    return problems


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


_RULE_TEXT = {
    "not_null": "is empty",
    "partner_id": "is not a partner in reference/partners.csv",
    "country": "is not a country in reference/countries.csv",
    "out_of_range": "is negative",
    "sku": "is not 1-64 characters long",
    "unique_key": "repeats a key that another row of this delivery has",
    "attached_le_base": "is larger than base_units",
}


def _what(spec: Expectation, month: str) -> str:
    if spec.rule == "month":
        return f"is not the delivery's month {month}"
    if spec.rule == "text_length":
        low, high = spec.kwargs.get("min_value"), spec.kwargs.get("max_value")
        return f"is not {low}-{high} characters long"
    if spec.rule == "in_set":
        allowed = spec.kwargs.get("value_set")
        return f"is not one of {', '.join(allowed) if isinstance(allowed, list) else allowed}"
    return _RULE_TEXT.get(spec.rule, f"breaks {spec.type}")


def _outcome(
    spec: Expectation, res: Any, present: set[str], folder: str, month: str
) -> CheckOutcome:
    body = res.result or {}
    info = res.exception_info or {}
    raised = _raised(info)
    missing = [c for c in spec.columns if c not in present]
    outcome = CheckOutcome(
        check=spec.check,
        passed=bool(res.success) and not raised,
        description=spec.description,
        element_count=body.get("element_count"),
        unexpected_count=body.get("unexpected_count"),
        sample=list(body.get("partial_unexpected_list") or [])[:20],
    )
    if missing:
        outcome.passed = False
        outcome.error = f"column {', '.join(missing)} is missing from the delivery"
        return outcome
    if raised:
        outcome.error = _exception_message(info)
        return outcome
    if outcome.passed:
        return outcome
    if spec.type == "expect_table_row_count_to_be_between":
        observed = body.get("observed_value")
        outcome.unexpected_count = 1
        outcome.sample = [observed]
        outcome.problems.append(
            problem(
                folder,
                None,
                None,
                None,
                "row_count",
                "the delivery has no rows"
                if not observed
                else f"the delivery has {observed} rows, fewer than {spec.kwargs.get('min_value')}",
            )
        )
        return outcome
    if spec.type == "expect_table_columns_to_match_set":
        # Missing columns are already listed per file by the parser.
        outcome.sample = list((body.get("details") or {}).get("mismatched", {}).get("missing", []))
        return outcome
    column = "+".join(spec.columns)
    for item in body.get("partial_unexpected_index_list") or []:
        value: Any
        if spec.type == "expect_column_pair_values_a_to_be_greater_than_b":
            value = item.get(spec.kwargs["column_B"])
            what = f"is larger than {spec.kwargs['column_A']} ({item.get(spec.kwargs['column_A'])})"
            col = spec.kwargs["column_B"]
        elif len(spec.columns) > 1:
            value = ", ".join(str(item.get(c)) for c in spec.columns)
            what = _what(spec, month)
            col = column
        else:
            value = item.get(spec.columns[0]) if spec.columns else None
            what = _what(spec, month)
            col = column
        outcome.problems.append(
            problem(item["_file"], int(item["_row"]), col, value, spec.rule, what)
        )
    listed = len(outcome.problems)
    total = outcome.unexpected_count or listed
    if total > listed:
        outcome.problems.append(summary_problem(folder, column, spec.rule, total - listed))
    return outcome


def _raised(info: dict[str, Any]) -> bool:
    """Whether GX caught an exception evaluating the expectation (one, or one per metric)."""
    if "raised_exception" in info:
        return bool(info.get("raised_exception"))
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _exception_message(info: dict[str, Any]) -> str:
    if "exception_message" in info:
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return "the expectation could not be evaluated"
