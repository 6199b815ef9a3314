"""How a delivered text value becomes a typed value: one rule table for both ways in.

Every file is read as text. A contract column's type (``month``, ``int``,
``number``, ``date``, ``text``; a few text columns have a rule of their own in
:data:`COLUMN_RULES`) says which text it takes,
how that text is typed, and what is wrong with text it does not take. Both ways
a delivery comes in are generated from :data:`TYPE_RULES`, so they cannot
disagree:

* the clean load (:mod:`oemkpi.ingest.clean_load`) types each value on its way
  into the warehouse and stops at the first value it would not take
  (:func:`clean_expression`);
* the diagnosing parse (:mod:`oemkpi.ingest.diagnose`) types the staged values
  (:func:`staged_expression`) and names every value it would not take, with its
  rule (:func:`problem_conditions`).

Every value is first trimmed, and blank text is NULL (missing), which the
suites judge; these rules only ever see non-blank text. Trimming is what
DuckDB's ``trim`` does: it removes the 17 Unicode space separators (category Zs)
at either end, and nothing else (tests/test_feeds.py checks every code point).

The clean load trims only what needs it: trimming every value of a 10M-row
month was a third of its insert (bench/). A value its rule's pattern already
takes as delivered cannot be padded, so it is typed as it is; only a value the
pattern does not take is trimmed and judged again, exactly as before. A text
column without a rule is taken as delivered (blank still NULL) when the feed's
suite holds it to a set of values with no exception (``in_set``): a padded
value is then in no set, the suite fails the batch, and the delivery goes the
diagnosing way, which trims it and loads it as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from oemkpi.ingest.contract import Column
from oemkpi.warehouse import Generated

# Plain numbers only (SPEC section 3): no thousands separators, currency, exponents.
PLAIN_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
WHOLE_NUMBER = r"-?[0-9]+(\.0+)?"
#: The largest values the contract takes: at most ten digits of units (9,999,999,999 in
#: one row) and fifteen of dollars, so a month's sums cannot overflow (a sum of units is
#: a 64-bit integer, of dollars a double that must stay finite for the JSON export).
COUNT_IN_RANGE = r"-?0*[0-9]{1,10}(\.0+)?"
AMOUNT_IN_RANGE = r"-?0*[0-9]{1,15}(\.[0-9]+)?"
# A month cell may also be a date on the first of the month (XLSX/Parquet dates).
MONTH_VALUE = r"[0-9]{4}-(0[1-9]|1[0-2])(-01([ T]00:00:00(\.0+)?)?)?"
CONTROL_CHAR = r"[\x00-\x1f\x7f]"
#: Text DuckDB's ``trim`` would shorten: a Unicode space separator at either end.
PADDED = r"^\p{Zs}|\p{Zs}$"
# A day as YYYY-MM-DD; XLSX and Parquet dates arrive as that day at midnight.
DATE_VALUE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]00:00:00(\.0+)?)?"
FISCAL_QUARTER_VALUE = r"FY[0-9]{2}-Q[1-4]"

#: What each rule says about a value it rejects (the first half of a problem sentence).
WHAT: dict[str, str] = {
    "month": "is not a month; write it as YYYY-MM",
    "plain_number": "is not a plain number",
    "integer": "is not a whole number",
    "out_of_range": "is larger than a row may hold (up to 9,999,999,999 units, 15 digits of dollars)",
    "sku": "contains a control character",
    "printable": "contains a control character (a line break, tab or similar)",
    "date": "is not a date in the form YYYY-MM-DD",
    "no_such_day": "is not a day of the calendar",
    "fiscal_quarter": "is not a fiscal quarter in the form FY27-Q2",
}


@dataclass(frozen=True)
class TypeRule:
    """How text becomes one type.

    ``shapes``: (rule, pattern) pairs, each a regular expression the whole text must
    match, each narrower than the one before; a value that fails one is named by
    that rule. ``typed``: the typed value of text of the last shape, ``{v}`` standing
    for the text; NULL where it does not fit the type (named ``out_of_range``).
    ``forbidden``: (rule, pattern) pairs that must match nowhere in the text.
    """

    shapes: tuple[tuple[str, str], ...] = ()
    typed: str = "{v}"
    can_overflow: bool = False
    forbidden: tuple[tuple[str, str], ...] = ()
    #: The rule that names text of the right shape that still has no typed value.
    overflow_rule: str = "out_of_range"
    #: For the clean load: a cheaper condition that holds only for text of the last shape
    #: that fits the type, and its typed value then (the same as ``typed``'s); other text
    #: is judged by the shapes as before. Regular expressions on every value of a 10M-row
    #: month took a third of typing it (bench/).
    quick: tuple[str, str] | None = None


#: The rule of each column type; the columns of :data:`COLUMN_RULES` follow their own.
TYPE_RULES: dict[str, TypeRule] = {
    "month": TypeRule(shapes=(("month", MONTH_VALUE),), typed="left({v}, 7)"),
    "int": TypeRule(
        shapes=(
            ("plain_number", PLAIN_NUMBER),
            ("integer", WHOLE_NUMBER),
            ("out_of_range", COUNT_IN_RANGE),
        ),
        typed="try_cast(regexp_replace({v}, '\\.0+$', '') as bigint)",
        can_overflow=True,
        # A whole number written as DuckDB writes it (no sign but '-', no leading zero, no
        # padding, no decimals) with at most ten digits.
        quick=(
            "cast(try_cast({v} as bigint) as varchar) = {v} "
            "and try_cast({v} as bigint) between -9999999999 and 9999999999",
            "try_cast({v} as bigint)",
        ),
    ),
    "number": TypeRule(
        shapes=(("plain_number", PLAIN_NUMBER), ("out_of_range", AMOUNT_IN_RANGE)),
        typed="case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end",
        can_overflow=True,
    ),
    "date": TypeRule(
        shapes=(("date", DATE_VALUE),),
        typed="try_cast(left({v}, 10) as date)",
        can_overflow=True,
        overflow_rule="no_such_day",
    ),
    "text": TypeRule(),
}
SKU_RULE = TypeRule(forbidden=(("sku", CONTROL_CHAR),))
PRINTABLE_RULE = TypeRule(forbidden=(("printable", CONTROL_CHAR),))

#: Text columns with a rule of their own, by column name (the same name means the same
#: thing in every feed). Their lengths are the suites' to judge.
COLUMN_RULES: dict[str, TypeRule] = {
    "sku": SKU_RULE,
    "activity_id": PRINTABLE_RULE,
    "activity": PRINTABLE_RULE,
    "fiscal_quarter": TypeRule(shapes=(("fiscal_quarter", FISCAL_QUARTER_VALUE),)),
}

#: What the clean load writes where it meets a value it would not take: the insert
#: fails, its transaction is rolled back and the delivery goes the diagnosing way.
NOT_CLEAN = "error('oemkpi: not clean')"


def rule_of(col: Column) -> TypeRule:
    return COLUMN_RULES.get(col.name) or TYPE_RULES[col.type]


def _full_match(name: str, pattern: str) -> str:
    return f"regexp_full_match({name}, '{pattern}')"


def _typed(rule: TypeRule, name: str) -> str:
    return rule.typed.format(v=name)


def staged_expression(col: Column) -> Generated:
    """The typed value of staged text ``col``; NULL where the text breaks a rule (the
    problem is listed from :func:`problem_conditions`)."""
    rule = rule_of(col)
    typed = _typed(rule, col.name)
    if rule.shapes:
        return Generated(f"case when {_full_match(col.name, rule.shapes[-1][1])} then {typed} end")
    return Generated(typed)


def problem_conditions(col: Column) -> list[tuple[str, str]]:
    """(condition on the non-blank text of ``col``, rule) for every way it can be wrong;
    at most one condition holds for a value."""
    rule = rule_of(col)
    name = col.name
    out: list[tuple[str, str]] = []
    for i, (rule_id, pattern) in enumerate(rule.shapes):
        # Named by the first shape the value misses.
        earlier = [_full_match(name, p) for _, p in rule.shapes[:i]]
        out.append((" and ".join([*earlier, f"not {_full_match(name, pattern)}"]), rule_id))
    if rule.can_overflow:
        shape = _full_match(name, rule.shapes[-1][1])
        out.append((f"{shape} and {_typed(rule, name)} is null", rule.overflow_rule))
    for rule_id, pattern in rule.forbidden:
        out.append((f"regexp_matches({name}, '{pattern}')", rule_id))
    return out


def clean_expression(
    col: Column, month: str, *, in_set: bool = False
) -> tuple[Generated, list[object]]:
    """The typed value of ``col``'s text as delivered (blank as NULL) for the clean load,
    or :data:`NOT_CLEAN` where :func:`problem_conditions` would name a problem in its
    trimmed text. A month must also be the delivery's folder month (the suite checks
    that in the diagnosing parse). ``in_set``: the suite holds the column to a set of
    values, so a column without a rule is taken untrimmed (see the module's docstring).
    Returns the SQL and the values of its ``?``, in order."""
    rule = rule_of(col)
    name = col.name
    judged, params = _clean_trimmed(col, month, f"nullif(trim({name}), '')")
    if col.type == "month":
        return (
            Generated(f"case when {name} = ? then {name} else {judged} end as {name}"),
            [month, *params],
        )
    if rule.shapes:
        shape, taken = _shaped(rule, name)
        quick = ""
        if rule.quick is not None:
            condition, typed = (part.format(v=name) for part in rule.quick)
            quick = f"when {condition} then {typed} "
        return (
            Generated(f"case {quick}when {shape} then {taken} else {judged} end as {name}"),
            params,
        )
    if rule.forbidden:
        suspect = "|".join([*(p for _, p in rule.forbidden), PADDED])
        return (
            Generated(
                f"case when regexp_matches({name}, '{suspect}') then {judged} else {name} end as {name}"
            ),
            params,
        )
    # A text column without a rule: its trimmed text, or as delivered when a set holds it.
    return Generated(f"{name if in_set else judged} as {name}"), params


def _shaped(rule: TypeRule, value: str) -> tuple[str, str]:
    """The condition that ``value`` has ``rule``'s last shape, and its typed value then
    (:data:`NOT_CLEAN` where it does not fit the type)."""
    typed = _typed(rule, value)
    taken = f"coalesce({typed}, {NOT_CLEAN})" if rule.can_overflow else typed
    return _full_match(value, rule.shapes[-1][1]), taken


def _clean_trimmed(col: Column, month: str, value: str) -> tuple[str, list[object]]:
    """:func:`clean_expression`'s judgement of ``value`` (the column's trimmed text): each
    pattern matched once; no alias."""
    rule = rule_of(col)
    if col.type == "month":
        shape, typed = _shaped(rule, value)
        return (
            f"case when {value} = ? then {value} "
            f"when {shape} and {typed} = ? then {typed} else {NOT_CLEAN} end",
            [month, month],
        )
    if rule.shapes:
        shape, taken = _shaped(rule, value)
        return (
            f"case when {value} is null then null when {shape} then {taken} else {NOT_CLEAN} end",
            [],
        )
    typed = _typed(rule, value)
    if rule.forbidden:
        found = " or ".join(f"regexp_matches({value}, '{p}')" for _, p in rule.forbidden)
        return f"case when {found} then {NOT_CLEAN} else {typed} end", []
    return typed, []
