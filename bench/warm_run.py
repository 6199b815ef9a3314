"""One month run again and again in one process: what a run costs once everything is imported.

    python bench/warm_run.py --home H --month M [--runs 3]

Run by bench/run.py as its own process, with ``OEMKPI_HOME`` and ``DAGSTER_HOME``
set like the ``oemkpi run`` it is compared with. It does what ``oemkpi run
--month M`` does (the run's helper processes first, then the run, in process)
``--runs`` times in this one process and prints one JSON object: each run's wall
seconds and whether it succeeded. The first run pays what a fresh process pays
(imports, Dagster's instance, the helpers' start); the later ones are the fixed
cost a process kept warm between runs would have (issue 18's recommendation).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from oemkpi.home import Home
    from pipelines.helper_processes import start_helpers

    home = Home(args.home.resolve())
    start_helpers(home, [args.month])
    from pipelines.runs import run_months

    runs = []
    for _ in range(args.runs):
        started = time.perf_counter()
        summary = run_months(home, args.month, args.month)
        runs.append({"seconds": time.perf_counter() - started, "success": summary.success})
    print(json.dumps({"runs": runs}), flush=True)
    return 0 if all(r["success"] for r in runs) else 1


if __name__ == "__main__":
    from oemkpi.quiet_exit import quiet_exit

    quiet_exit(main())  # like the oemkpi command: helpers closed, no interpreter teardown
