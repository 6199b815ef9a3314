"""The Dagster instance the CLI and the UI share (SPEC sections 2 and 7).

Embedded default: ``DAGSTER_HOME`` defaults to ``$OEMKPI_HOME/dagster``, a
SQLite instance. With ``OEMKPI_INSTANCE_PG_URL`` set it defaults to
``$OEMKPI_HOME/dagster-pg``, whose ``dagster.yaml`` keeps runs, events and pool
slots in PostgreSQL: the settings decide, not what a home held before (the
SQLite history stays in ``dagster/``, readable again with the variable unset,
or moved with ``dagster debug export`` / ``import``). Either ``dagster.yaml``
is written when absent, with the concurrency pool that keeps two steps from
writing the warehouse at once, and never overwritten; one that contradicts the
settings is refused in one sentence. The instance's storage is created under a
lock (a file lock, and for PostgreSQL an advisory lock) so processes started
together do not race to create it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import MutableMapping
from pathlib import Path

import yaml

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.settings import INSTANCE_PG_URL, Settings

DAGSTER_YAML = """\
# Written by oemkpi when absent; edit freely, it is not overwritten.
# Every asset that touches warehouse.duckdb runs in one pool: one at a time.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""

DAGSTER_PG_YAML = f"""\
# Written by oemkpi for {INSTANCE_PG_URL} when absent; edit freely, it is not overwritten.
# Runs, events, schedules and pool slots live in PostgreSQL. The URL (and its password)
# stays in the environment; pipelines.pg_storage accepts plain postgresql:// URLs.
storage:
  custom:
    module: pipelines.pg_storage
    class: PostgresStorage
    config:
      postgres_url:
        env: {INSTANCE_PG_URL}
# The daemon (dagster dev, or dagster-daemon run on one host) frees the pool slots of
# runs that ended without giving them back; oemkpi frees those of runs whose process died.
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 30
# Every step that writes the warehouse runs in one pool: one at a time.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""

#: Advisory lock, in the instance's database, around creating its tables.
INIT_LOCK = "oemkpi:instance-init"


def dagster_home(
    home: Home,
    environ: MutableMapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Path:
    """``$DAGSTER_HOME`` if set, else the profile's folder in the home; exported for Dagster."""
    env = os.environ if environ is None else environ
    settings = Settings.from_env(env) if settings is None else settings
    default = home.root / "dagster-pg" if settings.instance_pg_url else home.dagster_home
    path = Path(env.get("DAGSTER_HOME") or default).expanduser().resolve()
    env["DAGSTER_HOME"] = str(path)
    return path


def ensure_instance(
    home: Home,
    environ: MutableMapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Path:
    """Create ``DAGSTER_HOME``, its ``dagster.yaml`` and its storage, once, safely."""
    env = os.environ if environ is None else environ
    settings = Settings.from_env(env) if settings is None else settings
    path = dagster_home(home, env, settings)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    with (path / ".oemkpi-init.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not config.exists():
            config.write_text(
                DAGSTER_PG_YAML if settings.instance_pg_url else DAGSTER_YAML, encoding="utf-8"
            )
        check_config(config, settings)
        if settings.instance_pg_url:
            from oemkpi.postgres import Target, advisory_lock

            with advisory_lock(Target.parse(INSTANCE_PG_URL, settings.instance_pg_url), INIT_LOCK):
                _create_storage(path)
        else:
            from pipelines import dagster_patches

            # SQLite: Dagster's event log gets its workaround before this process writes.
            dagster_patches.apply_to_sqlite_event_log()
            if not _sqlite_storage_ready(path):
                _create_storage(path)
                (path / SQLITE_READY).write_text(_dagster_version(), encoding="utf-8")
    return path


#: Written once this Dagster version has created (or migrated) the SQLite storage, so later
#: runs do not open a whole instance only to find its tables there (~0.25 s a run).
SQLITE_READY = ".oemkpi-storage-ready"
#: The databases a SQLite instance keeps (runs, the event log's index, schedules).
SQLITE_DATABASES = ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")


def _dagster_version() -> str:
    from dagster.version import __version__

    return str(__version__)


def _sqlite_storage_ready(path: Path) -> bool:
    ready = path / SQLITE_READY
    return (
        ready.is_file()
        and ready.read_text(encoding="utf-8") == _dagster_version()
        and all((path / name).is_file() for name in SQLITE_DATABASES)
    )


def _create_storage(path: Path) -> None:
    import dagster as dg

    # Creating the instance creates and migrates its storage.
    with dg.DagsterInstance.from_config(str(path)) as instance:
        instance.get_runs_count()


def check_config(config: Path, settings: Settings) -> None:
    """Refuse a ``dagster.yaml`` whose storage contradicts the settings, in one sentence."""
    text = config.read_text(encoding="utf-8")
    try:
        parsed = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise OemkpiError(f"{config} is not valid YAML; fix it or remove it.") from None
    names_storage = isinstance(parsed, dict) and any(
        key in parsed for key in ("storage", "run_storage", "event_log_storage")
    )
    if settings.instance_pg_url and not names_storage:
        raise OemkpiError(
            f"{INSTANCE_PG_URL} is set, but DAGSTER_HOME={config.parent} keeps its runs in "
            "SQLite (its dagster.yaml names no storage); unset DAGSTER_HOME to use the "
            "home's dagster-pg folder, or give that dagster.yaml the PostgreSQL storage."
        )
    if not settings.instance_pg_url and INSTANCE_PG_URL in text:
        raise OemkpiError(
            f"{config} reads {INSTANCE_PG_URL}, which is not set; set it, or unset "
            "DAGSTER_HOME to use the home's SQLite instance."
        )
