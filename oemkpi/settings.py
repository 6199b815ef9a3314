"""The deployment profile, resolved from four environment variables in one place (SPEC section 7).

With none of them set, oemkpi is the embedded default: a DuckDB file, Dagster's
SQLite instance, steps in the launching process. Each variable moves one part
onto a server:

* ``OEMKPI_INSTANCE_PG_URL``: the Dagster instance on PostgreSQL (a URL as users
  write it, ``postgresql://user:password@host:5432/db``);
* ``OEMKPI_LAKE_CATALOG`` + ``OEMKPI_LAKE_DATA``: the warehouse on DuckLake, its
  catalog in PostgreSQL (a libpq string or URL) and its Parquet files under an
  absolute path that every machine mounts at the same place;
* ``OEMKPI_CELERY_BROKER``: steps on Celery workers (``redis://`` or ``amqp://``).

:meth:`Settings.from_env` refuses an invalid combination in one sentence before
anything runs. Passwords never leave this module in text meant for people:
:func:`masked` is what every message shows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from oemkpi.errors import OemkpiError

INSTANCE_PG_URL = "OEMKPI_INSTANCE_PG_URL"
LAKE_CATALOG = "OEMKPI_LAKE_CATALOG"
LAKE_DATA = "OEMKPI_LAKE_DATA"
CELERY_BROKER = "OEMKPI_CELERY_BROKER"
VARIABLES = (INSTANCE_PG_URL, LAKE_CATALOG, LAKE_DATA, CELERY_BROKER)

_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")
_BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
#: ``password=...`` in a libpq key/value string (quoted or not) and ``user:password@`` in a URL.
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")


def masked(text: str) -> str:
    """``text`` with every password in a URL or libpq string replaced by ``***``."""
    text = _URL_PASSWORD.sub(r"\1***\3", text)
    return _KV_PASSWORD.sub(r"\1***", text)


@dataclass(frozen=True)
class Lake:
    """Where the DuckLake warehouse lives: its PostgreSQL catalog and its data path."""

    catalog: str
    data_path: str


@dataclass(frozen=True)
class Settings:
    """The resolved profile. Build it with :meth:`from_env`, which validates it."""

    instance_pg_url: str | None = None
    lake: Lake | None = None
    celery_broker: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check the four variables; an invalid combination is one sentence."""
        env = os.environ if environ is None else environ
        values = {name: (env.get(name) or "").strip() or None for name in VARIABLES}
        catalog, data = values[LAKE_CATALOG], values[LAKE_DATA]
        if bool(catalog) != bool(data):
            have, missing = (LAKE_CATALOG, LAKE_DATA) if catalog else (LAKE_DATA, LAKE_CATALOG)
            raise OemkpiError(
                f"{have} is set but {missing} is not: DuckLake needs both its PostgreSQL "
                "catalog and the folder for its Parquet files; set both, or neither for the "
                "DuckDB file."
            )
        settings = cls(
            instance_pg_url=values[INSTANCE_PG_URL],
            lake=Lake(catalog, data) if catalog and data else None,
            celery_broker=values[CELERY_BROKER],
        )
        settings._check()
        return settings

    def _check(self) -> None:
        if self.instance_pg_url is not None:
            _check_url(INSTANCE_PG_URL, self.instance_pg_url, _PG_SCHEMES, "postgresql://")
        if self.lake is not None:
            _check_catalog(self.lake.catalog)
            if not PurePosixPath(self.lake.data_path).is_absolute():
                raise OemkpiError(
                    f"{LAKE_DATA} must be an absolute path that every machine mounts at the "
                    f"same place, not {self.lake.data_path!r}."
                )
        if self.celery_broker is not None:
            _check_url(CELERY_BROKER, self.celery_broker, _BROKER_SCHEMES, "redis:// or amqp://")
            if self.instance_pg_url is None or self.lake is None:
                raise OemkpiError(
                    f"{CELERY_BROKER} needs {INSTANCE_PG_URL} and {LAKE_CATALOG}/{LAKE_DATA} "
                    "as well: workers on other machines can reach neither a SQLite instance nor "
                    f"a DuckDB file; set them, or unset {CELERY_BROKER} to run steps in process."
                )

    @property
    def profile(self) -> str:
        """The profile's name as ``oemkpi doctor`` prints it."""
        if self.celery_broker:
            return "scale-out (PostgreSQL instance, DuckLake warehouse, Celery workers)"
        if self.instance_pg_url and self.lake:
            return "shared (PostgreSQL instance, DuckLake warehouse, steps in process)"
        if self.instance_pg_url:
            return "shared instance (PostgreSQL instance, DuckDB file, steps in process)"
        if self.lake:
            return "DuckLake (SQLite instance, DuckLake warehouse, steps in process)"
        return "embedded (SQLite instance, DuckDB file, steps in process)"

    @property
    def uses_celery(self) -> bool:
        return self.celery_broker is not None

    def describe(self) -> list[tuple[str, str]]:
        """Each part and where it lives, passwords masked."""
        return [
            ("instance", masked(self.instance_pg_url) if self.instance_pg_url else "SQLite"),
            (
                "warehouse",
                f"DuckLake, catalog {masked(self.lake.catalog)}, data {self.lake.data_path}"
                if self.lake
                else "DuckDB file",
            ),
            (
                "steps",
                f"Celery, broker {masked(self.celery_broker)}"
                if self.celery_broker
                else "in process",
            ),
        ]


def _check_url(name: str, value: str, schemes: tuple[str, ...], example: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise OemkpiError(f"{name} is not a URL I can read ({masked(value)}).") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise OemkpiError(f"{name} must be a {example} URL with a host, not {masked(value)!r}.")


def _check_catalog(value: str) -> None:
    if "://" in value:
        _check_url(LAKE_CATALOG, value, _PG_SCHEMES, "postgresql://")
    elif "=" not in value:
        raise OemkpiError(
            f"{LAKE_CATALOG} must be a libpq connection string such as "
            f"'dbname=lake host=db.example user=oemkpi' or a postgresql:// URL, not {masked(value)!r}."
        )
