"""``outbox/<YYYY-MM>/``: messages as ``.eml`` files.

Without a mail server every message ends here and nothing leaves the machine. With
one, a message is written here before it is sent and removed once the server took
it, so what is left is what was not sent: the next run sends it from this file.
"""

from __future__ import annotations

from pathlib import Path

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.reports.writing import write_atomically


def outbox_path(home: Home, month: str, file_name: str) -> Path:
    """Where a message of ``month`` waits; the name is built by our own code from
    checked partner ids and region names, never taken from a file."""
    if "/" in file_name or "\\" in file_name or file_name.startswith("."):
        raise ValueError(f"refusing outbox file name {file_name!r}")
    return home.outbox_dir(month) / file_name


def write_eml(path: Path, raw: bytes) -> None:
    """Write the message whole (a reader never sees half of it)."""
    try:
        # .eml is text with CRLF line ends already in place; latin-1 maps bytes 1:1.
        write_atomically(path, raw.decode("latin-1"), encoding="latin-1", newline="")
    except OSError as err:
        raise OemkpiError(
            f"The message {path} could not be written ({err.strerror or err}); free space or "
            "fix the folder's permissions and deliver again."
        ) from None


def read_eml(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def remove_eml(path: Path) -> None:
    path.unlink(missing_ok=True)
