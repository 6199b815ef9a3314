"""The Great Expectations suites in ``expectations/``, read as plain JSON.

Reading a suite costs nothing (no GX import), so the Dagster code location can
name one asset check per expectation; :mod:`oemkpi.ingest.suite_runs` runs
them. GX silently drops an expectation of an unknown type, so every
expectation here carries the check name it reports as, and a suite that does
not come out whole from GX is refused there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from oemkpi.errors import OemkpiError
from oemkpi.ingest.contract import FEEDS
from oemkpi.ingest.problems import Problem
from oemkpi.packaged import packaged_dir

_CHECK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PARAMETERS = ("month", "partner_ids", "countries")


@dataclass(frozen=True)
class Expectation:
    """One expectation of a suite, with the Dagster check name it reports as."""

    check: str
    type: str
    kwargs: dict[str, Any]
    rule: str

    @property
    def columns(self) -> list[str]:
        kw = self.kwargs
        if "column" in kw:
            return [kw["column"]]
        if "column_list" in kw:
            return list(kw["column_list"])
        if "column_A" in kw:
            return [kw["column_A"], kw["column_B"]]
        return []

    @property
    def description(self) -> str:
        """A short human description, for the Dagster UI."""
        kw = self.kwargs
        name = self.type.removeprefix("expect_").replace("_", " ")
        args = ", ".join(
            f"{k}={_describe_value(v)}" for k, v in kw.items() if k not in {"exact_match"}
        )
        return f"{name} ({args})"


def _describe_value(value: Any) -> str:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return f"<{value['$PARAMETER']}>"
    if isinstance(value, list) and len(value) > 6:
        return "[" + ", ".join(map(str, value[:6])) + ", ...]"
    return json.dumps(value) if isinstance(value, list) else str(value)


@dataclass(frozen=True)
class Suite:
    feed: str
    path: Path
    document: dict[str, Any]
    expectations: tuple[Expectation, ...]

    @property
    def in_set_columns(self) -> frozenset[str]:
        """Columns every value of which must be in a set (no ``mostly``): a padded value,
        in no set, fails the suite (the clean load takes them untrimmed)."""
        return frozenset(
            spec.kwargs["column"]
            for spec in self.expectations
            if spec.type == "expect_column_values_to_be_in_set"
            and spec.kwargs.get("mostly", 1) >= 1
        )

    def admits_row_count(self, rows: int) -> bool:
        """Whether a delivery of ``rows`` rows meets the suite's row-count expectations."""
        for spec in self.expectations:
            if spec.type == "expect_table_row_count_to_be_between":
                low, high = spec.kwargs.get("min_value"), spec.kwargs.get("max_value")
                if (low is not None and rows < low) or (high is not None and rows > high):
                    return False
        return True


@cache
def load_suite(feed: str, directory: Path | None = None) -> Suite:
    """Read ``expectations/<feed>.json`` and check its shape (no GX import)."""
    if feed not in FEEDS:
        raise OemkpiError(f"There is no feed called {feed!r}.")
    path = (directory or packaged_dir("expectations")) / f"{feed}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OemkpiError(f"The suite {path} is missing; every feed needs one.") from None
    except json.JSONDecodeError as err:
        raise OemkpiError(f"The suite {path} is not valid JSON ({err}); fix the file.") from None
    items = document.get("expectations")
    if not isinstance(items, list) or not items:
        raise OemkpiError(f"The suite {path} has no expectations list; add one.")
    expectations = []
    seen: set[str] = set()
    for number, item in enumerate(items, start=1):
        where = f"The suite {path}, expectation {number}"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise OemkpiError(f'{where} has no type; give each expectation a "type".')
        meta = item.get("meta") or {}
        check = meta.get("check")
        if not isinstance(check, str) or not _CHECK_NAME.match(check):
            raise OemkpiError(f"{where} needs meta.check, a lower-case name for its Dagster check.")
        if check in seen:
            raise OemkpiError(f"{where} repeats the check name {check!r}; names must be unique.")
        seen.add(check)
        kwargs = item.get("kwargs") or {}
        for value in kwargs.values():
            if isinstance(value, dict) and value.get("$PARAMETER") not in _PARAMETERS:
                raise OemkpiError(
                    f"{where} uses the parameter {value.get('$PARAMETER')!r}; "
                    f"only {', '.join(_PARAMETERS)} are bound."
                )
        expectations.append(
            Expectation(check, item["type"], kwargs, str(meta.get("rule", "suite")))
        )
    return Suite(feed, path, document, tuple(expectations))


@dataclass
class CheckOutcome:
    """What one check found: pass or fail, counts, sample values, problems."""

    check: str
    passed: bool
    description: str
    element_count: int | None = None
    unexpected_count: int | None = None
    sample: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None
    #: Rows it failed on a cell the contract could not read (its value is empty to the
    #: suite): the contract's problems, not listed again here.
    unread: int = 0
