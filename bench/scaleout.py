"""Benchmark: the embedded default beside the scale-out profile (SPEC section 7).

    python bench/scaleout.py [--out bench/out] [--pg-admin DSN] [--broker URL]

Rows, each profile on the same sample home and the same code:

* ``2m month``: the 2M-row month M of bench/run.py's ``2m`` home, M-1 run first
  (untimed), so M meets its prior month as in production;
* ``4 runs at once``: a 4-month home (scale 1) backfilled as one range, then its
  four months run again as four ``oemkpi run --month`` processes started together
  (the wall time until the last one ends).

The scale-out profile uses databases of its own on the PostgreSQL server
(created, then dropped), DuckLake data under ``<out>/lake``, and two
``oemkpi worker`` processes on the Redis broker, on a queue of its own. CPU
seconds and peak memory are the launching ``oemkpi`` process's only: in the
scale-out profile the steps' work is on the workers. When a server does not
answer, the scale-out rows say so and are left out. Prints a table, appends to
``<out>/scaleout.csv``; exits 0 however slow, 1 only if a run failed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import run as harness  # bench/run.py: homes, timed children

from oemkpi.settings import VARIABLES as SCALEOUT_VARIABLES

BENCH = Path(__file__).resolve().parent
OEMKPI = str(Path(sys.executable).with_name("oemkpi"))
CONCURRENT = harness.Size("x1-4months", months=4, scale=1.0)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def databases(admin: str, names: list[str]):  # type: ignore[no-untyped-def]
    import psycopg2

    con = psycopg2.connect(admin)
    con.autocommit = True
    try:
        for name in names:
            con.cursor().execute(f'create database "{name}"')
        yield
    finally:
        for name in names:
            con.cursor().execute(f'drop database if exists "{name}" with (force)')
        con.close()


@contextmanager
def workers(env: dict[str, str], queue: str, logs: Path, count: int = 2):  # type: ignore[no-untyped-def]
    procs = []
    try:
        for i in range(count):
            log = (logs / f"scaleout-worker-{i + 1}.log").open("wb")
            procs.append(
                (
                    subprocess.Popen(
                        [OEMKPI, "worker", "--queue", queue, "--name", f"bench{i + 1}@%h"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                    logs / f"scaleout-worker-{i + 1}.log",
                )
            )
        deadline = time.monotonic() + 180
        for proc, log_path in procs:
            while " ready." not in log_path.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not start; see {log_path}")
                time.sleep(0.2)
        yield
    finally:
        for proc, _ in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


def forget_redis_queue(broker: str, queue: str) -> None:
    """Remove what Celery (kombu) keeps in Redis for the benchmark's own queue."""
    if not broker.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(broker)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


def reset(home: Path) -> None:
    harness.reset_state(home)
    shutil.rmtree(home / "dagster-pg", ignore_errors=True)


def run(home: Path, env: dict[str, str], logs: Path, what: str, *args: str) -> harness.Child:
    slug = f"scaleout-{what}".replace(" ", "-")
    queue = ["--queue", env["OEMKPI_BENCH_QUEUE"]] if "OEMKPI_BENCH_QUEUE" in env else []
    command = harness.oemkpi_command(home, *args, *queue)
    child = harness.run_child(what, command, logs / f"{slug}.log", env)
    if child.exit_code != 0:
        harness.say(f"  {what} exited {child.exit_code}:\n{child.tail()}")
    return child


def at_once(
    home: Path, env: dict[str, str], logs: Path, profile: str, months: list[str]
) -> dict[str, Any]:
    children: list[harness.Child] = []
    lock = threading.Lock()

    def one(month: str) -> None:
        child = run(home, env, logs, f"{profile} {month} at once", "run", "--month", month)
        with lock:
            children.append(child)

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(m,)) for m in months]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "profile": profile,
        "what": "4 runs at once",
        "seconds": round(wall, 1),
        "cpu_seconds": round(sum(c.cpu_seconds for c in children), 1),
        "peak_mib": round(max(c.peak_mib for c in children)),
        "exit": max(abs(c.exit_code) for c in children),
        "note": "each "
        + ", ".join(f"{c.seconds:.0f}" for c in sorted(children, key=lambda c: c.what))
        + " s",
    }


def measure(
    profile: str, env: dict[str, str], args: argparse.Namespace, homes: dict[str, Any]
) -> list[dict[str, Any]]:
    logs = args.out / "logs"
    rows = []
    home, months = homes["2m"]
    reset(home)
    harness.say(f"[{profile}] 2m month {months[-1]} (M-1 first)")
    run(home, env, logs, f"{profile} 2m M-1", "run", "--month", months[-2])
    child = run(home, env, logs, f"{profile} 2m month", "run", "--month", months[-1])
    rows.append(
        {
            "profile": profile,
            "what": "2m month",
            "seconds": round(child.seconds, 1),
            "cpu_seconds": round(child.cpu_seconds, 1),
            "peak_mib": round(child.peak_mib),
            "exit": child.exit_code,
            "note": "",
        }
    )
    home, months = homes["concurrent"]
    reset(home)
    harness.say(f"[{profile}] backfill {months[0]}..{months[-1]}, then 4 runs at once")
    run(home, env, logs, f"{profile} backfill", "run", "--from", months[0], "--to", months[-1])
    rows.append(at_once(home, env, logs, profile, months))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--end-month", default=harness.DEFAULT_END_MONTH)
    parser.add_argument("--seed", type=int, default=harness.DEFAULT_SEED)
    parser.add_argument("--partners", type=int, default=6)
    parser.add_argument(
        "--pg-admin", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    args.out = args.out.resolve()
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if k not in SCALEOUT_VARIABLES}
    base_env.pop("PYTHONSTARTUP", None)

    homes: dict[str, Any] = {}
    for key, size in (("2m", harness.parse_size("2m")), ("concurrent", CONCURRENT)):
        saved, _ = harness.ensure_home(size, args, base_env)
        homes[key] = ((args.out / "homes" / size.name).resolve(), saved["result"]["months"])

    rows: list[dict[str, Any]] = []
    embedded_env = {**base_env}
    embedded_env.pop("DAGSTER_HOME", None)
    rows += measure("embedded", embedded_env, args, homes)

    broker = urlsplit(args.broker)
    admin = dict(p.split("=", 1) for p in args.pg_admin.split())
    if not reachable(admin.get("host", "127.0.0.1"), int(admin.get("port", 5432))):
        harness.say("scale-out rows left out: PostgreSQL does not answer.")
    elif not reachable(broker.hostname or "127.0.0.1", broker.port or 6379):
        harness.say("scale-out rows left out: the broker does not answer.")
    else:
        tag = uuid.uuid4().hex[:8]
        dagster_db, lake_db = f"oemkpi_bench_dagster_{tag}", f"oemkpi_bench_lake_{tag}"
        lake_data = args.out / f"lake-{tag}"
        lake_data.mkdir()
        pg = {k: v for k, v in admin.items() if k != "dbname"}
        env = {
            **embedded_env,
            "OEMKPI_INSTANCE_PG_URL": f"postgresql://{pg.get('user', 'postgres')}@{pg.get('host', '127.0.0.1')}:{pg.get('port', 5432)}/{dagster_db}",
            "OEMKPI_LAKE_CATALOG": " ".join(f"{k}={v}" for k, v in pg.items())
            + f" dbname={lake_db}",
            "OEMKPI_LAKE_DATA": str(lake_data),
            "OEMKPI_CELERY_BROKER": args.broker,
        }
        queue = f"oemkpi_bench_{tag}"
        try:
            with ExitStack() as stack:
                stack.enter_context(databases(args.pg_admin, [dagster_db, lake_db]))
                stack.enter_context(workers(env, queue, args.out / "logs"))
                # Every run of this benchmark goes to its own queue (`oemkpi run --queue`).
                rows += measure("scale-out", {**env, "OEMKPI_BENCH_QUEUE": queue}, args, homes)
        finally:
            shutil.rmtree(lake_data, ignore_errors=True)
            forget_redis_queue(args.broker, queue)

    print_table(rows)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path = args.out / "scaleout.csv"
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["run_at", "code", *rows[0]])
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({"run_at": stamp, "code": harness.git_version(), **row})
    harness.say(f"Appended to {path}.")
    return 1 if any(r["exit"] for r in rows) else 0


def print_table(rows: list[dict[str, Any]]) -> None:
    harness.say(
        "\nEmbedded default beside the scale-out profile (seconds wall; CPU and peak memory of the launching process):\n"
    )
    harness.say(f"{'profile':<10}  {'what':<15}  {'s':>6}  {'cpu s':>6}  {'peak MiB':>8}  note")
    for r in rows:
        harness.say(
            f"{r['profile']:<10}  {r['what']:<15}  {r['seconds']:>6}  {r['cpu_seconds']:>6}  "
            f"{r['peak_mib']:>8}  {r['note']}{'' if not r['exit'] else ' (FAILED)'}"
        )


if __name__ == "__main__":
    sys.exit(main())
