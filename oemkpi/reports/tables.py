"""The report's tables from additive sums: the largest rows, "all other" and a total.

A body table shows the :data:`BODY_ROWS` largest rows; the rest are summed into one
"all other" row, so the body still adds up, and the appendix shows every row. Rows are
built from the sums behind the KPIs (never from their ratios), so an "all other" or
total row is a ratio of sums like every other figure of the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oemkpi.formats import size_pts
from oemkpi.reports.model import Table, TableRow
from oemkpi.reports.words import join_words, mid_sentence

#: Rows a body table shows before "all other".
BODY_ROWS = 10

Sums = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    """A table column: a sum (``den`` None, a volume) or a ratio of two sums."""

    key: str
    num: str
    den: str | None = None

    @property
    def kind(self) -> str:
        return "volume" if self.den is None else "ratio"


def add_sums(rows: Iterable[Sums], *, complete: bool = False) -> dict[str, Any]:
    """Column-wise sums; a column that is None in every row stays None (unknown, not 0).
    ``complete``: a column None (or absent) in any row is None (a market total's last
    month is the sum of every group's, or none: not of those that happen to have one)."""
    rows = list(rows)
    out: dict[str, Any] = {}
    for row in rows:
        for key, value in row.items():
            if value is None:
                out.setdefault(key, None)
            elif isinstance(value, int | float):
                out[key] = (out.get(key) or 0) + value
    if complete:
        for key in out:
            if any(row.get(key) is None for row in rows):
                out[key] = None
    return out


def column_value(sums: Sums | None, column: Column) -> float | None:
    if not sums:
        return None
    num = sums.get(column.num)
    if column.den is None:
        return None if num is None else float(num)
    den = sums.get(column.den)
    if num is None or not den:
        return None
    return float(num) / float(den)


def column_change(column: Column, now: float | None, before: float | None) -> float | None:
    """Points for a ratio (a difference), relative for a volume."""
    if now is None or before is None:
        return None
    if column.den is not None:
        return now - before
    return (now - before) / before if before else None


def table_row(
    label: str,
    columns: Sequence[Column],
    now: Sums | None,
    before: Sums | None = None,
    year_ago: Sums | None = None,
    *,
    kind: str = "row",
    count: int = 1,
) -> TableRow:
    values = {c.key: column_value(now, c) for c in columns}
    changes = {c.key: column_change(c, values[c.key], column_value(before, c)) for c in columns}
    yoy = (
        {c.key: column_change(c, values[c.key], column_value(year_ago, c)) for c in columns}
        if year_ago is not None
        else {}
    )
    return TableRow(label, values, changes, kind, count, yoy)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Group:
    """One row's sums this month, last month and a year ago."""

    label: str
    now: Sums | None
    before: Sums | None = None
    year_ago: Sums | None = None


def make_table(
    groups: Sequence[Group],
    columns: Sequence[Column],
    *,
    size: str,
    total: TableRow | None = None,
    total_label: str = "Total",
    limit: int = BODY_ROWS,
    other_label: str = "All other",
    complete_priors: bool = False,
) -> Table:
    """The body's rows (largest by the ``size`` sum first), "all other" and the total.

    ``total`` is the given partner total (its KPIs as the tiles show them), or else the
    sum of every group. With at most ``limit`` + 1 rows every row is shown.
    ``complete_priors``: "all other" and the total have last month's and last year's
    figures only where every group they add up has them (:func:`add_sums`).
    """
    ordered = sorted(groups, key=lambda g: (-(_size(g.now, size)), g.label))
    full = [table_row(g.label, columns, g.now, g.before, g.year_ago) for g in ordered]
    if total is None and groups:
        total = table_row(
            total_label,
            columns,
            add_sums(g.now or {} for g in groups),
            add_sums((g.before or {} for g in groups), complete=complete_priors),
            add_sums((g.year_ago or {} for g in groups), complete=complete_priors)
            if any(g.year_ago for g in groups)
            else None,
            kind="total",
        )
    if len(ordered) <= limit + 1:
        return Table(full, None, total, full)
    rest = ordered[limit:]
    other = table_row(
        f"{other_label} ({len(rest)})",
        columns,
        add_sums(g.now or {} for g in rest),
        add_sums((g.before or {} for g in rest), complete=complete_priors),
        add_sums((g.year_ago or {} for g in rest), complete=complete_priors)
        if any(g.year_ago for g in rest)
        else None,
        kind="other",
        count=len(rest),
    )
    return Table(full[:limit], other, total, full)


def _size(sums: Sums | None, key: str) -> float:
    value = (sums or {}).get(key)
    return float(value) if value is not None else -1.0


def group_by(
    rows: Iterable[Mapping[str, Any]], key: str, columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Sum ``columns`` of ``rows`` per value of ``key``."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append({c: row.get(c) for c in columns})
    return {k: add_sums(v) for k, v in grouped.items()}


#: What a table's first column counts, in a sentence: (one, many).
_ROW_NOUNS = {"Segment": ("segment", "segments"), "Country": ("country", "countries")}


def against_its_rows(
    table: Table, first: str, columns: Sequence[Sequence[Any]], full: bool = False
) -> list[str]:
    """A note for each ratio whose total moved the other way from every row it sums:
    "Windows share: each segment rose, yet the total fell 0.1 pts: units moved towards the
    segment with the lower Windows share." Read alone, such a total looks like an error.

    ``columns`` are the templates' (key, label, kind, mom, yoy). Only a table that shows
    every row (no "all other") and counts segments or countries gets a note.
    """
    noun = _ROW_NOUNS.get(first)
    rows = table.full if full else table.shown
    if noun is None or table.total is None or (table.other is not None and not full):
        return []
    notes = []
    for key, label, kind, mom, *_ in columns:
        total = table.total.changes.get(key)
        changes = [r.changes.get(key) for r in rows]
        if kind != "ratio" or not mom or len(rows) < 2 or total is None:
            continue
        moved = [c for c in changes if c is not None and size_pts(c) != "0.0 pts"]
        if len(moved) < len(rows) or size_pts(total) == "0.0 pts":
            continue  # a row unknown or flat: no "each"
        if all((c > 0) != (total > 0) for c in moved):
            way, back, side = ("rose", "fell", "lower") if total < 0 else ("fell", "rose", "higher")
            # Two rows (the segments): the one that gained share is the one with the lower.
            towards = (
                f"the {noun[0]} with the {side}" if len(rows) == 2 else f"{noun[1]} with a {side}"
            )
            notes.append(
                f"{label}: each {noun[0]} {way}, yet the total {back} {size_pts(total)}: "
                f"units moved towards {towards} {mid_sentence(label)}."
            )
    return notes


#: An attach ratio, the sell-thru column beside it, and the base the ratio divides by: a
#: row without that base has no ratio (and no sell-thru of it).
_ATTACH_BASES = (
    ("office_attach", "office_sell_thru_units", "Office"),
    ("server_attach", "server_sell_thru_units", "Windows Server"),
)


def without_base(
    table: Table, first: str, columns: Sequence[Sequence[Any]], full: bool = False
) -> list[str]:
    """A note for the attach columns a row has no value in because it has no base there,
    while the total has one: "Server attach and Server sell-thru are n/a for consumer: the
    attach-rate feed has no Windows Server base there this month." (every update's segment
    table showed n/a for consumer servers, unexplained; a place with no attach rows at all
    has no base in the feed either)."""
    labels = {c[0]: c[1] for c in columns}
    if first not in _ROW_NOUNS or table.total is None:
        return []
    rows = table.full if full else table.shown
    notes = []
    for ratio, sell_thru, base in _ATTACH_BASES:
        if ratio not in labels or table.total.values.get(ratio) is None:
            continue
        empty = [r for r in rows if r.values.get(ratio) is None]
        if not empty:
            continue
        said = [labels[ratio]]
        if sell_thru in labels and all(r.values.get(sell_thru) is None for r in empty):
            said.append(mid_sentence(labels[sell_thru]))
        notes.append(
            f"{join_words(said)} {'is' if len(said) == 1 else 'are'} n/a for "
            f"{join_words([r.label for r in empty])}: the attach-rate feed has no {base} base "
            "there this month."
        )
    return notes


def table_notes(
    table: Table, first: str, columns: Sequence[Sequence[Any]], full: bool = False
) -> list[str]:
    """The notes under a table: totals that moved against every row, and n/a cells of rows
    without a base."""
    return against_its_rows(table, first, columns, full) + without_base(table, first, columns, full)
