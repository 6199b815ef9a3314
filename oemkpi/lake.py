"""The warehouse on DuckLake: Parquet files under a shared path, the catalog in PostgreSQL.

The scale-out profile's warehouse (SPEC section 7). The same ``sql/`` files run
on it as on the DuckDB file; only the opening differs:

* DuckDB starts with automatic extension installs and loads off, and LOADs the
  postgres and ducklake extensions from their Python packages: nothing is ever
  downloaded at run time, and a missing package fails at once.
* The catalog's password goes to DuckDB as a secret (a bound parameter) that
  ATTACH names as its ``meta_secret``, never into the ATTACH string, which DuckDB
  repeats in its error messages. (A secret ATTACH does not name is not used:
  checked against a PostgreSQL that asks for passwords.)
* The catalog is attached as ``lake`` and made the default database, so the
  unqualified table names in ``sql/`` are the lake's.

Concurrency. Each process attaches once (DuckDB, the extensions and the
attach cost a good part of a second) and hands out cursors on that instance.
The first attach and the schema are made under a PostgreSQL advisory lock:
concurrent first attaches of an empty catalog, or concurrent ``create table``,
fail otherwise. A writer holds the catalog's advisory lock ``oemkpi:warehouse``
for as long as its connection is open, so writers take turns as they do on the
DuckDB file, and DuckLake's commit conflicts (which NOTES.md measured at 25-75 %
of commits between unlocked writers) cannot happen between them. The lock is a
session's, so it ends when its process dies: a killed run never keeps it. A
reader works inside one read transaction, so everything it reads comes from one
snapshot, never from a half-replaced month (DuckLake commits are atomic).
"""

from __future__ import annotations

import importlib.resources
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from oemkpi.errors import OemkpiError
from oemkpi.postgres import Target, advisory_lock, wait_for_lock
from oemkpi.settings import LAKE_CATALOG, LAKE_DATA, Lake, masked
from oemkpi.warehouse import (
    DUCKDB_CONFIG,
    Generated,
    WarehouseConflict,
    ensure_schema,
    render_sql,
    sql,
)

#: (package, extension) in load order: ducklake reaches its catalog through postgres.
EXTENSIONS = (
    ("duckdb_extension_postgres_scanner", "postgres_scanner"),
    ("duckdb_extension_ducklake", "ducklake"),
)
ALIAS = "lake"
#: The DuckDB secret (sql/schema/create_catalog_secret.sql) holding the catalog's password.
SECRET = "oemkpi_catalog"
#: Advisory lock keys in the catalog database.
WRITE_LOCK = "oemkpi:warehouse"
SCHEMA_LOCK = "oemkpi:lake-schema"

_NO_DOWNLOADS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def extension_path(package: str, name: str) -> Path:
    """The extension binary shipped by its Python package, for this DuckDB version."""
    version = duckdb.__version__
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        root = None
    path = Path(str(root)) / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if root is None or not path.is_file():
        raise OemkpiError(
            f"The DuckDB extension {name} for DuckDB {version} is not installed (package "
            f"{package.replace('_', '-')}=={version}); run `make setup`."
        )
    return path


def _literal(text: str) -> Generated:
    """Text of our own (a path, a libpq string without password) as an SQL string literal."""
    return Generated("'" + text.replace("'", "''") + "'")


def catalog_target(lake: Lake) -> Target:
    return Target.parse(LAKE_CATALOG, lake.catalog)


def check_data_path(lake: Lake) -> Path:
    """The data path, if this machine has it as a folder; else one sentence."""
    path = Path(lake.data_path)
    if not path.is_dir():
        raise OemkpiError(
            f"The DuckLake data path {path} ({LAKE_DATA}) does not exist on this machine; "
            "mount the shared folder there (the same path on every machine), or create it."
        )
    return path


def attach(lake: Lake, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """A new DuckDB instance with the lake attached as its default database.

    Needs the catalog to be initialised already, or to be the only one attaching:
    :func:`_base` takes care of that.
    """
    target = catalog_target(lake)
    data = check_data_path(lake)
    con = duckdb.connect(config={**DUCKDB_CONFIG, **_NO_DOWNLOADS, **(config or {})})
    try:
        for package, name in EXTENSIONS:
            con.execute(
                render_sql(
                    "schema/load_extension", path=_literal(str(extension_path(package, name)))
                )
            )
        con.execute(sql("schema/create_catalog_secret"), {"password": target.password})
        statement = render_sql(
            "schema/attach_lake",
            catalog=_literal(f"ducklake:postgres:{target.dsn()}"),
            data_path=_literal(str(data)),
            secret=_literal(SECRET),
        )
        try:
            con.execute(statement)
        except duckdb.Error as err:
            raise OemkpiError(_attach_problem(err, lake, target)) from None
        con.execute(sql("schema/use_lake"))
    except BaseException:
        con.close()
        raise
    return con


def _attach_problem(err: duckdb.Error, lake: Lake, target: Target) -> str:
    text = str(err)
    stored = re.search(r'existing data path in the catalog "([^"]*)"', text)
    if stored:
        return (
            f"The DuckLake catalog keeps its files under {stored.group(1)}, not under "
            f"{lake.data_path} ({LAKE_DATA}); mount the share at that path on every machine, "
            f"or set {LAKE_DATA} to it."
        )
    if "Unable to connect to Postgres" in text:
        return target.problem(err)
    return (
        f"The DuckLake catalog at {target.where} ({LAKE_CATALOG}) could not be attached: "
        f"{masked(text.strip().splitlines()[0])}."
    )


#: One attached instance per process (and per lake): see the module docstring. Keyed by
#: the lake; the pid guards against a forked child reusing its parent's instance.
_BASES: dict[Lake, tuple[int, duckdb.DuckDBPyConnection]] = {}


def _base(lake: Lake) -> duckdb.DuckDBPyConnection:
    cached = _BASES.get(lake)
    if cached is not None and cached[0] == os.getpid():
        return cached[1]
    with advisory_lock(catalog_target(lake), SCHEMA_LOCK):
        con = attach(lake)
        ensure_schema(con)
    _BASES[lake] = (os.getpid(), con)
    return con


def forget(lake: Lake) -> None:
    """Drop this process's attached instance (after the catalog went away, or in tests)."""
    cached = _BASES.pop(lake, None)
    if cached is not None and cached[0] == os.getpid():
        cached[1].close()


@contextmanager
def lake_warehouse(lake: Lake, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the lake: a writer holds the write lock, a reader one snapshot."""
    base = _base(lake)
    session = None
    try:
        if not read_only:
            session = catalog_target(lake).connect()
            wait_for_lock(session, WRITE_LOCK)
        con = base.cursor()
        try:
            con.execute(sql("schema/use_lake"))
            if read_only:
                con.begin()
            yield con
        except duckdb.Error as err:
            if is_conflict(err):
                raise WarehouseConflict(
                    "Another writer committed to the DuckLake warehouse while this step was "
                    "writing it (a DuckLake transaction conflict); nothing of this step's "
                    "open transaction was kept."
                ) from err
            if _lost_catalog(err):
                forget(lake)
            raise
        finally:
            con.close()
    finally:
        if session is not None:
            session.close()


def is_conflict(err: BaseException | None) -> bool:
    """Whether ``err`` (or what it was raised from) is a DuckLake commit conflict."""
    while err is not None:
        text = str(err)
        if isinstance(err, duckdb.TransactionException) and (
            "Transaction conflict" in text or "ducklake_max_retry_count" in text
        ):
            return True
        err = err.__cause__ or err.__context__
    return False


def _lost_catalog(err: BaseException) -> bool:
    text = str(err)
    return "Postgres" in text and ("connection" in text.lower() or "server closed" in text)
