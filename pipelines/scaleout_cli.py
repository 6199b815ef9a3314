"""The scale-out commands of ``oemkpi``: ``doctor``, ``worker``, ``migrate-warehouse``.

:mod:`pipelines.cli` adds these parsers and hands these commands here.
"""

from __future__ import annotations

import argparse
import os
import socket

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.settings import CELERY_BROKER, Settings

EXIT_OK, EXIT_ERROR = 0, 2
COMMANDS = ("doctor", "worker", "migrate-warehouse")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub.add_parser("doctor", help="say which profile is in force and check each configured server")
    worker = sub.add_parser(
        "worker", help="run a Celery worker that executes steps (scale-out profile)"
    )
    worker.add_argument(
        "--queue",
        action="append",
        dest="queues",
        help="a queue to take steps from (repeatable; default: dagster)",
    )
    worker.add_argument("--name", help="the worker's name (default: oemkpi-<pid>@<host>)")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="steps at once (default 1, one per core)"
    )
    sub.add_parser(
        "migrate-warehouse", help="move this home's warehouse.duckdb into the DuckLake warehouse"
    )


def dispatch(home: Home, args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "doctor":
        return _doctor(home, settings)
    if args.command == "worker":
        return _worker(args, settings)
    return _migrate(home, settings)


def _say(message: str) -> None:
    print(message, flush=True)


def _doctor(home: Home, settings: Settings) -> int:
    from pipelines.doctor import print_report

    return EXIT_OK if print_report(home, settings, _say) else EXIT_ERROR


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.celery_broker:
        raise OemkpiError(
            f"oemkpi worker takes steps from a Celery broker: set {CELERY_BROKER} (and the "
            "instance and DuckLake settings) as on the machines that launch runs."
        )
    if args.concurrency < 1:
        raise OemkpiError("--concurrency must be 1 or more.")
    from pipelines.celery_steps import DEFAULT_QUEUE, run_worker

    queues = args.queues or [DEFAULT_QUEUE]
    name = args.name or f"oemkpi-{os.getpid()}@{socket.gethostname()}"
    _say(f"Profile: {settings.profile}")
    for part, where in settings.describe():
        _say(f"  {part:<10} {where}")
    _say(f"Worker {name} takes steps from {', '.join(queues)}; Ctrl-C or SIGTERM stops it.")
    run_worker(settings.celery_broker, queues=queues, name=name, concurrency=args.concurrency)
    return EXIT_OK


def _migrate(home: Home, settings: Settings) -> int:
    from oemkpi.migrate import migrate_warehouse

    _say(f"Moving {home.warehouse} into the DuckLake warehouse ...")
    moved = migrate_warehouse(home, settings)
    for item in moved:
        _say(f"  {item.table}: {item.rows} rows")
    _say(
        f"Done: {len(moved)} tables, {sum(m.rows for m in moved)} rows, in one transaction. "
        f"{home.warehouse} is unchanged: keep it as a backup, or delete it."
    )
    return EXIT_OK
