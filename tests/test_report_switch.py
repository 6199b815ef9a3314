"""A month's reports are all or nothing (index.html included), follow the umask, and
every way writing them can fail is one sentence that keeps the earlier set.

The failures are ones root cannot bypass, since CI runs as root: a file size limit
(``RLIMIT_FSIZE``, what a full disk does to a write), a full small file system (a
64 KB tmpfs, where mounting is allowed), a file where the reports folder must go,
and a folder where a commentary file must be.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oemkpi.errors import OemkpiError
from oemkpi.home import Home
from oemkpi.ingest.validation_pages import validation_page_path
from oemkpi.reference import load_reference
from oemkpi.reports.writing import write_reports
from oemkpi.sample import write_sample_home
from pipelines.runs import run_months

MONTH = "2026-03"
PARTNERS = ("aurora", "borealis")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small sample home whose last month was run once (reports written)."""
    root = tmp_path_factory.mktemp("switch") / "home"
    write_sample_home(root, end_month=MONTH, months=2, partners=2, countries=2, commentary=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(root.parent / "dagster_home"))
        summary = run_months(Home.at(root), MONTH, MONTH)
    assert summary.success, summary.failure
    yield root


@pytest.fixture
def home(rendered: Path, tmp_path: Path) -> Home:
    """A copy of the rendered home of the test's own."""
    root = tmp_path / "home"
    shutil.copytree(rendered, root, symlinks=True)
    return Home.at(root)


def _set(home: Home) -> dict[str, bytes]:
    """Every file of the month's reports, by path within the reports folder."""
    folder = home.reports_dir(MONTH)
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _changed_commentary(home: Home) -> None:
    """Commentary that changes every partner's report, so a new set differs from the old."""
    folder = home.root / "commentary" / MONTH
    folder.mkdir(parents=True, exist_ok=True)
    for partner in PARTNERS:
        (folder / f"{partner}.md").write_text("## Marketing\nA new launch.\n", encoding="utf-8")


def _leftovers(home: Home) -> list[str]:
    return sorted(p.name for p in (home.root / "reports").iterdir() if p.name.startswith("."))


def _refused(home: Home, before: dict[str, bytes]) -> str:
    """Render the month expecting a refusal; the earlier set must stay, with no leftovers.
    The refusal's sentence."""
    with pytest.raises(OemkpiError) as raised:
        write_reports(home, [MONTH])
    assert _set(home) == before
    assert _leftovers(home) == []
    return str(raised.value)


def test_a_set_is_replaced_whole_and_nothing_of_the_earlier_one_stays(home: Home) -> None:
    folder = home.reports_dir(MONTH)
    (folder / "retired-partner.html").write_text("from a partner no longer in reference")
    (folder / "regions").mkdir(exist_ok=True)
    (folder / "regions" / "Retired region.html").write_text("an earlier regional pack")
    _changed_commentary(home)

    (written,) = write_reports(home, [MONTH])

    assert written.index == folder / "index.html"
    regions = load_reference(home.reference).regions
    assert sorted(_set(home)) == sorted(
        [
            "index.html",
            *(f"{p}.{ext}" for p in PARTNERS for ext in ("html", "md", "json")),
            *(f"regions/{r}.{ext}" for r in regions for ext in ("html", "md", "json")),
        ]
    )
    assert all(b"A new launch." in _set(home)[f"{p}.md"] for p in PARTNERS)
    assert _leftovers(home) == []


def test_a_write_that_fails_half_way_keeps_the_earlier_set(home: Home) -> None:
    """A file size limit makes the first large write fail, as a full disk would; root
    is held to it too."""
    before = _set(home)
    _changed_commentary(home)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 10, hard))
    try:
        sentence = _refused(home, before)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    folder = home.reports_dir(MONTH)
    assert sentence == (
        f"The reports of {MONTH} were not written ({folder}/aurora.html: File too large); the "
        f"earlier reports in {folder} stay as they were: free space or fix the folder's "
        "permissions and run the month again."
    )


def test_a_full_small_file_system_keeps_the_earlier_set(home: Home) -> None:
    """The reports folder on a 64 KB tmpfs holding one set: the next set does not fit."""
    reports = home.root / "reports"
    held = home.root / "reports-held"
    reports.rename(held)
    reports.mkdir()
    size = sum(len(b) for b in _set_of(held / MONTH).values())
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size * 3 // 2}", "tmpfs", str(reports)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here: {mounted.stderr.strip()}")
    try:
        shutil.copytree(held / MONTH, reports / MONTH)
        before = _set(home)
        _changed_commentary(home)

        sentence = _refused(home, before)

        assert "No space left on device" in sentence
        assert sentence.startswith(f"The reports of {MONTH} were not written (")
    finally:
        subprocess.run(["umount", str(reports)], check=True)


def _set_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_file_where_the_reports_folder_must_go_is_one_sentence(home: Home) -> None:
    reports = home.root / "reports"
    shutil.rmtree(reports)
    reports.write_text("not a folder")

    with pytest.raises(OemkpiError) as raised:
        write_reports(home, [MONTH])

    assert str(raised.value) == (
        f"The reports of {MONTH} were not written ({reports}: File exists); the earlier "
        f"reports in {home.reports_dir(MONTH)} stay as they were: free space or fix the "
        "folder's permissions and run the month again."
    )
    assert reports.read_text() == "not a folder"


def _written_without(home: Home, partner: str) -> list[str]:
    """Render the month: every update is written, the partner's without its commentary
    (the others with theirs), no leftovers. The month's warnings."""
    (written,) = write_reports(home, [MONTH])
    assert _leftovers(home) == []
    folder = home.reports_dir(MONTH)
    for pid in PARTNERS:
        markdown = (folder / f"{pid}.md").read_text(encoding="utf-8")
        assert ("A new launch." in markdown) == (pid != partner), pid
    return written.warnings


def test_a_folder_where_a_commentary_file_must_be_is_a_warning(home: Home) -> None:
    """It stopped every partner's update (and the month's deliveries) for one PAM's file;
    before that, the first partner's files were new and the rest last run's."""
    _changed_commentary(home)
    path = home.commentary_file(MONTH, PARTNERS[1])
    path.unlink()
    path.mkdir()

    assert _written_without(home, PARTNERS[1]) == [
        f"The commentary file {path} is not a regular file; replace it with a Markdown file "
        "and render again (meanwhile the update is written without it)."
    ]


def test_leftovers_of_a_crash_are_removed_by_the_next_switch(home: Home) -> None:
    reports = home.root / "reports"
    old = reports / f".{MONTH}.old-0123456789ab"
    stale = reports / f".{MONTH}.new-ba9876543210"
    fresh = reports / f".{MONTH}.new-fresh0000000"
    for path in (old, stale, fresh):
        path.mkdir()
        (path / "index.html").write_text("half")
    hour_ago = time.time() - 2 * 3600
    os.utime(stale, (hour_ago, hour_ago))

    write_reports(home, [MONTH])

    # A fresh staging folder may be another run's, still rendering: it stays.
    assert _leftovers(home) == [fresh.name]


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_reports_and_validation_pages_follow_the_umask(
    home: Home, umask: int, file_mode: int, folder_mode: int
) -> None:
    from oemkpi.ingest.deliveries import ingest_delivery
    from oemkpi.ingest.validation_pages import write_validation_pages
    from oemkpi.reference import load_reference
    from oemkpi.warehouse import warehouse

    previous = os.umask(umask)
    try:
        write_reports(home, [MONTH])
        with warehouse(home.warehouse) as con:
            outcome = ingest_delivery(
                con, home, "windows_share", MONTH, load_reference(home.reference)
            )
        write_validation_pages(home, [outcome])
    finally:
        os.umask(previous)

    folder = home.reports_dir(MONTH)
    assert folder.stat().st_mode & 0o777 == folder_mode
    assert {
        p.relative_to(folder).as_posix(): p.stat().st_mode & 0o777
        for p in folder.rglob("*")
        if p.is_file()
    } == dict.fromkeys(_set(home), file_mode)
    assert (folder / "regions").stat().st_mode & 0o777 == folder_mode
    page = validation_page_path(home, "windows_share", MONTH)
    assert page.stat().st_mode & 0o777 == file_mode


def test_commentary_for_a_partner_not_in_reference_is_a_warning(home: Home) -> None:
    folder = home.root / "commentary" / MONTH
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zeta.md").write_text("## Marketing\nNobody reads this.\n", encoding="utf-8")
    (folder / "evil\u202egpj.md").write_text("## Marketing\nDisguised name.\n", encoding="utf-8")
    (folder / "acme.MD").write_text("## Marketing\nShouted.\n", encoding="utf-8")

    (written,) = write_reports(home, [MONTH])

    assert written.warnings == [
        f"The commentary file {folder}/acme.MD does not end in .md, so no report shows it; "
        "name it <partner_id>.md.",
        f"The commentary file {folder}/evil\\u202egpj.md is for no partner in "
        "reference/partners.csv ('evil\\\\u202egpj'), so no report shows it; name it "
        "<partner_id>.md or add the partner.",
        f"The commentary file {folder}/zeta.md is for no partner in reference/partners.csv "
        "('zeta'), so no report shows it; name it <partner_id>.md or add the partner.",
    ]


@pytest.mark.parametrize("case", ["too large", "a link", "a linked month folder"])
def test_a_commentary_file_too_large_or_a_link_is_a_warning_and_not_read(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    _changed_commentary(home)
    path = home.commentary_file(MONTH, PARTNERS[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    if case == "too large":
        monkeypatch.setenv("OEMKPI_MAX_COMMENTARY_BYTES", "4096")
        path.write_text("## Marketing\nA new launch.\n" + "word " * 2000, encoding="utf-8")
        expected = (
            f"The commentary file {path} holds 9.8 KiB, more than the limit of 4 KiB "
            "(OEMKPI_MAX_COMMENTARY_BYTES); shorten it and render again (meanwhile the update "
            "is written without it)."
        )
    elif case == "a link":
        secret = tmp_path / "secret.md"
        secret.write_text("## Marketing\nSECRET\n", encoding="utf-8")
        path.unlink()
        path.symlink_to(secret)
        expected = (
            f"The commentary file {path} is a symbolic link, which is not followed; put the "
            "commentary in the file itself and render again (meanwhile the update is written "
            "without it)."
        )
    else:  # the month's folder links to a folder outside the home (it was followed)
        outside = tmp_path / "outside"
        outside.mkdir()
        for pid in PARTNERS:
            (outside / f"{pid}.md").write_text("## Marketing\nSECRET\n", encoding="utf-8")
        shutil.rmtree(path.parent)
        path.parent.symlink_to(outside, target_is_directory=True)
        expected = (
            f"The commentary folder {path.parent} is a symbolic link or not a folder, which is "
            "not followed; put the month's commentary files in a folder of their own there and "
            "render again (meanwhile the update is written without it)."
        )

    if case == "a linked month folder":  # every partner's file is in it: one warning
        (written,) = write_reports(home, [MONTH])
        warnings = written.warnings
        for pid in PARTNERS:
            assert "A new launch." not in home.reports_dir(MONTH).joinpath(f"{pid}.md").read_text()
    else:
        warnings = _written_without(home, PARTNERS[0])
    assert warnings == [expected]
    everything = b"".join(_set(home).values())
    assert b"SECRET" not in everything
