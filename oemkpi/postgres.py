"""PostgreSQL sessions of our own: connecting with one clear sentence, and advisory locks.

The scale-out profile keeps two things in PostgreSQL (the Dagster instance and
the DuckLake catalog). oemkpi opens its own short sessions to them for
advisory locks (one writer of the warehouse at a time, one creator of a
schema, a run's proof of life) and for ``oemkpi doctor``. A session's locks end
with it, also when its process is killed, which is what makes them safe where a
Dagster pool slot is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions

from oemkpi.errors import OemkpiError
from oemkpi.settings import masked

#: How long a new session may take to connect before the server counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database as named by one of the settings, password kept apart."""

    variable: str  # the environment variable it came from, for messages
    params: dict[str, str]  # libpq parameters without the password
    password: str | None

    @classmethod
    def parse(cls, variable: str, value: str) -> Target:
        """A libpq key/value string or a ``postgresql://`` URL (``+psycopg2`` allowed)."""
        text = value.replace("postgresql+psycopg2://", "postgresql://", 1)
        try:
            params = dict(psycopg2.extensions.parse_dsn(text))
        except psycopg2.ProgrammingError:
            raise OemkpiError(
                f"{variable} is not a PostgreSQL connection string I can read ({masked(value)})."
            ) from None
        password = params.pop("password", None)
        return cls(variable, params, password)

    @property
    def where(self) -> str:
        host = self.params.get("host") or "localhost"
        return f"{host}:{self.params.get('port') or 5432}"

    @property
    def user(self) -> str:
        return self.params.get("user") or "(the login user)"

    @property
    def dbname(self) -> str:
        return self.params.get("dbname") or self.params.get("user") or "(the default)"

    def dsn(self) -> str:
        """libpq key/value string without the password (safe to show, safe in errors)."""
        return psycopg2.extensions.make_dsn(**self.params)

    def connect(self) -> Any:
        """A new autocommit session, or an :class:`OemkpiError` saying what is wrong."""
        try:
            con = psycopg2.connect(
                self.dsn(),
                password=self.password,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="oemkpi",
            )
        except psycopg2.Error as err:
            raise OemkpiError(self.problem(err)) from None
        con.autocommit = True
        return con

    def problem(self, err: BaseException) -> str:
        """One sentence for a failed connection: what is wrong and what to do."""
        text = str(err)
        var, where = self.variable, self.where
        if "password authentication failed" in text or "no password supplied" in text:
            return (
                f"The PostgreSQL server at {where} refused the password for user {self.user} "
                f"({var}); put the right password in {var}."
            )
        if "does not exist" in text and "database" in text:
            return (
                f"The database {self.dbname} does not exist on the PostgreSQL server at {where} "
                f"({var}); create it (createdb {self.dbname}) or correct the name."
            )
        if "role" in text and "does not exist" in text:
            return (
                f"The PostgreSQL server at {where} has no user {self.user} ({var}); "
                "create the role or correct the user."
            )
        if "pg_hba.conf" in text:
            return (
                f"The PostgreSQL server at {where} does not let user {self.user} in from this "
                f"machine (its pg_hba.conf) ({var}); ask its administrator to allow it."
            )
        if any(
            s in text for s in ("Connection refused", "could not connect", "timeout", "No route")
        ):
            return (
                f"Nothing answers at {where} ({var}): start PostgreSQL there, or correct the "
                "host and port."
            )
        first = masked(text.strip().splitlines()[0]) if text.strip() else type(err).__name__
        return f"The PostgreSQL server at {where} ({var}) could not be used: {first}."


def try_lock(session: Any, key: str) -> bool:
    """Take the session-level advisory lock ``key`` if nobody holds it."""
    with session.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(hashtext(%s))", (key,))
        return bool(cur.fetchone()[0])


def unlock(session: Any, key: str) -> None:
    with session.cursor() as cur:
        cur.execute("select pg_advisory_unlock(hashtext(%s))", (key,))


def wait_for_lock(
    session: Any,
    key: str,
    *,
    on_wait: Callable[[], None] = lambda: None,
    poll_seconds: float = 0.2,
) -> None:
    """Take ``key`` on ``session``, waiting while another session holds it.

    Polls instead of blocking in ``pg_advisory_lock`` so that Ctrl-C and SIGTERM stop
    a waiting process at once. ``on_wait`` is called once, when the wait begins.
    """
    delay = 0.02
    waited = False
    while not try_lock(session, key):
        if not waited:
            on_wait()
            waited = True
        time.sleep(delay)
        delay = min(delay * 2, poll_seconds)


@contextmanager
def advisory_lock(target: Target, key: str, **wait: Any) -> Iterator[Any]:
    """Hold ``key`` in a session of its own for the block; the session ends with it."""
    session = target.connect()
    try:
        wait_for_lock(session, key, **wait)
        yield session
    finally:
        session.close()
