"""The Dagster instance the CLI and the UI share (SPEC section 2).

``DAGSTER_HOME`` defaults to ``$OEMKPI_HOME/dagster``. Its ``dagster.yaml`` is
written when absent, with the concurrency pool limit that keeps two runs
from writing the DuckDB file at once, and the instance's storage is created
under a file lock so processes started together do not race to create it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import MutableMapping
from pathlib import Path

from oemkpi.home import Home

DAGSTER_YAML = """\
# Written by oemkpi when absent; edit freely, it is not overwritten.
# Every asset that touches warehouse.duckdb runs in one pool: one at a time.
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def dagster_home(home: Home, environ: MutableMapping[str, str] | None = None) -> Path:
    """``$DAGSTER_HOME`` if set, else ``<home>/dagster``; exported for Dagster to read."""
    env = os.environ if environ is None else environ
    path = Path(env.get("DAGSTER_HOME") or home.dagster_home).expanduser().resolve()
    env["DAGSTER_HOME"] = str(path)
    return path


def ensure_instance(home: Home, environ: MutableMapping[str, str] | None = None) -> Path:
    """Create ``DAGSTER_HOME``, its ``dagster.yaml`` and its storage, once, safely."""
    path = dagster_home(home, environ)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    with (path / ".oemkpi-init.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not config.exists():
            config.write_text(DAGSTER_YAML, encoding="utf-8")
        import dagster as dg

        # Creating the instance creates and migrates its SQLite storage.
        with dg.DagsterInstance.from_config(str(path)) as instance:
            instance.get_runs_count()
    return path
