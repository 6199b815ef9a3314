"""The profile comes from four variables, is checked before anything runs, and hides passwords.

Pure rules, no servers: which combinations are valid (SPEC section 7) and the
one sentence for each invalid one, masking, the URL rewrite for
dagster-postgres, the ``dagster.yaml`` each profile writes or refuses, the
executor chosen when a run starts, and the guard on dagster-celery internals.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from pathlib import Path

import pytest
import yaml

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.settings import Settings, masked
from pipelines import cli
from pipelines.instance import DAGSTER_PG_YAML, DAGSTER_YAML, check_config, dagster_home
from pipelines.pg_storage import psycopg2_url

PG = "postgresql://oemkpi:pw1@db.example:5432/dagster"
CAT = "dbname=lake host=db.example user=oemkpi password=pw2"
DATA = "/mnt/oemkpi-lake"
BROKER = "redis://:pw3@mq.example:6379/0"
NAMES = {
    "PG": "OEMKPI_INSTANCE_PG_URL",
    "CAT": "OEMKPI_LAKE_CATALOG",
    "DATA": "OEMKPI_LAKE_DATA",
    "BROKER": "OEMKPI_CELERY_BROKER",
}
VALUES = {"PG": PG, "CAT": CAT, "DATA": DATA, "BROKER": BROKER}


def _env(*names: str, **values: str) -> dict[str, str]:
    env = {NAMES[n]: VALUES[n] for n in names}
    env.update({NAMES[k]: v for k, v in values.items()})
    return env


@pytest.mark.parametrize(
    ("names", "profile"),
    [
        ((), "embedded (SQLite instance, DuckDB file, steps in process)"),
        (("PG",), "shared instance (PostgreSQL instance, DuckDB file, steps in process)"),
        (("CAT", "DATA"), "DuckLake (SQLite instance, DuckLake warehouse, steps in process)"),
        (
            ("PG", "CAT", "DATA"),
            "shared (PostgreSQL instance, DuckLake warehouse, steps in process)",
        ),
        (
            ("PG", "CAT", "DATA", "BROKER"),
            "scale-out (PostgreSQL instance, DuckLake warehouse, Celery workers)",
        ),
    ],
)
def test_valid_combinations(names: tuple[str, ...], profile: str) -> None:
    settings = Settings.from_env(_env(*names))
    assert settings.profile == profile
    assert settings.uses_celery == ("BROKER" in names)
    assert (settings.lake is not None) == ("CAT" in names)
    text = " ".join(f"{part} {where}" for part, where in settings.describe())
    for secret in ("pw1", "pw2", "pw3"):
        assert secret not in text


CELERY_NEEDS_BOTH = (
    "OEMKPI_CELERY_BROKER needs OEMKPI_INSTANCE_PG_URL and OEMKPI_LAKE_CATALOG/OEMKPI_LAKE_DATA "
    "as well: workers on other machines can reach neither a SQLite instance nor a DuckDB file; "
    "set them, or unset OEMKPI_CELERY_BROKER to run steps in process."
)


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        (
            _env("CAT"),
            "OEMKPI_LAKE_CATALOG is set but OEMKPI_LAKE_DATA is not: DuckLake needs both its "
            "PostgreSQL catalog and the folder for its Parquet files; set both, or neither for "
            "the DuckDB file.",
        ),
        (
            _env("PG", "DATA"),
            "OEMKPI_LAKE_DATA is set but OEMKPI_LAKE_CATALOG is not: DuckLake needs both its "
            "PostgreSQL catalog and the folder for its Parquet files; set both, or neither for "
            "the DuckDB file.",
        ),
        (_env("BROKER"), CELERY_NEEDS_BOTH),
        (_env("PG", "BROKER"), CELERY_NEEDS_BOTH),
        (_env("CAT", "DATA", "BROKER"), CELERY_NEEDS_BOTH),
        (
            _env(PG="mysql://oemkpi:pw1@db.example/dagster"),
            "OEMKPI_INSTANCE_PG_URL must be a postgresql:// URL with a host, not "
            "'mysql://oemkpi:***@db.example/dagster'.",
        ),
        (
            _env(PG="postgresql://oemkpi:pw1@db.example:port/dagster"),
            "OEMKPI_INSTANCE_PG_URL is not a URL I can read "
            "(postgresql://oemkpi:***@db.example:port/dagster).",
        ),
        (
            _env("PG", "CAT", "DATA", BROKER="http://mq.example/"),
            "OEMKPI_CELERY_BROKER must be a redis:// or amqp:// URL with a host, not "
            "'http://mq.example/'.",
        ),
        (
            _env("DATA", CAT="lake"),
            "OEMKPI_LAKE_CATALOG must be a libpq connection string such as "
            "'dbname=lake host=db.example user=oemkpi' or a postgresql:// URL, not 'lake'.",
        ),
        (
            _env("CAT", DATA="lake-data"),
            "OEMKPI_LAKE_DATA must be an absolute path that every machine mounts at the same "
            "place, not 'lake-data'.",
        ),
    ],
)
def test_invalid_combinations_are_refused_in_one_sentence(
    env: dict[str, str], sentence: str
) -> None:
    with pytest.raises(OemkpiError) as caught:
        Settings.from_env(env)
    assert str(caught.value) == sentence
    assert not any(secret in str(caught.value) for secret in ("pw1", "pw2", "pw3"))


def test_blank_variables_count_as_unset() -> None:
    assert Settings.from_env({n: "  " for n in NAMES.values()}) == Settings()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://u:pw1@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("redis://:pw3@h:6379/0", "redis://:***@h:6379/0"),
        ("amqp://guest:guest@h:5672//", "amqp://guest:***@h:5672//"),
        ("dbname=l host=h password=pw2 user=u", "dbname=l host=h password=*** user=u"),
        ("dbname=l password = 'p w\\'2' host=h", "dbname=l password = *** host=h"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_masked(text: str, shown: str) -> None:
    assert masked(text) == shown


@pytest.mark.parametrize(
    ("url", "rewritten"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg2://u:p@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+psycopg2://u:p@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg2://u@h/db"),
    ],
)
def test_dagster_postgres_gets_the_psycopg2_driver(url: str, rewritten: str) -> None:
    assert psycopg2_url(url) == rewritten


def test_a_url_of_another_database_is_not_rewritten() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        psycopg2_url("mysql://u@h/db")


def test_each_profile_has_its_own_dagster_home(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    assert dagster_home(home, {}, Settings()) == tmp_path / "dagster"
    assert dagster_home(home, {}, Settings(instance_pg_url=PG)) == tmp_path / "dagster-pg"
    assert dagster_home(home, {"DAGSTER_HOME": "/x/dh"}, Settings(instance_pg_url=PG)) == Path(
        "/x/dh"
    )


def test_the_postgresql_dagster_yaml_names_the_variable_never_its_value() -> None:
    config = yaml.safe_load(DAGSTER_PG_YAML)
    assert config["storage"] == {
        "custom": {
            "module": "pipelines.pg_storage",
            "class": "PostgresStorage",
            "config": {"postgres_url": {"env": "OEMKPI_INSTANCE_PG_URL"}},
        }
    }
    assert config["run_monitoring"]["enabled"] is True
    assert config["concurrency"] == {"pools": {"default_limit": 1}}


@pytest.mark.parametrize(
    ("written", "settings", "sentence"),
    [
        (
            DAGSTER_YAML,
            Settings(instance_pg_url=PG),
            "OEMKPI_INSTANCE_PG_URL is set, but DAGSTER_HOME={dir} keeps its runs in SQLite "
            "(its dagster.yaml names no storage); unset DAGSTER_HOME to use the home's "
            "dagster-pg folder, or give that dagster.yaml the PostgreSQL storage.",
        ),
        (
            DAGSTER_PG_YAML,
            Settings(),
            "{dir}/dagster.yaml reads OEMKPI_INSTANCE_PG_URL, which is not set; set it, or "
            "unset DAGSTER_HOME to use the home's SQLite instance.",
        ),
        (DAGSTER_YAML, Settings(), None),
        (DAGSTER_PG_YAML, Settings(instance_pg_url=PG), None),
    ],
)
def test_a_dagster_yaml_that_contradicts_the_settings_is_refused(
    tmp_path: Path, written: str, settings: Settings, sentence: str | None
) -> None:
    config = tmp_path / "dagster.yaml"
    config.write_text(written, encoding="utf-8")
    if sentence is None:
        check_config(config, settings)
        return
    with pytest.raises(OemkpiError) as caught:
        check_config(config, settings)
    assert str(caught.value) == sentence.format(dir=tmp_path)


def test_the_cli_refuses_an_invalid_combination_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OEMKPI_CELERY_BROKER", BROKER)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert cli.main(["--home", str(tmp_path / "home"), "run", "--month", "2026-03"]) == 2
    assert capsys.readouterr().err == f"oemkpi: {CELERY_NEEDS_BOTH}\n"
    assert list(tmp_path.iterdir()) == []  # no home, no instance: nothing ran


def test_the_executor_is_chosen_when_a_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.celery_steps import WatchedCeleryExecutor
    from pipelines.executor import InProcessRunExecutor, oemkpi_executor

    for name in NAMES.values():
        monkeypatch.delenv(name, raising=False)
    assert isinstance(oemkpi_executor.executor_creation_fn(None), InProcessRunExecutor)  # type: ignore[misc,arg-type]
    for name, value in _env("PG", "CAT", "DATA", "BROKER").items():
        monkeypatch.setenv(name, value)
    executor = oemkpi_executor.executor_creation_fn(None)  # type: ignore[misc,arg-type]
    assert isinstance(executor, WatchedCeleryExecutor)
    assert executor.broker == BROKER and executor.backend == BROKER
    assert executor.retries.enabled


def test_the_dagster_celery_internals_we_call_are_as_written_for() -> None:
    """When this fails, dagster-celery or celery moved: re-check pipelines/celery_steps.py."""
    from dagster_celery.executor import _submit_task

    from pipelines.celery_steps import WRITTEN_FOR

    for package, minor in WRITTEN_FOR.items():
        assert importlib.metadata.version(package).startswith(minor + "."), package
    assert list(inspect.signature(_submit_task).parameters) == [
        "app",
        "plan_context",
        "step",
        "queue",
        "priority",
        "known_state",
    ]


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            ["worker"],
            "oemkpi worker takes steps from a Celery broker: set OEMKPI_CELERY_BROKER (and the "
            "instance and DuckLake settings) as on the machines that launch runs.",
        ),
        (
            ["run", "--month", "2026-03", "--queue", "emea"],
            "--queue names a Celery queue; it needs OEMKPI_CELERY_BROKER to be set.",
        ),
    ],
)
def test_the_celery_options_need_a_broker(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    sentence: str,
) -> None:
    for name in NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    assert cli.main(["--home", str(tmp_path / "home"), *argv]) == 2
    assert capsys.readouterr().err == f"oemkpi: {sentence}\n"
    assert not (tmp_path / "dagster").exists()
