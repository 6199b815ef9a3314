"""The spawned helper processes (charts, suites): they leave Ctrl-C to the process that
started them, and never outlive it, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oemkpi.reports import chart_worker
from tests.test_charts import share_chart

REPO = Path(__file__).resolve().parent.parent


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@contextmanager
def drawing_process() -> Iterator[Any]:
    """The drawing process, started and warm; stopped at the end."""
    chart_worker.start()
    try:
        pool = chart_worker._HELPER.pool()
        assert pool is not None
        pool.submit(int).result()
        (child,) = pool._processes.values()
        yield child
    finally:
        chart_worker.stop()


def test_a_helper_leaves_ctrl_c_to_its_parent_and_goes_on_answering() -> None:
    with drawing_process() as child:
        os.kill(child.pid, signal.SIGINT)  # what Ctrl-C sends the whole process group
        time.sleep(0.3)
        assert child.is_alive()
        chart = share_chart()
        chart_worker.prepare([chart])
        drawn = chart_worker.take(chart, png=False)
        assert drawn is not None and drawn.svg.startswith("<svg ")
    assert not child.is_alive()


def test_a_helper_ends_when_the_process_that_started_it_ends_without_stopping_it() -> None:
    """``os._exit`` (how the ``oemkpi`` command leaves) or a kill skips every clean-up."""
    code = textwrap.dedent(
        """
        import os
        from oemkpi.reports import chart_worker
        chart_worker.start()
        pool = chart_worker._HELPER.pool()
        pool.submit(int).result()
        print(*[p.pid for p in pool._processes.values()], flush=True)
        os._exit(0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (pid,) = [int(p) for p in done.stdout.split()]
    assert _gone(pid, 10), f"helper {pid} outlived its parent"
    # multiprocessing's resource tracker may warn that it cleaned up the queues' semaphores
    # (the parent had no chance to); the helper itself says nothing.
    assert "Traceback" not in done.stderr


def test_the_drawing_process_runs_at_a_lower_priority_than_the_run() -> None:
    with drawing_process() as child:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, mine + chart_worker.NICE)
