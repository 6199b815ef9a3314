"""A console logger that prints what the pipeline says, not every engine event.

Dagster's default console logger prints each framework event with a run id
and a timestamp; the CLI user wants progress lines. Messages the assets log
(``context.log.info``) are printed as ``  <step>: <message>``; engine events
are left to the event log (the UI), except failures, printed in one line. A run
ended by Ctrl-C or SIGTERM is the exception: Dagster records the running step's
failure and the run's ("interrupted unexpectedly. No user initiated termination
request was found"), which the user who pressed Ctrl-C would read as further,
unexplained problems; the command says "interrupted" itself, and the UI keeps both.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg

_META = "dagster_meta"


class _ProgressFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, _META, None) or {}
        step = meta.get("step_key") or meta.get("job_name") or ""
        message = meta.get("orig_message") or record.getMessage()
        prefix = f"  {step}: " if step else "  "
        # A step may report several months in one message: one line each, all prefixed.
        return "\n".join(prefix + line for line in str(message).splitlines() or [""])


class _UserOrFailure(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, _META, None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return True
        return record.levelno >= logging.ERROR and not interrupted_failure(event)


#: The error Dagster names in a step's or a run's failure when its process was interrupted.
INTERRUPTIONS = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")


def interrupted_failure(event: dg.DagsterEvent) -> bool:
    """Whether ``event`` is a step's or the run's failure because the process running it got
    Ctrl-C or SIGTERM."""
    if event.is_step_failure:
        error = event.step_failure_data.error
    elif event.is_run_failure:
        error = event.job_failure_data.error
    else:
        return False
    return error is not None and error.cls_name in INTERRUPTIONS


@dg.logger(
    config_schema={"log_level": dg.Field(str, default_value="INFO", is_required=False)},
    description="Progress lines on standard output: what each step did, and failures.",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = logging.getLevelName(str(init_context.logger_config["log_level"]).upper())
    logger = logging.Logger("oemkpi", level=level if isinstance(level, int) else logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_ProgressFormatter())
    handler.addFilter(_UserOrFailure())
    logger.addHandler(handler)
    return logger
