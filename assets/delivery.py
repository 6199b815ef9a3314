"""The month's messages: each PAM's update by mail, each region's early warning (SPEC section 8)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from assets.monthly import month_results
from assets.reports import monthly_reports, take_models
from oemkpi.delivery.deliver import deliver_month
from pipelines.partitions import monthly_partitions, single_run
from pipelines.resources import WAREHOUSE_POOL, OemkpiResource
from pipelines.step_errors import one_sentence


class DeliveryConfig(dg.Config):
    """How a run delivers: ``oemkpi deliver`` and ``oemkpi run --deliver`` set these."""

    resend: bool = False  # send every message again, changed or not
    dry_run: bool = False  # say what would be sent; send and write nothing
    deliver_range: bool = False  # a run over several months (a backfill) delivers them too


@dg.asset(
    group_name="delivery",
    kinds={"python", "email"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_POOL,
    deps=[dg.AssetDep(monthly_reports)],
)
@one_sentence
def deliveries(
    context: dg.AssetExecutionContext, config: DeliveryConfig, oemkpi: OemkpiResource
) -> Iterator[Any]:
    """The month's updates reach their readers: one message per PAM with only that PAM's
    partners (executive summaries, charts as PNG, the .html/.md/.json attached), and per
    region an early warning of its high red flags and competitive losses, by mail and as a
    Teams workflow post. Sent through the server in reference/delivery.yaml, else written
    to outbox/<YYYY-MM>/ as .eml files. Each message is recorded in sent_messages, so a
    re-run sends only what changed. A run over a month range sends nothing unless asked."""
    months = list(context.partition_keys)
    if len(months) > 1 and not config.deliver_range:
        context.log.info(
            f"A run over {len(months)} months sends nothing unless asked "
            "(oemkpi run --deliver, or oemkpi deliver --month M)."
        )
        skipped = {m: {"delivered": False, "sent": 0, "pending": 0, "failed": 0} for m in months}
        yield month_results(context, skipped)
        return
    home = oemkpi.get_home()
    per_month: dict[str, dict[str, Any]] = {}
    progress: dict[str, str] = {}
    with oemkpi.warehouse(read_only=config.dry_run) as con:
        for month in months:
            done = deliver_month(
                home,
                month,
                resend=config.resend,
                dry_run=config.dry_run,
                fy_start_month=oemkpi.fiscal_year_start_month,
                models=take_models(context.run_id, str(home.root), month),
                con=con,
            )
            for sentence in done.failures:
                context.log.warning(sentence)
            for note in done.notes:
                context.log.info(note)
            if config.dry_run:
                context.log.info(
                    "\n".join(
                        f"{month}: {outcome}: {kind} {key} to {to}"
                        for kind, key, to, outcome in done.messages
                    )
                    or f"{month}: no messages"
                )
            counts = done.status_counts
            per_month[month] = {
                "delivered": not config.dry_run,
                "sent": counts.get("sent", 0),
                "written_to_outbox": counts.get("outbox", 0),
                "pending": counts.get("pending", 0),
                "failed": counts.get("failed", 0),
                "unchanged": done.count("unchanged"),
                "recipients": dg.MetadataValue.md(done.recipients_markdown()),
                "outbox": dg.MetadataValue.path(str(home.outbox_dir(month))),
            }
            progress[month] = summary_line(done)
    yield month_results(context, per_month, progress=progress)


def summary_line(done: Any) -> str:
    """One line of what a month's delivery did, for the log and the CLI."""
    parts = [
        f"{done.count(outcome)} {word}"
        for outcome, word in (
            ("sent", "sent"),
            ("outbox", "written to the outbox"),
            ("unchanged", "unchanged"),
            ("failed", "not sent"),
            ("would send", "would be sent"),
        )
        if done.count(outcome)
    ]
    return ", ".join(parts) or "no messages"


delivery_assets = [deliveries]
