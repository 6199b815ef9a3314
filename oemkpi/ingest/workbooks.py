"""XLSX workbooks, read in a helper process with a memory cap, as Parquet for DuckDB.

An XLSX file is a zip of XML. Its first sheet is read by fastexcel (calamine),
which holds every cell of the sheet's used range in memory, copies a shared
string into every cell that uses it, and ends the whole process (a Rust abort,
no exception) when an allocation fails. Sizes in the zip directory bound the
plain case: :func:`check_workbook` refuses a sheet whose XML (with the shared
strings) decompresses to more than ``xlsx_sheet_bytes`` before anything is
decompressed, so a 400 KB file with a 400 MB cell is one sentence. They cannot
bound a 25 KB workbook whose thousand cells all use one long shared string,
or whose one cell sits at ``XFD1048576``: so the sheets are read by a child
process (:mod:`oemkpi.ingest.xlsx_child`) capped at ``xlsx_memory_bytes``,
which writes each sheet as a Parquet file of text columns in the scratch
folder, and DuckDB reads that like any Parquet file. A workbook the child could
not read in its memory is named in one sentence; the run goes on.

One child reads every workbook of a feed's deliveries (:meth:`Workbooks.prepare`),
and waits for the next feed's (:func:`helper`): starting one (about 0.2 s of
imports) is paid once per process, not per file or per feed step. A child that
ran out of memory ends; the next job starts another.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oemkpi
from oemkpi.ingest.contract import header_key
from oemkpi.ingest.csv_files import Unreadable
from oemkpi.ingest.limits import Limits, env_name, size_text

#: Parts of the workbook read to find the first sheet; each is a few hundred bytes.
_SMALL_PART = 1 << 20
#: An attribute's value, in either quote (the other may be inside it).
_QUOTED = rb"""(?:"([^"<>]*)"|'([^'<>]*)')"""
_SHEET_REF = re.compile(rb"<(?:\w+:)?sheet\s[^<>]*?\b(?:\w+:)?id=" + _QUOTED)
_SHEET_ELEMENT = re.compile(rb"<(?:\w+:)?sheet\s[^<>]*>")
_SHEET_HIDDEN = re.compile(rb"""\sstate=(["'])(?:hidden|veryHidden)\1""")
_SHEET_NAME = re.compile(rb"\sname=" + _QUOTED)
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s[^<>]*>")
_ATTRIBUTE = re.compile(rb"\b(Id|Target)=" + _QUOTED)


def check_workbook(path: Path, limits: Limits) -> str:
    """The zip member of the workbook's first sheet; refuses (raises :class:`Unreadable`) a
    workbook whose first sheet and shared strings decompress to more than the limit, from
    the zip directory alone."""
    try:
        with zipfile.ZipFile(path) as book:
            sizes = {info.filename: info.file_size for info in book.infolist()}
            sheet = _first_sheet(book, sizes)
            hidden = _hidden_first_sheet(book, sizes)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as err:
        if _is_compound_file(path):
            raise Unreadable(
                "xlsx_encrypted",
                "it is a password-protected workbook or an old .xls file, not an XLSX "
                "workbook that can be read",
            ) from None
        raise Unreadable(
            "file_unreadable", f"it is not a readable XLSX workbook ({_first_line(err)})"
        ) from None
    if hidden is not None:
        raise Unreadable(
            "xlsx_hidden_sheet",
            f"its first sheet ({hidden}) is hidden, so the workbook is not read: the contract "
            "reads the first sheet, and a hidden one is seldom the data",
        )
    total = sizes.get(sheet, 0) + sizes.get("xl/sharedStrings.xml", 0)
    if total > limits.xlsx_sheet_bytes:
        raise Unreadable(
            "xlsx_too_large",
            f"its first sheet decompresses to {size_text(total)} of XML, more than the "
            f"limit of {size_text(limits.xlsx_sheet_bytes)} per sheet "
            f"({env_name('xlsx_sheet_bytes')}), so it is not read",
        )
    return sheet


#: The first bytes of an OLE2 compound file: what Excel writes for a workbook saved with a
#: password (the XLSX encrypted inside) and for the old .xls format.
_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _is_compound_file(path: Path) -> bool:
    try:
        with path.open("rb") as raw:
            return raw.read(len(_COMPOUND_FILE)) == _COMPOUND_FILE
    except OSError:
        return False


def _hidden_first_sheet(book: zipfile.ZipFile, sizes: dict[str, int]) -> str | None:
    """The name of the workbook's first sheet when it is hidden (an old copy of the data
    that Excel does not show), else None."""
    if not 0 < sizes.get("xl/workbook.xml", 0) <= _SMALL_PART:
        return None
    first = _SHEET_ELEMENT.search(book.read("xl/workbook.xml"))
    if first is None or not _SHEET_HIDDEN.search(first.group(0)):
        return None
    name = _SHEET_NAME.search(first.group(0))
    return repr(_unquoted(name).decode("utf-8", "replace")) if name else "unnamed"


def _first_sheet(book: zipfile.ZipFile, sizes: dict[str, int]) -> str:
    """The zip member of the workbook's first sheet, as the reader opens it; the largest
    worksheet when the workbook does not say (a reader would fail on it anyway)."""
    sheets = [n for n in sizes if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    fallback = max(sheets, key=lambda n: sizes[n], default="")
    if sizes.get("xl/workbook.xml", 0) > _SMALL_PART:
        return fallback
    if sizes.get("xl/_rels/workbook.xml.rels", 0) > _SMALL_PART:
        return fallback
    found = _SHEET_REF.search(book.read("xl/workbook.xml"))
    if found is None or "xl/_rels/workbook.xml.rels" not in sizes:
        return fallback
    for element in _RELATIONSHIP.findall(book.read("xl/_rels/workbook.xml.rels")):
        attributes = {a.group(1): _unquoted(a) for a in _ATTRIBUTE.finditer(element)}
        if attributes.get(b"Id") == _unquoted(found) and b"Target" in attributes:
            target = attributes[b"Target"].decode("utf-8", "replace")
            name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            name = posixpath.normpath(name)
            return name if name in sizes else fallback
    return fallback


def _unquoted(found: re.Match[bytes]) -> bytes:
    """The value of an attribute matched with :data:`_QUOTED` (as its last two groups)."""
    double, single = found.groups()[-2:]
    return double if double is not None else single


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


@dataclass(frozen=True)
class Sheet:
    """A workbook's first sheet as a Parquet file of text columns, and its header row."""

    parquet: Path
    header: list[str]


class Workbooks:
    """The XLSX files of some deliveries, read into Parquet files under ``scratch``."""

    def __init__(self, scratch: Path, limits: Limits, columns: Iterable[str] = ()) -> None:
        """``columns``: the contract's columns, the ones whose cells holding a spreadsheet
        error refuse a workbook (an error in a column the contract ignores does no harm);
        every column when none are given."""
        self.scratch = scratch
        self.limits = limits
        self.columns = frozenset(header_key(c) for c in columns)
        self._done: dict[Path, Sheet | Unreadable] = {}

    def prepare(self, paths: list[Path]) -> None:
        """Read every workbook of ``paths`` not read yet, in one helper process."""
        waiting: list[tuple[Path, str]] = []
        for path in paths:
            if path.suffix.lower() != ".xlsx" or path in self._done:
                continue
            try:
                waiting.append((path, check_workbook(path, self.limits)))
            except Unreadable as refused:
                self._done[path] = refused
        while waiting:
            waiting = self._run_child(waiting)

    def sheet(self, path: Path) -> Sheet:
        """The sheet of ``path`` (read now if :meth:`prepare` did not); raises
        :class:`Unreadable` for a workbook that cannot be read within the limits."""
        if path not in self._done:
            self.prepare([path])
        found = self._done[path]
        if isinstance(found, Unreadable):
            raise found
        return found

    def close(self) -> None:
        """Remove the Parquet files."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        self._done.clear()

    def _run_child(self, books: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
        """Read ``books`` (each a workbook and its first sheet's zip member) in one helper
        process; those it did not get to (it ended early)."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        start = len(self._done)
        paths = [path for path, _ in books]
        targets = [self.scratch / f"sheet-{start + i}.parquet" for i in range(len(books))]
        job = {
            "record_bytes": self.limits.record_bytes,
            "files": [
                [str(p), str(t), sheet] for (p, sheet), t in zip(books, targets, strict=True)
            ],
        }
        answered = 0
        out_of_memory = False
        with helper(self.limits.xlsx_memory_bytes) as child:
            for result in child.answers(job):
                number = int(result.pop("file"))
                out_of_memory = result.get("rule") == "memory"
                self._done[paths[number]] = self._result(targets[number], result)
                answered = number + 1
            if answered == len(paths) or out_of_memory:
                # All read, or the child said which workbook it ran out of memory on and
                # ended: the rest (if any) are read by a new one.
                return books[answered:]
            # The child ended while reading this workbook: an allocation failed (the reader
            # aborts, or Python runs out of memory), or it broke otherwise. The rest are
            # read by a new child.
            returncode, lines = child.ended()
        if returncode < 0 or any("memory" in line.lower() for line in lines[-3:]):
            self._done[paths[answered]] = self._memory()
        else:
            last = lines[-1][:160] if lines else f"exit status {returncode}"
            self._done[paths[answered]] = Unreadable(
                "file_unreadable", f"it could not be read as an XLSX workbook ({last})"
            )
        return books[answered + 1 :]

    def _result(self, target: Path, result: dict[str, Any]) -> Sheet | Unreadable:
        if "header" in result:
            header = [str(h) for h in result["header"]]
            errors = [e for e in result["errors"] if self._contract_reads(header, e["index"])]
            if errors:
                return _cell_error(errors, header)
            return Sheet(target, header)
        if result["rule"] == "memory":
            return self._memory()
        if result["rule"] == "record_too_long":
            return Unreadable(
                "record_too_long",
                f"the cell holds {size_text(int(result['size']))}, more than the limit of "
                f"{size_text(self.limits.record_bytes)} per cell ({env_name('record_bytes')})",
                row=int(result["row"]),
                column=str(result["column"]),
            )
        return Unreadable(str(result["rule"]), str(result["what"]))

    def _contract_reads(self, header: list[str], index: int | None) -> bool:
        """Whether the column at ``index`` of a sheet with ``header`` is one the contract
        reads; a column not placed among the header's (a cell without its reference) is
        taken as one."""
        if index is None or not 0 <= index < len(header) or not self.columns:
            return True
        return header_key(header[index]) in self.columns

    def _memory(self) -> Unreadable:
        return Unreadable(
            "xlsx_too_large",
            f"its first sheet needs more than {size_text(self.limits.xlsx_memory_bytes)} of "
            f"memory to read ({env_name('xlsx_memory_bytes')}), so it is not read",
        )


def _cell_error(errors: list[dict[str, Any]], header: list[str]) -> Unreadable:
    """A sheet whose cells hold spreadsheet errors, named by the first such cell."""
    found = errors[0]  # in the sheet's order
    index = found["index"]
    column = header[index] if index is not None and 0 <= index < len(header) else None
    where = (
        f"is a spreadsheet error in cell {found['cell']}"
        if found["cell"]
        else "is a spreadsheet error"
    )
    more = sum(int(e["count"]) for e in errors) - 1
    others = {0: "", 1: ", and 1 more cell holds one"}.get(
        more, f", and {more} more cells hold one"
    )
    return Unreadable(
        "xlsx_cell_error",
        f"{where}, not a value (usually a formula that failed){others}, so the workbook is "
        "not read",
        row=found["row"],
        column=column or (found["cell"] or "").rstrip("0123456789") or None,
        value=found["value"],
    )


class Helper:
    """One helper process (:mod:`oemkpi.ingest.xlsx_child`) with its memory cap, and the
    last lines it wrote to standard error (read as they come, so it never waits on them)."""

    def __init__(self, memory_bytes: int) -> None:
        root = str(Path(oemkpi.__file__).resolve().parent.parent)
        code = (
            f"import sys; sys.path.insert(0, {root!r}); "
            "from oemkpi.ingest.xlsx_child import main; main()"
        )
        self.memory_bytes = memory_bytes
        self.owner = os.getpid()
        # -I: nothing from the environment or the working folder shapes the child.
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", code, str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        #: Whether it answered its last job to the end (so it waits for the next one).
        self.idle = True
        self._errors: deque[str] = deque(maxlen=20)
        self._drain = threading.Thread(target=self._read_errors, daemon=True)
        self._drain.start()

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors.append(line.rstrip("\n"))

    def alive(self) -> bool:
        return self.process.poll() is None

    def answers(self, job: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The child's answer for each workbook of ``job``; ends early when the child does."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.idle = False
        try:
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except OSError:  # it ended before the job reached it (BrokenPipeError)
            return
        while line := self.process.stdout.readline():
            answer = json.loads(line)
            if answer.get("done"):
                self.idle = True
                return
            yield answer

    def ended(self) -> tuple[int, list[str]]:
        """The exit status of a child that ended, and its last lines of standard error."""
        returncode = self.process.wait()
        self._drain.join(timeout=5)
        return returncode, list(self._errors)

    def close(self) -> None:
        """End the child (its standard input closes, so it stops at its next job)."""
        if self.owner != os.getpid():
            return  # a forked copy: the child is the parent process's
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


#: Helper processes waiting for their next job, for this process's later feed steps: each
#: new one costs ~0.2 s of imports (pyarrow, fastexcel) before it reads anything.
_IDLE: list[Helper] = []
_IDLE_LOCK = threading.Lock()
#: The most helpers kept waiting (months read on parallel threads each take one).
KEEP_IDLE = 2


@contextmanager
def helper(memory_bytes: int) -> Iterator[Helper]:
    """A helper process with this memory cap: a waiting one of this process, else a new
    one. Handed back for the next job when the block ends normally and the child answered
    its job to the end; ended otherwise (one that ran out of memory ends itself)."""
    found = None
    with _IDLE_LOCK:
        _IDLE[:] = [h for h in _IDLE if h.owner == os.getpid()]  # not a forked copy's
        for candidate in _IDLE:
            if candidate.memory_bytes == memory_bytes:
                _IDLE.remove(candidate)
                found = candidate
                break
    if found is not None and not found.alive():
        found.close()
        found = None
    child = found if found is not None else Helper(memory_bytes)
    try:
        yield child
    except BaseException:
        child.close()  # it may be half-way through a job
        raise
    if not (child.idle and child.alive()):
        child.close()
        return
    with _IDLE_LOCK:
        _IDLE.append(child)
        surplus = _IDLE[:-KEEP_IDLE]
        del _IDLE[:-KEEP_IDLE]
    for extra in surplus:
        extra.close()


@atexit.register
def close_helpers() -> None:
    """End every waiting helper process (also called by tests)."""
    with _IDLE_LOCK:
        waiting = list(_IDLE)
        _IDLE.clear()
    for child in waiting:
        child.close()
