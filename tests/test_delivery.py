"""Delivery (SPEC section 8) against a real SMTP server (aiosmtpd) and a real HTTP receiver.

Every test works on its own copy of ``delivery_base`` (tests/conftest.py): a small
sample home run once as a range (which sends nothing) whose partners.csv gives Maya two
partners (aurora, delta_systems) and puts Priya (cobalt-pc) in Maya's region, Americas:
two PAMs sharing a region and a PAM with two partners.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from email.message import EmailMessage
from pathlib import Path

import duckdb
import pytest

from oemkpi.delivery.deliver import deliver_month
from oemkpi.delivery.messages import has_warnings, region_subject, warning_lines
from oemkpi.errors import OemkpiError
from oemkpi.formats import counted
from oemkpi.home import Home
from oemkpi.ingest.contract import FEEDS
from oemkpi.reference import Partner, check_configuration
from oemkpi.reports.model import AssortmentItem, RedFlag
from oemkpi.reports.regional import RegionPack, RegionPartner
from oemkpi.reports.writing import write_month_reports
from oemkpi.warehouse import warehouse
from pipelines.runs import run_months
from tests.conftest import DELIVERY_MONTH as MONTH
from tests.conftest import DELIVERY_PARTNERS_CSV as PARTNERS_CSV
from tests.conftest import DELIVERY_PRIOR as PRIOR
from tests.mailservers import (
    free_port,
    self_signed_tls,
    silent_server,
    smtp_server,
    webhook_receiver,
)

NAMES = {
    "aurora": "Aurora Computing",
    "borealis": "Borealis Systems",
    "cobalt-pc": "Cobalt PC",
    "delta_systems": "Delta Systems",
}
PAMS = {
    "maya@example.com": ("aurora", "delta_systems"),
    "lars@example.com": ("borealis",),
    "priya@example.com": ("cobalt-pc",),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def home(delivery_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    root = tmp_path / "home"
    shutil.copytree(delivery_base, root)
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster"))
    monkeypatch.setenv("OEMKPI_HOME", str(root))
    return Home.at(root)


def write_config(home: Home, port: int, **extra: str) -> None:
    lines = [
        "smtp:",
        "  host: 127.0.0.1",
        f"  port: {port}",
        "  sender: oemkpi <kpi@example.com>",
        f"  timeout_seconds: {extra.pop('timeout', '5')}",
    ]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    home.delivery_yaml.write_text("\n".join(lines) + "\n", encoding="utf-8")


def records(home: Home) -> list[tuple[str, ...]]:
    with warehouse(home.warehouse, read_only=True) as con:
        return con.execute(
            "select month, kind, message_key, recipient, message_id, status, detail, file "
            "from sent_messages order by month, kind, message_key"
        ).fetchall()


def decoded_parts(msg: EmailMessage) -> list[tuple[str, str | None, bytes]]:
    """(content type, file name, decoded bytes) of every leaf part."""
    return [
        (part.get_content_type(), part.get_filename(), part.get_payload(decode=True) or b"")
        for part in msg.walk()
        if not part.is_multipart()
    ]


def other_partners_marks(home: Home, own: tuple[str, ...]) -> list[str]:
    """Names, ids, SKUs and revenue figures of every partner not in ``own``."""
    marks = []
    for pid, name in NAMES.items():
        if pid in own:
            continue
        export = json.loads((home.reports_dir(MONTH) / f"{pid}.json").read_text())
        marks += [name, f"{pid}.", f'"{pid}"']
        marks += [a["sku"] for a in export["assortment"][:20]]
        revenue = export["kpis"]["license_revenue_usd"]["value"]
        marks.append(repr(revenue))
    return marks


def test_one_message_per_pam_with_only_that_pams_partners(home: Home) -> None:
    reports_before = {p: p.read_bytes() for p in home.reports_dir(MONTH).rglob("*") if p.is_file()}
    with smtp_server() as (port, mail):
        write_config(home, port)
        done = deliver_month(home, MONTH)
    assert done.failures == []
    assert sorted(tuple(r.rcpt_tos) for r in mail.received) == [
        ("lars@example.com",),
        ("maya@example.com",),
        ("priya@example.com",),
    ]
    for got in mail.received:
        (address,) = got.rcpt_tos
        own = PAMS[address]
        msg = got.message
        assert got.mail_from == "kpi@example.com"
        assert msg["To"].addresses[0].addr_spec == address
        assert msg["Subject"] == "September 2026 partner update: " + ", ".join(
            NAMES[p] for p in own
        )
        parts = decoded_parts(msg)
        types = [t for t, _, _ in parts]
        assert types[:2] == ["text/plain", "text/html"]
        html = parts[1][2].decode()
        assert "<svg" not in html
        # A change ("▲ +4.4 %") is one line: wrapped in a narrow mail window it read "▲ +4.4" / "%".
        changes = re.findall(r"<td([^>]*)>[▲▼▶][^<]*</td>", html)
        assert changes and all("white-space: nowrap" in style for style in changes)
        images = [(name, data) for t, name, data in parts if t == "image/png"]
        assert len(images) == 3 * len(own)
        cids = [
            p["Content-ID"].strip("<>") for p in msg.walk() if p.get_content_type() == "image/png"
        ]
        for cid in cids:
            assert f'src="cid:{cid}"' in html
        # Each image has its title above it (the PNG holds the legend and axes only).
        titles = re.findall(r'font-weight: 600;">([^<]+) <span[^>]*>· (\d+) months?</span>', html)
        assert [t for t, _ in titles] == [
            "PC shipments vs forecast",
            "Windows share",
            "Licence revenue (USD)",
        ] * len(own)
        for _, data in images:
            assert data.startswith(PNG_SIGNATURE)
        import matplotlib.image as mpimg  # the PNG decodes as an image

        for _, data in images:
            import io

            assert mpimg.imread(io.BytesIO(data), format="png").shape[0] > 100
        attached = sorted(name for _, name, _ in parts if name)
        assert attached == sorted(f"{p}.{s}" for p in own for s in ("html", "md", "json"))
        text = parts[0][2].decode()
        for pid in own:
            assert NAMES[pid] in html and NAMES[pid] in text
            # What the update still shows as "to be written" is told above its summary.
            update = (home.reports_dir(MONTH) / f"{pid}.md").read_text(encoding="utf-8")
            file = f"commentary/{MONTH}/{pid}.md"
            told = (f"{file} in the data home" in text, f"<code>{file}</code> in the data" in html)
            assert told == (("to be written" in update),) * 2, pid
        attached_words = "of each partner is attached" if len(own) > 1 else "update is attached"
        assert attached_words in text and attached_words in html
        everything = b"\n".join(data for _, _, data in parts).decode("utf-8", "replace")
        everything += str(msg["Subject"]) + got.raw.decode("latin-1")
        for mark in other_partners_marks(home, own):
            assert mark not in everything, (address, mark)
    rows = records(home)
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        ("pam", "aurora+delta_systems", "maya@example.com", "sent"),
        ("pam", "borealis", "lars@example.com", "sent"),
        ("pam", "cobalt-pc", "priya@example.com", "sent"),
    ]
    ids = {r[3]: r[4] for r in rows}
    assert {got.rcpt_tos[0]: got.message["Message-ID"] for got in mail.received} == ids
    assert not any(home.outbox_dir(MONTH).glob("*.eml"))  # sent messages leave the outbox
    after = {p: p.read_bytes() for p in home.reports_dir(MONTH).rglob("*") if p.is_file()}
    assert after == reports_before  # delivery never touches the reports


def test_a_rerun_sends_only_what_changed_and_resend_keeps_the_message_id(home: Home) -> None:
    with smtp_server() as (port, mail):
        write_config(home, port)
        deliver_month(home, MONTH)
        first_ids = {r[2]: r[4] for r in records(home)}
        # New reports with new generation timestamps but the same content: nothing to send.
        with warehouse(home.warehouse, read_only=True) as con:
            write_month_reports(con, home, MONTH)
        again = deliver_month(home, MONTH)
        assert len(mail.received) == 3
        assert [m[3] for m in again.messages] == ["unchanged"] * 3
        # Commentary for aurora changes Maya's message only.
        commentary = home.commentary_file(MONTH, "aurora")
        commentary.parent.mkdir(parents=True, exist_ok=True)
        commentary.write_text("## Escalations\n- Reseller stock is late.\n", encoding="utf-8")
        with warehouse(home.warehouse, read_only=True) as con:
            write_month_reports(con, home, MONTH)
        deliver_month(home, MONTH)
        assert [r.rcpt_tos for r in mail.received[3:]] == [["maya@example.com"]]
        changed_ids = {r[2]: r[4] for r in records(home)}
        assert changed_ids["aurora+delta_systems"] != first_ids["aurora+delta_systems"]
        assert changed_ids["borealis"] == first_ids["borealis"]
        resent = deliver_month(home, MONTH, resend=True)
        assert [m[3] for m in resent.messages] == ["sent"] * 3
        assert {r.rcpt_tos[0]: r.message["Message-ID"] for r in mail.received[4:]} == {
            "maya@example.com": changed_ids["aurora+delta_systems"],
            "lars@example.com": changed_ids["borealis"],
            "priya@example.com": changed_ids["cobalt-pc"],
        }


def test_a_pending_message_is_resent_with_the_same_message_id(home: Home) -> None:
    """A crash between "pending" and "sent": the next run sends it again, same Message-ID."""
    with smtp_server() as (port, mail):
        write_config(home, port)
        deliver_month(home, MONTH)
        with warehouse(home.warehouse) as con:
            con.execute(
                "update sent_messages set status = 'pending' where message_key = 'borealis'"
            )
        deliver_month(home, MONTH)
    assert [r.rcpt_tos for r in mail.received[3:]] == [["lars@example.com"]]
    assert mail.received[3].message["Message-ID"] == next(
        r.message["Message-ID"] for r in mail.received[:3] if r.rcpt_tos == ["lars@example.com"]
    )


def test_a_server_that_is_down_then_back(home: Home) -> None:
    port = free_port()
    write_config(home, port)
    down = deliver_month(home, PRIOR)  # nothing listens on the port
    assert len(down.failures) == 3
    assert down.failures[0].startswith(
        "pam message 'aurora+delta_systems' of 2026-08 was not sent: "
    )
    assert down.failures[0].endswith(
        f"the mail server 127.0.0.1:{port} could not be reached (Connection refused); "
        "it stays in the outbox for the next run."
    )
    waiting = sorted(p.name for p in home.outbox_dir(PRIOR).glob("*.eml"))
    assert waiting == ["pam-aurora+delta_systems.eml", "pam-borealis.eml", "pam-cobalt-pc.eml"]
    assert {r[5] for r in records(home)} == {"failed"}
    with smtp_server(port) as (_, mail):
        back = deliver_month(home, MONTH)  # the next run, of the next month, sends both
    assert back.failures == []
    assert sorted(
        (r.message["Subject"].split(" partner")[0], r.rcpt_tos[0]) for r in mail.received
    ) == [
        ("August 2026", "lars@example.com"),
        ("August 2026", "maya@example.com"),
        ("August 2026", "priya@example.com"),
        ("September 2026", "lars@example.com"),
        ("September 2026", "maya@example.com"),
        ("September 2026", "priya@example.com"),
    ]
    assert {r[5] for r in records(home)} == {"sent"}
    assert not any(home.outbox_dir(PRIOR).glob("*.eml"))


def test_a_refused_recipient_and_a_server_that_times_out(home: Home) -> None:
    with smtp_server(refuse={"priya@example.com"}) as (port, mail):
        write_config(home, port)
        done = deliver_month(home, MONTH)
    assert sorted(r.rcpt_tos[0] for r in mail.received) == ["lars@example.com", "maya@example.com"]
    assert done.failures == [
        "pam message 'cobalt-pc' of 2026-09 was not sent: the mail server "
        f"127.0.0.1:{port} refused the recipient priya@example.com; check the address."
    ]
    assert (home.outbox_dir(MONTH) / "pam-cobalt-pc.eml").is_file()
    with silent_server() as hanging:
        write_config(home, hanging, timeout="1")
        slow = deliver_month(home, MONTH)
    assert slow.failures == [
        "pam message 'cobalt-pc' of 2026-09 was not sent: the mail server "
        f"127.0.0.1:{hanging} did not answer within 1 s; it stays in the outbox for the next run."
    ]


@pytest.mark.parametrize(
    ("row", "sentence"),
    [
        (
            'borealis,Borealis Systems,EMEA,"Lars\nBcc: eve@evil.example",lars@example.com',
            "partner borealis, column pam_name: the value 'Lars\\nBcc: eve@evil.example' holds "
            "a line break or control character, which could forge mail headers; write it on one "
            "line and deliver again.",
        ),
        (
            'borealis,Borealis Systems,EMEA,Lars,"lars@example.com\r\nBcc: eve@evil.example"',
            "partner borealis, column pam_email: the address 'lars@example.com\\r\\nBcc: "
            "eve@evil.example' holds a line break or control character, which could forge mail "
            "headers; write it on one line and deliver again.",
        ),
        (
            "borealis,Borealis Systems,EMEA,Lars,lars-at-example.com",
            "partner borealis, column pam_email: 'lars-at-example.com' is not an e-mail address; "
            "write it like name@example.com.",
        ),
        (
            "borealis,Borealis =?utf-8?q?Bank?=,EMEA,Lars,lars@example.com",
            "partner borealis, column partner_name: the value 'Borealis =?utf-8?q?Bank?=' holds "
            "'=?', which mail programs decode as an encoded word and show as other text; write "
            "it without '=?' and deliver again.",
        ),
    ],
)
def test_header_injection_and_bad_addresses_are_refused(
    home: Home, row: str, sentence: str
) -> None:
    lines = PARTNERS_CSV.splitlines()
    lines[2] = row
    home.partners_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with smtp_server() as (port, mail):
        write_config(home, port)
        with pytest.raises(OemkpiError) as err:
            deliver_month(home, MONTH)
    assert str(err.value) == f"{home.partners_csv} {sentence}"
    assert mail.received == []
    # A run says so before it writes anything (it failed at its last step, after the reports).
    with pytest.raises(OemkpiError) as early:
        check_configuration(home)
    assert str(early.value) == str(err.value)
    assert not home.outbox_dir(MONTH).exists()


def test_credentials_come_from_the_environment_and_are_written_nowhere(
    home: Home, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cret-Pa55-never-logged"
    with smtp_server() as (port, mail):
        write_config(home, port, username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASS")
        with pytest.raises(
            OemkpiError,
            match=r"^reference/delivery\.yaml names the environment variable TEST_SMTP_USER",
        ):
            deliver_month(home, MONTH)
        monkeypatch.setenv("TEST_SMTP_USER", "kpi-bot")
        monkeypatch.setenv("TEST_SMTP_PASS", secret)
        from pipelines.cli import main

        assert main(["deliver", "--month", MONTH]) == 0
    assert mail.logins == [("kpi-bot", secret)] * 3
    assert len(mail.received) == 3
    out = capfd.readouterr()
    assert secret not in out.out + out.err
    for path in home.root.rglob("*"):
        if path.is_file() and path.suffix != ".duckdb":
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in repr(records(home))


def test_regional_early_warnings_by_mail_and_teams(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server() as (port, mail), webhook_receiver() as (url, posts):
        write_config(home, port)
        with home.delivery_yaml.open("a", encoding="utf-8") as out:
            out.write(
                "regions:\n"
                "  Americas:\n    email: [americas-rob@example.com, 'Field Team <field@example.com>']\n"
                "    teams_webhook_env: TEST_TEAMS_AMERICAS\n"
                "  EMEA:\n    email: [emea-rob@example.com]\n"
                "    teams_webhook_env: TEST_TEAMS_EMEA\n"
            )
        monkeypatch.setenv("TEST_TEAMS_AMERICAS", url)
        done = deliver_month(home, MONTH)
    regional = [r for r in mail.received if "early warning" in r.message["Subject"]]
    packs = {
        region: json.loads((home.regions_dir(MONTH) / f"{region}.json").read_text())
        for region in ("Americas", "EMEA")
    }
    losses = [
        (p["partner_id"], a["sku"])
        for p in packs["Americas"]["partners"]
        for a in p["assortment"]
        if a["reason"] == "competitive"
    ]
    assert losses, "the sample plants competitive losses in Brazil"
    americas = [r for r in regional if "Americas" in r.message["Subject"]]
    assert len(americas) == 1
    assert americas[0].rcpt_tos == ["americas-rob@example.com", "field@example.com"]
    text = americas[0].message.get_body(("plain",)).get_content()
    for pid, sku in losses:
        assert f"{NAMES[pid]}: competitive loss of {sku}" in text
    emea_has = any(
        f["severity"] == "high" for p in packs["EMEA"]["partners"] for f in p["red_flags"]
    ) or any(
        a["reason"] == "competitive" for p in packs["EMEA"]["partners"] for a in p["assortment"]
    )
    assert len([r for r in regional if "EMEA" in r.message["Subject"]]) == int(emea_has)
    assert len(posts) == 1  # only Americas has its webhook variable set
    card = posts[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    blocks = [b["text"] for b in card["content"]["body"]]
    assert "Americas" in blocks[0] and len(blocks) == 1 + len(text.split("\n- ")) - 1
    if emea_has:
        assert done.notes == [
            "The Teams post for EMEA was skipped: the environment variable TEST_TEAMS_EMEA "
            "that delivery.yaml names is not set."
        ]
    teams = [r for r in records(home) if r[1] == "teams"]
    assert [(r[2], r[3], r[5]) for r in teams] == [("Americas", "$TEST_TEAMS_AMERICAS", "sent")]
    assert url not in repr(records(home))


def test_without_delivery_yaml_everything_goes_to_the_outbox(home: Home) -> None:
    done = deliver_month(home, MONTH)
    assert [m[3] for m in done.messages] == ["outbox"] * 3
    files = sorted(home.outbox_dir(MONTH).glob("*.eml"))
    assert [f.name for f in files] == [
        "pam-aurora+delta_systems.eml",
        "pam-borealis.eml",
        "pam-cobalt-pc.eml",
    ]
    from email import message_from_bytes, policy

    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "Maya Okafor <maya@example.com>"
    assert {r[5] for r in records(home)} == {"outbox"}
    assert [m[3] for m in deliver_month(home, MONTH).messages] == ["unchanged"] * 3


def test_a_range_run_sends_nothing_unless_asked(home: Home) -> None:
    assert not (home.root / "outbox").exists()  # the fixture's range run sent nothing
    with warehouse(home.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from sent_messages").fetchone() == (0,)
    summary = run_months(home, PRIOR, MONTH, delivery={"deliver_range": True}, only=["deliveries"])
    assert summary.success, summary.failure
    assert (
        sorted(p.parent.name for p in (home.root / "outbox").glob("*/*.eml"))
        == [PRIOR] * 3 + [MONTH] * 3
    )


def test_deliver_dry_run_writes_and_sends_nothing(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli import main

    with smtp_server() as (port, mail):
        write_config(home, port)
        assert main(["deliver", "--month", MONTH, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "deliveries: 2026-09: would send: pam borealis to lars@example.com" in out
    assert mail.received == []
    assert not (home.root / "outbox").exists()
    assert records(home) == []


def test_a_one_month_run_with_a_rejected_feed_sends_data_incomplete(home: Home) -> None:
    """The month's attach rate was never loaded: its re-delivery is rejected with nothing
    in force, so every message says the data is incomplete, and why."""
    with warehouse(home.warehouse) as con:
        con.execute("delete from attach_rate where month = ?", [MONTH])
        con.execute("delete from deliveries where feed = 'attach_rate' and month = ?", [MONTH])
    (home.landing_dir("attach_rate", MONTH) / "late_fix.csv").write_text(
        "month,partner_id,country,segment,product,base_units,attached_units,sell_thru_units\n"
        '2026-09,aurora,US,consumer,office,"1,234",10,\n',
        encoding="utf-8",
    )
    summary = run_months(home, MONTH, MONTH)
    assert summary.success, summary.failure
    assert [s.feed for s in summary.rejected] == ["attach_rate"]
    files = sorted(home.outbox_dir(MONTH).glob("*.eml"))
    assert len(files) == 3
    from email import message_from_bytes, policy

    for path in files:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg["Subject"].endswith(" (data incomplete)")
        body = msg.get_body(("plain",)).get_content()
        assert "DATA INCOMPLETE: Attach rate: ✗ rejected (" in body
        # A KPI without a value says why, as the update's tile does (it was a bare "n/a").
        assert "Office attach: n/a — rejected (MoM" in body
        html = msg.get_body(("html",)).get_content()
        assert "n/a — rejected</td>" in html


def test_a_rejected_re_delivery_is_told_beside_the_earlier_one_in_force(home: Home) -> None:
    """The subject is complete (the earlier delivery's figures stand), but the PAM is told
    that a re-delivery was rejected and that the figures are the earlier delivery's."""
    (home.landing_dir("attach_rate", MONTH) / "late_fix.csv").write_text(
        "month,partner_id,country,segment,product,base_units,attached_units,sell_thru_units\n"
        '2026-09,aurora,US,consumer,office,"1,234",10,\n',
        encoding="utf-8",
    )
    with warehouse(home.warehouse, read_only=True) as con:
        (rows,) = con.execute(
            "select count(*) from attach_rate where month = ?", [MONTH]
        ).fetchone()
    summary = run_months(home, MONTH, MONTH)
    assert summary.success, summary.failure
    from email import message_from_bytes, policy

    (state,) = summary.rejected
    problems = counted(state.problems, "problem")
    told = (
        f"Attach rate: a re-delivery was rejected ({problems}); the earlier delivery stays in "
        f"force ({rows:,} rows), and the figures below are from it."
    )
    files = sorted(home.outbox_dir(MONTH).glob("*.eml"))
    assert len(files) == 3
    for path in files:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert "data incomplete" not in msg["Subject"]
        assert told in msg.get_body(("plain",)).get_content()
        assert told in msg.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    ("yaml_text", "sentence"),
    [
        (
            "smtp: {host: mail, port: 25, sender: a@b.example, password: hunter2}\n",
            "{path}, smtp has the unknown key 'password'; use host, password_env, port, sender, starttls, timeout_seconds, username_env.",
        ),
        (
            "smtp: {host: mail, sender: a@b.example, password_env: 'hunter 2'}\n",
            "{path}, smtp.password_env: 'hunter 2' is not an environment variable name; give the variable's name (like OEMKPI_SMTP_PASSWORD), never the secret itself.",
        ),
        (
            "regions: {Mars: {email: [a@b.example]}}\n",
            "{path}, regions: 'Mars' is not a region of reference/countries.csv; use one of APJ, Americas, EMEA.",
        ),
        (
            "regions: {'../etc': {email: [a@b.example]}}\n",
            "{path}, regions: '../etc' is not a valid region name; use 1-32 characters of letters, digits, spaces, '_' and '-', starting with a letter or digit.",
        ),
        (
            "smtp: [\n",
            "{path} is not valid YAML at line 2; fix it (see the README's delivery section).",
        ),
    ],
)
def test_delivery_yaml_mistakes_are_one_sentence(home: Home, yaml_text: str, sentence: str) -> None:
    home.delivery_yaml.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(OemkpiError) as err:
        deliver_month(home, MONTH)
    assert str(err.value) == sentence.format(path=home.delivery_yaml)


def test_sent_messages_work_in_a_fresh_read_only_warehouse(tmp_path: Path) -> None:
    from oemkpi.delivery.record import month_records

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with warehouse(path, read_only=True) as con:
        assert month_records(con, MONTH) == {}
    assert os.path.getsize(path) > 0


def test_a_teams_workflow_that_refuses_the_post_is_one_sentence_and_retried(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.delivery_yaml.write_text(
        "regions:\n  Americas:\n    teams_webhook_env: TEST_TEAMS_AMERICAS\n", encoding="utf-8"
    )
    with webhook_receiver(status=500) as (url, posts):
        monkeypatch.setenv("TEST_TEAMS_AMERICAS", url)
        failed = deliver_month(home, MONTH)
    assert len(posts) == 1
    assert failed.failures == [
        "The Teams post for Americas of 2026-09: The Teams workflow in $TEST_TEAMS_AMERICAS did "
        "not take the post (RequestException); it is posted again when the month is delivered "
        "again."
    ]
    with webhook_receiver() as (url, posts):
        monkeypatch.setenv("TEST_TEAMS_AMERICAS", url)
        again = deliver_month(home, MONTH)
    assert again.failures == [] and len(posts) == 1
    assert [(r[1], r[2], r[5]) for r in records(home) if r[1] == "teams"] == [
        ("teams", "Americas", "sent")
    ]


def _flag(rule: str, scope: str, message: str) -> RedFlag:
    return RedFlag(rule, "high", scope, "forecast_attainment", 0.75, 0.85, message)


def _americas(member: RegionPartner, countries: list[tuple[str, str]]) -> RegionPack:
    """The Americas pack of MONTH with one partner and ``countries``."""
    return RegionPack(
        "Americas", "Americas", MONTH, "September 2026", "FY27-Q1", "", countries, [member], []
    )


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        (
            _flag("forecast_miss", "US", "Shipments in US reached 75.0 % of forecast."),
            "Aurora Computing (United States): Shipments in United States reached 75.0 % of "
            "forecast.",
        ),
        (
            _flag(
                "competitive_loss",
                "BR",
                "SKU AUR-1 (BR consumer) moved from Windows to chromeos; it sold 1,200 units "
                "last month.",
            ),
            "Aurora Computing (Brazil): SKU AUR-1 (Brazil consumer) moved from Windows to "
            "ChromeOS; it sold 1,200 units last month.",
        ),
        (
            _flag("feed_missing", "partner", "No windows_share rows for the partner."),
            "Aurora Computing (whole partner): No Windows share rows for the partner.",
        ),
    ],
)
def test_an_early_warning_line_names_countries_and_feeds_in_words(flag: RedFlag, line: str) -> None:
    aurora = Partner("aurora", "Aurora Computing", "Americas", "Maya Okafor", "maya@example.com")
    member = RegionPartner(aurora, True, {}, [], [], [], None, False, [], None)
    if flag.scope == "partner":
        member.partner_flags.append(flag)
    else:
        member.country_flags.append(flag)
    pack = _americas(member, [("US", "United States"), ("BR", "Brazil")])
    assert warning_lines(pack) == [line]


def test_an_early_warning_tells_each_competitive_loss_once_with_its_os_family_named() -> None:
    aurora = Partner("aurora", "Aurora Computing", "Americas", "Maya Okafor", "maya@example.com")
    flagged = RedFlag(
        "competitive_loss",
        "high",
        "BR",
        "windows_share",
        2600,
        1000,
        "SKU AUR-1 (BR consumer) moved from Windows to chromeos; it sold 2,600 units last month.",
        "consumer",
        "AUR-1",
    )
    # A flag whose SKU is not among the pack's losses (below the assortment's 100 units when
    # red_flags.yaml flags smaller SKUs) is still told as a flag.
    small = dataclasses.replace(
        flagged,
        sku="AUR-9",
        value=60,
        message="SKU AUR-9 (BR consumer) moved from Windows to linux.",
    )
    drop = RedFlag(
        "windows_share_drop",
        "high",
        "BR",
        "windows_share",
        -0.157,
        -0.03,
        "Windows share in BR fell 15.7 pts.",
    )
    losses = [
        AssortmentItem("loss", "competitive", "BR", "consumer", sku, "windows", to_os, units, prior)
        for sku, to_os, units, prior in (
            ("AUR-1", "chromeos", 3451, 2600),
            ("AUR-2", "freedos", 900, 496),
        )
    ]
    member = RegionPartner(
        aurora, True, {}, [flagged, small, drop], [], losses, None, False, [], None
    )
    pack = _americas(member, [("BR", "Brazil")])
    assert warning_lines(pack) == [
        "Aurora Computing (Brazil): SKU AUR-9 (Brazil consumer) moved from Windows to Linux.",
        "Aurora Computing (Brazil): Windows share in Brazil fell 15.7 pts.",
        "Aurora Computing: competitive loss of AUR-1 in Brazil consumer, Windows to ChromeOS "
        "(2,600 units last month).",
        "Aurora Computing: competitive loss of AUR-2 in Brazil consumer, Windows to FreeDOS "
        "(496 units last month).",
    ]
    assert region_subject(pack) == (
        "September 2026 early warning for Americas: 2 high red flags, 2 competitive losses"
    )
    only_losses = dataclasses.replace(member, country_flags=[flagged])
    pack = dataclasses.replace(pack, partners=[only_losses])
    assert has_warnings(pack) and len(warning_lines(pack)) == 2
    assert region_subject(pack).endswith(": 0 high red flags, 2 competitive losses")
    one = dataclasses.replace(only_losses, assortment=losses[:1])
    assert region_subject(dataclasses.replace(pack, partners=[one])).endswith(
        ": 0 high red flags, 1 competitive loss"
    )


def test_a_one_month_run_delivers_from_the_report_steps_models(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one process the delivery step takes the updates the report step built (the
    month's report queries run once), and its messages are those built from the warehouse."""
    from oemkpi.delivery import deliver

    built: list[str] = []
    real = deliver._month_models

    def counting(con: object, home: Home, month: str, *args: object) -> object:
        built.append(month)
        return real(con, home, month, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(deliver, "_month_models", counting)
    summary = run_months(home, MONTH, MONTH)
    assert summary.success, summary.failure
    assert built == []
    assert len(list(home.outbox_dir(MONTH).glob("*.eml"))) == 3
    # Built again from the warehouse: the same messages, so nothing would be sent again.
    again = deliver_month(home, MONTH, dry_run=True)
    assert built == [MONTH]
    assert [m[3] for m in again.messages] == ["unchanged"] * 3


def test_a_delivery_step_whose_commit_conflicts_is_run_again(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deliveries step writes through the step's warehouse, so a DuckLake commit conflict
    (raised here at its first record, as the lake raises it) retries the step like any
    other; the retry sends each message once."""
    from oemkpi.delivery import deliver
    from oemkpi.warehouse import WarehouseConflict
    from pipelines import resources

    monkeypatch.setattr(resources, "conflict_wait", lambda attempt: 0.0)
    real = deliver.record
    conflicts = []

    def conflicting_once(con: duckdb.DuckDBPyConnection, entry: object) -> None:
        if not conflicts:
            conflicts.append(entry)
            raise WarehouseConflict("Another writer committed to the DuckLake warehouse.")
        real(con, entry)  # type: ignore[arg-type]

    monkeypatch.setattr(deliver, "record", conflicting_once)
    summary = run_months(home, MONTH, MONTH)
    assert summary.success, summary.failure
    assert len(conflicts) == 1
    assert len(list(home.outbox_dir(MONTH).glob("*.eml"))) == 3
    assert sorted(r[5] for r in records(home) if r[1] == "pam") == ["outbox"] * 3


def test_starttls_before_login_and_an_unverified_certificate_is_one_sentence(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that takes neither AUTH nor MAIL before STARTTLS: with its certificate
    trusted the three messages go, the login after TLS; with it untrusted nothing goes, each
    message stays in the outbox, and the reason is one sentence."""
    tls, certificate = self_signed_tls(tmp_path / "tls")
    monkeypatch.setenv("TEST_SMTP_USER", "kpi-bot")
    monkeypatch.setenv("TEST_SMTP_PASS", "tls-only")
    with smtp_server(tls=tls) as (port, mail):
        write_config(
            home,
            port,
            starttls="true",
            username_env="TEST_SMTP_USER",
            password_env="TEST_SMTP_PASS",
        )
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
        refused = deliver_month(home, MONTH)
        assert mail.received == [] and mail.logins == []
        assert [m[3] for m in refused.messages] == ["failed"] * 3
        assert refused.failures[0].endswith(
            f"was not sent: the mail server 127.0.0.1:{port} offered a TLS certificate that "
            "could not be verified (self-signed certificate); give this machine the server's CA "
            "certificate (SSL_CERT_FILE) or fix the server's certificate; the message stays in "
            "the outbox for the next run."
        )
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        sent = deliver_month(home, MONTH)
    assert [m[3] for m in sent.messages] == ["sent"] * 3
    assert mail.logins == [("kpi-bot", "tls-only")] * 3
    assert len(mail.received) == 3


@pytest.mark.parametrize(
    ("marketing", "in_force", "incomplete"),
    [
        ("not_delivered", 0, False),
        ("loaded", 10, False),
        ("rejected", 0, True),
        ("rejected", 10, False),  # a re-delivery rejected: the earlier one stays in force
        ("late", 0, True),
    ],
)
def test_an_optional_feed_not_delivered_leaves_the_message_complete(
    marketing: str, in_force: int, incomplete: bool
) -> None:
    """SPEC 9: a month without a marketing delivery is not delivered (optional), never
    'data incomplete' (it put that in every PAM's subject); nor is a rejected re-delivery
    whose earlier delivery stays in force (every figure is there)."""
    from oemkpi.delivery.messages import data_incomplete
    from oemkpi.reports.model import FeedState
    from tests.test_render import make_report

    feeds = [FeedState(feed, "loaded", 10, 0, 0, None) for feed in FEEDS if feed != "marketing"]
    feeds.append(FeedState("marketing", marketing, in_force, 0, 0, None))  # type: ignore[arg-type]
    report = dataclasses.replace(make_report(), feeds=feeds, missing_feeds=[])
    assert data_incomplete([report]) is incomplete


def test_deliver_exits_1_when_messages_were_not_sent(
    home: Home, capfd: pytest.CaptureFixture[str]
) -> None:
    """It printed the failures, then 'Delivered ...' and exit 0."""
    from pipelines.cli import main

    write_config(home, free_port())  # nothing listens there
    assert main(["deliver", "--month", MONTH]) == 1
    err = capfd.readouterr().err
    assert re.search(
        rf"^oemkpi: finished {MONTH} in \d+\.\d s, but 3 messages were not sent \(why is said "
        rf"above\); they stay in the outbox and go with the next delivery \(oemkpi deliver "
        rf"--month {MONTH}\) once the server takes them\.$",
        err,
        re.M,
    ), err
    assert len(list(home.outbox_dir(MONTH).glob("*.eml"))) == 3


def test_a_pam_with_many_long_partner_ids_gets_an_outbox_file_it_can_write(tmp_path: Path) -> None:
    """8 partner ids of 32 characters (SPEC's longest) made a 270-byte file name: the
    month's deliveries step failed and no message went out."""
    from oemkpi.delivery.messages import MAX_FILE_NAME_BYTES, pam_file_name
    from oemkpi.delivery.outbox import write_eml

    ids = [f"{n}-partner-with-a-long-long-id-{n:02d}" for n in range(8)]
    assert all(len(i) == 32 for i in ids)
    name = pam_file_name(ids)
    assert name.startswith(f"pam-{ids[0]}+7-more-") and name.endswith(".eml")
    assert len(name.encode()) <= MAX_FILE_NAME_BYTES
    assert pam_file_name(list(reversed(ids))) != name  # another PAM's partners, another file
    write_eml(tmp_path / name, b"Subject: x\r\n\r\nbody\r\n")
    assert (tmp_path / name).read_bytes() == b"Subject: x\r\n\r\nbody\r\n"
    # Names that fit are as they were (a PAM's earlier messages keep their files).
    assert pam_file_name(["aurora", "delta_systems"]) == "pam-aurora+delta_systems.eml"


def test_the_content_hash_takes_the_charts_data_not_their_drawing(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plotting library's upgrade, or a change of the charts' style, changed every PNG and
    inline SVG and so every message of a month run again: each PAM got the same figures
    twice. The hash takes what the charts are drawn from."""
    from email.headerregistry import Address

    from oemkpi.delivery import messages
    from oemkpi.delivery.deliver import _month_models
    from oemkpi.reference import load_reference
    from oemkpi.reports.model import Series

    sender = Address("oemkpi", "oemkpi", "example.com")
    with warehouse(home.warehouse, read_only=True) as con:
        reports, _ = _month_models(con, home, MONTH, load_reference(home.reference), 7)

    def hashes(reports: list) -> dict[str, str]:
        return {m.key: m.content_hash for m in messages.pam_messages(home, MONTH, reports, sender)}

    first = hashes(reports)
    # Redrawn: other PNG bytes, other SVGs in the attached updates, the same figures.
    monkeypatch.setattr(messages, "chart_png", lambda chart: b"\x89PNG redrawn")
    for path in home.reports_dir(MONTH).glob("*.html"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("<svg ", '<svg data-style="new" '), encoding="utf-8")
    assert hashes(reports) == first
    # One point of one partner's trend moves: that PAM's message alone changes.
    aurora = next(r for r in reports if r.partner.partner_id == "aurora")
    chart = aurora.charts["windows_share"]
    (month, value), *rest = chart.series[0].points
    moved = dataclasses.replace(
        chart,
        series=[Series(chart.series[0].name, [(month, (value or 0) + 0.01), *rest])],
    )
    changed = dataclasses.replace(aurora, charts={**aurora.charts, "windows_share": moved})
    after = hashes([changed if r is aurora else r for r in reports])
    assert {key for key in first if after[key] != first[key]} == {"aurora+delta_systems"}
