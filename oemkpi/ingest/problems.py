"""Problems found in a delivery, in the one shape users read.

Parsing, the contract rules and the Great Expectations suite all report
:class:`Problem` values; ``<file>.errors.json`` in quarantine and the CLI print
them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

#: Per (file, column, rule) at most this many problems are listed one by one; the
#: rest are counted in a summary problem so a million bad rows stay readable.
MAX_LISTED_PER_RULE = 1000

#: What to do, by rule: the second half of every problem sentence.
_ADVICE: dict[str, str] = {
    "file_format": "deliver CSV, Parquet or XLSX files",
    "file_unreadable": "re-export the file and deliver it again",
    "file_empty": "deliver a file with a header row and data",
    "csv_structure": "fix the row so it has one value per header column and deliver again",
    "csv_split_value": "write the value in double quotes, or a number without thousands separators, and deliver again",
    "encoding": "save the file as UTF-8 and deliver again",
    "line_ending": "save the file with Windows (CRLF) or Unix (LF) line endings and deliver again",
    "required_column": "add the column to the header and deliver again",
    "duplicate_column": "keep one column of that name and deliver again",
    "extra_column": "it is ignored, and the rest of the file is read",
    "plain_number": "write plain numbers like 1234 or 1234.5 (no thousands separators, currency signs or text) and deliver again",
    "integer": "write a whole number and deliver again",
    "out_of_range": "check the value and deliver again",
    "not_null": "fill in the value and deliver again",
    "month": "write the delivery's month as YYYY-MM in every row, or move the file to the right month folder",
    "in_set": "use one of the allowed values and deliver again",
    "partner_id": "use an id from reference/partners.csv, or add the partner there first",
    "country": "use a two-letter code from reference/countries.csv, or add the country there first",
    "sku": "use 1-64 printable characters for the SKU and deliver again",
    "printable": "remove line breaks, tabs and other control characters from the text and deliver again",
    "text_length": "shorten or fill in the text and deliver again",
    "date": "write dates as YYYY-MM-DD, or leave the cell empty, and deliver again",
    "no_such_day": "check the date and deliver again",
    "fiscal_quarter": "write the fiscal quarter as FYyy-Qn (fiscal years start in July: July 2026 is FY27-Q1) and deliver again",
    "unique_key": "send each key once per delivery and deliver again",
    "attached_le_base": "attached_units cannot exceed base_units; correct the row and deliver again",
    "row_count": "deliver the full month",
    "suite": "fix the values the expectation lists and deliver again",
    "not_regular_file": "put the file itself in the folder (not a link, folder, pipe or device) and deliver again",
    "delivery_folder": "deliver the files into a folder of their own, not a link to one, and deliver again",
    "delivery_too_large": "split the month's files into smaller deliveries or, if this machine can take it, raise the limit",
    "xlsx_too_large": "deliver the sheet as CSV or Parquet, or split it into several workbooks",
    "xlsx_encrypted": "save it as .xlsx without a password (or as CSV) and deliver again",
    "xlsx_cell_error": "correct the formula or type the value in (or leave the cell empty where the column may be empty) and deliver again",
    "xlsx_hidden_sheet": "delete the hidden sheet or put the data on the workbook's first sheet, and deliver again",
    "parquet_too_large": "write the file with smaller row groups (for example 100,000 rows each) and deliver again",
    "record_too_long": "fix the row (a value that long is not data the contract knows) and deliver again",
    "file_name": "nothing to do now; rename the file without control characters next time",
    "file_name_pattern": "rename the file without *, ?, [, ], { and } and deliver it again",
    "file_name_encoding": "rename the file in UTF-8 and deliver it again",
    "file_name_length": "give the file a shorter name and deliver it again",
    "file_skipped": "rename it if it belongs to the delivery, else nothing to do",
    "not_in_month_folder": "move what belongs to a month into landing/<feed>/<YYYY-MM>/ and run that month again, or remove it",
    "not_a_feed": "move its month folders into the feed's folder (landing/<feed>/<YYYY-MM>/) and run those months again, or remove it",
    "sibling_rejected": "nothing is wrong in this file, but the delivery is rejected as a whole; fix the other files and deliver them all again",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a delivery: where it is, what it is, which rule."""

    file: str
    row: int | None
    column: str | None
    value: Any
    rule: str
    message: str
    severity: str = "error"  # "error" rejects the delivery; "warning" does not
    #: The problems this entry stands for: 1, or those a summary entry counts unlisted.
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def problem_count(problems: Iterable[Problem]) -> int:
    """How many problems ``problems`` hold, those a summary entry stands for included (a
    rule broken by 7,312 rows is 7,312 problems, listed or not)."""
    return sum(p.count for p in problems)


def sentence(
    file: str, row: int | None, column: str | None, value: Any, what: str, rule: str
) -> str:
    """One sentence naming file, row, column and value, then what to do."""
    where = file
    if row is not None:
        where += f" row {row}"
    if column is not None:
        where += f", column {column}" if row is not None else f" column {column}"
    shown = "" if value is None else f" value {_show(value)}"
    return f"{where}:{shown} {what}; {_ADVICE.get(rule, 'correct it and deliver again')}."


#: Rules whose sentence quotes another cell of the row ("is larger than base_units (120)").
_QUOTES_ROW = {"attached_le_base"}


def for_stakeholders(found: dict[str, Any]) -> str:
    """A problem (as in ``<file>.errors.json``) as every partner's update shows it: the file
    by its name, not its path in the data home, without the advice meant for the supplier,
    and without the row's values. A delivery holds every partner's rows, and the update of
    each partner shows its first problem: a value quoted there (a unit count, a SKU, a key
    of partner, country and SKU) is another partner's figure in this partner's update. The
    validation page, for the regional team, keeps them."""
    message = str(found.get("message") or "")
    file = str(found.get("file") or "")
    rule = str(found.get("rule"))
    if file and message.startswith(file):
        message = file.rsplit("/", 1)[-1] + message[len(file) :]
    suffix = f"; {_ADVICE.get(rule, 'correct it and deliver again')}."
    if message.endswith(suffix):
        message = message[: -len(suffix)] + "."
    value = found.get("value")
    if value is not None:
        message = message.replace(f": value {_show(value)} ", ": the value ", 1)
    elif found.get("column") is not None:
        message = message.replace(": is ", ": the value is ", 1)  # "column X: is empty"
    if rule in _QUOTES_ROW and message.endswith(")."):
        message = message[: message.rindex(" (")] + "."
    return message


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def problem(
    file: str,
    row: int | None,
    column: str | None,
    value: Any,
    rule: str,
    what: str,
    severity: str = "error",
) -> Problem:
    """Build a :class:`Problem` with its one-sentence message."""
    return Problem(
        file, row, column, value, rule, sentence(file, row, column, value, what, rule), severity
    )


def summary_problem(file: str, column: str | None, rule: str, more: int) -> Problem:
    """The line that stands for problems beyond :data:`MAX_LISTED_PER_RULE`."""
    what = (
        f"{more} more rows have the same problem (only the first {MAX_LISTED_PER_RULE} are listed)"
    )
    return Problem(
        file, None, column, None, rule, sentence(file, None, column, None, what, rule), count=more
    )
