"""``reference/delivery.yaml``: the mail server and the regions' addresses and webhooks.

The file is optional (SPEC section 8): without it every message is written to
``outbox/<YYYY-MM>/`` and nothing leaves the machine. It holds no secret: the SMTP
user name and password and the Teams workflow URLs are read from the environment
variables it names. Every address here and in ``reference/partners.csv`` is checked
before a message is built: a line break in a name or address (header injection)
or an address that is not one is refused in one sentence naming where it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import yaml

from oemkpi.errors import OemkpiError
from oemkpi.home import config_file_present
from oemkpi.reference import REGION_RE, REGION_RULE

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SMTP_KEYS = {
    "host",
    "port",
    "sender",
    "starttls",
    "username_env",
    "password_env",
    "timeout_seconds",
}
_REGION_KEYS = {"email", "teams_webhook_env"}
#: The sender when delivery.yaml names none (messages then only go to the outbox).
DEFAULT_SENDER = "oemkpi <oemkpi@oemkpi.invalid>"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: Address
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    timeout_seconds: float = 30.0

    def credentials(self) -> tuple[str, str] | None:
        """User name and password from the environment variables named; None when none
        is named. A named variable that is not set is one sentence (its name, never a value)."""
        if not self.username_env and not self.password_env:
            return None
        values = []
        for name in (self.username_env, self.password_env):
            value = os.environ.get(name) if name else None
            if not value:
                raise OemkpiError(
                    f"reference/delivery.yaml names the environment variable {name} for the mail "
                    "server's credentials, but it is not set; set it (or remove "
                    "username_env/password_env) and deliver again."
                )
            values.append(value)
        return values[0], values[1]


@dataclass(frozen=True)
class RegionRoute:
    """Where a region's early warnings go."""

    emails: tuple[Address, ...] = ()
    teams_webhook_env: str | None = None

    def webhook_url(self) -> str | None:
        """The workflow URL from the environment, when the variable is named and set."""
        if not self.teams_webhook_env:
            return None
        return os.environ.get(self.teams_webhook_env) or None


@dataclass(frozen=True)
class DeliveryConfig:
    smtp: SmtpSettings | None = None
    regions: Mapping[str, RegionRoute] = field(default_factory=dict)

    @property
    def sender(self) -> Address:
        return self.smtp.sender if self.smtp else checked_address(DEFAULT_SENDER, "the default")


def checked_address(text: str, where: str, *, name: str = "") -> Address:
    """``name <text>`` as an address, or one sentence saying why it cannot be one.

    ``text`` may be ``Name <addr>`` or a bare address; ``name`` a display name given
    separately (partners.csv's pam_name). Line breaks and other control characters are
    refused outright: in a header they would start a header of their own.
    """
    for part, label in ((text, "address"), (name, "name")):
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in part):
            raise OemkpiError(
                f"{where}: the {label} {_shown(part)} holds a line break or control character, "
                "which could forge mail headers; write it on one line and deliver again."
            )
    display, addr_spec = name, text.strip()
    match = re.fullmatch(r"(.*?)\s*<([^<>]*)>", addr_spec)
    if match:
        display, addr_spec = display or match.group(1).strip().strip('"'), match.group(2)
    local, at, domain = addr_spec.partition("@")
    if not (local and at and "." in domain and "@" not in domain) or " " in addr_spec:
        raise OemkpiError(
            f"{where}: {_shown(text)} is not an e-mail address; write it like name@example.com."
        )
    try:
        return Address(display_name=display, addr_spec=addr_spec)
    except (HeaderParseError, ValueError, IndexError):
        raise OemkpiError(
            f"{where}: {_shown(text)} is not an e-mail address; write it like name@example.com."
        ) from None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _env_name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise OemkpiError(
            f"{where}: {_shown(str(value))} is not an environment variable name; give the "
            "variable's name (like OEMKPI_SMTP_PASSWORD), never the secret itself."
        )
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OemkpiError(f"{where} must be a mapping of keys to values; see the README.")
    return value


def _unknown(keys: Any, allowed: set[str], where: str) -> None:
    extra = sorted(str(k) for k in keys if k not in allowed)
    if extra:
        raise OemkpiError(
            f"{where} has the unknown key {extra[0]!r}; use {', '.join(sorted(allowed))}."
        )


def _smtp(raw: Any, path: Path) -> SmtpSettings:
    where = f"{path}, smtp"
    smtp = _mapping(raw, where)
    _unknown(smtp, _SMTP_KEYS, where)
    host = smtp.get("host")
    if not isinstance(host, str) or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,253}", host):
        raise OemkpiError(f"{where}.host: {_shown(str(host))} is not a host name or address.")
    port = smtp.get("port", 25)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise OemkpiError(f"{where}.port: {_shown(str(port))} is not a port number (1-65535).")
    timeout = smtp.get("timeout_seconds", 30)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 600:
        raise OemkpiError(f"{where}.timeout_seconds: give a number of seconds from 1 to 600.")
    starttls = smtp.get("starttls", False)
    if not isinstance(starttls, bool):
        raise OemkpiError(f"{where}.starttls: write true or false.")
    sender = smtp.get("sender")
    if not isinstance(sender, str):
        raise OemkpiError(f"{where}.sender: give the From address, like oemkpi@example.com.")
    return SmtpSettings(
        host=host,
        port=port,
        sender=checked_address(sender, f"{where}.sender"),
        starttls=starttls,
        username_env=_env_name(smtp.get("username_env"), f"{where}.username_env"),
        password_env=_env_name(smtp.get("password_env"), f"{where}.password_env"),
        timeout_seconds=float(timeout),
    )


def _region(name: Any, raw: Any, path: Path) -> RegionRoute:
    where = f"{path}, regions.{name}"
    if not isinstance(name, str) or not REGION_RE.match(name):
        raise OemkpiError(
            f"{path}, regions: {_shown(str(name))} is not a valid region name; {REGION_RULE}."
        )
    route = _mapping(raw, where)
    _unknown(route, _REGION_KEYS, where)
    emails = route.get("email") or []
    if isinstance(emails, str):
        emails = [emails]
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise OemkpiError(f"{where}.email: give a list of e-mail addresses.")
    return RegionRoute(
        emails=tuple(checked_address(e, f"{where}.email") for e in emails),
        teams_webhook_env=_env_name(route.get("teams_webhook_env"), f"{where}.teams_webhook_env"),
    )


def load_delivery_config(path: Path, regions: set[str] | None = None) -> DeliveryConfig:
    """Read and check ``delivery.yaml``; an empty config when the file is absent.
    ``regions`` (countries.csv's) are the only region names it may use."""
    if not config_file_present(path):
        return DeliveryConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise OemkpiError(
            f"{path} is not valid YAML{at}; fix it (see the README's delivery section)."
        ) from None
    if raw is None:
        return DeliveryConfig()
    top = _mapping(raw, str(path))
    _unknown(top, {"smtp", "regions"}, str(path))
    smtp = _smtp(top["smtp"], path) if top.get("smtp") is not None else None
    routes = {
        str(name): _region(name, value, path)
        for name, value in _mapping(top.get("regions") or {}, f"{path}, regions").items()
    }
    if regions is not None:
        for name in routes:
            if name not in regions:
                raise OemkpiError(
                    f"{path}, regions: {name!r} is not a region of reference/countries.csv; "
                    f"use one of {', '.join(sorted(regions))}."
                )
    return DeliveryConfig(smtp=smtp, regions=routes)
