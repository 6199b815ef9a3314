"""Leaving the process without interpreter teardown, once everything is closed.

Why: Great Expectations keeps DuckDB objects in module-level caches (its
SQLAlchemy dialect and metric providers), and at interpreter shutdown DuckDB's
Python bindings (nanobind) then print pages of "nanobind: leaked ..." to
standard error, after the command's own output. Nothing is lost: every file
and connection of ours is closed by then. The two places a process ends after
running suites (the ``oemkpi`` console script and the test session) call
:func:`quiet_exit` instead of returning, so a user sees the command's output
and nothing else. Written against great-expectations 1.24 and duckdb 1.5.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

#: What must be closed before the process ends at once: helper processes
#: (:mod:`oemkpi.helper_process`), which would otherwise wait for the next job.
_CLOSERS: list[Callable[[], None]] = []


def close_before_exit(closer: Callable[[], None]) -> None:
    """Have :func:`quiet_exit` call ``closer`` first (the latest registered first)."""
    _CLOSERS.append(closer)


def quiet_exit(code: int) -> None:
    """Close what was registered, flush standard output and error, then end the process
    with ``code`` at once."""
    for closer in reversed(_CLOSERS):
        with contextlib.suppress(BaseException):  # a second Ctrl-C must not stop the exit
            closer()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
