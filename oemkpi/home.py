"""The data home: every path the project reads or writes, chosen in one place.

All state lives under ``$OEMKPI_HOME`` (default ``./data``), laid out as in
SPEC section 2. Paths built from names that come from outside (a feed, a
month, a partner id) go through the validators here, so no path is ever built
from an unchecked name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from oemkpi.errors import OemkpiError
from oemkpi.ingest.contract import FEEDS, PARTNER_ID_RE
from oemkpi.months import parse_month

DEFAULT_HOME = "data"
SUPPORTED_SUFFIXES = (".csv", ".parquet", ".xlsx")


def _checked_feed(feed: str) -> str:
    if feed not in FEEDS:
        raise OemkpiError(f"There is no feed called {feed!r}; use one of {', '.join(FEEDS)}.")
    return feed


def checked_partner_id(partner_id: str) -> str:
    """Return ``partner_id`` if it is safe to use as a file name (SPEC section 3)."""
    if not isinstance(partner_id, str) or not PARTNER_ID_RE.match(partner_id):
        raise OemkpiError(
            f"The partner id {partner_id!r} is not valid; ids are 1-32 characters of a-z, 0-9, "
            "'_' and '-', starting with a letter or digit."
        )
    return partner_id


@dataclass(frozen=True)
class Home:
    """A data home rooted at ``root`` (an absolute path)."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> Home:
        return cls(Path(root).expanduser().resolve())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Home:
        """The home named by ``$OEMKPI_HOME``, or ``./data`` in the working directory."""
        env = os.environ if environ is None else environ
        return cls.at(env.get("OEMKPI_HOME") or DEFAULT_HOME)

    # -- inputs -----------------------------------------------------------
    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_dir(self, feed: str, month: str) -> Path:
        return self.landing / _checked_feed(feed) / parse_month(month)

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def partners_csv(self) -> Path:
        return self.reference / "partners.csv"

    @property
    def countries_csv(self) -> Path:
        return self.reference / "countries.csv"

    @property
    def targets_csv(self) -> Path:
        return self.reference / "targets.csv"

    @property
    def red_flags_yaml(self) -> Path:
        return self.reference / "red_flags.yaml"

    @property
    def delivery_yaml(self) -> Path:
        return self.reference / "delivery.yaml"

    def commentary_dir(self, month: str) -> Path:
        return self.root / "commentary" / parse_month(month)

    def commentary_file(self, month: str, partner_id: str) -> Path:
        return self.commentary_dir(month) / f"{checked_partner_id(partner_id)}.md"

    # -- outputs ----------------------------------------------------------
    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def quarantine_dir(self, feed: str, month: str) -> Path:
        return self.root / "quarantine" / _checked_feed(feed) / parse_month(month)

    def reports_dir(self, month: str) -> Path:
        return self.root / "reports" / parse_month(month)

    def regions_dir(self, month: str) -> Path:
        return self.reports_dir(month) / "regions"

    def outbox_dir(self, month: str) -> Path:
        return self.root / "outbox" / parse_month(month)

    @property
    def staging(self) -> Path:
        """Scratch space for deliveries being checked; emptied after each check."""
        return self.root / "staging"

    @property
    def validation_docs(self) -> Path:
        return self.root / "validation"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def cache(self) -> Path:
        """Libraries' caches (matplotlib's font list): rebuilt when deleted."""
        return self.root / "cache"


def use_home_caches(home: Home) -> None:
    """Have libraries keep their caches in the data home, not the user's (a run writes
    nothing outside the home, SPEC 2): matplotlib wrote ~/.cache/matplotlib and
    ~/.config/matplotlib. Set before matplotlib is imported, here and in every process this
    one starts; a ``MPLCONFIGDIR`` already set is kept. Nothing is created here: matplotlib
    makes the folder when it first draws (a command that draws nothing, or a mistyped
    ``--home``, leaves no folder behind)."""
    if not os.environ.get("MPLCONFIGDIR"):
        os.environ["MPLCONFIGDIR"] = str(home.cache / "matplotlib")


def config_file_present(path: Path) -> bool:
    """Whether the reference or configuration file ``path`` is there to read: False when
    nothing is at that name, True for a regular file (a link to one is the operator's
    choice), and one sentence for anything else, which would otherwise read as absent
    (targets and thresholds gone without a word) or never end (a named pipe, /dev/zero)."""
    if not os.path.lexists(path):
        return False
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise OemkpiError(
            f"{path} cannot be read ({err.strerror}); replace it with the file itself."
        ) from None
    if not stat.S_ISREG(mode):
        raise OemkpiError(
            f"{path} is not a regular file (a folder, named pipe or device); replace it with "
            "the file itself."
        )
    return True
