"""Benchmark: one month through the whole pipeline at several sizes, against two floors.

    python bench/run.py [--sizes demo,x10,2m,10m] [--out bench/out]

For each size it builds (or reuses) a sample data home under
``<out>/homes/<size>``, then times fresh processes on the same files:

* ``pipeline``: ``oemkpi --home H run --month M`` for the home's last month M,
  with ``DAGSTER_HOME=H/dagster`` (emptied first, like the warehouse);
* ``floor duckdb``: ``bench/floor_duckdb.py``, DuckDB alone reading the four
  feeds of M and computing the partner KPIs of SPEC section 4;
* ``pandas``: ``bench/pandas_kpis.py``, a plain pandas script doing the same;
* ``peer``: ``bench/peer.py``, what a data team would write instead of oemkpi
  (pandas reads, a GX suite per feed on GX's pandas data source, pandas partner
  and country KPIs, one Jinja2 page per partner). The ratios oemkpi/peer and
  oemkpi/floor (wall, CPU, memory) are printed for every size;
* ``pipeline, median`` and ``peer, median`` (the demo size): the fixed cost
  (issue 18), the medians of five fresh processes of each, taken in turns (one
  fresh run of a small month varies by a second on a shared machine);
* ``pipeline, warm`` (the demo size): ``bench/warm_run.py`` runs month M four
  times in one process, and the row gives the median of the runs after the
  first: what a run costs in a process kept warm between runs.

Sizes: ``demo`` is ``oemkpi demo``'s home (36 months, scale 1); it is also run
as one 36-month backfill (``run --from --to``) before its month M is run again
on top of that history. ``xN`` is scale N and ``Nk``/``Nm`` about N thousand /
million windows_share rows per month (the scale is calibrated); these homes
hold two months only, M-1 and M, and M-1 is run first (``pipeline M-1``, its
own row) so that month M meets a warehouse holding its prior month, as it
would in production: assortment wins and losses compare against a real M-1
and the MoM changes are real. M-12 is left out: YoY reads only the small
kpi_sums aggregates, while 13 months of a 10M-row home would take ~6x the
generation time and disk.

Per-stage seconds of a pipeline run come from its Dagster event log (read
afterwards by ``bench/stages.py``): parse, validate and load are the sums of
the ``seconds_*`` metadata of the four feed assets. A clean delivery is read
straight into the warehouse, so its parse is the whole insert (read, type,
write; and, for the first feed of a large month, the overlapping import of Great
Expectations), validate the suite run inside the transaction (for a month of
small deliveries: by the suite process, which imported GX while the run started;
pipelines/helper_processes.py) and load the delivery record and commit; a delivery that needs the diagnosing way adds the staging, the
validation with problems named, and the copy into the warehouse. kpis is the sum of the
kpi_sums, assortment, kpis, data_quality and red_flags steps; reports is the
monthly_reports step; feed_extra is the rest of the four feed steps (reference
data, previews, check results, events); startup is process start to the
run's RUN_START event (imports, instance, definitions); other is the rest
(Dagster between steps, reading back the outcome, exit).
For the floor and the scripts, parse is reading the files, kpis the computation,
validate (the peer) its GX validations including GX's import, reports (the peer)
its pages, and startup the rest (interpreter, imports).

Last, ``[code location]`` times fresh interpreters (median of 5) doing a bare
``import dagster`` and loading ``pipelines.definitions`` with its job, which is
what the UI and every run pay before anything else.

Peak RSS is the child's ``ru_maxrss`` from ``os.wait4``, CPU seconds its
user + system time (steadier than wall time when others share the machine),
and steal seconds the machine's steal time while it ran (``/proc/stat``, all
cores): CPU the hypervisor gave to others while this machine wanted it. A run
with seconds of steal was slowed by the host, not by its code.
Linux counts the parent's RSS at fork time into a child's ``ru_maxrss``, so
this harness imports nothing heavy and runs generation and read-back as
child processes.

Writes ``<out>/results.csv`` (this run), appends to ``<out>/history.csv``,
and keeps each child's output in ``<out>/logs/`` and per-size details (step
seconds, run ids) in ``<out>/runs/<size>.json``. Exits 0 however slow things
are; 1 only if a child process failed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_SIZES = "demo,x10,2m,10m"
DEFAULT_END_MONTH = "2026-10"  # fixed, so homes stay reusable from one month to the next
DEFAULT_SEED = 20261022
KPI_STEPS = ("kpi_sums", "assortment", "kpis", "data_quality", "red_flags")
REPORT_STEPS = ("monthly_reports",)
#: The comparisons timed on each home: (what, script in bench/).
COMPARISONS = (
    ("floor duckdb", "floor_duckdb.py"),
    ("pandas", "pandas_kpis.py"),
    ("peer", "peer.py"),
)
FEED_STEPS = ("pc_shipments", "windows_share", "premium_mix", "attach_rate")
STAGES = ("parse", "validate", "load", "feed_extra", "kpis", "reports", "startup", "other")
FIELDS = (
    "size",
    "rows_per_month",
    "total_rows",
    "what",
    "seconds",
    "cpu_s",
    "peak_mib",
    "steal_s",
    *(f"{s}_s" for s in STAGES),
    "exit_code",
)
#: Steal time during one run worth a line under the ratios.
STEAL_NOTED_SECONDS = 0.5
#: Disk needed per windows_share row of a home (landing ~40 B, warehouse, staging copies).
BYTES_PER_ROW = 120


# --------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Size:
    name: str
    months: int
    scale: float | None = None
    target_rows: int | None = None
    backfill: bool = False  # also time a run of every month of the home

    def params(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "months": self.months,
            "scale": self.scale,
            "target_rows": self.target_rows,
            "end_month": args.end_month,
            "seed": args.seed,
            "partners": args.partners,
            "sample_code": _sample_code_hash(),
        }

    def expected_rows(self) -> int:
        per_month = self.target_rows or int(11_100 * (self.scale or 1.0))
        return per_month * self.months


def _sample_code_hash() -> str:
    """A home is reused only when the generator that wrote it is unchanged."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "oemkpi" / "sample").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def parse_size(name: str) -> Size:
    if name == "demo":
        return Size(name, months=36, scale=1.0, backfill=True)
    if m := re.fullmatch(r"x(\d+(?:\.\d+)?)", name):
        return Size(name, months=2, scale=float(m.group(1)))
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)([km])", name.lower()):
        factor = 1_000 if m.group(2) == "k" else 1_000_000
        return Size(name, months=2, target_rows=int(float(m.group(1)) * factor))
    raise SystemExit(
        f"bench: unknown size {name!r}; use demo, xN (scale N) or Nk / Nm (rows per month)."
    )


# --------------------------------------------------------------------------- children
@dataclass
class Child:
    what: str
    seconds: float
    cpu_seconds: float | None  # user + system, steadier than wall time on a busy machine
    peak_mib: float
    exit_code: int
    started_at: float  # epoch seconds, to line up with Dagster's event timestamps
    log: Path
    #: CPU seconds the host took back from this machine while the child ran (all cores).
    steal_seconds: float | None = None
    #: What was run (a median row's runs repeat its first's).
    command: list[str] = field(default_factory=list)
    stages: dict[str, float | None] = field(default_factory=dict)
    rows: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def last_json(self) -> dict[str, Any]:
        for line in reversed(self.log.read_text(encoding="utf-8", errors="replace").splitlines()):
            if line.startswith("{"):
                try:
                    return dict(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return {}

    def tail(self, lines: int = 5) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return "\n".join("    " + line for line in text[-lines:])


def run_child(what: str, command: list[str], log: Path, env: dict[str, str]) -> Child:
    """Run ``command`` as a fresh process; wall seconds and peak RSS from ``os.wait4``, and
    the steal time of the machine meanwhile."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        out.write(("$ " + " ".join(command) + "\n").encode())
        out.flush()
        started_at = time.time()
        stolen = steal_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, close_fds=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        after = steal_seconds()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here; keep Popen from waiting again
    cpu = usage.ru_utime + usage.ru_stime
    child = Child(what, seconds, cpu, usage.ru_maxrss / 1024, code, started_at, log)
    child.command = command
    if stolen is not None and after is not None:
        child.steal_seconds = after - stolen
    return child


def steal_seconds() -> float | None:
    """The machine's steal time so far, all cores (``/proc/stat``): CPU time the hypervisor
    gave to others while this machine's processes wanted it. A run during which the host
    stole seconds is slower for that reason, not for its code; None where it is not known."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def python_child(script: str, *args: str) -> list[str]:
    return [sys.executable, str(BENCH / script), *args]


def oemkpi_command(home: Path, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("oemkpi")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "pipelines.cli"]
    return [*base, "--home", str(home), *args]


# --------------------------------------------------------------------------- homes
def ensure_home(
    size: Size, args: argparse.Namespace, env: dict[str, str]
) -> tuple[dict, Child | None]:
    """The home's description; generated (timed) unless one with the same parameters exists."""
    home = args.out / "homes" / size.name
    marker = home / "bench-home.json"
    params = size.params(args)
    if marker.exists() and (home / "landing").is_dir():
        saved = json.loads(marker.read_text(encoding="utf-8"))
        if saved.get("params") == params:
            return saved, None
    need = size.expected_rows() * BYTES_PER_ROW
    free = shutil.disk_usage(args.out).free
    if home.exists():
        free += sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    if need > free:
        raise SkipSize(f"needs ~{need / 2**30:.1f} GiB of disk, {free / 2**30:.1f} GiB free")
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    options = ["--months", str(size.months), "--end-month", args.end_month]
    options += ["--seed", str(args.seed), "--partners", str(args.partners)]
    if size.scale is not None:
        options += ["--scale", str(size.scale)]
    else:
        options += ["--target-rows", str(size.target_rows)]
    say(f"  generating {home} ...")
    child = run_child(
        "generate",
        python_child("make_home.py", str(home), *options),
        args.out / "logs" / f"{size.name}-generate.log",
        env,
    )
    result = child.last_json()
    if child.exit_code != 0 or not result:
        raise SkipSize(f"generation failed (exit {child.exit_code}):\n{child.tail()}")
    saved = {"params": params, "result": result}
    marker.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    child.rows = sum(result["rows_total"].values())
    return saved, child


class SkipSize(Exception):
    pass


def reset_state(home: Path) -> None:
    """Empty everything a run writes, so each size starts from an empty warehouse and instance."""
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (home / name).unlink(missing_ok=True)
    for name in ("dagster", "staging", "validation", "quarantine", "reports"):
        shutil.rmtree(home / name, ignore_errors=True)


# --------------------------------------------------------------------------- one size
def bench_size(size: Size, args: argparse.Namespace) -> tuple[list[Child], dict[str, Any]]:
    env = dict(os.environ)
    home = (args.out / "homes" / size.name).resolve()
    env["OEMKPI_HOME"] = str(home)
    env["DAGSTER_HOME"] = str(home / "dagster")
    env.pop("PYTHONSTARTUP", None)
    logs = args.out / "logs"

    saved, generated = ensure_home(size, args, env)
    children: list[Child] = [generated] if generated else []
    months: list[str] = saved["result"]["months"]
    month = months[-1]
    if generated is None:
        say(f"  reusing {home} (scale {saved['result']['scale']:g})")
    else:
        say(f"  generated in {generated.seconds:.1f} s (scale {saved['result']['scale']:g})")
    reset_state(home)

    plan: list[tuple[str, list[str]]] = []
    if size.backfill:
        plan.append((f"pipeline {len(months)} months", ["run", "--from", months[0], "--to", month]))
    elif len(months) > 1:
        plan.append(("pipeline M-1", ["run", "--month", months[-2]]))
    plan.append(("pipeline", ["run", "--month", month]))
    runs: list[Child] = []
    for what, command in plan:
        say(f"  {what}: oemkpi {' '.join(command)}")
        slug = what.replace(" ", "-")
        child = run_child(
            what, oemkpi_command(home, *command), logs / f"{size.name}-{slug}.log", env
        )
        found = re.findall(r"Dagster run ([0-9a-f-]{36})", child.log.read_text(errors="replace"))
        child.detail["run_id"] = found[-1] if found else None
        child.detail["months"] = (command[2], command[-1])
        runs.append(child)
        if child.exit_code != 0:
            say(f"  {what} exited {child.exit_code}:\n{child.tail()}")

    kpis_dir = args.out / "kpis"
    kpis_dir.mkdir(parents=True, exist_ok=True)
    pipeline_csv = kpis_dir / f"{size.name}-pipeline.csv"
    readback = run_child(
        "stages",
        python_child(
            "stages.py",
            "--home",
            str(home),
            "--month",
            month,
            "--kpis-out",
            str(pipeline_csv),
            *(a for r in runs if r.detail["run_id"] for a in ("--run-id", r.detail["run_id"])),
        ),
        logs / f"{size.name}-stages.log",
        env,
    )
    facts = readback.last_json()
    if readback.exit_code != 0:
        say(f"  reading the event log failed:\n{readback.tail()}")
    delivered = facts.get("deliveries", [])
    for child in runs:
        first, last = child.detail["months"]
        child.rows = sum(d["rows"] for d in delivered if first <= d["month"] <= last)
        run = facts.get("runs", {}).get(child.detail["run_id"] or "")
        if run:
            pipeline_stages(child, run)

    compared: dict[str, Path] = {"pipeline": pipeline_csv}
    for what, script in COMPARISONS:
        say(f"  {what}: {script}")
        out_csv = kpis_dir / f"{size.name}-{script.removesuffix('.py').split('_')[0]}.csv"
        child = run_child(
            what,
            python_child(
                script, "--home", str(home), "--month", month, "--out", str(out_csv), "--json"
            ),
            logs / f"{size.name}-{script.removesuffix('.py')}.log",
            env,
        )
        got = child.last_json()
        if child.exit_code != 0 or not got:
            say(f"  {what} failed (exit {child.exit_code}):\n{child.tail()}")
        else:
            child.stages = {
                "parse": got["read_s"],
                "validate": got.get("validate_s"),
                "kpis": got["compute_s"],
                "reports": got.get("reports_s"),
            }
            known = sum(v for v in child.stages.values() if v is not None)
            child.stages["startup"] = child.seconds - known
            child.detail["result_rows"] = got["rows"]
            if got.get("failed"):
                child.detail["failed_checks"] = got["failed"]
                say(f"  {what}: GX failed {', '.join(got['failed'])}")
            compared[what] = out_csv
        child.rows = sum(d["rows"] for d in delivered if d["month"] == month) or None
        runs.append(child)

    if size.backfill:
        runs += fresh_medians(logs, env, runs)
        warm = warm_child(size, home, month, logs, env)
        warm.rows = sum(d["rows"] for d in delivered if d["month"] == month) or None
        runs.append(warm)

    per_month = next(
        (d["rows"] for d in delivered if d["month"] == month and d["feed"] == "windows_share"),
        None,
    )
    agreement = compare_kpis(compared)
    details = {
        "size": size.name,
        "home": str(home),
        "month": month,
        "sample": saved["result"],
        "windows_share_rows_in_month": per_month,
        "kpi_agreement": agreement,
        "runs": facts.get("runs", {}),
        "deliveries": delivered,
        "children": [
            {k: v for k, v in vars(c).items() if k != "log"} | {"log": str(c.log)}
            for c in [*children, *runs]
        ],
    }
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    (args.out / "runs" / f"{size.name}.json").write_text(
        json.dumps(details, indent=2, default=str), encoding="utf-8"
    )
    say(f"  KPIs of {month}: {agreement}")
    for child in [*children, *runs]:
        child.detail["rows_per_month"] = per_month
    return [*children, *runs], details


#: Fresh processes per fixed-cost row (the demo size): the first runs of the table and
#: this many more, taken in turns with the peer's.
FRESH_RUNS = 5
#: Runs of the month in one process for the warm row; the first is the cold one.
WARM_RUNS = 4


def fresh_medians(logs: Path, env: dict[str, str], done: list[Child]) -> list[Child]:
    """The fixed cost as medians: the pipeline's month M and the peer in fresh processes,
    :data:`FRESH_RUNS` of each (the table's first of each, then the rest in turns, so a
    slower spell of the machine falls on both), as rows ``pipeline, median`` and ``peer,
    median`` (wall and CPU seconds the medians, peak memory the largest). One fresh run of a
    small month varies by a second on a shared machine; its median a tenth of that."""
    firsts = {c.what: c for c in done if c.what in ("pipeline", "peer") and c.exit_code == 0}
    if len(firsts) < 2:
        return []
    say(f"  fixed cost: {FRESH_RUNS - 1} more fresh runs of the pipeline and the peer, in turns")
    samples: dict[str, list[Child]] = {what: [c] for what, c in firsts.items()}
    for turn in range(2, FRESH_RUNS + 1):
        for what, first in firsts.items():
            child = run_child(what, first.command, logs / f"fixed-cost-{what}-{turn}.log", env)
            if child.exit_code != 0:
                say(f"  {what} exited {child.exit_code}:\n{child.tail()}")
                return []
            samples[what].append(child)
    out = []
    for what, children in samples.items():
        first = children[0]
        row = Child(
            f"{what}, median",
            statistics.median(c.seconds for c in children),
            statistics.median(c.cpu_seconds or 0.0 for c in children),
            max(c.peak_mib for c in children),
            0,
            first.started_at,
            first.log,
        )
        row.steal_seconds = max((c.steal_seconds or 0.0) for c in children)
        row.rows = first.rows
        row.detail["seconds"] = [round(c.seconds, 3) for c in children]
        out.append(row)
    return out


def warm_child(size: Size, home: Path, month: str, logs: Path, env: dict[str, str]) -> Child:
    """Month M run :data:`WARM_RUNS` times in one process (``bench/warm_run.py``): the row's
    seconds are the median of the runs after the first, what a run costs in a process kept
    warm between runs; its CPU is not given (the process's covers every run)."""
    say(f"  pipeline, warm process: warm_run.py, {WARM_RUNS} runs of {month} in one process")
    child = run_child(
        "pipeline, warm",
        python_child(
            "warm_run.py", "--home", str(home), "--month", month, "--runs", str(WARM_RUNS)
        ),
        logs / f"{size.name}-warm.log",
        env,
    )
    got = child.last_json().get("runs", [])
    child.detail["warm_runs"] = got
    warm = [r["seconds"] for r in got[1:]]
    if child.exit_code != 0 or not warm:
        say(f"  pipeline, warm process failed (exit {child.exit_code}):\n{child.tail()}")
        return child
    child.seconds = statistics.median(warm)
    child.cpu_seconds = None
    return child


def pipeline_stages(child: Child, run: dict[str, Any]) -> None:
    steps: dict[str, float] = run.get("steps", {})
    stages: dict[str, float | None] = dict(run.get("feed_stages", {}))
    feed_steps = sum(steps.get(s, 0.0) for s in FEED_STEPS)
    stages["feed_extra"] = feed_steps - sum(v or 0.0 for v in stages.values())
    stages["kpis"] = sum(steps.get(s, 0.0) for s in KPI_STEPS)
    stages["reports"] = sum(steps.get(s, 0.0) for s in REPORT_STEPS)
    if run.get("run_start"):
        stages["startup"] = max(0.0, run["run_start"] - child.started_at)
    known = sum(v for v in stages.values() if v is not None)
    stages["other"] = child.seconds - known
    child.stages = stages
    child.detail["steps"] = steps


def compare_kpis(tables: dict[str, Path]) -> str:
    """Whether the partner KPIs of the pipeline and the two scripts agree (relative 1e-9)."""

    def load(path: Path) -> dict[tuple[str, str], float | None]:
        with path.open(encoding="utf-8") as handle:
            return {
                (row["partner_id"], k): (float(v) if v not in ("", "nan", "NaN") else None)
                for row in csv.DictReader(handle)
                for k, v in row.items()
                if k != "partner_id"
            }

    loaded = {name: load(path) for name, path in tables.items() if path.exists()}
    if "pipeline" not in loaded or len(loaded) < 2:
        return "not compared (" + ", ".join(sorted(loaded)) + " available)"
    base = loaded["pipeline"]
    problems = []
    for name, table in loaded.items():
        if name == "pipeline":
            continue
        for key in sorted(set(base) | set(table)):
            a, b = base.get(key), table.get(key)
            if a is None and b in (None, 0.0):  # a volume with no rows: null or 0
                continue
            if a is None or b is None or abs(a - b) > 1e-9 * max(1.0, abs(a)):
                problems.append(f"{name} {key[0]} {key[1]}: pipeline {a}, {name} {b}")
    if problems:
        return f"{len(problems)} differences, e.g. " + "; ".join(problems[:3])
    cells = len(base)
    return f"{', '.join(loaded)} agree on all {cells} partner x KPI values"


# --------------------------------------------------------------------------- code location
#: Fresh processes per measurement of the code location's load; the median is reported.
LOAD_REPEATS = 5
LOAD_COMMANDS = (
    ("import dagster", "import dagster"),
    (
        "load definitions",
        "from pipelines.definitions import defs; defs.resolve_job_def('monthly_update')",
    ),
)


def bench_code_location(args: argparse.Namespace) -> list[Child]:
    """What loading the code location costs against a bare ``import dagster``: the median
    of fresh interpreters (what the UI and every run pay before anything else)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    out = []
    for what, code in LOAD_COMMANDS:
        say(f"  {what}: python -c {code!r} x {LOAD_REPEATS}")
        slug = what.replace(" ", "-")
        runs = [
            run_child(
                what, [sys.executable, "-c", code], args.out / "logs" / f"load-{slug}.log", env
            )
            for _ in range(LOAD_REPEATS)
        ]
        runs.sort(key=lambda c: c.seconds)
        median = runs[len(runs) // 2]
        median.exit_code = max(c.exit_code for c in runs)
        out.append(median)
    return out


# --------------------------------------------------------------------------- output
def say(message: str) -> None:
    print(message, flush=True)


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def result_rows(size: str, children: list[Child]) -> list[dict[str, Any]]:
    rows = []
    for c in children:
        rows.append(
            {
                "size": size,
                "rows_per_month": c.detail.get("rows_per_month"),
                "total_rows": c.rows,
                "what": c.what,
                "seconds": round(c.seconds, 2),
                "cpu_s": _round(c.cpu_seconds),
                "peak_mib": round(c.peak_mib, 1),
                "steal_s": _round(c.steal_seconds),
                **{f"{s}_s": _round(c.stages.get(s)) for s in STAGES},
                "exit_code": c.exit_code,
                "samples": c.detail.get("seconds"),  # a median row's runs (not in the CSV)
            }
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ["size", "ws rows/mo", "rows", "what", "s", "cpu s", "peak MiB", "steal s", *STAGES]
    keys = ["size", "rows_per_month", "total_rows", "what", "seconds", "cpu_s", "peak_mib"]
    keys += ["steal_s"]
    keys += [f"{s}_s" for s in STAGES]
    cells = [
        [
            fmt(r[k], 0 if k == "peak_mib" else 1 if k in ("seconds", "cpu_s", "steal_s") else 2)
            for k in keys
        ]
        for r in rows
    ]
    for r, row in zip(rows, cells, strict=True):
        if r["exit_code"]:
            row[3] += f" (exit {r['exit_code']})"
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    left = {0, 3}

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i in left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    say(line(header))
    say(line(["-" * w for w in widths]))
    for row in cells:
        say(line(row))


def print_ratios(rows: list[dict[str, Any]]) -> None:
    say("\nRatios at each size, one month (wall time, CPU time, peak memory):")
    by_size: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        if r["exit_code"] == 0:
            by_size.setdefault(r["size"], {})[r["what"]] = r
    for size, rs in by_size.items():
        pipe = rs.get("pipeline")
        parts = []
        for name, mine, other in (
            ("oemkpi/peer", pipe, rs.get("peer")),
            ("oemkpi/floor", pipe, rs.get("floor duckdb")),
            ("pandas/floor", rs.get("pandas"), rs.get("floor duckdb")),
        ):
            if mine and other:
                parts.append(
                    f"{name} {mine['seconds'] / other['seconds']:.2f}x time, "
                    f"{mine['cpu_s'] / other['cpu_s']:.2f}x CPU, "
                    f"{mine['peak_mib'] / other['peak_mib']:.1f}x memory"
                )
        if parts:
            say(f"  {size:>6}: " + "; ".join(parts))
    demo = by_size.get("demo", {})
    fresh, peer = demo.get("pipeline, median"), demo.get("peer, median")
    if fresh and peer:
        say(
            f"  fixed cost (a demo month, medians of {FRESH_RUNS} fresh processes): "
            f"{fresh['seconds']:.2f} s ({_spread(fresh)}) against the peer's "
            f"{peer['seconds']:.2f} s ({_spread(peer)}), "
            f"{fresh['seconds'] / peer['seconds']:.2f}x"
        )
    if "pipeline, warm" in demo:
        say(
            f"  a demo month in a process kept warm: {demo['pipeline, warm']['seconds']:.2f} s "
            f"(median of the {WARM_RUNS - 1} runs after its first)"
        )
    stolen = max((r["steal_s"] or 0.0 for r in rows), default=0.0)
    if stolen >= STEAL_NOTED_SECONDS:
        say(
            f"  the host took back up to {stolen:.1f} s of CPU during a run (steal s): "
            "compare CPU seconds, or run again at a quieter time"
        )
    loads = by_size.get("load", {})
    if "import dagster" in loads and "load definitions" in loads:
        bare, ours = loads["import dagster"]["seconds"], loads["load definitions"]["seconds"]
        say(
            f"  code location: {ours:.2f} s to load the definitions against {bare:.2f} s for "
            f"a bare import dagster ({ours / bare:.2f}x; medians of {LOAD_REPEATS} processes)"
        )


def _spread(row: dict[str, Any]) -> str:
    seconds = row.get("samples") or []
    return f"{min(seconds):.1f}-{max(seconds):.1f} s" if seconds else "one run"


def git_version() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "-uno"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write_csv(path: Path, rows: list[dict[str, Any]], extra: list[str], append: bool) -> None:
    fields = [*FIELDS, *extra]
    new = not (append and path.exists())
    with path.open("a" if append else "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerows(rows)


# --------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(
        description="Time one month through the pipeline at several sizes, against "
        "DuckDB alone and pandas (see the module docstring)."
    )
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"comma-separated: demo, xN (scale N), Nk or Nm (rows/month); default {DEFAULT_SIZES}",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="default bench/out")
    parser.add_argument("--end-month", default=DEFAULT_END_MONTH, help="the measured month M")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--partners", type=int, default=6)
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [parse_size(s.strip()) for s in args.sizes.split(",") if s.strip()]

    version = git_version()
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    began = time.perf_counter()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    say(
        f"oemkpi bench {stamp}, code {version}, {os.cpu_count()} CPUs (load {load}), "
        f"month {args.end_month}"
    )
    rows: list[dict[str, Any]] = []
    failed = False
    for size in sizes:
        say(f"\n[{size.name}]")
        try:
            children, _ = bench_size(size, args)
        except SkipSize as skip:
            say(f"  skipped: {skip}")
            continue
        failed |= any(c.exit_code != 0 for c in children)
        # Others may change the code while a bench runs: say which code each size ran.
        code = git_version()
        rows += [{**r, "code": code} for r in result_rows(size.name, children)]

    say("\n[code location]")
    loads = bench_code_location(args)
    failed |= any(c.exit_code != 0 for c in loads)
    rows += [{**r, "code": git_version()} for r in result_rows("load", loads)]

    harness = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"\nOne month ({args.end_month}) per size; seconds wall, peak RSS of each process:\n")
    print_table(rows)
    if any(r["what"].endswith(" months") for r in rows):
        say(
            "(A backfill stages months on parallel threads, so its per-month parse seconds "
            "overlap and feed_extra can come out negative.)"
        )
    print_ratios(rows)
    say(
        f"\nHarness peak RSS {harness:.0f} MiB (a child's peak includes it). "
        f"{time.perf_counter() - began:.0f} s in all.\n"
        f"Results: {args.out / 'results.csv'}; details: {args.out / 'runs'}/*.json"
    )
    write_csv(args.out / "results.csv", rows, ["code"], append=False)
    write_csv(
        args.out / "history.csv",
        [{**r, "run_at": stamp} for r in rows],
        ["run_at", "code"],
        append=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
