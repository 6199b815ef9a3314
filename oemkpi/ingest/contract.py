"""The feed contract of SPEC section 3, as data.

Everything that knows what a feed looks like (the parser, the Great
Expectations suites, the sample generator, the warehouse schema) reads it
from here, so a new column or value is added in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["month", "text", "int", "number", "date"]

PARTNER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def header_key(name: str) -> str:
    """A header cell as it is matched with the contract's column names: trimmed, any case."""
    return name.strip().lower()


SEGMENTS = ("consumer", "commercial")
FORM_FACTORS = ("notebook", "desktop", "workstation", "detachable", "server")
OS_FAMILIES = ("windows", "chromeos", "linux", "freedos", "other")
EDITIONS = ("home", "pro", "pro_workstation", "education", "other")
PRICE_BANDS = ("entry", "mainstream", "premium")
PRODUCTS = ("office", "windows_server")
MARKETING_KINDS = ("jma", "launch", "campaign", "event", "training", "other")
MARKETING_STATUSES = ("planned", "running", "done", "cancelled")
POE_STATUSES = ("none", "submitted", "approved", "rejected")

SKU_MAX_LENGTH = 64
ACTIVITY_ID_MAX_LENGTH = 64
ACTIVITY_MAX_LENGTH = 200


@dataclass(frozen=True)
class Column:
    """One contract column: its name, type, and whether it is part of the key."""

    name: str
    type: ColumnType
    key: bool = False
    nullable: bool = False
    domain: tuple[str, ...] | None = None

    @property
    def sql_type(self) -> str:
        return {
            "month": "varchar",
            "text": "varchar",
            "int": "bigint",
            "number": "double",
            "date": "date",
        }[self.type]


def _keys(*extra: Column) -> tuple[Column, ...]:
    return (
        Column("month", "month", key=True),
        Column("partner_id", "text", key=True),
        Column("country", "text", key=True),
        Column("segment", "text", key=True, domain=SEGMENTS),
        *extra,
    )


@dataclass(frozen=True)
class Feed:
    """A monthly feed: its name and columns in contract order.

    An ``optional`` feed (marketing, SPEC section 9) may be left out of a month: not
    delivering it is neither late nor missing, and no partner is missing from it.
    """

    name: str
    columns: tuple[Column, ...]
    description: str
    optional: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.key)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed(
            "pc_shipments",
            (
                *_keys(Column("form_factor", "text", key=True, domain=FORM_FACTORS)),
                Column("shipped_units", "int"),
                Column("forecast_units", "int", nullable=True),
            ),
            "PC units shipped and forecast per partner, country, segment and form factor.",
        ),
        Feed(
            "windows_share",
            (
                *_keys(Column("sku", "text", key=True)),
                Column("os_family", "text", domain=OS_FAMILIES),
                Column("units", "int"),
            ),
            "Units per SKU offered, with the operating system each SKU ships with.",
        ),
        Feed(
            "premium_mix",
            (
                *_keys(
                    Column("edition", "text", key=True, domain=EDITIONS),
                    Column("price_band", "text", key=True, domain=PRICE_BANDS),
                ),
                Column("units", "int"),
                Column("license_revenue_usd", "number"),
            ),
            "Windows units and licence revenue by edition and price band.",
        ),
        Feed(
            "attach_rate",
            (
                *_keys(Column("product", "text", key=True, domain=PRODUCTS)),
                Column("base_units", "int"),
                Column("attached_units", "int"),
                Column("sell_thru_units", "int", nullable=True),
            ),
            "Office and Windows Server attach: base units, attached units, sell-thru.",
        ),
        Feed(
            "marketing",
            (
                Column("month", "month", key=True),
                Column("partner_id", "text", key=True),
                Column("activity_id", "text", key=True),
                Column("activity", "text"),
                Column("kind", "text", domain=MARKETING_KINDS),
                # Empty: the activity covers all the partner's countries.
                Column("country", "text", nullable=True),
                Column("fiscal_quarter", "text"),
                Column("budget_usd", "number"),
                Column("spent_usd", "number"),
                Column("status", "text", domain=MARKETING_STATUSES),
                Column("poe_status", "text", domain=POE_STATUSES),
                Column("end_date", "date", nullable=True),
            ),
            "Co-marketing activities (JMA, launches, campaigns) with budget, spend and proof "
            "of execution, each as of the delivery's month; an optional feed.",
            optional=True,
        ),
    )
}

FEED_NAMES: tuple[str, ...] = tuple(FEEDS)
#: Feeds a month may go without (SPEC section 9): never late, never missing.
OPTIONAL_FEEDS: tuple[str, ...] = tuple(name for name, feed in FEEDS.items() if feed.optional)


def get_feed(name: str) -> Feed:
    """The feed called ``name``, or a clear error listing the feeds there are."""
    from oemkpi.errors import OemkpiError

    try:
        return FEEDS[name]
    except KeyError:
        raise OemkpiError(
            f"There is no feed called {name!r}; use one of {', '.join(FEED_NAMES)}."
        ) from None
