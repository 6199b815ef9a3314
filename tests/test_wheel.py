"""The wheel runs on its own: built, installed without ``-e`` into a fresh virtual
environment outside the checkout, and ``oemkpi demo`` run from an empty folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UV = REPO / ".tools" / "bin" / "uv"

pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    return done


def test_the_wheel_installs_and_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    if not UV.exists():
        pytest.skip("needs the repository's uv in .tools/ (make setup installs it)")
    # A clean environment: nothing points back at the checkout.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OEMKPI_", "DAGSTER_"))}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    dist = tmp_path / "dist"
    # Built by hatchling from the project environment: no download, no build isolation.
    _run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)], REPO, env)
    (wheel,) = dist.glob("oemkpi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for packaged in (
        "oemkpi/_bundled/sql/kpis/insert_kpi_values_month.sql",
        "oemkpi/_bundled/expectations/windows_share.json",
        "oemkpi/_bundled/reports/templates/monthly_update.html.j2",
        "pipelines/definitions.py",
        "assets/feeds.py",
    ):
        assert packaged in names, packaged
    assert not any(n.startswith(("tests/", "bench/")) for n in names)

    # The locked versions of the dependencies, taken from uv's cache as `make setup` left it.
    constraints = tmp_path / "constraints.txt"
    exported = _run(
        [str(UV), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"], REPO, env
    )
    constraints.write_text(exported.stdout, encoding="utf-8")
    venv = tmp_path / "venv"
    _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "-c",
            str(constraints),
            str(wheel),
        ],
        tmp_path,
        env,
    )

    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run(
        [str(python), "-c", "import oemkpi, pipelines; print(oemkpi.__file__, pipelines.__file__)"],
        empty,
        env,
    )
    assert str(REPO) not in where.stdout and str(venv) in where.stdout, where.stdout
    demo = _run(
        [str(venv / "bin" / "oemkpi"), "demo", "--months", "3", "--partners", "2"], empty, env
    )
    reports = empty / "data" / "reports"
    months = sorted(p.name for p in reports.iterdir())
    assert len(months) == 3
    latest = reports / months[-1]
    assert (latest / "index.html").is_file()
    assert len(list(latest.glob("*.json"))) == 2
    # The demo delivers its newest month to the outbox (no delivery.yaml) and says where.
    outbox = empty / "data" / "outbox" / months[-1]
    assert len(list(outbox.glob("pam-*.eml"))) == 2
    assert f"Messages of {months[-1]}: {outbox.resolve()} (.eml files" in demo.stdout
    assert f"Regional packs: {(latest / 'regions').resolve()}" in demo.stdout
    assert (latest / "regions").is_dir() and any((latest / "regions").glob("*.html"))
    assert not (empty / "workspace.yaml").exists()
    shutil.rmtree(venv)  # the environment is large; leave the test folder small
