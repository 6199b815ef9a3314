"""A delivery folder as the pipeline may read it: regular files only, and a snapshot.

A delivery is every file in ``landing/<feed>/<YYYY-MM>/``. Whoever can write
there could also place a symbolic link (to ``/proc/self/environ``, to another
home's files), a named pipe that blocks a reader forever, or a device, and a
reader that follows them would copy what they point at into quarantine, the
validation pages, the warehouse and the run log. So the folder is listed
without following links (it is opened with ``O_NOFOLLOW``, so a month folder
that is itself a link is refused as a whole), every entry is judged by
``lstat``, and only regular files are ever read; anything else is refused with
one sentence, and its name is all that is ever shown of it. ``$OEMKPI_HOME``,
``landing/`` and ``landing/<feed>/`` may be links: that is the operator's choice.

A file's name must also be one the readers take as a name: DuckDB expands ``*``,
``?``, ``[`` and ``{`` in a path as a pattern (a file named ``*.csv`` read every
file beside it, links included), a name that is not UTF-8 cannot be handed to
it, and a name too long for ``<name>.errors.json`` cannot be quarantined. Such
a file is refused like a link, by its (escaped) name, and never read.

The listing is also the delivery's snapshot: names, sizes, modification times
and inodes, taken before anything is read. :meth:`DeliveryFolder.changed` takes
it again after reading; a delivery that changed meanwhile was moving, not bad
(see :mod:`oemkpi.ingest.deliveries`).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from oemkpi.ingest.limits import Limits, env_name, size_text
from oemkpi.ingest.problems import Problem, problem

#: What a refused entry is, by its file type, for the sentence.
_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}
#: Unicode categories shown escaped in names: controls, format characters (such as the
#: right-to-left override used to disguise a name), line and paragraph separators.
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}
#: Characters DuckDB's file readers take as a pattern, not as part of a name.
_PATTERN = set("*?[]{}")
#: The longest file name taken, in bytes: the file system's 255 less ``.errors.json``
#: and a margin.
MAX_NAME_BYTES = 200


def name_problem(name: str) -> tuple[str, str] | None:
    """Why a file named ``name`` cannot be read as one (rule, what), or None."""
    found = sorted(_PATTERN.intersection(name))
    if found:
        listed = " and ".join(repr(c) for c in found)
        what = f"the file name holds {listed}, which the reader takes as a pattern for other files"
        return "file_name_pattern", what + ", so it is not read"
    raw = os.fsencode(name)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return (
            "file_name_encoding",
            "the file name is not UTF-8 text (shown escaped), so it is not read",
        )
    if len(raw) > MAX_NAME_BYTES:
        return (
            "file_name_length",
            f"the file name is {len(raw)} bytes long, more than {MAX_NAME_BYTES}, so it is not read",
        )
    return None


def printable(text: str) -> str:
    """``text`` with every control or format character escaped (``\\x0a``, ``\\u202e``), so a
    name can never start a new line of output or disguise itself."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if unicodedata.category(char) in _UNPRINTABLE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def display_name(path: Path, base: Path | None) -> str:
    """How problems name ``path``: relative to ``base`` (the data home, or the working
    folder) where it can be, with control characters escaped. The entry itself is never
    resolved, so a link is named where it is, not where it points."""
    name = str(path)
    if base is not None:
        for candidate in (path.absolute(), path.absolute().parent.resolve() / path.name):
            with contextlib.suppress(ValueError):
                name = candidate.relative_to(base).as_posix()
                break
    return printable(name)


def display_names(files: list[Path], base: Path | None) -> list[str]:
    """:func:`display_name` of each file."""
    return [display_name(path, base) for path in files]


#: Hidden files a desktop writes into any folder: skipped without a word.
_SYSTEM_FILES = {".DS_Store", ".directory", ".localized"}


def is_delivery_entry(name: str) -> bool:
    """Hidden files and Office lock files (``~$book.xlsx``) are not part of a delivery."""
    return not name.startswith((".", "~$"))


@dataclass(frozen=True)
class Entry:
    """One entry of a delivery folder, as ``lstat`` saw it."""

    path: Path
    mode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)

    @property
    def kind(self) -> str:
        return _KINDS.get(stat.S_IFMT(self.mode), "not a regular file")

    @property
    def readable(self) -> bool:
        """A regular file whose name the readers take as a name: the only entries read."""
        return self.is_file and name_problem(self.path.name) is None

    def snapshot(self) -> tuple[str, int, int, int, int]:
        return (self.path.name, stat.S_IFMT(self.mode), self.size, self.mtime_ns, self.inode)


@dataclass
class DeliveryFolder:
    """The entries of ``landing/<feed>/<YYYY-MM>/`` (hidden files left out), in name order."""

    folder: Path
    entries: list[Entry] = field(default_factory=list)
    #: Why the folder itself is not read (a link, or not a folder), or None.
    refused: str | None = None
    #: Hidden files and Office lock files: not part of the delivery, named in a warning.
    skipped: list[Path] = field(default_factory=list)
    #: ``lstat`` of the folder: its own times change when an entry comes or goes.
    own: Entry | None = None

    @property
    def files(self) -> list[Path]:
        """The regular files with names the readers take: the only entries ever read."""
        return [e.path for e in self.entries if e.readable]

    @property
    def unread(self) -> list[Path]:
        """Entries that are not regular files, or whose names cannot be read: refused."""
        return [e.path for e in self.entries if not e.readable]

    @property
    def delivered(self) -> bool:
        """Whether there is anything to check: entries, or a folder that is refused."""
        return bool(self.entries) or self.refused is not None

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries if e.readable)

    def readable(self, limits: Limits) -> bool:
        """Whether any of it may be read: the folder is not refused and not too large."""
        return self.refused is None and self.size <= limits.delivery_bytes

    def snapshot(self) -> tuple[object, ...]:
        return (self.refused, tuple(e.snapshot() for e in self.entries))

    def fingerprint(self) -> str:
        """Identity of this delivery version (:func:`fingerprint` of its files; refused
        entries count too, by name and type, so the sensor notices them)."""
        if self.refused is not None and self.own is not None:
            return _digest([(self.folder.name, self.own.mode, self.own.mtime_ns)])
        parts: list[tuple[object, ...]] = [
            (e.path.name, e.size, e.mtime_ns) for e in self.entries if e.is_file
        ]
        parts += [(e.path.name, e.kind, e.mtime_ns) for e in self.entries if not e.is_file]
        return _digest(parts)

    def last_change_ns(self) -> int:
        """The newest status change of the folder and its entries. Writing a file,
        renaming one into place, adding or removing one all set it to the system's
        clock, and nobody can set it otherwise (unlike a modification time, which a copy
        may keep from the source)."""
        times = [e.ctime_ns for e in self.entries]
        if self.own is not None:
            times.append(self.own.ctime_ns)
        return max(times, default=0)

    def changed(self) -> bool:
        """Whether the folder is not as it was listed (entries, sizes, times, inodes)."""
        return read_folder(self.folder).snapshot() != self.snapshot()

    def problems(self, base: Path | None, limits: Limits) -> list[Problem]:
        """Why the delivery cannot be taken before any file is read: the folder refused,
        entries that are not regular files, or more bytes than a delivery may have."""
        where = display_name(self.folder, base)
        if self.refused is not None:
            return [problem(where, None, None, None, "delivery_folder", self.refused)]
        found = [
            problem(
                display_name(e.path, base),
                None,
                None,
                None,
                "not_regular_file",
                f"is {e.kind}, not a regular file, and is not read",
            )
            for e in self.entries
            if not e.is_file
        ]
        found += [
            problem(display_name(e.path, base), None, None, None, *why)
            for e in self.entries
            if e.is_file and (why := name_problem(e.path.name)) is not None
        ]
        if self.size > limits.delivery_bytes:
            found.append(
                problem(
                    where,
                    None,
                    None,
                    None,
                    "delivery_too_large",
                    f"the delivery's {len(self.files)} files hold {size_text(self.size)}, more "
                    f"than the limit of {size_text(limits.delivery_bytes)} per delivery "
                    f"({env_name('delivery_bytes')}), so none of it is read",
                )
            )
        return found

    def warnings(self, base: Path | None) -> list[Problem]:
        """Names with control characters (read as they are, named escaped), and hidden
        files or Office lock files left out of the delivery."""
        skipped = [
            problem(
                display_name(path, base),
                None,
                None,
                None,
                "file_skipped",
                "the file is not part of the delivery: its name starts with '~$' (a workbook "
                "still open in Office)"
                if path.name.startswith("~$")
                else "the file is not part of the delivery: its name starts with '.' (hidden)",
                severity="warning",
            )
            for path in self.skipped
        ]
        return skipped + [
            problem(
                display_name(e.path, base),
                None,
                None,
                None,
                "file_name",
                "the file name holds control characters (shown escaped)",
                severity="warning",
            )
            for e in self.entries
            if printable(e.path.name) != e.path.name
        ]


def read_folder(folder: Path) -> DeliveryFolder:
    """List ``folder`` without following links (an absent folder is an empty delivery)."""
    listed = DeliveryFolder(folder)
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return listed
    except OSError:
        try:
            listed.own = _entry(folder, os.lstat(folder))
        except FileNotFoundError:
            return listed
        listed.refused = (
            "is a symbolic link, so nothing in it is read"
            if stat.S_ISLNK(listed.own.mode)
            else "is not a folder that can be read"
        )
        return listed
    try:
        listed.own = _entry(folder, os.fstat(descriptor))
        with os.scandir(descriptor) as found:
            for item in found:
                if not is_delivery_entry(item.name):
                    if item.name not in _SYSTEM_FILES:
                        listed.skipped.append(folder / item.name)
                    continue
                with contextlib.suppress(FileNotFoundError):  # gone since it was listed
                    entry = _entry(folder / item.name, item.stat(follow_symlinks=False))
                    listed.entries.append(entry)
    finally:
        os.close(descriptor)
    listed.entries.sort(key=lambda e: e.path.name)
    listed.skipped.sort()
    return listed


_MONTH_FOLDER = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def stray_entries(landing: Path, feed: str, feeds: Sequence[str], base: Path) -> list[Problem]:
    """Warnings for what lies in ``landing`` where no run reads it: in ``landing/<feed>/``
    anything but a ``YYYY-MM`` folder (a file dropped beside the month folders, a folder
    named '2026-11 ' or '2026-11.bak'); in ``landing/`` a folder that is no feed (named
    for the feed it is most like; those like none by the first feed). Hidden entries
    are let be. A run read past them in silence, and a month's rows went missing."""
    found: list[Problem] = []
    own = landing / feed
    for entry in _listed(own):
        if entry.name.startswith(".") or (
            _MONTH_FOLDER.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
        ):
            continue
        found.append(
            problem(
                display_name(own / entry.name, base),
                None,
                None,
                None,
                "not_in_month_folder",
                "is not a month folder (YYYY-MM), so nothing in it is read"
                if entry.is_dir(follow_symlinks=False)
                else "is not in a month folder, so it is not read",
                severity="warning",
            )
        )
    for entry in _listed(landing):
        if entry.name.startswith(".") or entry.name in feeds:
            continue
        like = difflib.get_close_matches(entry.name, feeds, n=1, cutoff=0.6)
        if (like[0] if like else feeds[0]) != feed:
            continue
        found.append(
            problem(
                display_name(landing / entry.name, base),
                None,
                None,
                None,
                "not_a_feed",
                "is not a feed's folder, so nothing in it is read"
                + (f" (is it {like[0]}?)" if like else ""),
                severity="warning",
            )
        )
    return found


def _listed(folder: Path) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` by name; none when it is absent or not a folder."""
    try:
        with os.scandir(folder) as found:
            return sorted(found, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _entry(path: Path, st: os.stat_result) -> Entry:
    return Entry(path, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _digest(parts: Sequence[tuple[object, ...]]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(("\0".join(str(p) for p in part) + "\n").encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def delivery_files(folder: Path) -> list[Path]:
    """The regular files of a delivery folder, sorted (see :func:`read_folder`)."""
    return read_folder(folder).files


def fingerprint(files: list[Path]) -> str:
    """Identity of a delivery version: file names, sizes and modification times."""
    parts = []
    for path in files:
        st = os.lstat(path)
        parts.append((path.name, st.st_size, st.st_mtime_ns))
    return _digest(parts)


def delivered_at(files: list[Path]) -> datetime | None:
    """Newest modification time of the files (UTC, naive for DuckDB)."""
    if not files:
        return None
    newest = max(os.lstat(p).st_mtime for p in files)
    return datetime.fromtimestamp(newest, UTC).replace(tzinfo=None)
