"""No run can wedge the embedded default (issue 17), with real parts and no servers.

A SIGKILL inside the load transaction leaves the month as it was or as the
re-delivery has it, never between, and the next ``oemkpi run`` finds the dead
run, marks it failed, frees its pool slot and succeeds with no operator. Ctrl-C
there (to the whole process group, as a terminal sends it) leaves the month whole
too, and the command says "interrupted" and nothing else. A run waiting for a slot
held by a live run stops on SIGTERM and on Ctrl-C. The dead-run rules are checked
one by one on a real instance.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from oemkpi.home import Home
from oemkpi.sample import write_sample_home
from oemkpi.settings import Settings
from pipelines import dagster_patches
from pipelines.instance import ensure_instance
from pipelines.recovery import HOST_TAG, PID_TAG, START_TAG, free_slots_of_dead_runs, process_tags
from pipelines.resources import WAREHOUSE_POOL
from tests.scaleout_servers import OEMKPI, clean_env, wait_until_reading
from tests.scaleout_state import feed_month_rows, redeliver_padded

MONTH = "2026-03"


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[Home, dict[str, str]]]:
    """A two-month home whose last month ran once, embedded profile, own instance."""
    root = tmp_path / "home"
    write_sample_home(root, end_month=MONTH, months=2, partners=2, countries=2, commentary=False)
    env = clean_env(OEMKPI_HOME=str(root), DAGSTER_HOME=str(tmp_path / "dagster"))
    done = subprocess.run(
        [OEMKPI, "run", "--month", MONTH], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    yield Home.at(root), env


@pytest.fixture
def idle(tmp_path: Path) -> tuple[Home, dict[str, str]]:
    """A one-month home that has not run yet, with its instance created."""
    root = tmp_path / "home"
    write_sample_home(root, end_month=MONTH, months=1, partners=2, countries=2, commentary=False)
    env = clean_env(OEMKPI_HOME=str(root), DAGSTER_HOME=str(tmp_path / "dagster"))
    ensure_instance(Home.at(root), dict(env), Settings())
    return Home.at(root), env


def _instance(env: dict[str, str]) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])


def _warehouse_rows(home: Home) -> set[tuple]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return feed_month_rows(con, "windows_share", MONTH)
    finally:
        con.close()


def _start_run(env: dict[str, str], *, captured: bool = True) -> subprocess.Popen[str]:
    """``oemkpi run --month MONTH`` in a session of its own: its process group is the one a
    terminal's Ctrl-C reaches."""
    output = subprocess.PIPE if captured else subprocess.DEVNULL
    return subprocess.Popen(
        [OEMKPI, "run", "--month", MONTH],
        env=env,
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,
    )


def _run_inside_the_load_transaction(
    home: Home, env: dict[str, str], *, captured: bool = True
) -> tuple[set[tuple], set[tuple], subprocess.Popen[str], int]:
    """windows_share's month delivered again, and a run of the month caught while its clean
    load reads the landing files, inside its transaction: the rows before, the rows of the
    re-delivery, the run, and the pid that reads."""
    before = _warehouse_rows(home)
    after = redeliver_padded(home, "windows_share", MONTH)
    run = _start_run(env, captured=captured)
    landing = str(home.landing_dir("windows_share", MONTH))
    return before, after, run, wait_until_reading([run.pid], landing, timeout=300)


def test_sigkill_inside_the_load_transaction_leaves_the_month_whole_and_the_next_run_recovers(
    loaded: tuple[Home, dict[str, str]],
) -> None:
    home, env = loaded
    before, after, run, pid = _run_inside_the_load_transaction(home, env, captured=False)
    assert before and after and before != after
    os.kill(pid, signal.SIGKILL)
    assert run.wait(timeout=60) == -signal.SIGKILL

    assert _warehouse_rows(home) in (before, after)  # whole, never between
    with _instance(env) as instance:
        killed = instance.get_runs(limit=1)[0]
        assert killed.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster
        assert _step_events(instance, killed.run_id, "windows_share") == ["STEP_START"]
        held = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
        assert [s.run_id for s in held] == [killed.run_id]  # the slot it died holding

    rerun = subprocess.run(
        [OEMKPI, "run", "--month", MONTH], env=env, capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"Run {killed.run_id} died (pid {pid} on " in rerun.stdout
    assert "marked it failed and freed its slots" in rerun.stdout
    assert _warehouse_rows(home) == after
    with _instance(env) as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert info.claimed_slots == [] and info.pending_steps == []


def test_ctrl_c_inside_the_load_transaction_says_interrupted_once_and_leaves_the_month_whole(
    loaded: tuple[Home, dict[str, str]],
) -> None:
    """Ctrl-C from a terminal reaches the run's whole process group while a step reads the
    landing files: the command says "interrupted" and nothing else (no step or run
    failure from Dagster, no traceback of a helper or of Dagster's log mirror), and the
    month is as it was or as the re-delivery has it."""
    home, env = loaded
    before, after, run, _ = _run_inside_the_load_transaction(home, env)
    os.killpg(run.pid, signal.SIGINT)
    out, err = run.communicate(timeout=120)

    assert run.returncode == 2, (out, err)
    assert err.strip().splitlines() == ["oemkpi: interrupted."]
    assert "failed" not in out and "termination" not in out, out
    assert _warehouse_rows(home) in (before, after)
    with _instance(env) as instance:
        interrupted = instance.get_runs(limit=1)[0]
        assert interrupted.status == dg.DagsterRunStatus.FAILURE  # the UI still says so
        assert "STEP_FAILURE" in _step_events(instance, interrupted.run_id, "windows_share")


def _step_events(instance: dg.DagsterInstance, run_id: str, step: str) -> list[str]:
    return [
        r.dagster_event.event_type_value
        for r in instance.all_logs(run_id)
        if r.dagster_event is not None
        and r.step_key == step
        and r.dagster_event.event_type_value.startswith("STEP_")
    ]


def _holder(instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    """A run that holds the warehouse slot, as a live run between its steps would."""
    run_id = str(uuid.uuid4())
    instance.add_run(
        dg.DagsterRun(
            job_name="holder", run_id=run_id, tags=tags, status=dg.DagsterRunStatus.STARTED
        )
    )
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    claim = storage.claim_concurrency_slot(WAREHOUSE_POOL, run_id, "hold")
    assert claim.is_claimed, claim
    return run_id


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_a_run_waiting_for_the_warehouse_slot_stops_on_sigterm_and_ctrl_c(
    idle: tuple[Home, dict[str, str]], signo: int
) -> None:
    _home, env = idle
    with _instance(env) as instance:
        holder = _holder(instance, process_tags())  # this test process: alive
        run = _start_run(env)
        storage = instance.event_log_storage
        deadline = time.monotonic() + 300
        while not any(
            p.run_id != holder for p in storage.get_concurrency_info(WAREHOUSE_POOL).pending_steps
        ):
            assert run.poll() is None and time.monotonic() < deadline, "the run never waited"
            time.sleep(0.2)
        time.sleep(1.0)  # well inside the wait
        if signo == signal.SIGINT:
            os.killpg(run.pid, signo)  # Ctrl-C: the terminal signals the whole process group
        else:
            run.send_signal(signo)
        out, err = run.communicate(timeout=60)  # before this fix it waited for ever
        assert run.returncode == 2, (out, err)
        # One sentence, no traceback (of a helper, or of Dagster's compute-log mirror) and no
        # "interrupted unexpectedly ... no user initiated termination" from Dagster.
        assert err.strip().splitlines() == ["oemkpi: interrupted."]
        assert "failed" not in out and "termination" not in out, out
        (waiter,) = [r for r in instance.get_runs(limit=2) if r.run_id != holder]
        assert waiter.status == dg.DagsterRunStatus.FAILURE
        # The holder (alive) kept its slot; the interrupted run left nothing behind.
        info = storage.get_concurrency_info(WAREHOUSE_POOL)
        assert [s.run_id for s in info.claimed_slots] == [holder]
        assert [p.run_id for p in info.pending_steps] == [holder]


def _dead_process_tags() -> dict[str, str]:
    """The tags a run would carry from a process that has ended since."""
    child = subprocess.Popen(["sleep", "30"])
    with open(f"/proc/{child.pid}/stat", "rb") as f:
        start = f.read().decode().rsplit(")", 1)[1].split()[19]
    tags = {**process_tags(), PID_TAG: str(child.pid), START_TAG: start}
    child.kill()
    child.wait()
    return tags


@pytest.mark.parametrize(
    ("case", "freed"),
    [
        ("process gone", True),
        ("this process, alive", False),
        ("pid reused by another process", True),
        ("another host", False),
        ("untagged (started by other code)", False),
        ("ended, slot still held", True),
    ],
)
def test_dead_run_rules(case: str, freed: bool, tmp_path: Path) -> None:
    env = {"DAGSTER_HOME": str(tmp_path / "dagster")}
    ensure_instance(Home.at(tmp_path / "home"), env, Settings())
    tags = {
        "process gone": _dead_process_tags,
        "this process, alive": process_tags,
        "pid reused by another process": lambda: {**process_tags(), START_TAG: "1"},
        "another host": lambda: {**_dead_process_tags(), HOST_TAG: "elsewhere.example"},
        "untagged (started by other code)": dict,
        "ended, slot still held": process_tags,
    }[case]()
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        run_id = _holder(instance, tags)
        if case.startswith("ended"):
            instance.report_run_failed(instance.get_run_by_id(run_id), "ended")
        said: list[str] = []
        assert free_slots_of_dead_runs(instance, Settings(), log=said.append) == (
            [run_id] if freed else []
        )
        claimed = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
        assert [s.run_id for s in claimed] == ([] if freed else [run_id])
        status = instance.get_run_by_id(run_id).status
        expected = dg.DagsterRunStatus.FAILURE if freed or case.startswith("ended") else None
        assert status == (expected or dg.DagsterRunStatus.STARTED)
        assert len(said) == int(freed)


def test_the_interrupt_patch_is_in_force_and_upstream_still_ignores_interrupts() -> None:
    """When the upstream half fails, Dagster's wait honours interrupts itself: drop the patch."""
    from dagster._core.errors import DagsterExecutionInterruptedError
    from dagster._utils import interrupts

    import pipelines.definitions  # noqa: F401  (applies the patches, as every run does)

    assert dagster_patches.in_force()

    class Idle:  # the one method the wait calls: nothing pending, nothing to sleep
        def sleep_interval(self) -> float:
            return 0.0

    interrupts._received_interrupt["received"] = True
    try:
        dagster_patches.UPSTREAM_SLEEP(Idle())  # type: ignore[arg-type]  (no raise: the bug)
        with pytest.raises(DagsterExecutionInterruptedError):
            dagster_patches.sleep_til_ready_or_interrupted(Idle())  # type: ignore[arg-type]
    finally:
        interrupts._received_interrupt["received"] = False
