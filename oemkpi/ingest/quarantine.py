"""Quarantine: a rejected delivery's files, copied with a ``<file>.errors.json`` each.

``quarantine/<feed>/<YYYY-MM>/`` holds the latest rejected delivery of a
feed-month as it was delivered, beside one errors document per file listing
every problem (file, row, column, value, rule) and the delivery's own problems.
Only files that were read are copied: an entry of the delivery folder that is
not a regular file (a link, a pipe, a device), or a delivery too large to read,
gets its errors document and nothing else; a delivery with no entry to name
(its folder is a link) gets ``delivery.errors.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from oemkpi.home import Home
from oemkpi.ingest.contract import Feed
from oemkpi.ingest.folder import MAX_NAME_BYTES
from oemkpi.ingest.outcomes import Checked
from oemkpi.ingest.problems import problem_count


def quarantine_delivery(
    home: Home,
    feed: Feed,
    month: str,
    files: list[Path],
    checked: Checked,
    *,
    unread: Sequence[str] = (),
) -> Path:
    """Copy the rejected delivery's ``files`` (those that were read) to quarantine with
    one ``<file>.errors.json`` per file, and one per ``unread`` entry (display names)."""
    target = home.quarantine_dir(feed.name, month)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    names = checked.staged.names
    every = [*names, *unread]
    for path, name in zip(files, names, strict=True):
        # Not following a link: were the file replaced by one since it was read, the
        # link is copied as a link, never what it points at.
        shutil.copy2(path, target / path.name, follow_symlinks=False)
        (target / f"{path.name}.errors.json").write_text(
            _errors_document(feed.name, month, name, every, checked), encoding="utf-8"
        )
    for name in unread:
        (target / f"{_document_stem(PurePosixPath(name).name)}.errors.json").write_text(
            _errors_document(feed.name, month, name, every, checked), encoding="utf-8"
        )
    if not every:
        (target / "delivery.errors.json").write_text(
            _errors_document(feed.name, month, "", every, checked), encoding="utf-8"
        )
    return target


def _document_stem(name: str) -> str:
    """``name`` as the stem of its errors document: a name refused for its length is
    shortened (its start and a digest of the whole), so the document can be written."""
    if len(os.fsencode(name)) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    return f"{name[:40]}...{digest}"


def _errors_document(feed: str, month: str, file: str, names: list[str], checked: Checked) -> str:
    """The body of ``<file>.errors.json``: this file's problems and the delivery's own."""
    own = [p for p in checked.problems if p.file == file or p.file not in names]
    body = {
        "feed": feed,
        "month": month,
        "file": file,
        "delivery": names,
        "status": "rejected",
        "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "problem_count": problem_count(own),
        "problems": [p.to_json() for p in own],
        "delivery_problem_count": problem_count(checked.problems),
        "checks_failed": [c.check for c in checked.checks if not c.passed],
        "warnings": [w.to_json() for w in checked.staged.warnings if w.file == file],
    }
    if not own:
        body["note"] = (
            "No problem was found in this file; the delivery is rejected as a whole because "
            "other files of it have problems. Fix those and deliver all files again."
        )
    return json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n"
