"""Shared fixtures: every test builds its own data home under ``tmp_path``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from oemkpi.home import Home
from oemkpi.quiet_exit import quiet_exit

_EXIT_STATUS = pytest.StashKey[int]()

PARTNERS_CSV = (
    "partner_id,partner_name,region,pam_name,pam_email\n"
    "acme,Acme PCs,EMEA,Ann Lee,ann@example.com\n"
    "bolt-pc,Bolt PC,APJ,Bo Chen,bo@example.com\n"
)
COUNTRIES_CSV = (
    "country,country_name,region,subregion\n"
    "DE,Germany,EMEA,Western Europe\n"
    "JP,Japan,APJ,Japan\n"
    "BR,Brazil,Americas,LATAM\n"
)


@pytest.fixture(scope="session", autouse=True)
def _matplotlib_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """matplotlib's font list in the session's own folder, not the developer's home (each
    test process builds it once; a command a test starts inherits it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))
        yield


def write_reference(root: Path) -> None:
    reference = root / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    (reference / "partners.csv").write_text(PARTNERS_CSV, encoding="utf-8")
    (reference / "countries.csv").write_text(COUNTRIES_CSV, encoding="utf-8")
    (reference / "targets.csv").write_text(
        "partner_id,fiscal_quarter,kpi,target\n", encoding="utf-8"
    )


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """An empty data home with small reference files (partners acme, bolt-pc; DE, JP, BR)."""
    root = tmp_path / "home"
    write_reference(root)
    return Home.at(root)


DELIVERY_MONTH, DELIVERY_PRIOR = "2026-09", "2026-08"
#: Maya has two partners; Priya shares Maya's region (Americas): SPEC section 8's cases.
DELIVERY_PARTNERS_CSV = (
    "partner_id,partner_name,region,pam_name,pam_email\n"
    "aurora,Aurora Computing,Americas,Maya Okafor,maya@example.com\n"
    "borealis,Borealis Systems,EMEA,Lars Henriksen,lars@example.com\n"
    "cobalt-pc,Cobalt PC,Americas,Priya Raman,priya@example.com\n"
    "delta_systems,Delta Systems,Americas,Maya Okafor,maya@example.com\n"
)


@pytest.fixture(scope="session")
def delivery_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample home (4 partners, 4 countries, August and September 2026) run once as
    a range, which sends nothing. Tests copy it; never change it."""
    from oemkpi.sample import write_sample_home
    from pipelines.runs import run_months

    root = tmp_path_factory.mktemp("delivery") / "home"
    write_sample_home(root, end_month=DELIVERY_MONTH, months=2, partners=4, countries=4, scale=0.2)
    (root / "reference" / "partners.csv").write_text(DELIVERY_PARTNERS_CSV, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(root / "dagster"))
        summary = run_months(Home.at(root), DELIVERY_PRIOR, DELIVERY_MONTH)
    assert summary.success, summary.failure
    return root


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Dagster instance of the test's own, never the developer's."""
    path = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return path


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter teardown once pytest has printed its summary, when Great
    Expectations has run (:mod:`oemkpi.quiet_exit` says why)."""
    if "great_expectations" in sys.modules and _EXIT_STATUS in config.stash:
        quiet_exit(config.stash[_EXIT_STATUS])
