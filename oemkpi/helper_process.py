"""One spawned helper process that works beside this one (charts, suites).

:class:`HelperProcess` keeps a one-worker :class:`~concurrent.futures.ProcessPoolExecutor`
per process that started it: spawned, so the child shares none of this process's
DuckDB or Dagster state, started on demand, kept for later runs of this process,
and ended with it. The child:

* runs ``warm`` first (the imports it is there to pay for);
* ends itself when this process is gone (killed, or ended by ``os._exit`` without
  stopping it), so no helper outlives its run;
* leaves Ctrl-C to this process (it reaches the whole process group): the user
  sees "interrupted", not a helper's traceback, and this process ends the helper;
* leaves without interpreter teardown, like the ``oemkpi`` command
  (:mod:`oemkpi.quiet_exit`): DuckDB's bindings would otherwise print pages of
  "leaked" notices to the user's terminal.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from oemkpi.quiet_exit import close_before_exit

#: How often a helper looks whether the process that started it is still there.
PARENT_CHECK_SECONDS = 0.5
T = TypeVar("T")


class HelperProcess:
    """A helper process started by :meth:`start`; :meth:`pool` is it, in this process only."""

    def __init__(self, warm: Callable[[], None], *, nice: int = 0) -> None:
        self._warm = warm
        self._nice = nice
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._owner: int | None = None
        self._registered = False  # stop() at exit, once the helper was first started
        #: Jobs given to the helper and maybe not done (its warm-up first).
        self._jobs: list[Future[Any]] = []

    def start(self) -> bool:
        """Start the helper unless it runs already; whether there is one. A daemonic
        process (a Celery pool's) may not start children: nothing happens there."""
        if multiprocessing.current_process().daemon:
            return False
        with self._lock:
            if not self._registered:
                atexit.register(self.stop)
                close_before_exit(self.stop)
                self._registered = True
            if self._pool is None or self._owner != os.getpid():
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_begin,
                    initargs=(os.getpid(), self._warm, self._nice),
                )
                self._owner = os.getpid()
                # The child starts (and warms up) at its first job.
                self._jobs = [self._pool.submit(int)]
        return True

    def pool(self) -> ProcessPoolExecutor | None:
        """The helper, if this process started one (a forked copy did not)."""
        with self._lock:
            return self._pool if self._owner == os.getpid() else None

    def stop(self) -> None:
        """End the helper (at exit, when it cannot be used, and by tests). An idle one is
        asked to end, and does at once; one still warming up or working is terminated
        first (it ignores Ctrl-C, and waiting for one still importing its libraries held
        the command's exit for seconds; multiprocessing's resource tracker may then warn
        that it cleaned up a semaphore)."""
        with self._lock:
            pool, owner, busy = self._pool, self._owner, self._jobs
            self._pool, self._owner, self._jobs = None, None, []
        if pool is None or owner != os.getpid():
            return
        if not all(job.done() for job in busy):
            for process in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(OSError):
                    process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T] | None:
        """Run ``fn(*args)`` in the helper; None when this process has none (or it was shut
        down meanwhile). A helper that died makes the future raise ``BrokenProcessPool``."""
        with self._lock:
            if self._pool is None or self._owner != os.getpid():
                return None
            try:
                job = self._pool.submit(fn, *args)
            except RuntimeError:  # broken or shut down: the caller does the work itself
                return None
            self._jobs = [j for j in self._jobs if not j.done()] + [job]
            return job


def _begin(parent: int, warm: Callable[[], None], nice: int = 0) -> None:
    """In the helper, first of all: watch the parent, leave quietly, lower its priority by
    ``nice``, then warm up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    threading.Thread(target=_watch, args=(parent,), name="oemkpi-parent-watch", daemon=True).start()
    atexit.register(_leave)
    # Only a head start: a job meets the same error and raises it to the caller, as one
    # sentence where it is one (a suite file that cannot be loaded), where a failing
    # initializer would have the process pool log a traceback and break.
    with contextlib.suppress(Exception):
        warm()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)  # the process that started this one is gone: nobody waits for an answer


def _leave() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
