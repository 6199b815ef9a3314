"""Dagster's PostgreSQL storage, taking ``postgresql://`` URLs as users write them.

dagster-postgres hands its URL to SQLAlchemy unchanged, and SQLAlchemy 2.1 reads
``postgresql://`` as the psycopg 3 driver, which is not installed (and on which
dagster-postgres's ``NOTIFY run_events, %(notify_id)s`` fails with a syntax
error). Every process that loads the instance (the CLI, ``dagster dev``, the
daemon, Celery workers) reads the same ``dagster.yaml``, which can only say
``{env: OEMKPI_INSTANCE_PG_URL}``, so the rewrite to ``postgresql+psycopg2://``
lives here, in the storage class the written ``dagster.yaml`` names. The URL
(and its password) stays in the environment: the instance's config, and the
instance reference Celery tasks carry, hold only ``{env: ...}``.
"""

from __future__ import annotations

from typing import Any

from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
from sqlalchemy.engine import make_url


def psycopg2_url(url: str) -> str:
    """``url`` with the psycopg2 driver named (``postgres://`` and ``postgresql://`` alike)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}://")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


class PostgresStorage(DagsterPostgresStorage):
    """``DagsterPostgresStorage`` with :func:`psycopg2_url` applied to its URL."""

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PostgresStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=psycopg2_url(pg_url_from_config(config_value)),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
