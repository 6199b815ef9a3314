"""Which helper processes a run starts before it imports Dagster, and when.

A run in this process can hand work to two spawned helpers: Great Expectations'
suite process (:mod:`oemkpi.ingest.suite_worker`) and the drawing process
(:mod:`oemkpi.reports.chart_worker`). Each pays for importing its library on the
machine's other core, which is free while this process starts up. The drawing
process pays off at every size (bench/, the 2M- and 10M-row months, started
here or at the report step: here was as fast or faster); the suite process only
for a month of small deliveries, where GX's import is most of the run: a month of
large ones validates in this process, where the import hides behind the read.
A range rendered by worker processes (:func:`oemkpi.reports.writing.write_reports`)
draws its charts there. This module imports neither Dagster nor those libraries.
"""

from __future__ import annotations

from oemkpi.home import Home
from oemkpi.ingest import suite_worker
from oemkpi.reports import chart_worker
from oemkpi.reports.writing import PARALLEL_FROM_MONTHS


def start_helpers(home: Home, months: list[str]) -> None:
    """Start the helpers of an in-process run of ``months`` of ``home``: the suite process
    when the deliveries are small (and GX is not imported here already), the drawing
    process, which compiles the templates first, when this process renders the reports (a
    range of :data:`PARALLEL_FROM_MONTHS` or more is rendered by workers)."""
    suite_worker.start(home, months)
    if len(months) < PARALLEL_FROM_MONTHS:
        chart_worker.start(templates=True)
