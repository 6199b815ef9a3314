"""Red flags as the report tells them: one entry per rule and scope, in plain words,
with the PAM's why, correction of error and owner from ``## Flag: <rule> <scope>``.

The warehouse keeps one row per breach (three SKUs lost in Brazil are three
``competitive_loss`` flags); the report tells them once, names the country and the
OS family; the templates leave a visible "to be written" where the PAM has not said why.
:func:`flag_cause` and :func:`country_clause` give the executive summary a flag's cause in
a few words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from oemkpi.formats import num, pct, size_pts
from oemkpi.kpis.red_flags import UNFORECAST_SHARE
from oemkpi.reports.model import (
    Commentary,
    CompetitiveItem,
    FeedState,
    FlagGroup,
    FlagNote,
    ForecastRow,
    KpiFigure,
    RedFlag,
)
from oemkpi.reports.targets import exact_pct
from oemkpi.reports.words import (
    FEED_NAMES,
    NOT_IN,
    OS_NAMES,
    are_together,
    capitalize_first,
    count_word,
    feed_name,
    join_words,
    mid_sentence,
    not_in_words,
    os_name,
    place,
    plural,
    rule_name,
    scope_name,
)


def without_forecast(rows: Sequence[ForecastRow]) -> tuple[float, float]:
    """The partner's units shipped with no forecast, which forecast attainment leaves out,
    and all its units shipped."""
    return sum(r.without_forecast for r in rows), sum(r.shipped_units or 0 for r in rows)


def partly_forecast(without: float, shipped: float) -> bool:
    """Whether enough units had no forecast for the words to say attainment leaves them out."""
    return shipped > 0 and without / shipped >= UNFORECAST_SHARE


#: A country code where a stored message names a place: "in BR", "(BR consumer)".
_COUNTRY_IN_TEXT = re.compile(r"(\bin |\()([A-Z]{2})\b")


def plain_message(message: str, names: Mapping[str, str]) -> str:
    """A stored flag message with feed ids, OS codes and country codes in words."""
    for code, name in FEED_NAMES.items():
        message = re.sub(rf"\b{code}\b", name, message)
    for code, name in OS_NAMES.items():
        message = re.sub(rf"\bto {code}\b", f"to {name}", message)
    return _COUNTRY_IN_TEXT.sub(
        lambda m: f"{m.group(1)}{names.get(m.group(2), m.group(2))}", message
    )


def _what(
    rule: str,
    scope: str,
    flags: Sequence[RedFlag],
    names: Mapping[str, str],
    figures: Mapping[str, KpiFigure],
    competitive: Sequence[CompetitiveItem],
) -> str:
    flag = flags[0]
    where = names.get(scope, scope)
    if rule == "competitive_loss":
        to_os = {(i.country, i.segment, i.sku): i.to_os for i in competitive}
        skus = [
            f"{f.sku} ({place(scope, f.segment, names) if f.segment else where}, to "
            f"{os_name(to_os.get((scope, f.segment or '', f.sku or '')))}, {num(f.value)} units last month)"
            for f in flags
        ]
        text = f"{plural(len(flags), 'Windows SKU')} moved to another OS family: " + "; ".join(skus)
        return text[0].upper() + text[1:] + "."
    if rule == "windows_share_drop" and flag.value is not None:
        text = f"Windows share{'' if scope == 'partner' else ' in ' + where} fell {size_pts(flag.value)} month on month"
        if flag.threshold is not None:
            text += f" (the flag is raised at {size_pts(flag.threshold)})"
        moved = [i for i in competitive if i.country == scope]
        return text + "." + (_moved_there(moved, where) if moved else "")
    if rule == "attach_drop":
        parts = []
        for f in flags:
            label = figures[f.kpi].label if f.kpi and f.kpi in figures else "Attach"
            parts.append(f"{label} fell {size_pts(f.value)} month on month")
        return "; ".join(parts) + "."
    if rule == "target_gap":
        # Volumes at the same attainment are told together, as in the summary, where the
        # first of them stood: a part is a sentence part, or the volumes' figures.
        told: list[str | list[KpiFigure]] = []
        volumes: dict[str, list[KpiFigure]] = {}
        for f in flags:
            figure = figures.get(f.kpi or "")
            if figure is None or figure.target is None:
                told.append(plain_message(f.message, names).rstrip("."))
            elif figure.kind == "ratio" and figure.qtd is not None:
                # In the quarter's last month the quarter is closed: not "to date".
                told.append(
                    f"{figure.label} "
                    f"{'closed the quarter at' if figure.quarter_closed else 'quarter to date is'} "
                    f"{pct(figure.qtd)}, {size_pts(figure.target - figure.qtd)} below the "
                    f"{pct(figure.target)} target"
                )
            elif figure.quarter_closed:
                told.append(
                    f"{figure.label} closed the quarter at {exact_pct(figure.attainment)} of "
                    "its target"
                )
            else:
                same = volumes.setdefault(exact_pct(figure.attainment), [])
                if not same:
                    told.append(same)
                same.append(figure)
        return "; ".join(p if isinstance(p, str) else _volumes_gap(p) for p in told) + "."
    if rule in _MARKETING_WHAT:
        # Activity names are the partner's words: told as they are, never rewritten.
        return " ".join(_MARKETING_WHAT[rule](f) for f in flags)
    return " ".join(plain_message(f.message, names) for f in flags)


def _volumes_gap(figures: Sequence[KpiFigure]) -> str:
    """Volume KPIs at one attainment, told as one: "Licence revenue (USD) and PC shipments
    quarter to date are both 56.5 % of the quarter's targets with 67 % of the quarter gone"."""
    labels = [figures[0].label] + [mid_sentence(f.label) for f in figures[1:]]
    first = figures[0]
    return (
        f"{join_words(labels)} quarter to date {are_together(labels)} "
        f"{exact_pct(first.attainment)} of the quarter's target{'s' * (len(figures) > 1)} with "
        f"{pct(first.elapsed_share, 0)} of the quarter gone"
    )


def _moved_there(moved: Sequence[CompetitiveItem], where: str) -> str:
    """The country's SKUs that left Windows this month, told beside its Windows share drop
    (the same month's competitive loss, told in its own row, is often the drop's cause)."""
    by_os = sorted(Counter(i.to_os for i in moved).items(), key=lambda o: (-o[1], o[0]))
    went = (
        f"to {os_name(by_os[0][0])}"
        if len(by_os) == 1
        else "to another OS family ("
        + join_words([f"{count_word(n)} to {os_name(to_os)}" for to_os, n in by_os])
        + ")"
    )
    units = sum(i.prior_units or 0 for i in moved)
    return (
        f" In the same month, {plural(len(moved), 'Windows SKU')} in {where} "
        f"({num(units)} units last month) moved {went}: see the competitive watch."
    )


_MARKETING_WHAT: dict[str, Callable[[RedFlag], str]] = {
    "marketing_underspend": lambda f: (
        f"The quarter closes with {pct(f.value, 0)} of the co-marketing budget spent "
        f"(the flag is raised below {pct(f.threshold, 0)})."
    ),
    "poe_missing": lambda f: f.message,
}


def flag_groups(
    flags: Sequence[RedFlag],
    commentary: Commentary | None,
    names: Mapping[str, str],
    figures: Mapping[str, KpiFigure],
    competitive: Sequence[CompetitiveItem],
    feeds: Sequence[FeedState] = (),
    own_rows: Mapping[str, int] | None = None,
) -> list[FlagGroup]:
    """The month's flags by rule and scope, high first, each with its commentary (or None),
    and a feed's data-quality flag with what the pipeline knows of it (:func:`feed_note`)."""
    grouped: dict[tuple[str, str], list[RedFlag]] = {}
    for flag in flags:
        grouped.setdefault((flag.rule, flag.scope), []).append(flag)
    notes = commentary.flags if commentary else {}
    groups = []
    for (rule, scope), members in grouped.items():
        severity = "high" if any(f.severity == "high" for f in members) else "medium"
        title = f"{rule_name(rule)} · {scope_name(scope, names)}"
        groups.append(
            FlagGroup(
                rule,
                scope,
                severity,  # type: ignore[arg-type]
                members,
                title,
                _what(rule, scope, members, names, figures, competitive),
                notes.get((rule, scope)),
                known=feed_note(members, feeds, own_rows or {}),
            )
        )
    # A country row the PAM left blank points to the whole-partner row of its rule, where
    # that row has the PAM's words (Cobalt's three forecast-miss countries, one cause).
    groups = [
        replace(g, partner_note=notes.get((g.rule, "partner")))
        if g.scope != "partner" and g.note is None and (g.rule, "partner") in grouped
        else g
        for g in groups
    ]
    order = list(dict.fromkeys(f.rule for f in flags))
    groups.sort(
        key=lambda g: (g.severity != "high", order.index(g.rule), g.scope != "partner", g.scope)
    )
    return groups


#: The owner of a feed's delivery (SPEC 1: the regional team sees which partner's data is
#: late or failed validation; its data engineers drop re-deliveries).
FEED_OWNER = "Regional team"


#: What the pipeline knows of a feed flag, by the feed's status: (why, correction of error).
_FEED_CELLS = {
    "rejected": (
        "The delivery did not pass the feed's checks (see Data quality).",
        "A corrected delivery, with which the update is issued again.",
    ),
    "late": (
        "Nothing was delivered by the due day (see Data quality).",
        "The delivery, with which the update is issued again.",
    ),
    "missing": (
        "Not delivered yet; it is not due yet (see Data quality).",
        "The delivery, with which the update is issued again.",
    ),
}


def feed_note(
    flags: Sequence[RedFlag], feeds: Sequence[FeedState], own_rows: Mapping[str, int]
) -> FlagNote | None:
    """Why, correction of error and owner of data-quality flags on feed deliveries, which
    are not the partner's doing and which its PAM cannot explain (they asked the PAM, and
    every partner's update and message showed them "to be written"); None for any other
    flags (a reconciliation warning is the partner's own figures disagreeing). ``own_rows``
    are the partner's rows in force by feed: an earlier delivery "stands" only where it has
    some."""
    states = {f.feed: f for f in feeds}
    if not flags or not all(
        f.on_feed and f.feed in states and states[f.feed].status in _FEED_CELLS for f in flags
    ):
        return None
    cells: dict[str, tuple[str, str]] = {}
    for flag in flags:
        assert flag.feed is not None
        why, coe = _FEED_CELLS[states[flag.feed].status]
        if states[flag.feed].status == "rejected" and own_rows.get(flag.feed):
            coe = "A corrected delivery; until then the earlier delivery's figures stand."
        cells[flag.feed] = (why, coe)
    return FlagNote(
        why=_by_feed({feed: c[0] for feed, c in cells.items()}),
        coe=_by_feed({feed: c[1] for feed, c in cells.items()}),
        owner=FEED_OWNER,
    )


def _by_feed(texts: Mapping[str, str]) -> str:
    """The text of one feed, or each feed's named ("PC shipments: the delivery ..."), so
    that two rejected feeds do not read as one delivery."""
    if len(texts) == 1:
        return next(iter(texts.values()))
    return " ".join(
        f"{capitalize_first(feed_name(feed))}: {mid_sentence(text)}" for feed, text in texts.items()
    )


#: The feeds a rule reads: without them this month, it could not fire.
RULE_FEEDS: dict[str, tuple[str, ...]] = {
    "windows_share_drop": ("windows_share",),
    "competitive_loss": ("windows_share",),
    "forecast_miss": ("pc_shipments",),
    "attach_drop": ("attach_rate",),
    "marketing_underspend": ("marketing",),
    "poe_missing": ("marketing",),
}


def flagged_kpis(flags: Sequence[RedFlag]) -> set[str]:
    """The KPIs whose tiles carry the flag mark: those a flag on the figure names. A
    competitive loss names Windows share but is about SKUs (it marked a Windows share that
    had risen and was on track)."""
    return {f.kpi for f in flags if f.kpi and f.rule != "competitive_loss"}


def orphan_flag_notes(
    groups: Sequence[FlagGroup],
    commentary: Commentary | None,
    names: Mapping[str, str],
    feeds: Sequence[FeedState] = (),
) -> list[tuple[str, FlagNote, str]]:
    """Commentary under ``## Flag:`` headings that match no flag of the month, kept visible:
    (title, note, why no flag), where why says whether the rule could be checked at all."""
    if commentary is None:
        return []
    raised = {(g.rule, g.scope) for g in groups}
    absent = {f.feed: f for f in feeds if f.incomplete}
    out = []
    for (rule, scope), note in commentary.flags.items():
        if (rule, scope) in raised:
            continue
        gone = [absent[feed] for feed in RULE_FEEDS.get(rule, ()) if feed in absent]
        why = (
            f"could not be checked this month: {not_in_words(gone[0].feed, gone[0].status)}"
            if gone
            else "not flagged this month"
        )
        out.append((f"{rule_name(rule)} · {scope_name(scope, names)}", note, why))
    return out


# Causes in a few words, for the executive summary's sentence on high flags.
_FLAG_WORDS: dict[str, Callable[[RedFlag, Mapping[str, str]], str]] = {
    "windows_share_drop": lambda f, n: (
        f"Windows share in {n.get(f.scope, f.scope)} fell {size_pts(f.value)}"
        if f.scope != "partner"
        else f"Windows share fell {size_pts(f.value)}"
    ),
    "forecast_miss": lambda f, n: (
        f"shipments in {n.get(f.scope, f.scope)} reached {pct(f.value)} of forecast"
        if f.scope != "partner"
        else f"shipments reached {pct(f.value)} of forecast"
    ),
    "attach_drop": lambda f, n: (
        f"{'Office' if f.kpi == 'office_attach' else 'Server'} attach fell {size_pts(f.value)}"
    ),
    "competitive_loss": lambda f, n: (
        f"a Windows SKU in {n.get(f.scope, f.scope)} moved to another OS"
    ),
    "marketing_underspend": lambda f, n: (
        f"only {pct(f.value, 0)} of the quarter's co-marketing budget was spent"
    ),
    "poe_missing": lambda f, n: (
        f"a finished marketing activity has no approved proof of execution after "
        f"{num(f.value)} days"
    ),
    "data_quality": lambda f, n: (
        _feed_state_words(f)
        if f.feed
        else "feeds disagree" + (f" in {n.get(f.scope, f.scope)}" if f.scope != "partner" else "")
    ),
}


def _feed_state_words(flag: RedFlag) -> str:
    """A feed's data-quality flag in the words the rest of the update uses for its state
    (its message, from kpis/insert_red_flags_month.sql, says which)."""
    assert flag.feed is not None
    status = next((s for s, words in NOT_IN.items() if words in (flag.message or "")), None)
    return (
        not_in_words(flag.feed, status)
        if status
        else f"the {feed_name(flag.feed)} feed is not usable"
    )


def flag_cause(flag: RedFlag, names: Mapping[str, str]) -> str:
    """A red flag's cause in a few plain words, its country named."""
    words = _FLAG_WORDS.get(flag.rule)
    if words is not None:
        return words(flag, names)
    return rule_name(flag.rule, in_sentence=True)


def country_clause(rule: str, flags: Sequence[RedFlag], names: Mapping[str, str]) -> str:
    """Country flags of one rule in one clause: "Windows share fell in Germany (10.4 pts)
    and Spain (6.0 pts)"."""

    def where(f: RedFlag, figure: str | None = None) -> str:
        name = names.get(f.scope, f.scope)
        return f"{name} ({figure})" if figure else name

    if rule == "windows_share_drop":
        return "Windows share fell in " + join_words([where(f, size_pts(f.value)) for f in flags])
    if rule == "forecast_miss":
        places = join_words([where(f, pct(f.value)) for f in flags])
        return f"shipments fell short of forecast in {places}"
    if rule == "competitive_loss":
        places = join_words(list(dict.fromkeys(where(f) for f in flags)))
        return f"Windows SKUs moved to another OS family in {places}"
    places = join_words(list(dict.fromkeys(where(f) for f in flags)))
    return f"{rule_name(rule, len(flags), in_sentence=True)} in {places}"
