"""The executor of ``monthly_update``, chosen when a run starts, from the settings.

With ``OEMKPI_CELERY_BROKER`` set, steps go to Celery workers
(:mod:`pipelines.celery_steps`); otherwise they run in the process that runs
the run, as in the embedded default. The choice is made by the executor's
factory, which Dagster calls when a run starts, in the process orchestrating
it: nothing is read from the environment at import.

Whatever executes the steps, the run first records who runs it and frees the
pool slots of runs whose process is gone (:mod:`pipelines.recovery`), and keeps
doing so while it runs. This covers runs launched from the UI, the schedule,
the sensor and ``oemkpi run`` with Celery; ``oemkpi run`` in process goes
through ``execute_in_process`` (which always runs in process) and does the same
in :mod:`pipelines.runs`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.base import Executor
from dagster._core.executor.in_process import InProcessExecutor

from oemkpi.settings import Settings
from pipelines.recovery import run_presence


def _requirements(_config: Any) -> Sequence[Any]:
    # Checked when a run starts: Celery needs a reconstructable job and a persistent instance.
    if Settings.from_env().uses_celery:
        return dg.multiple_process_executor_requirements()
    return []


class _Presence:
    """Executes a run inside :func:`~pipelines.recovery.run_presence` (mixed into an executor)."""

    settings: Settings

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        instance = plan_context.instance
        with run_presence(
            instance, plan_context.run_id, self.settings, log=plan_context.log.warning
        ) as tags:
            instance.add_run_tags(plan_context.run_id, tags)
            yield from super().execute(plan_context, execution_plan)  # type: ignore[misc]


class InProcessRunExecutor(_Presence, InProcessExecutor):
    def __init__(self, settings: Settings) -> None:
        super().__init__(retries=RetryMode.ENABLED)
        self.settings = settings


@dg.executor(name="oemkpi", requirements=_requirements)
def oemkpi_executor(_init_context: dg.InitExecutorContext) -> Executor:
    """Steps on Celery workers when OEMKPI_CELERY_BROKER is set, else in the run's process."""
    settings = Settings.from_env()
    if settings.celery_broker:
        from pipelines.celery_steps import WatchedCeleryExecutor

        class CeleryRunExecutor(_Presence, WatchedCeleryExecutor):
            pass

        executor = CeleryRunExecutor(settings.celery_broker)
        executor.settings = settings
        return executor
    return InProcessRunExecutor(settings)
