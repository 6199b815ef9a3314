"""Steps on Celery workers (``dagster-celery``): the app, a worker, and a watch on lost workers.

Why steps, not whole runs: dagster-celery ships no plain Celery run launcher
(only for Kubernetes and Docker), and a step is the unit a team waits on; the
cost is about a second of hand-over per step (README, bench).

The app is built from the settings in every process (``oemkpi worker`` runs
Celery's worker inside itself), so no Celery config file is ever written: the
stock ``dagster-celery worker start`` writes the broker URL, password included,
into ``$DAGSTER_HOME/dagster_celery/config/``. Tasks go to the queue ``dagster``
unless a run carries the tag ``dagster-celery/queue``; ``oemkpi worker --queue``
names the queues a worker takes.

A worker that dies whole in the middle of a step (SIGKILL, a lost machine)
never reports back: its task was acknowledged when it started, and
dagster-celery waits for the result for ever. :class:`WatchedResult` asks the
worker running each started step whether it is alive (Celery's ``ping``); one
that stops answering fails the step in one sentence. And a step whose result
is an exception (the lost worker; Celery's ``WorkerLostError`` when only the
pool process died) comes back as the step's failure event, not as an
exception: dagster-celery then stops submitting steps but keeps waiting for the
steps it never submitted, for ever; as a failed step, the run's other steps go
on, the failed step's dependents are skipped, the run ends and its slots are freed.

Written against dagster-celery 0.29 and celery 5.7: :func:`_submit` calls
dagster-celery's private ``_submit_task`` (the one way to submit a step as its
executor does); tests/test_scaleout_settings.py fails when it moves.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from typing import Any

from celery import Celery, signals
from celery.exceptions import DuplicateTaskNameWarning, TaskRevokedError
from dagster._core.events import DagsterEvent, StepFailureData
from dagster._core.execution.retries import RetryMode
from dagster._serdes import serialize_value
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster_celery.config import DEFAULT_CONFIG
from dagster_celery.executor import CeleryExecutor, _submit_task
from dagster_celery.make_app import make_app
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG
from dagster_celery.tasks import create_task

from oemkpi.errors import OemkpiError

DEFAULT_QUEUE = "dagster"
WRITTEN_FOR = {"dagster-celery": "0.29", "celery": "5.7"}
#: How often a started step's worker is pinged, and how many missed answers mean it is lost:
#: a dead worker fails its step in ~15 s (each ping waits its timeout). The worker's main
#: process answers while its pool process runs the step, so a busy worker answers too.
WATCH_SECONDS = 2.0
PING_TIMEOUT_SECONDS = 3.0
MISSES_BEFORE_LOST = 3


def backend(broker: str) -> str:
    """Results go back through Redis when the broker is Redis, else by AMQP replies."""
    return broker if broker.startswith(("redis://", "rediss://")) else "rpc://"


def app_config(broker: str, queue: str = DEFAULT_QUEUE) -> dict[str, Any]:
    """Celery settings shared by the launching process and the workers."""
    config: dict[str, Any] = {
        **DEFAULT_CONFIG,
        "task_default_queue": queue,
        # STARTED (with the worker's name) is what lets WatchedResult find the worker.
        "task_track_started": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
    }
    if broker.startswith(("redis://", "rediss://")):
        # A worker fetches a task only when it can start it: a prefetched task of a worker
        # that dies would wait an hour for Redis to hand it to another.
        config["worker_disable_prefetch"] = True
    return config


def celery_app(broker: str, queue: str = DEFAULT_QUEUE) -> Celery:
    return make_app(
        {
            "broker": broker,
            "backend": backend(broker),
            "include": [],
            "config_source": app_config(broker, queue),
        }
    )


class WatchedResult:
    """A step's Celery result that also ends when the worker running the step is lost."""

    def __init__(self, inner: Any, app: Celery, plan_context: Any, step: Any) -> None:
        self._inner = inner
        self._app = app
        self._plan_context = plan_context
        self._step = step
        self._step_key = step.key
        self._next_check = time.monotonic() + WATCH_SECONDS
        self._misses = 0
        self._lost: str | None = None

    def ready(self) -> bool:
        if self._inner.ready():
            return True
        if self._lost is None and time.monotonic() >= self._next_check:
            self._check_worker()
            self._next_check = time.monotonic() + WATCH_SECONDS
        return self._lost is not None

    def _check_worker(self) -> None:
        if self._inner.state != "STARTED" or not isinstance(self._inner.info, dict):
            return  # queued: no worker holds it yet
        worker = str(self._inner.info.get("hostname") or "")
        if not worker:
            return
        answers = self._app.control.ping(destination=[worker], timeout=PING_TIMEOUT_SECONDS)
        self._misses = 0 if answers else self._misses + 1
        if self._misses >= MISSES_BEFORE_LOST:
            self._lost = worker

    def get(self) -> Any:
        if self._lost is not None:
            return self._failed(
                f"The Celery worker {self._lost} stopped answering while it ran step "
                f"{self._step_key} (killed, or its machine lost); the step failed and "
                "nothing it had not committed was kept; run the months again."
            )
        try:
            return self._inner.get()
        except TaskRevokedError:
            raise
        except Exception as err:
            return self._failed(
                f"The Celery process that ran step {self._step_key} died ({err}); the step "
                "failed and nothing it had not committed was kept; run the months again."
            )

    def _failed(self, sentence: str) -> list[str]:
        """The step's failure event, serialized as a worker returns its events."""
        try:
            raise OemkpiError(sentence)
        except OemkpiError:
            error = serializable_error_info_from_exc_info(sys.exc_info())
        event = DagsterEvent.step_failure_event(
            step_context=self._plan_context.for_step(self._step),
            step_failure_data=StepFailureData(error=error, user_failure_data=None),
        )
        return [serialize_value(event)]

    def revoke(self) -> None:
        self._inner.revoke()


def _submit(
    app: Celery, plan_context: Any, step: Any, queue: str, priority: int, known_state: Any
) -> WatchedResult:
    with warnings.catch_warnings():
        # dagster-celery registers its task again for every step it submits; harmless.
        warnings.simplefilter("ignore", DuplicateTaskNameWarning)
        result = _submit_task(app, plan_context, step, queue, priority, known_state)
    return WatchedResult(result, app, plan_context, step)


class WatchedCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor with :class:`WatchedResult` and our app settings; the
    queue is the run's ``dagster-celery/queue`` tag, else ``dagster``."""

    def __init__(self, broker: str) -> None:
        super().__init__(
            retries=RetryMode.ENABLED,
            broker=broker,
            backend=backend(broker),
            config_source=app_config(broker),
        )
        self._broker = broker

    def execute(self, plan_context: Any, execution_plan: Any) -> Any:
        from dagster_celery.core_execution_loop import core_celery_execution_loop

        queue = plan_context.dagster_run.tags.get(DAGSTER_CELERY_QUEUE_TAG) or DEFAULT_QUEUE
        self.config_source.__dict__.update(app_config(self._broker, queue))
        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=_submit)


def _quiet_results(**_kwargs: Any) -> None:
    # Celery logs each task's return value at INFO: for a step, every one of its Dagster
    # events, serialized. Failures (ERROR) still show; the steps' own lines come from them.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def run_worker(broker: str, *, queues: list[str], name: str, concurrency: int) -> None:
    """Run a Celery worker in this process until it is stopped (Ctrl-C or SIGTERM).

    The code location and Great Expectations are imported before Celery forks its pool
    processes, so a worker's first steps do not each pay for those imports.
    """
    import pipelines.definitions  # noqa: F401
    from oemkpi.ingest import gx_engine  # noqa: F401

    app = celery_app(broker, queues[0])
    create_task(app)
    signals.after_setup_logger.connect(_quiet_results, weak=False)
    argv = [
        "worker",
        "--loglevel=INFO",
        f"--hostname={name}",
        f"--queues={','.join(queues)}",
        f"--concurrency={concurrency}",
        "--prefetch-multiplier=1",
        "--without-gossip",
        "--without-mingle",
    ]
    app.worker_main(argv)
