"""End to end through the UI's server: ``dagster dev`` on ``workspace.yaml``, a run launched
with the official GraphQL client, and the asset groups and feed checks seen over GraphQL.

The server runs in a process group of its own, on a free port, with ``OEMKPI_HOME``
and ``DAGSTER_HOME`` in ``tmp_path``; the group is always terminated at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster_graphql import DagsterGraphQLClient

from assets.checks import feed_check_specs
from oemkpi.home import Home
from oemkpi.ingest.contract import FEED_NAMES
from oemkpi.sample import write_sample_home
from pipelines.instance import ensure_instance

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
MONTH = "2026-03"
SERVER_TIMEOUT = 120.0
RUN_TIMEOUT = 180.0

ASSETS_QUERY = """
query {
  assetNodes {
    assetKey { path }
    groupName
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks { name executionForLatestMaterialization { status runId } }
      }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of the process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after ``grace`` seconds."""
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_members(pgid):
                return
            time.sleep(0.5)
    proc.poll()


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def _wait_for_server(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until ``/server_info`` answers and the code location has loaded ``monthly_update``."""
    deadline = time.monotonic() + SERVER_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited:\n{log.read_text()[-4000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                pass
            data = _graphql(
                port,
                "query { repositoriesOrError { ... on RepositoryConnection "
                "{ nodes { jobs { name } } } } }",
            )
            nodes = data["repositoriesOrError"].get("nodes") or []
            if any(job["name"] == "monthly_update" for n in nodes for job in n["jobs"]):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1.0)
    pytest.fail(
        f"dagster dev did not come up in {SERVER_TIMEOUT:.0f} s:\n{log.read_text()[-4000:]}"
    )


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[tuple[int, Home, Path]]:
    """``dagster dev`` on a two-month sample home, in its own process group."""
    home = Home.at(tmp_path / "home")
    write_sample_home(home.root, end_month=MONTH, months=2, partners=2, countries=2, scale=0.2)
    env = {**os.environ, "OEMKPI_HOME": str(home.root), "DAGSTER_HOME": str(tmp_path / "dagster")}
    ensure_instance(home, env)  # writes dagster.yaml (the warehouse pool) and the storage
    port = _free_port()
    log = tmp_path / "dagster-dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-w",
                str(REPO / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_server(proc, port, log)
        yield port, home, log
    finally:
        _stop_group(proc)
        assert proc.poll() is not None, "dagster dev is still running"
        assert not _group_members(proc.pid), "processes of dagster dev are still running"


def test_a_run_launched_over_graphql_writes_the_month_and_the_ui_shows_groups_and_checks(
    dagster_dev: tuple[int, Home, Path],
) -> None:
    port, home, log = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60)
    # A partitioned job is launched for a month by its partition tag, as the launchpad does.
    run_id = client.submit_job_execution(
        "monthly_update", run_config={}, tags={"dagster/partition": MONTH}
    )

    # The run goes through the queue (the daemon dequeues it) to a run worker process.
    deadline = time.monotonic() + RUN_TIMEOUT
    status = client.get_run_status(run_id)
    while status.value not in ("SUCCESS", "FAILURE", "CANCELED") and time.monotonic() < deadline:
        time.sleep(1.0)
        status = client.get_run_status(run_id)
    assert status.value == "SUCCESS", f"run {run_id} is {status.value}:\n{log.read_text()[-4000:]}"

    # Only that month was written, for every partner.
    partners = [
        line.split(",")[0] for line in home.partners_csv.read_text().splitlines()[1:] if line
    ]
    assert len(partners) == 2
    for partner in partners:
        report = json.loads((home.reports_dir(MONTH) / f"{partner}.json").read_text("utf-8"))
        assert (report["month"], report["partner_id"]) == (MONTH, partner)
    assert not home.reports_dir("2026-02").exists()

    # The UI's API shows the asset groups, and every feed's checks with this run's results.
    nodes = _graphql(port, ASSETS_QUERY)["assetNodes"]
    groups = {n["assetKey"]["path"][-1]: n["groupName"] for n in nodes}
    assert set(groups.values()) == {"feeds", "kpis", "reports", "delivery"}
    assert groups["deliveries"] == "delivery"
    # A one-month run from the UI sends its month: without delivery.yaml, to the outbox.
    assert len(list(home.outbox_dir(MONTH).glob("pam-*.eml"))) == len(partners)
    assert {f: groups[f] for f in FEED_NAMES} == dict.fromkeys(FEED_NAMES, "feeds")
    assert groups["monthly_reports"] == "reports"
    assert groups["kpis"] == "kpis"
    by_asset = {n["assetKey"]["path"][-1]: n["assetChecksOrError"] for n in nodes}
    for feed in FEED_NAMES:
        assert by_asset[feed]["__typename"] == "AssetChecks", by_asset[feed]
        checks = {c["name"]: c for c in by_asset[feed]["checks"]}
        assert set(checks) == {spec.name for spec in feed_check_specs(feed)}
        for name, check in checks.items():
            execution = check["executionForLatestMaterialization"]
            assert execution is not None, (feed, name)
            assert (execution["status"], execution["runId"]) == ("SUCCEEDED", run_id), (feed, name)
