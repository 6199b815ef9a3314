"""Names for stakeholders: rules, OS families, feeds and places in plain English.

The reports' readers are partner managers and regional directors, not the pipeline:
no rule id (``windows_share_drop``), OS code (``chromeos``) or feed name
(``pc_shipments``) appears in a sentence; countries are named, not coded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Rule id -> (one, many), as a sentence or a table says it.
RULE_NAMES: dict[str, tuple[str, str]] = {
    "competitive_loss": ("Competitive loss", "Competitive losses"),
    "windows_share_drop": ("Windows share drop", "Windows share drops"),
    "forecast_miss": ("Forecast miss", "Forecast misses"),
    "attach_drop": ("Attach drop", "Attach drops"),
    "target_gap": ("Target gap", "Target gaps"),
    "data_quality": ("Data-quality issue", "Data-quality issues"),
    "missing_partner_data": ("Missing partner data", "Feeds without the partner's rows"),
    "marketing_underspend": ("Marketing underspend", "Marketing underspends"),
    "poe_missing": ("Proof of execution not approved", "Proofs of execution not approved"),
}
OS_NAMES = {
    "windows": "Windows",
    "chromeos": "ChromeOS",
    "linux": "Linux",
    "freedos": "FreeDOS",
    "other": "another OS",
}
FEED_NAMES = {
    "pc_shipments": "PC shipments",
    "windows_share": "Windows share",
    "premium_mix": "premium mix",
    "attach_rate": "attach rate",
    "marketing": "marketing activities",
}
_NUMBER_WORDS = (
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
)


#: Words that keep their capital inside a sentence: product names.
_PROPER = ("Windows", "Office", "Server", "Pro ", "PC ")


def capitalize_first(text: str) -> str:
    """The first letter upper case, the rest as it is ("PC shipments" stays)."""
    return text[:1].upper() + text[1:]


def is_or_are(label: str) -> str:
    """The verb a KPI label takes: "PC shipments are", "Licence revenue (USD) is"."""
    return "are" if label.endswith("shipments") else "is"


def are_together(labels: Sequence[str]) -> str:
    """The verb several KPI labels told as one subject take: "is" or "are" for one (as
    :func:`is_or_are`), "are both" for two, "are all" for more."""
    if len(labels) == 1:
        return is_or_are(labels[0])
    return "are both" if len(labels) == 2 else "are all"


def mid_sentence(label: str) -> str:
    """A label as it reads inside a sentence: "Quarter target" -> "quarter target", while
    "Windows share target" and "Office attach target" keep their product names' capitals."""
    if not label or label.startswith(_PROPER):
        return label
    return label[0].lower() + label[1:]


def rule_name(rule: str, count: int = 1, *, in_sentence: bool = False) -> str:
    """A rule in plain English: ``competitive_loss`` -> "Competitive loss" (or, inside a
    sentence, "competitive loss"; "Windows" keeps its capital)."""
    one, many = RULE_NAMES.get(rule, (rule.replace("_", " ").capitalize(),) * 2)
    name = one if count == 1 else many
    return mid_sentence(name) if in_sentence else name


def os_name(os_family: str | None) -> str:
    """An OS family by name: ``chromeos`` -> "ChromeOS"; unknown or missing -> "another OS"."""
    return OS_NAMES.get(os_family or "", "another OS")


#: Why a feed has no data for a month, by its state: one wording for the summary, the
#: sections that need the feed and the feed table (SPEC 5: freshness said the same way).
NOT_IN = {
    "missing": "has not been delivered yet",
    "late": "is late: nothing was delivered by the due day",
    "rejected": "was rejected",
}


def not_in_words(feed: str, status: str, month_label: str | None = None) -> str:
    """ "the PC shipments feed for November 2026 has not been delivered yet" (no month when
    ``month_label`` is None; "delivery ... was rejected" for a rejected one)."""
    noun = "delivery" if status == "rejected" else "feed"
    when = f" for {month_label}" if month_label else ""
    return f"the {feed_name(feed)} {noun}{when} {NOT_IN[status]}"


def feed_name(feed: str) -> str:
    return FEED_NAMES.get(feed, feed.replace("_", " "))


#: A feed check's name (the ``check`` of expectations/<feed>.json) in words, by its ending.
_CHECK_ENDINGS = (
    ("_not_null", "{} filled in"),
    ("_in_reference", "{} in the reference list"),
    ("_in_set", "{} one of the allowed values"),
    ("_non_negative", "{} not negative"),
    ("_is_partition", "{} is the delivery's month"),
    ("_length", "{} of an allowed length"),
)
_CHECK_WORDS = {
    "contract": "the feed contract (file, header and value types)",
    "required_columns": "every required column",
    "row_count_floor": "enough rows for a full month",
    "key_unique": "one row per key",
    "attached_within_base": "attached units within base units",
}


def check_words(check: str) -> str:
    """A feed check for a reader: "country_in_reference" -> "country in the reference
    list" (the update printed the check ids)."""
    if check in _CHECK_WORDS:
        return _CHECK_WORDS[check]
    for ending, words in _CHECK_ENDINGS:
        if check.endswith(ending):
            return words.format(column_words(check.removesuffix(ending)))
    return check.replace("_", " ")


#: Column ids' words that read wrong spelled out: "license revenue usd", "sku", "poe status".
_COLUMN_WORDS = {"usd": "(USD)", "sku": "SKU", "poe": "proof of execution", "os": "OS"}


def column_words(column: str) -> str:
    """A contract column in words: "license_revenue_usd" -> "licence revenue (USD)"."""
    words = [_COLUMN_WORDS.get(word, word) for word in column.split("_")]
    return " ".join(words).replace("license", "licence")


def count_word(n: int) -> str:
    """Small counts as words ("three"), larger ones as figures."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``"3 SKUs"``-style: the count in words and the noun agreeing with it."""
    return f"{count_word(n)} {one if n == 1 else (many or one + 's')}"


def country_name(code: str, names: Mapping[str, str]) -> str:
    return names.get(code, code)


def place(country: str, segment: str | None, names: Mapping[str, str]) -> str:
    """``("US", "consumer")`` -> "United States consumer"."""
    name = country_name(country, names)
    return f"{name} {segment}" if segment else name


def scope_name(scope: str, names: Mapping[str, str]) -> str:
    """A red flag's scope: a country by name, or the whole partner."""
    return "whole partner" if scope == "partner" else country_name(scope, names)


def join_words(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` -> "a, b and c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
