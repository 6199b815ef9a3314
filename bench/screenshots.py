"""Screenshots of a month's reports with headless Chromium, to look at them as readers will.

``python -m bench.screenshots [--home DIR] [--month YYYY-MM] [--out DIR]``
renders ``reports/<month>/index.html`` and one or two partner reports (the
partner with the most red flags and the first other partner, or those named
with ``--partner``) to a full-page PNG each (1400 px wide, as tall as the
page) and prints each to PDF as a browser would, to check the print layout.
The month defaults to the newest one with an ``index.html``; the output
folder to ``<home>/screenshots/<month>``.

Chromium is the Debian ``chromium`` package (``apt-get install chromium``),
run headless with the flags of the project's field notes (no sandbox, no GPU,
no network chatter, a throw-away profile) and driven over the DevTools
protocol on a pipe (``--remote-debugging-pipe``): that is what measures the
page, so the PNG holds all of it, and prints the PDF (:func:`pdfs` prints pages
to PDF bytes for the tests that count a report's printed pages). Only the standard
library talks to it. The reports fetch nothing, so nothing else is needed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oemkpi.errors import OemkpiError
from oemkpi.home import Home, checked_partner_id

EXIT_OK, EXIT_ERROR = 0, 2
WIDTH = 1400
#: The first viewport height; the PNG then takes the page's full height, up to MAX_HEIGHT.
VIEWPORT_HEIGHT = 900
MAX_HEIGHT = 40_000
TIMEOUT_SECONDS = 60.0
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
#: The file descriptors Chromium reads commands from and writes answers to.
_PIPE_IN, _PIPE_OUT = 3, 4


@dataclass(frozen=True)
class Shot:
    """One page to render: its HTML file and the stem of its PNG and PDF."""

    page: Path
    name: str


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium executable: ``explicit``, ``/usr/bin/chromium`` or ``chromium`` on PATH."""
    candidates = [explicit] if explicit else ["/usr/bin/chromium", "chromium", "chromium-browser"]
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    raise OemkpiError(
        "Chromium was not found (looked for /usr/bin/chromium and chromium on PATH); "
        "install it with `apt-get install chromium` or name it with --chromium."
    )


def latest_month(home: Home) -> str:
    """The newest month under ``reports/`` that has an ``index.html``."""
    root = home.root / "reports"
    months = sorted(
        p.name for p in root.glob("*") if _MONTH_RE.match(p.name) and (p / "index.html").is_file()
    )
    if not months:
        raise OemkpiError(
            f"There are no reports in {root}; run `oemkpi demo` or `oemkpi run --month YYYY-MM` "
            "first."
        )
    return months[-1]


def default_partners(folder: Path, count: int = 2) -> list[str]:
    """The partner with the most red flags, then the others by id: up to ``count`` ids."""
    flags: dict[str, int] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            export = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(export, dict) and path.with_suffix(".html").is_file():
            flags[path.stem] = len(export.get("red_flags") or [])
    if not flags:
        return []
    ordered = sorted(flags)
    most = max(ordered, key=lambda pid: flags[pid])
    return ([most] + [pid for pid in ordered if pid != most])[:count]


def plan_shots(home: Home, month: str, partners: Sequence[str] | None) -> list[Shot]:
    """The month's index and the chosen partner reports, checked to exist."""
    folder = home.reports_dir(month)
    index = folder / "index.html"
    if not index.is_file():
        raise OemkpiError(
            f"There is no {index}; run `oemkpi run --month {month}` to write that month's reports."
        )
    shots = [Shot(index, f"{month}-index")]
    for pid in partners if partners else default_partners(folder):
        page = folder / f"{checked_partner_id(pid)}.html"
        if not page.is_file():
            raise OemkpiError(f"There is no report {page} for partner {pid!r} in {month}.")
        shots.append(Shot(page, f"{month}-{pid}"))
    return shots


class Browser:
    """Headless Chromium spoken to over the DevTools protocol on a pipe.

    Messages are JSON objects separated by NUL bytes: commands go to the child's
    fd 3, answers and events come back on its fd 4.
    """

    def __init__(self, process: subprocess.Popen[bytes], commands: int, answers: int) -> None:
        self._process = process
        self._commands = commands
        self._answers = answers
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._last_id = 0

    def _read_message(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._answers], [], [], max(left, 0))
            if not ready:
                raise OemkpiError(
                    f"Chromium did not answer {waiting_for} within {TIMEOUT_SECONDS:g} s."
                )
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise OemkpiError(f"Chromium quit while doing {waiting_for}.")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Run one protocol command and return its result; events met meanwhile are kept."""
        self._last_id += 1
        command: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session is not None:
            command["sessionId"] = session
        os.write(self._commands, json.dumps(command).encode("utf-8") + b"\0")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            message = self._read_message(deadline, method)
            if message.get("id") != self._last_id:
                self._events.append(message)
                continue
            if "error" in message:
                error = message["error"].get("message", message["error"])
                raise OemkpiError(f"Chromium refused {method}: {error}.")
            return message.get("result", {})

    def wait_for(self, event: str, session: str) -> dict[str, Any]:
        """The next ``event`` of ``session``, kept or still to come."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            for number, message in enumerate(self._events):
                if message.get("method") == event and message.get("sessionId") == session:
                    return self._events.pop(number)
            self._events.append(self._read_message(deadline, event))


@contextmanager
def launch(chromium: str) -> Iterator[Browser]:
    """Start headless Chromium with a throw-away profile; stop it on the way out."""
    commands_read, commands_write = os.pipe()
    answers_read, answers_write = os.pipe()

    def wire_pipes() -> None:  # runs in the child, before exec
        os.dup2(commands_read, _PIPE_IN)
        os.dup2(answers_write, _PIPE_OUT)

    with tempfile.TemporaryDirectory(prefix="oemkpi-chromium-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(_PIPE_IN, _PIPE_OUT),
                preexec_fn=wire_pipes,
            )
        except OSError as err:
            raise OemkpiError(f"Chromium could not be started ({chromium}): {err}.") from None
        finally:
            os.close(commands_read)
            os.close(answers_write)
        try:
            yield Browser(process, commands_write, answers_read)
        finally:
            os.close(commands_write)
            os.close(answers_read)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def capture(browser: Browser, session: str, page: Path, png: Path, pdf: Path) -> None:
    """Load ``page``, write its full height as ``png`` and its print layout as ``pdf``."""
    browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
    browser.wait_for("Page.loadEventFired", session)
    size = browser.send("Page.getLayoutMetrics", {}, session)["cssContentSize"]
    height = min(max(int(size["height"] + 0.5), 1), MAX_HEIGHT)
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}
    shot = browser.send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip},
        session,
    )
    png.write_bytes(base64.b64decode(shot["data"]))
    pdf.write_bytes(print_pdf(browser, session))


def print_pdf(browser: Browser, session: str) -> bytes:
    """The loaded page printed as a browser prints it (A4 from the page's own CSS)."""
    printed = browser.send(
        "Page.printToPDF",
        {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False},
        session,
    )
    return base64.b64decode(printed["data"])


def pdfs(pages: Sequence[Path], chromium: str) -> list[bytes]:
    """Each HTML page printed to PDF bytes, in one browser."""
    out = []
    with launch(chromium) as browser:
        session = _page_session(browser)
        for page in pages:
            browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
            browser.wait_for("Page.loadEventFired", session)
            out.append(print_pdf(browser, session))
        with suppress(OemkpiError):
            browser.send("Browser.close")
    return out


def _page_session(browser: Browser) -> str:
    """A new page of the browser, attached, with page events on: its session id."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    browser.send("Page.enable", {}, session)
    return session


def take(shots: Sequence[Shot], out: Path, chromium: str) -> list[Path]:
    """Render every shot to ``<out>/<name>.png`` and ``<out>/<name>.pdf``; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with launch(chromium) as browser:
        session = _page_session(browser)
        metrics = {
            "width": WIDTH,
            "height": VIEWPORT_HEIGHT,
            "deviceScaleFactor": 1,
            "mobile": False,
        }
        browser.send("Emulation.setDeviceMetricsOverride", metrics, session)
        for shot in shots:
            png, pdf = out / f"{shot.name}.png", out / f"{shot.name}.pdf"
            capture(browser, session, shot.page, png, pdf)
            written += [png, pdf]
        # It may quit before it answers; the files are written either way.
        with suppress(OemkpiError):
            browser.send("Browser.close")
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.screenshots",
        description="Render a month's index and partner reports to PNG and PDF with Chromium.",
    )
    parser.add_argument("--home", help="data home (default: $OEMKPI_HOME, else ./data)")
    parser.add_argument("--month", help="YYYY-MM (default: the newest month with reports)")
    parser.add_argument("--out", help="output folder (default: <home>/screenshots/<month>)")
    parser.add_argument(
        "--partner",
        action="append",
        help="a partner id to render (repeatable; default: the most flagged and the first)",
    )
    parser.add_argument("--chromium", help="the Chromium executable (default: found on PATH)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    home = Home.at(args.home) if args.home else Home.from_env()
    try:
        chromium = find_chromium(args.chromium)
        if args.month and not _MONTH_RE.match(args.month):
            raise OemkpiError(f"The month must be written YYYY-MM, not {args.month!r}.")
        month = args.month or latest_month(home)
        shots = plan_shots(home, month, args.partner)
        out = Path(args.out) if args.out else home.root / "screenshots" / month
        for path in take(shots, out, chromium):
            print(path, flush=True)
    except OemkpiError as err:
        print(f"screenshots: {err}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
