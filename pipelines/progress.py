"""A console logger that prints what the pipeline says, not every engine event.

Dagster's default console logger prints each framework event with a run id
and a timestamp; the CLI user wants progress lines. Messages the assets log
(``context.log.info``) are printed as ``  <step>: <message>``; engine events
are left to the event log (the UI), except failures, printed in one line.
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
        return event is None or record.levelno >= logging.ERROR


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
