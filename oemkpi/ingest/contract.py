"""The feed contract of SPEC section 3, as data.

Everything that knows what a feed looks like (the parser, the Great
Expectations suites, the sample generator, the warehouse schema) reads it
from here, so a new column or value is added in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["month", "text", "int", "number"]

PARTNER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

SEGMENTS = ("consumer", "commercial")
FORM_FACTORS = ("notebook", "desktop", "workstation", "detachable", "server")
OS_FAMILIES = ("windows", "chromeos", "linux", "freedos", "other")
EDITIONS = ("home", "pro", "pro_workstation", "education", "other")
PRICE_BANDS = ("entry", "mainstream", "premium")
PRODUCTS = ("office", "windows_server")

SKU_MAX_LENGTH = 64


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
        return {"month": "varchar", "text": "varchar", "int": "bigint", "number": "double"}[
            self.type
        ]


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
    """A monthly feed: its name and columns in contract order."""

    name: str
    columns: tuple[Column, ...]
    description: str

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
    )
}

FEED_NAMES: tuple[str, ...] = tuple(FEEDS)


def get_feed(name: str) -> Feed:
    """The feed called ``name``, or a clear error listing the feeds there are."""
    from oemkpi.errors import OemkpiError

    try:
        return FEEDS[name]
    except KeyError:
        raise OemkpiError(
            f"There is no feed called {name!r}; use one of {', '.join(FEED_NAMES)}."
        ) from None
