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

It is only a shortcut: a chart it has not drawn (no process started here, as in a
daemonic Celery pool process or a worker rendering a range of months; one that
died or took longer than :data:`TAKE_SECONDS`) is drawn in this process, by the
same code, into the same bytes.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from oemkpi.reports.model import Chart, Series

if TYPE_CHECKING:
    from oemkpi.reports.charts import RenderedChart

#: The longest this process waits for one chart before drawing it itself.
TAKE_SECONDS = 60.0
#: Charts kept for :func:`take` (a month of 40 partners has 240; a PNG is ~30 kB).
KEPT = 1000

_LOCK = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_owner: int | None = None
#: Drawn or being drawn, by (the chart pickled, with its PNG).
_drawn: OrderedDict[tuple[bytes, bool], Future[RenderedChart]] = OrderedDict()


def start() -> None:
    """Start the drawing process for this process's runs, unless it runs already (it is
    kept for later runs of this process, and ended when this process exits). Nothing
    happens in a daemonic process, which may not start children."""
    global _pool, _owner
    if multiprocessing.current_process().daemon:
        return
    with _LOCK:
        if _pool is not None and _owner == os.getpid():
            return
        _drawn.clear()  # a forked copy's futures are the parent's
        _pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
        )
        _owner = os.getpid()
        _pool.submit(int)  # the process starts (and warms up) at its first job


def prepare(charts: Iterable[Chart], *, png_keys: Iterable[str] = ()) -> None:
    """Have the drawing process draw ``charts`` (with a PNG too for those whose key is in
    ``png_keys``), if it was started in this process; else nothing."""
    with_png = set(png_keys)
    with _LOCK:
        if _pool is None or _owner != os.getpid():
            return
        for chart in charts:
            png = chart.key in with_png
            key = (pickle.dumps(chart), png)
            if key in _drawn:
                continue
            try:
                _drawn[key] = _pool.submit(_render, chart, png)
            except RuntimeError:  # broken (the process died) or shut down: drawn here
                return
        while len(_drawn) > KEPT:
            _drawn.popitem(last=False)


def take(chart: Chart, *, png: bool) -> RenderedChart | None:
    """What the drawing process drew of ``chart`` (with its PNG when ``png``); None when it
    was not asked to, or could not."""
    with _LOCK:
        if _owner != os.getpid() or not _drawn:
            return None
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


@atexit.register
def stop() -> None:
    """End the drawing process (also called by tests)."""
    global _pool, _owner
    with _LOCK:
        pool, owner = _pool, _owner
        _pool, _owner = None, None
        _drawn.clear()
    if pool is not None and owner == os.getpid():
        pool.shutdown(wait=True, cancel_futures=True)
