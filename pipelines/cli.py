"""The ``oemkpi`` command: thin argument parsing over the code Dagster runs.

Exit codes: 0 done; 1 done, but a delivery was rejected (or a validated file
would be); 2 the command could not do its work (the message says why).
A user's mistake is one sentence on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from oemkpi.errors import OemkpiError
from oemkpi.formats import counted
from oemkpi.home import Home, use_home_caches
from oemkpi.months import month_range, parse_month
from oemkpi.quiet_exit import quiet_exit
from oemkpi.settings import Settings
from pipelines import scaleout_cli

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oemkpi",
        description="Monthly OEM partner KPI updates: feeds -> checks -> KPIs -> reports.",
    )
    parser.add_argument(
        "--home",
        help="data home (default: $OEMKPI_HOME, else ./data)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="write a sample data home and run every month of it")
    demo.add_argument("--months", type=int, default=36, help="months of history (default 36)")
    demo.add_argument("--partners", type=int, default=6, help="partners, 1-8 (default 6)")
    demo.add_argument("--scale", type=float, default=1.0, help="multiply SKU rows (benchmarks)")
    demo.add_argument("--end-month", help="last month (default: the last complete month)")
    demo.add_argument("--seed", type=int, default=20261022, help="random seed (default fixed)")
    demo.add_argument("--no-run", action="store_true", help="only write the sample files")

    run = sub.add_parser("run", help="run every asset for a month or a month range")
    run.add_argument("--month", help="the month, YYYY-MM")
    run.add_argument("--from", dest="first", help="first month of a range, YYYY-MM")
    run.add_argument("--to", dest="last", help="last month of a range, YYYY-MM")
    run.add_argument("--queue", help="the Celery queue for the run's steps (scale-out profile)")
    run.add_argument(
        "--deliver",
        action="store_true",
        help="a range run sends its months' messages too (a one-month run always does)",
    )

    deliver = sub.add_parser(
        "deliver", help="send a month's messages (mail to each PAM, regional early warnings)"
    )
    deliver.add_argument("--month", required=True, help="the month, YYYY-MM")
    deliver.add_argument("--resend", action="store_true", help="send every message again")
    deliver.add_argument(
        "--dry-run", action="store_true", help="say what would be sent; send and write nothing"
    )

    validate = sub.add_parser(
        "validate", help="check one file against a feed's contract and suite, load nothing"
    )
    validate.add_argument("file", help="a CSV, Parquet or XLSX file")
    validate.add_argument("--feed", required=True, help="pc_shipments, windows_share, ...")
    validate.add_argument("--month", help="the month the file is for (default: its folder's name)")

    ui = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1 for this data home")
    ui.add_argument("--port", type=_port, default=3000, help="1-65535 (default 3000)")
    scaleout_cli.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.home:
        os.environ["OEMKPI_HOME"] = args.home
    home = Home.from_env()
    use_home_caches(home)
    try:
        # An invalid combination of the scale-out settings stops every command here.
        settings = Settings.from_env()
        if args.command in scaleout_cli.COMMANDS:
            return scaleout_cli.dispatch(home, args, settings)
        if args.command == "demo":
            return _demo(home, args)
        if args.command == "run":
            return _run(home, args)
        if args.command == "deliver":
            return _deliver(home, args)
        if args.command == "validate":
            return _validate(home, args)
        if args.command == "ui":
            return _ui(home, args)
    except OemkpiError as err:
        print(f"oemkpi: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("oemkpi: interrupted.", file=sys.stderr)
        return EXIT_ERROR
    except Exception as err:  # a bug: still one sentence (OEMKPI_TRACEBACK=1 shows where)
        if os.environ.get("OEMKPI_TRACEBACK"):
            raise
        first = (str(err).strip().splitlines() or [""])[0][:300]
        print(
            f"oemkpi: {args.command} failed unexpectedly ({type(err).__name__}: {first}); "
            "run it again with OEMKPI_TRACEBACK=1 and report what it prints.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_ERROR


def _port(text: str) -> int:
    """A TCP port for argparse: 1-65535 (it said "Serving on 127.0.0.1:99999")."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; give a number from 1 to 65535")
    return port


def _say(message: str) -> None:
    print(message, flush=True)


def _check_demo_home(home: Home) -> None:
    """The demo writes fictional partners, feeds and messages over the home's files: it
    takes a new or empty folder or an earlier sample home, and never sends mail."""
    from oemkpi.sample.catalogue import PARTNER_CATALOGUE

    if home.delivery_yaml.exists():
        raise OemkpiError(
            f"{home.delivery_yaml} would send the demo's fictional messages to real "
            "addresses; give the demo a home without it (--home) or move it aside."
        )
    if not home.partners_csv.is_file():
        return
    sample = {p.partner_id for p in PARTNER_CATALOGUE}
    try:
        with home.partners_csv.open(encoding="utf-8", newline="") as handle:
            ids = {row.get("partner_id") or "" for row in csv.DictReader(handle)}
    except (OSError, UnicodeDecodeError, csv.Error):
        ids = {"?"}
    others = sorted(ids - sample)
    if others:
        raise OemkpiError(
            f"{home.root} is a data home with partners of its own ({', '.join(others[:3])}"
            f"{', ...' if len(others) > 3 else ''}), and the demo would replace its reference "
            "data, landing files and warehouse with fictional ones; give the demo a new or "
            "empty folder with --home."
        )


def _demo(home: Home, args: argparse.Namespace) -> int:
    from oemkpi.sample import write_sample_home

    _check_demo_home(home)
    started = time.perf_counter()
    _say(f"Writing the sample data home in {home.root} ...")
    summary = write_sample_home(
        home.root,
        end_month=args.end_month,
        months=args.months,
        partners=args.partners,
        scale=args.scale,
        seed=args.seed,
    )
    _say(
        f"Sample home: {len(summary.partners)} partners, {len(summary.countries)} countries, "
        f"{len(summary.months)} months ({summary.months[0]}..{summary.months[-1]}), "
        f"{summary.files} landing files, {sum(summary.rows.values()):,} rows "
        f"({time.perf_counter() - started:.1f} s)."
    )
    if args.no_run:
        return EXIT_OK
    code = _run_range(home, summary.months[0], summary.months[-1])
    if code == EXIT_ERROR:
        return code
    # A range run sends nothing (SPEC section 8); the demo delivers its newest month, which
    # without reference/delivery.yaml writes every message to the outbox.
    last = summary.months[-1]
    delivered = _deliver_month(home, last, {})
    _say(f"Reports of {last}: {home.reports_dir(last) / 'index.html'}")
    _say(f"Regional packs: {home.regions_dir(last)}")
    _say(f"Messages of {last}: {home.outbox_dir(last)} (.eml files; nothing left this machine)")
    return max(code, delivered)


def _run(home: Home, args: argparse.Namespace) -> int:
    if args.month and (args.first or args.last):
        raise OemkpiError("Give either --month or --from/--to, not both.")
    delivery = {"deliver_range": True} if args.deliver else None
    if args.month:
        return _run_range(home, args.month, args.month, queue=args.queue, delivery=delivery)
    if not (args.first and args.last):
        raise OemkpiError(
            "Say which months to run: --month YYYY-MM, or --from YYYY-MM --to YYYY-MM."
        )
    return _run_range(home, args.first, args.last, queue=args.queue, delivery=delivery)


def _deliver(home: Home, args: argparse.Namespace) -> int:
    return _deliver_month(home, args.month, {"resend": args.resend, "dry_run": args.dry_run})


def _deliver_month(home: Home, month: str, delivery: dict[str, bool]) -> int:
    """Materialize ``deliveries`` for one month through Dagster (so the UI counts it)."""
    from pipelines.runs import check_months, run_months

    (month,) = check_months(month, month)
    what = "what would be sent" if delivery.get("dry_run") else "messages"
    _say(f"Delivering {month}: {what} ...")
    started = time.perf_counter()
    summary = run_months(home, month, month, delivery=delivery, only=["deliveries"])
    seconds = time.perf_counter() - started
    if summary.failure:
        print(
            f"oemkpi: delivery of {month} failed after {seconds:.1f} s: {summary.failure}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if summary.not_sent:
        print(_not_sent_sentence(month, seconds, summary.not_sent), file=sys.stderr)
        return EXIT_REJECTED
    done = "Checked" if delivery.get("dry_run") else "Delivered"
    _say(f"{done} {month} in {seconds:.1f} s. Dagster run {summary.run_id}.")
    return EXIT_OK


def _not_sent_sentence(label: str, seconds: float, count: int) -> str:
    return (
        f"oemkpi: finished {label} in {seconds:.1f} s, but {count} message"
        f"{' was' if count == 1 else 's were'} not sent (why is said above); they stay in "
        f"the outbox and go with the next delivery (oemkpi deliver --month {label}) once the "
        "server takes them."
    )


def _run_range(
    home: Home,
    first: str,
    last: str,
    *,
    queue: str | None = None,
    delivery: dict[str, bool] | None = None,
) -> int:
    _start_helpers(home, first, last)
    from pipelines.runs import check_months, run_months

    months = check_months(first, last)
    label = months[0] if len(months) == 1 else f"{months[0]}..{months[-1]} ({len(months)} months)"
    _say(f"Running monthly_update for {label} on {home.root} ...")
    started = time.perf_counter()
    summary = run_months(home, months[0], months[-1], queue=queue, delivery=delivery)
    seconds = time.perf_counter() - started
    for status in summary.rejected:
        kept = " (the earlier delivery stays in force)" if status.in_force else ""
        _say(
            f"  rejected: {status.feed} {status.month}, {counted(status.problems, 'problem')}"
            f"{kept}; see {status.quarantine}"
        )
    # A rejected re-delivery leaves the earlier delivery in force: counted in force.
    in_force = sum(s.in_force for s in summary.statuses)
    late = summary.count("late")
    # "5 in force, 1 rejected" of a five-feed month read as six: a rejected re-delivery is
    # counted apart, beside the earlier delivery it left in force.
    kept = sum(1 for s in summary.rejected if s.in_force)
    counts = (
        f"{in_force} feed deliver{'y' if in_force == 1 else 'ies'} in force, "
        f"{summary.count('rejected') - kept} rejected, {summary.count('missing')} missing"
        + (f", {late} late" if late else "")
        + (
            f", {kept} re-deliver{'y' if kept == 1 else 'ies'} rejected (the earlier one in force)"
            if kept
            else ""
        )
    )
    if summary.failure:
        print(f"oemkpi: the run failed after {seconds:.1f} s: {summary.failure}", file=sys.stderr)
        return EXIT_ERROR
    if summary.changed:
        print(_changed_sentence(label, seconds, summary.changed), file=sys.stderr)
        return EXIT_REJECTED
    if summary.rejected:
        print(
            f"oemkpi: finished {label} in {seconds:.1f} s with rejected deliveries: {counts}. "
            "Fix the files named in quarantine/*/*.errors.json and run the month again.",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    if summary.not_sent:
        print(_not_sent_sentence(label, seconds, summary.not_sent), file=sys.stderr)
        return EXIT_REJECTED
    _say(f"Done: {label} in {seconds:.1f} s; {counts}. Dagster run {summary.run_id}.")
    return EXIT_OK


def _start_helpers(home: Home, first: str, last: str) -> None:
    """Start the run's helper processes before this process imports Dagster, so they import
    their libraries beside it (:mod:`pipelines.helper_processes`)."""
    if Settings.from_env().uses_celery:
        return  # the steps run on workers
    try:
        months = month_range(parse_month(first), parse_month(last))
    except OemkpiError:
        return  # the run says what is wrong with the months
    from pipelines.helper_processes import start_helpers

    start_helpers(home, months)


def _changed_sentence(label: str, seconds: float, changed: list[str]) -> str:
    return (
        f"oemkpi: finished {label} in {seconds:.1f} s, but the delivery of "
        f"{', '.join(changed)} changed while it was read, so nothing of it was loaded or "
        "quarantined and the month's earlier delivery stays in force; run the month again "
        "once its files are complete."
    )


def _validate(home: Home, args: argparse.Namespace) -> int:
    from oemkpi.ingest.check_file import validate_file
    from oemkpi.ingest.folder import printable
    from oemkpi.ingest.problems import problem_count

    try:
        report = validate_file(home, Path(args.file), args.feed, args.month)
    except (OemkpiError, KeyboardInterrupt):
        raise
    except Exception as err:  # a bug: still one sentence, as validate promises
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise OemkpiError(
            f"{printable(args.file)} could not be checked ({type(err).__name__}: {first}); "
            "please report this with the file."
        ) from err
    for warning in report.warnings:
        _say(f"warning: {warning.message}")
    for problem in report.problems:
        _say(problem.message)
    if report.problems:
        _say(
            f"{args.file}: would be rejected, {counted(problem_count(report.problems), 'problem')} "
            f"({counted(report.checks_failed, 'check')} failed) for {args.feed} {report.month}."
        )
        return EXIT_REJECTED
    _say(f"{args.file}: would be accepted, {report.rows} rows for {args.feed} {report.month}.")
    return EXIT_OK


def _ui(home: Home, args: argparse.Namespace) -> int:
    from pipelines.instance import ensure_instance

    dagster_home = ensure_instance(home)
    os.environ["OEMKPI_HOME"] = str(home.root)
    _say(
        f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={dagster_home}); Ctrl-C stops it."
    )
    # The installed code location by module, so no workspace.yaml (nor a checkout) is needed.
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "pipelines.definitions",
        "-a",
        "defs",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    os.execv(command[0], command)


def entry() -> None:
    """Console-script entry point: run, then leave without interpreter teardown
    (:mod:`oemkpi.quiet_exit` says why)."""
    quiet_exit(main())


if __name__ == "__main__":
    entry()
