"""``oemkpi doctor``: which profile is in force, and whether each configured server works.

Each check is one line: ``ok`` with what it found (versions, counts), or
``problem`` with one sentence saying what is wrong and what to do. It never
writes to a server: an empty DuckLake catalog or Dagster database is reported
as such (the first run creates their tables). Passwords are masked in all it prints.
"""

from __future__ import annotations

import importlib.metadata
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.settings import CELERY_BROKER, INSTANCE_PG_URL, LAKE_DATA, Lake, Settings, masked

#: The oldest PostgreSQL accepted for the catalog and the instance.
MIN_POSTGRES = 120000
BROKER_TIMEOUT_SECONDS = 5


@dataclass
class Check:
    what: str
    ok: bool
    detail: str


def run_checks(home: Home, settings: Settings) -> list[Check]:
    """Every check the profile calls for, in order; none raises."""
    checks = [_check("versions", _versions, settings)]
    if settings.instance_pg_url:
        checks.append(_check("Dagster instance", _instance, settings.instance_pg_url))
    if settings.lake:
        checks.append(_check("DuckLake extensions", _extensions))
        checks.append(_check("DuckLake data path", _data_path, settings.lake))
        checks.append(_check("DuckLake catalog", _catalog, settings.lake))
    else:
        checks.append(_check("warehouse", _warehouse_file, home))
    if settings.celery_broker:
        checks.append(_check("Celery broker", _broker, settings.celery_broker))
        if checks[-1].ok:
            checks.append(_check("Celery workers", _workers, settings.celery_broker))
    return checks


def _check(what: str, fn: Callable[..., str], *args: Any) -> Check:
    try:
        return Check(what, True, fn(*args))
    except OemkpiError as err:
        return Check(what, False, str(err))
    except Exception as err:  # a check reports; it never ends the doctor
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return Check(what, False, f"{type(err).__name__}: {masked(first)}")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _versions(settings: Settings) -> str:
    import duckdb

    names = ["dagster", "duckdb"]
    if settings.instance_pg_url:
        names.append("dagster-postgres")
    if settings.lake:
        extensions = ["duckdb-extension-ducklake", "duckdb-extension-postgres-scanner"]
        for package in extensions:
            if _version(package) != duckdb.__version__:
                raise OemkpiError(
                    f"{package} is {_version(package)}, not DuckDB's {duckdb.__version__}; "
                    "run `make setup` to install the locked versions."
                )
        names += extensions
    if settings.celery_broker:
        names += ["dagster-celery", "celery", "kombu"]
    return ", ".join(f"{n} {_version(n)}" for n in names)


def _server(session: Any, variable: str, where: str) -> str:
    with session.cursor() as cur:
        cur.execute("select current_setting('server_version_num')::int, version()")
        number, text = cur.fetchone()
    if number < MIN_POSTGRES:
        raise OemkpiError(
            f"The PostgreSQL server at {where} ({variable}) is {text.split(',')[0]}; "
            "oemkpi needs PostgreSQL 12 or newer."
        )
    return str(text.split(" on ")[0])


def _table_exists(session: Any, name: str) -> bool:
    with session.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (name,))
        return bool(cur.fetchone()[0])


def _database(target: Any, marker: str, what: str) -> tuple[Any, str]:
    """A session to ``target``'s database and its description, or an open session and
    ``"empty"`` when the table ``marker`` (made by the first run) is not there yet."""
    session = target.connect()
    try:
        version = _server(session, target.variable, target.where)
        where = f"{version} at {target.where}, database {target.dbname}"
        if not _table_exists(session, marker):
            session.close()
            return None, f"{where}: empty (the first run creates {what}'s tables)"
    except BaseException:
        session.close()
        raise
    return session, where


def _instance(url: str) -> str:
    from oemkpi.postgres import Target

    session, where = _database(Target.parse(INSTANCE_PG_URL, url), "runs", "Dagster")
    if session is None:
        return where
    try:
        with session.cursor() as cur:
            cur.execute("select count(*) from runs")
            return f"{where}: {cur.fetchone()[0]} runs"
    finally:
        session.close()


def _extensions() -> str:
    import duckdb

    from oemkpi.lake import EXTENSIONS, extension_path

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        for package, name in EXTENSIONS:
            path = extension_path(package, name)
            try:
                con.execute(f"load '{path}'")
            except duckdb.Error as err:
                raise OemkpiError(
                    f"The DuckDB extension {name} at {path} does not load "
                    f"({str(err).splitlines()[0]}); run `make setup` to reinstall it."
                ) from None
    finally:
        con.close()
    return "ducklake and postgres_scanner load from their packages (nothing downloaded)"


def _data_path(lake: Lake) -> str:
    from oemkpi.lake import check_data_path

    path = check_data_path(lake)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".oemkpi-doctor-"):
            pass
    except OSError as err:
        raise OemkpiError(
            f"The DuckLake data path {path} cannot be written from this machine ({err.strerror}); "
            "give this user write access to the share."
        ) from None
    return f"{path} is a folder this machine can write"


def _catalog(lake: Lake) -> str:
    from oemkpi.lake import catalog_target

    session, where = _database(catalog_target(lake), "ducklake_metadata", "DuckLake")
    if session is None:
        return where
    try:
        with session.cursor() as cur:
            cur.execute("select value from ducklake_metadata where key = 'data_path'")
            row = cur.fetchone()
            cur.execute("select count(*) from ducklake_table where end_snapshot is null")
            tables = cur.fetchone()[0]
    finally:
        session.close()
    stored = (row[0] if row else "").rstrip("/")
    if stored and stored != lake.data_path.rstrip("/"):
        raise OemkpiError(
            f"The DuckLake catalog keeps its files under {stored}, not under {lake.data_path} "
            f"({LAKE_DATA}); mount the share at that path on every machine, or set "
            f"{LAKE_DATA} to it."
        )
    return f"{where}: {tables} tables"


def _warehouse_file(home: Home) -> str:
    if home.warehouse.exists():
        return f"DuckDB file {home.warehouse}"
    return f"DuckDB file {home.warehouse} (not there yet: the first run creates it)"


def _broker(broker: str) -> str:
    parts = urlsplit(broker)
    where = f"{parts.hostname}:{parts.port or (6379 if parts.scheme.startswith('redis') else 5672)}"
    try:
        if parts.scheme.startswith("redis"):
            import redis

            client = redis.Redis.from_url(broker, socket_connect_timeout=BROKER_TIMEOUT_SECONDS)
            try:
                return f"Redis {client.info('server')['redis_version']} at {where}"
            finally:
                client.close()
        import kombu

        with kombu.Connection(broker, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.connect()
            version = conn.connection.server_properties.get("version", "?")
            return f"RabbitMQ {version} at {where}"
    except Exception as err:
        raise OemkpiError(_broker_problem(err, where)) from None


def _broker_problem(err: Exception, where: str) -> str:
    text = f"{type(err).__name__} {err}"
    if any(s in text for s in ("ACCESS_REFUSED", "AuthenticationError", "WRONGPASS", "NOAUTH")):
        return (
            f"The broker at {where} refused the user or password ({CELERY_BROKER}); put the "
            f"right ones in {CELERY_BROKER}."
        )
    if any(s in text for s in ("refused", "Connection", "timed out", "Timeout")):
        return (
            f"Nothing answers at {where} ({CELERY_BROKER}): start Redis or RabbitMQ there, "
            "or correct the host and port."
        )
    return f"The broker at {where} ({CELERY_BROKER}) could not be used: {masked(str(err))}."


def _workers(broker: str) -> str:
    from pipelines.celery_steps import celery_app

    answers = celery_app(broker).control.ping(timeout=2.0) or []
    names = sorted(name for answer in answers for name in answer)
    if not names:
        raise OemkpiError(
            "No Celery worker answered: runs will wait for one; start `oemkpi worker` on a "
            "machine with the code and the same settings."
        )
    return f"{len(names)} answered: {', '.join(names)}"


def print_report(home: Home, settings: Settings, say: Callable[[str], None]) -> bool:
    """Print the profile and every check; whether all passed."""
    say(f"Profile: {settings.profile}")
    for part, where in settings.describe():
        say(f"  {part:<10} {where}")
    say(f"  home       {home.root}")
    checks = run_checks(home, settings)
    for check in checks:
        say(f"{'ok' if check.ok else 'problem':<8} {check.what}: {check.detail}")
    return all(c.ok for c in checks)
