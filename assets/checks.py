"""Asset checks: the contract and every Great Expectations expectation, per feed.

The checks run inside the feed asset's step, before anything is written, so
a failing delivery never reaches the warehouse (``check_specs`` on the
asset). They are not Dagster-blocking: the KPI and report steps of the run
still go ahead, so the report can say which feed was rejected and why.
One check per expectation, with the failing values and counts as metadata.
"""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from oemkpi import formats
from oemkpi.ingest.contract import FEEDS
from oemkpi.ingest.outcomes import CONTRACT_CHECK, DeliveryOutcome
from oemkpi.ingest.suites import load_suite

CONTRACT_DESCRIPTION = (
    "The delivery's files follow the feed contract (SPEC section 3): CSV, Parquet or XLSX; "
    "a header with every contract column; plain numbers; whole units; months as YYYY-MM; "
    "printable SKUs."
)


def feed_check_specs(feed: str) -> list[dg.AssetCheckSpec]:
    """The contract check plus one check per expectation of ``expectations/<feed>.json``."""
    specs = [dg.AssetCheckSpec(CONTRACT_CHECK, asset=feed, description=CONTRACT_DESCRIPTION)]
    for expectation in load_suite(feed).expectations:
        specs.append(
            dg.AssetCheckSpec(
                expectation.check,
                asset=feed,
                description=f"Great Expectations: {expectation.description}",
                metadata={"expectation_type": expectation.type},
            )
        )
    return specs


def feed_check_results(
    feed: str, outcomes: Iterable[DeliveryOutcome], page: Path | None = None
) -> list[dg.AssetCheckResult]:
    """One result per check over the months of the run; it fails if any month failed.

    ``page`` links the validation results: the month's page, or for a range the
    index of every page (each partition's materialization links its own).
    """
    outcomes = list(outcomes)
    optional = FEEDS[feed].optional
    results = []
    for spec in feed_check_specs(feed):
        failed_months: list[str] = []
        missing_months: list[str] = []
        unvalidated_months: list[str] = []
        unexpected = 0
        rows: list[tuple[object, ...]] = []
        errors: list[str] = []
        for outcome in outcomes:
            if not outcome.checked:  # missing, or changed while it was read
                missing_months.append(outcome.month)
                continue
            check = next((c for c in outcome.checks if c.check == spec.name), None)
            if check is None:  # refused before its rows were read (a link, too large)
                unvalidated_months.append(outcome.month)
                continue
            if check.passed:
                continue
            failed_months.append(outcome.month)
            unexpected += check.unexpected_count or 0
            if check.error:
                errors.append(f"{outcome.month}: {check.error}")
            for p in check.problems[: max(0, 20 - len(rows))]:
                rows.append((outcome.month, p.file, p.row, p.column, p.value))
        metadata: dict[str, dg.RawMetadataValue] = {
            "months_checked": len(outcomes) - len(missing_months),
            "unexpected_count": unexpected,
        }
        if failed_months:
            metadata["months_failed"] = ", ".join(failed_months)
        if missing_months:
            metadata["months_without_delivery"] = ", ".join(missing_months)
        if unvalidated_months:
            metadata["months_refused_unread"] = ", ".join(unvalidated_months)
        if page is not None:
            metadata["validation_results"] = dg.MetadataValue.path(str(page))
        if errors:
            metadata["errors"] = "\n".join(errors[:10])
        if rows:
            metadata["failing_rows"] = dg.MetadataValue.md(
                formats.md_table(("month", "file", "row", "column", "value"), rows)
            )
        if failed_months:
            passed, severity = False, dg.AssetCheckSeverity.ERROR
        elif unvalidated_months and len(missing_months) + len(unvalidated_months) == len(outcomes):
            # Every delivery was refused before a row was read (the feed step says why):
            # nothing was checked, which is a warning, not a pass.
            passed, severity = False, dg.AssetCheckSeverity.WARN
        elif missing_months and len(missing_months) == len(outcomes) and not optional:
            # Nothing was delivered, so nothing was checked: say so, as a warning
            # (an optional feed may go undelivered: that passes).
            passed, severity = False, dg.AssetCheckSeverity.WARN
        else:
            passed, severity = True, dg.AssetCheckSeverity.ERROR
        results.append(
            dg.AssetCheckResult(
                asset_key=feed,
                check_name=spec.name,
                passed=passed,
                severity=severity,
                metadata=metadata,
            )
        )
    return results
