"""Reference data: partners, countries and quarterly targets.

The reference files are small and hand-edited, so they are read with the
standard library and checked strictly: a bad row stops the run with one
sentence naming file, row, column and value.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from oemkpi.errors import OemkpiError
from oemkpi.home import Home, config_file_present
from oemkpi.ingest.contract import COUNTRY_RE, PARTNER_ID_RE
from oemkpi.ingest.csv_files import split_value

#: KPIs that may carry a quarterly target, and whether the target is a volume.
TARGET_KPIS: dict[str, str] = {
    "shipped_units": "volume",
    "license_revenue_usd": "volume",
    "windows_share": "ratio",
    "pro_mix": "ratio",
    "premium_mix": "ratio",
    "forecast_attainment": "ratio",
    "office_attach": "ratio",
    "server_attach": "ratio",
}

_FQ_RE = re.compile(r"^FY\d{2}-Q[1-4]$")
#: A region names files (``regions/<region>.html``): SPEC section 8.
REGION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,31}$")
REGION_RULE = (
    "use 1-32 characters of letters, digits, spaces, '_' and '-', starting with a letter or digit"
)
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
#: The targets a KPI may have: ratios are fractions (forecast attainment may exceed 1),
#: volumes are counts or US dollars up to a trillion a quarter.
TARGET_RANGES: dict[str, tuple[float, float]] = {
    "ratio": (0.0, 1.0),
    "forecast_attainment": (0.0, 10.0),
    "volume": (0.0, 1e12),
}


@dataclass(frozen=True)
class Partner:
    partner_id: str
    partner_name: str
    region: str
    pam_name: str
    pam_email: str


@dataclass(frozen=True)
class Country:
    country: str
    country_name: str
    region: str
    subregion: str


@dataclass(frozen=True)
class Target:
    partner_id: str
    fiscal_quarter: str
    kpi: str
    target: float


@dataclass(frozen=True)
class Reference:
    partners: tuple[Partner, ...]
    countries: tuple[Country, ...]
    targets: tuple[Target, ...]

    @property
    def partner_ids(self) -> list[str]:
        return [p.partner_id for p in self.partners]

    @property
    def country_codes(self) -> list[str]:
        return [c.country for c in self.countries]

    @property
    def regions(self) -> list[str]:
        """The regions of countries.csv, in the order they first appear."""
        return list(dict.fromkeys(c.region for c in self.countries))

    def region_countries(self, region: str) -> list[str]:
        return [c.country for c in self.countries if c.region == region]


def region_file_name(region: str) -> str:
    """The file name stem of a region's pack: the checked name with spaces as ``_``."""
    if not REGION_RE.match(region):
        raise OemkpiError(f"The region {region!r} is not a valid region name; {REGION_RULE}.")
    return region.replace(" ", "_")


def _read_rows(
    path: Path, columns: tuple[str, ...], *, required: bool = True
) -> list[dict[str, str]]:
    """Rows of a small CSV as dicts keyed by contract column; header matched loosely."""
    if not config_file_present(path):
        if not required:
            return []
        raise OemkpiError(f"{path} is missing; create it with the header {','.join(columns)}.")
    rows: list[tuple[int, list[str]]] = []  # (line, cells)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            for row in reader:
                rows.append((reader.line_num, row))
    except UnicodeDecodeError:
        raise OemkpiError(f"{path} is not UTF-8 text; save it as UTF-8 CSV.") from None
    except csv.Error as err:
        # A quote never closed, a value over csv's field limit (128 KiB), a stray quote.
        raise OemkpiError(
            f"{path} row {reader.line_num} cannot be read as CSV ({err}); fix the row "
            "(quote a value that holds a comma, close every quote) and run again."
        ) from None
    if not rows:
        raise OemkpiError(f"{path} is empty; it needs the header {','.join(columns)}.")
    header = [h.strip().lower() for h in rows[0][1]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise OemkpiError(
            f"{path} row 1 has no column {missing[0]}; the header must be {','.join(columns)}."
        )
    twice = next((c for c in columns if header.count(c) > 1), None)
    if twice is not None:
        raise OemkpiError(f"{path} row 1 names column {twice} twice; keep one and run again.")
    index = {c: header.index(c) for c in columns}
    out = []
    for number, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        beyond = row[len(header) :]
        extra = [cell for cell in beyond if cell.strip()]
        # "10,300,000" unquoted: the cells after the header's last were dropped in silence.
        # Empty cells there are a trailing comma, unless a split value explains them
        # ("Acme, Inc." in a row whose last value is empty shifts every value after it).
        split = split_value(row, len(beyond)) if beyond else None
        if extra or split:
            raise _too_many_values(path, number, row, header, (extra or beyond)[0], split)
        values = {c: (row[i].strip() if i < len(row) else "") for c, i in index.items()}
        values["_row"] = str(number)
        out.append(values)
    return out


def _too_many_values(
    path: Path,
    number: int,
    row: list[str],
    header: list[str],
    first_extra: str,
    split: tuple[int, str] | None,
) -> OemkpiError:
    """A row with more values than the header, naming the value an unquoted comma split when
    one explains them all (``split``, from :func:`split_value`; the first extra cell is
    usually the row's last value, not the cause)."""
    said = f"{path} row {number} has {len(row)} values where the header has {len(header)}"
    if split is None:
        return OemkpiError(
            f"{said} (the first extra is {first_extra[:40]!r}); quote a value that holds "
            'a comma ("10,300,000") or write plain numbers (10300000), and run again.'
        )
    start, value = split
    shown = repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    number_text = value.replace(",", "").strip()
    fix = (
        f"write it as a plain number ({number_text}) or in double quotes"
        if number_text.isdigit()
        else "write it in double quotes"
    )
    return OemkpiError(
        f"{said}, probably because of the unquoted comma{'s' if value.count(',') > 1 else ''} "
        f"in the value {shown} (column {header[start]}); {fix}, and run again."
    )


def _fail(path: Path, row: dict[str, str], column: str, what: str) -> OemkpiError:
    shown = repr(row[column]) if len(row[column]) <= 40 else repr(row[column][:37] + "...")
    return OemkpiError(f"{path} row {row['_row']}, column {column}: value {shown} {what}.")


def load_partners(path: Path) -> tuple[Partner, ...]:
    rows = _read_rows(path, ("partner_id", "partner_name", "region", "pam_name", "pam_email"))
    seen: set[str] = set()
    partners = []
    for row in rows:
        pid = row["partner_id"]
        if not PARTNER_ID_RE.match(pid):
            raise _fail(
                path,
                row,
                "partner_id",
                "is not a valid partner id; use 1-32 characters of a-z, 0-9, '_' and '-', "
                "starting with a letter or digit",
            )
        if pid in seen:
            raise _fail(path, row, "partner_id", "is listed twice; keep one row per partner")
        seen.add(pid)
        partners.append(
            Partner(
                pid, row["partner_name"] or pid, row["region"], row["pam_name"], row["pam_email"]
            )
        )
    if not partners:
        raise OemkpiError(f"{path} lists no partners; add one row per partner.")
    return tuple(partners)


def load_countries(path: Path) -> tuple[Country, ...]:
    rows = _read_rows(path, ("country", "country_name", "region", "subregion"))
    seen: set[str] = set()
    packs: dict[str, str] = {}  # a pack's file name, case folded: the region it is for
    countries = []
    for row in rows:
        code = row["country"]
        if not COUNTRY_RE.match(code):
            raise _fail(path, row, "country", "is not a two-letter upper-case ISO 3166-1 code")
        if code in seen:
            raise _fail(path, row, "country", "is listed twice; keep one row per country")
        if not REGION_RE.match(row["region"]):
            raise _fail(path, row, "region", f"is not a valid region name; {REGION_RULE}")
        # Two regions may not share a pack's file ("Latin America", "Latin_America", "emea").
        stem = region_file_name(row["region"])
        other = packs.setdefault(stem.casefold(), row["region"])
        if other != row["region"]:
            raise _fail(
                path,
                row,
                "region",
                f"and the region {other!r} would write the same pack ({stem}.html); "
                "name them apart, or write the same region the same way",
            )
        seen.add(code)
        countries.append(
            Country(code, row["country_name"] or code, row["region"], row["subregion"])
        )
    if not countries:
        raise OemkpiError(f"{path} lists no countries; add one row per country.")
    return tuple(countries)


def load_targets(path: Path, partner_ids: set[str]) -> tuple[Target, ...]:
    rows = _read_rows(path, ("partner_id", "fiscal_quarter", "kpi", "target"), required=False)
    seen: set[tuple[str, str, str]] = set()
    targets = []
    for row in rows:
        if row["partner_id"] not in partner_ids:
            raise _fail(
                path, row, "partner_id", "is not in reference/partners.csv; add it there first"
            )
        if not _FQ_RE.match(row["fiscal_quarter"]):
            raise _fail(
                path, row, "fiscal_quarter", "is not a fiscal quarter; write it like FY27-Q2"
            )
        if row["kpi"] not in TARGET_KPIS:
            raise _fail(
                path, row, "kpi", f"is not a KPI with targets; use one of {', '.join(TARGET_KPIS)}"
            )
        if not _NUMBER_RE.match(row["target"]):
            raise _fail(path, row, "target", "is not a plain number; write it like 0.92 or 1500000")
        low, high = TARGET_RANGES.get(row["kpi"], TARGET_RANGES[TARGET_KPIS[row["kpi"]]])
        if not low <= float(row["target"]) <= high:
            raise _fail(
                path,
                row,
                "target",
                f"is out of range for {row['kpi']}; give a number from {low:g} to {high:,.0f}",
            )
        key = (row["partner_id"], row["fiscal_quarter"], row["kpi"])
        if key in seen:
            raise _fail(
                path, row, "kpi", "has a second target for the same partner and quarter; keep one"
            )
        seen.add(key)
        targets.append(Target(*key, float(row["target"])))
    return tuple(targets)


def load_reference(reference_dir: Path) -> Reference:
    """Read and check ``partners.csv``, ``countries.csv`` and ``targets.csv``."""
    partners = load_partners(reference_dir / "partners.csv")
    countries = load_countries(reference_dir / "countries.csv")
    known = {c.region for c in countries}
    for partner in partners:
        if partner.region not in known:
            shown = partner.region if len(partner.region) <= 40 else partner.region[:37] + "..."
            raise OemkpiError(
                f"{reference_dir / 'partners.csv'} partner {partner.partner_id}, column region: "
                f"value {shown!r} is not a region of countries.csv; use one of "
                f"{', '.join(sorted(known))}."
            )
    targets = load_targets(reference_dir / "targets.csv", {p.partner_id for p in partners})
    return Reference(partners, countries, targets)


def check_configuration(home: Home) -> Reference:
    """Read and check every reference and configuration file a run reads (partners,
    countries, targets, ``red_flags.yaml``, ``delivery.yaml``): a run calls this before it
    writes anything, so a mistake in them is one sentence at the start, not a failure
    half-way."""
    from oemkpi.delivery.config import load_delivery_config  # the delivery stage reads it
    from oemkpi.delivery.messages import partner_address  # ... and mails each PAM
    from oemkpi.kpis.red_flags import load_thresholds  # the KPI stage reads them later

    reference = load_reference(home.reference)
    load_thresholds(home.red_flags_yaml)
    load_delivery_config(home.delivery_yaml, set(reference.regions))
    for partner in reference.partners:
        partner_address(home, partner)
    return reference
