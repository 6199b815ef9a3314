"""Charts drawn by a second process while this one writes the month's reports.

Drawing is the part of a month's rendering that is neither queries nor templates:
~25 ms a chart for its SVG and as much again for a mail's PNG, after ~0.6 s of
importing matplotlib (bench/ measured 1.9 s of a 6-partner month's 8 s run on two
cores). Another process does it at no cost to this one: :func:`start` spawns it
when a run starts (spawned, so it shares none of this process's DuckDB or Dagster
state) and it imports matplotlib and draws a first chart while this process
starts the run and loads the feeds; the report step hands it each partner's
charts as soon as the partner's update is built (:func:`prepare`), and
:func:`~oemkpi.reports.charts.render_chart` and
:func:`~oemkpi.reports.charts.chart_png` take what it drew (:func:`take`).

Started when a run starts, it also compiles the templates while it waits for the
first charts (:mod:`oemkpi.reports.compiled_templates`).

It is only a shortcut: a chart it has not drawn (no process started here, as in a
daemonic Celery pool process or a worker rendering a range of months; one that
died or took longer than :data:`TAKE_SECONDS`) is drawn in this process, by the
same code, into the same bytes.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from oemkpi.helper_process import HelperProcess
from oemkpi.reports.compiled_templates import Compiled, arrived, compile_all
from oemkpi.reports.model import Chart, Series

if TYPE_CHECKING:
    from oemkpi.reports.charts import RenderedChart

#: The longest this process waits for one chart before drawing it itself.
TAKE_SECONDS = 60.0
#: Charts kept for :func:`take` (a month of 40 partners has 240; a PNG is ~30 kB).
KEPT = 1000

_LOCK = threading.Lock()
#: Drawn or being drawn, by (the chart pickled, with its PNG).
_drawn: OrderedDict[tuple[bytes, bool], Future[RenderedChart]] = OrderedDict()
#: The templates the drawing process compiles when it starts (its first job), and the
#: process that asked (a forked copy asks its own drawing process again).
_templates: Future[Compiled] | None = None
_templates_for: int | None = None


def start(*, templates: bool = False) -> None:
    """Start the drawing process for this process's runs, unless it runs already; a run's
    charts start afresh (an earlier run's are let go, and a forked copy's are the parent's).
    ``templates``: have it compile the templates first, for a run that starts it well before
    its reports (started at the report step, it would make the first charts wait while this
    process compiles the templates anyway)."""
    global _templates, _templates_for
    if _HELPER.start():
        with _LOCK:
            _drawn.clear()
            if not templates:
                return
            if _templates_for != os.getpid() or _templates is None or _templates.cancelled():
                _templates, _templates_for = _HELPER.submit(compile_all), os.getpid()


def compiled_templates() -> Compiled:
    """The templates the drawing process has compiled, once it has (never waited for)."""
    if _HELPER.pool() is None:
        return {}
    with _LOCK:
        job = _templates
    return arrived(job)


def prepare(charts: Iterable[Chart], *, png_keys: Iterable[str] = ()) -> None:
    """Have the drawing process draw ``charts`` (with a PNG too for those whose key is in
    ``png_keys``), if it was started in this process; else nothing."""
    with_png = set(png_keys)
    if _HELPER.pool() is None:
        return
    with _LOCK:
        for chart in charts:
            png = chart.key in with_png
            key = (pickle.dumps(chart), png)
            if key in _drawn:
                continue
            job = _HELPER.submit(_render, chart, png)
            if job is None:  # shut down meanwhile: drawn here
                return
            _drawn[key] = job
        while len(_drawn) > KEPT:
            _drawn.popitem(last=False)


def take(chart: Chart, *, png: bool) -> RenderedChart | None:
    """What the drawing process drew of ``chart`` (with its PNG when ``png``); None when it
    was not asked to, or could not."""
    if _HELPER.pool() is None:
        return None
    with _LOCK:
        pickled = pickle.dumps(chart)
        future = _drawn.get((pickled, True)) or (None if png else _drawn.get((pickled, False)))
    if future is None:
        return None
    try:
        return future.result(timeout=TAKE_SECONDS)
    except Exception:  # it died, or took too long: this process draws the chart itself
        return None


def _render(chart: Chart, png: bool) -> RenderedChart:
    from oemkpi.reports.charts import render_chart

    return render_chart(chart, png=png)


def _warm() -> None:
    """Import matplotlib and draw once in the drawing process, so a month's first chart
    costs what every other one does."""
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    _render(Chart("warm-up", "", "volume", [Series("", [(m, 1.0) for m in months])]), True)


#: The drawing process yields the CPU to this one and to the suite process while the run
#: starts: with three processes importing on two cores, the run's own start was slowed by
#: the drawing process's imports and template compiling, none of which is needed before the
#: report step (fresh demo months, alternating: medians 11.60 -> 11.06 s and 11.46 ->
#: 10.98 s, 12 of 16 pairs faster). At the report step it has a core of its own.
NICE = 10
_HELPER = HelperProcess(_warm, nice=NICE)


def stop() -> None:
    """End the drawing process (at exit, and by tests)."""
    global _templates
    _HELPER.stop()
    with _LOCK:
        _drawn.clear()
        _templates = None
