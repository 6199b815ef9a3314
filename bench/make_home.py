"""Write one benchmark sample home (run by bench/run.py as its own process).

    python bench/make_home.py ROOT --months 2 --end-month 2026-10 --target-rows 2000000

``--target-rows`` asks for about that many windows_share rows per month: the
scale is calibrated on a small home first (SKU rows grow linearly with the
scale once every cell has more than its minimum of SKUs). ``--scale`` gives
the scale directly. Prints one JSON line: the scale used, the months, rows
per feed over all months, files, bytes on disk and the seconds spent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# Calibrate at this scale: big enough to be linear, small enough to take ~0.3 s.
CALIBRATION_SCALE = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--months", type=int, required=True)
    parser.add_argument("--end-month", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--partners", type=int, default=6)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--scale", type=float)
    group.add_argument("--target-rows", type=int)
    args = parser.parse_args()

    from oemkpi.sample import write_sample_home

    common = {
        "end_month": args.end_month,
        "months": args.months,
        "partners": args.partners,
        "seed": args.seed,
    }
    started = time.perf_counter()
    scale = args.scale
    calibration = None
    if scale is None:
        with tempfile.TemporaryDirectory(dir=Path(args.root).parent) as tmp:
            probe = write_sample_home(
                tmp, **{**common, "months": 2}, scale=CALIBRATION_SCALE, commentary=False
            )
        per_month = probe.rows["windows_share"] / len(probe.months)
        per_scale = per_month / CALIBRATION_SCALE
        scale = round(args.target_rows / per_scale, 1)
        calibration = {
            "rows_per_scale": round(per_scale, 1),
            "seconds": round(time.perf_counter() - started, 2),
        }
    summary = write_sample_home(args.root, **common, scale=scale)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(args.root).rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "scale": scale,
                "calibration": calibration,
                "months": summary.months,
                "partners": summary.partners,
                "rows_total": summary.rows,
                "files": summary.files,
                "bytes": size,
                "seconds": round(seconds, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
