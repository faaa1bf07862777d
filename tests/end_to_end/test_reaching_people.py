"""Issue 28: reaching people where they work — the weekly digest to each project manager (a real
SMTP server, Graph's sendMail on a local endpoint, .eml files), the Teams card after a failed,
partial or freezing night, and « Portefeuille copil.xlsx » in the library. Everything goes
through the emulator and the unmodified client; expectations come from the emulator's own lists,
not from copil's output."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

import jobs.cli as cli
from connector import workbook
from connector.notify.digests import NOTHING, SAME_WEEK, UNCHANGED, send_digests
from connector.pipeline import run_sync
from connector.state import State
from tests.support.receivers import HttpRecorder, SmtpReceiver, free_port
from tests.support.sync_helpers import config, seeded

AS_OF = date(2026, 12, 7)  # a Monday; « COPIL avenue de la Gare » is the next day
SENDER = "copil@belcourt-sur-loire.fr"
runner = CliRunner()


def managers(site) -> dict[str, set[str]]:
    """Address -> operation codes, from the emulator's list and users (not from copil)."""
    lst = site.list_by_title("Projets")
    by_title = {f.title: f.internal_name for f in lst.fields.values()}
    out: dict[str, set[str]] = {}
    for it in lst.items.values():
        u = site.user(it.values.get(by_title["Chef de projet"]))
        if u is not None and u.email:
            out.setdefault(u.email, set()).add(it.values[by_title["Code opération"]])
    return out


def _edit(site, title: str, item_id: int, column: str, value) -> None:
    """As a person does, through the model (the change log sees it)."""
    lst = site.list_by_title(title)
    internal = next(f.internal_name for f in lst.fields.values() if f.title == column)
    item = lst.items[item_id]
    lst.update_item(item, {internal: value}, item.editor_id)


def _smtp_config(emulator, tmp_path, box, **more):
    return config(
        emulator,
        tmp_path,
        notify={"enabled": True, "sender": SENDER, "smtp": {"host": "127.0.0.1", "port": box.port}},
        **more,
    )


def test_weekly_digests_over_smtp_once_a_week_and_only_when_something_changed(emulator, tmp_path):
    seeded(emulator, 12)
    site = emulator.backend.site("projets")
    expected = managers(site)
    with SmtpReceiver() as box:
        cfg = _smtp_config(emulator, tmp_path, box, reports={"enabled": True})
        state = State(cfg.state.url)
        night = run_sync(cfg, as_of=AS_OF, state=state)
        assert night.exit_code in (0, 5)
        s = send_digests(cfg, as_of=AS_OF, state=state)
        assert s.exit_code == 0 and not s.failed
        got = {rcpt[0] for _, rcpt, _ in box.messages}
        assert got == set(s.sent) and got <= set(expected)
        assert len(box.messages) == len(got)  # one message per person
        for mail_from, rcpt, msg in box.messages:
            assert mail_from == SENDER
            (address,) = rcpt
            assert msg["To"].addresses[0].addr_spec == address
            assert msg["Subject"].startswith("[copil] Vos projets, semaine du 07/12/2026 : ")
            assert msg["Content-Language"] == "fr-FR" and msg["Auto-Submitted"] == "auto-generated"
            text = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            assert text.startswith("Bonjour ") and '<html lang="fr">' in html
            shown = set(re.findall(r"^(PPI-\d{4}-\d{3}) — ", text, flags=re.M))
            assert shown and shown <= expected[address]  # only their own projects
            # every link has its own words; no bare « ouvrir », no colour carrying the météo
            assert not re.search(r">ouvrir<", html)
            assert "Météo : <strong>" in html
            for code in shown:
                assert "Lists/Projets/DispForm.aspx?ID=" in text
                assert f"Fiche%20projet%20{code}.docx" in text  # the living file published by the night
        # the data to fix: every finding of a manager's project is in their digest, with its form
        everyone = "\n".join(m.get_body(("plain",)).get_content() for _, _, m in box.messages)
        for f in night.findings:
            if f.project_code and f.link and any(f.project_code in expected[a] for a in s.sent):
                assert f.link in everyone, f

        # the same week again: nothing; the next week with nothing changed: nothing
        before = len(box.messages)
        again = send_digests(cfg, as_of=AS_OF + timedelta(days=2), state=state)
        assert not again.sent and set(again.skipped.values()) <= {SAME_WEEK, NOTHING}
        # the week after the meeting of 8 December: the next meeting, and what is due before it, moved
        send_digests(cfg, as_of=AS_OF + timedelta(days=7), state=state)
        before = len(box.messages)
        calm = send_digests(cfg, as_of=AS_OF + timedelta(days=14), state=state)
        assert not calm.sent and set(calm.skipped.values()) <= {UNCHANGED, NOTHING}, calm.skipped
        assert len(box.messages) == before

        # a person types a value copil cannot read: only that manager hears of it, the week after
        lst = site.list_by_title("Projets")
        code_f = next(f.internal_name for f in lst.fields.values() if f.title == "Code opération")
        item_id, code = next((i, it.values[code_f]) for i, it in sorted(lst.items.items()))
        _edit(site, "Projets", item_id, "AP votée", "beaucoup trop")
        owner = next(a for a, codes in expected.items() if code in codes)
        later = send_digests(cfg, as_of=AS_OF + timedelta(days=21), state=state)
        assert later.sent == [owner], (later.sent, later.skipped)
        new = box.messages[before:]
        assert len(new) == 1
        msg = new[0][2]
        text = msg.get_body(("plain",)).get_content()
        assert "« beaucoup trop »" in text and f"DispForm.aspx?ID={item_id}" in text

        # another slip the next day: the same week, so it waits for the next week's digest
        _edit(site, "Projets", item_id, "Avancement physique", "à moitié ?")
        same_week = send_digests(cfg, as_of=AS_OF + timedelta(days=22), state=state)
        assert not same_week.sent and same_week.skipped[owner] == SAME_WEEK
        next_week = send_digests(cfg, as_of=AS_OF + timedelta(days=28), state=state)
        assert owner in next_week.sent  # (others may have news of their own by then: a meeting passed)
        assert "« à moitié ? »" in box.to(owner)[-1].get_body(("plain",)).get_content()


def test_opt_out_and_a_refused_recipient(emulator, tmp_path):
    seeded(emulator, 8)
    expected = managers(emulator.backend.site("projets"))
    out, refused = sorted(expected)[:2]
    with SmtpReceiver() as box:
        box.refuse = {refused.casefold()}
        cfg = _smtp_config(emulator, tmp_path, box)
        cfg.notify.opt_out = [out.upper()]  # an address typed in capitals is still the person
        cfg = type(cfg).model_validate(cfg.model_dump())
        s = send_digests(cfg, as_of=AS_OF)
        got = {rcpt[0] for _, rcpt, _ in box.messages}
        assert out not in got and out not in s.sent and out not in s.skipped and s.opted_out == 1
        assert refused in s.failed and "destinataire refusé par le relais (550)" in s.failed[refused]
        assert s.exit_code == 5 and got == set(s.sent) and s.sent
        # the refused one was not recorded: once the relay takes it, it goes the same week
        box.refuse = set()
        again = send_digests(cfg, as_of=AS_OF)
        assert again.sent == [refused]


def test_graph_sendmail_from_one_mailbox(emulator, tmp_path, monkeypatch):
    seeded(emulator, 6)
    expected = managers(emulator.backend.site("projets"))
    monkeypatch.setenv("COPIL_GRAPH_TOKEN", "jeton-graph-de-test")
    with HttpRecorder(202) as graph:
        cfg = config(
            emulator,
            tmp_path,
            notify={
                "enabled": True,
                "sender": SENDER,
                "transport": "graph",
                "graph": {"url": graph.url, "token_env": "COPIL_GRAPH_TOKEN"},
            },
        )
        s = send_digests(cfg, as_of=AS_OF)
        assert s.sent and not s.failed and len(graph.posts) == len(s.sent)
        for path, headers, body in graph.posts:
            assert path == f"/v1.0/users/{SENDER}/sendMail"
            assert headers["Authorization"] == "Bearer jeton-graph-de-test"
            m = body["message"]
            (to,) = m["toRecipients"]
            assert to["emailAddress"]["address"] in expected
            assert m["body"]["contentType"] == "HTML" and '<html lang="fr">' in m["body"]["content"]
            assert m["subject"].startswith("[copil] Vos projets, semaine du 07/12/2026")
            assert body["saveToSentItems"] is False
        graph.status = 403  # the access policy refuses the mailbox
        refused = send_digests(cfg, as_of=AS_OF + timedelta(days=7 * 3))
        assert refused.exit_code == 5 or not refused.failed  # nothing new to send is not a failure
    assert all("HTTP 403" in why for why in refused.failed.values())


def test_notify_command_line_dry_run_and_a_relay_that_is_not_there(emulator, tmp_path, monkeypatch):
    seeded(emulator, 6)
    monkeypatch.setenv("COPIL_NOTIFY_TOKEN", emulator.tokens["read"])
    cfg = tmp_path / "copil.toml"
    port = free_port()  # nothing listens there
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{emulator.site_url("projets")}"\nauth = "bearer"\ntoken_env = "COPIL_NOTIFY_TOKEN"\n'
        f'[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n[reports]\nenabled = false\n'
        f'[notify]\nenabled = true\nsender = "{SENDER}"\n[notify.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
        "timeout_seconds = 5\n",
        encoding="utf-8",
    )
    out = tmp_path / "courriels"
    res = runner.invoke(cli.app, ["notify", "--config", str(cfg), "--dry-run", "--out", str(out), "--le", "07/12/2026"])
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("*.eml"))
    assert files and "récapitulatifs écrits" in res.output and "Courriels écrits dans" in res.output
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["X-Copil-Week"] == "2026-W50" and msg.get_body(("plain",)).get_content().startswith("Bonjour")

    res = runner.invoke(cli.app, ["notify", "--config", str(cfg), "--le", "07/12/2026"])
    assert res.exit_code == 5, res.output
    assert f"relais SMTP 127.0.0.1:{port} : relais injoignable" in res.output
    assert "Traceback" not in res.output
    assert State(f"sqlite:///{(tmp_path / 's.db').as_posix()}").last_digests() == {}  # nothing recorded

    with SmtpReceiver() as box:  # the relay back: the dry run recorded nothing, so all go
        text = cfg.read_text(encoding="utf-8").replace(f"port = {port}", f"port = {box.port}")
        cfg.write_text(text, encoding="utf-8")
        res = runner.invoke(cli.app, ["notify", "--config", str(cfg), "--le", "07/12/2026"])
        assert res.exit_code == 0, res.output
        assert len(box.messages) == len(files)


def test_notify_refuses_when_disabled_and_says_how(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_NOTIFY_TOKEN", emulator.tokens["read"])
    cfg = tmp_path / "copil.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{emulator.site_url("projets")}"\nauth = "bearer"\ntoken_env = "COPIL_NOTIFY_TOKEN"\n',
        encoding="utf-8",
    )
    res = runner.invoke(cli.app, ["notify", "--config", str(cfg)])
    assert res.exit_code == 2
    assert "récapitulatifs sont désactivés" in res.output and "--dry-run --out" in res.output


def _teams_config(emulator, tmp_path, hook, monkeypatch, **more):
    url = f"{hook.url}/workflows/secret-signature-a1b2c3"
    monkeypatch.setenv("COPIL_TEAMS_HOOK", url)
    return config(emulator, tmp_path, teams={"webhook_env": "COPIL_TEAMS_HOOK"}, **more), url


def test_teams_card_when_an_edition_is_frozen_and_when_a_night_fails(emulator, tmp_path, monkeypatch, caplog):
    seeded(emulator, 8)
    with HttpRecorder(202) as hook:
        cfg, secret_url = _teams_config(emulator, tmp_path, hook, monkeypatch, reports={"enabled": True})
        state = State(cfg.state.url)
        quiet = run_sync(cfg, as_of=AS_OF, state=state)  # a draft, nothing frozen, nothing failed
        assert quiet.exit_code in (0, 5)
        posted = len(hook.posts)
        assert posted == (1 if quiet.status == "partial" else 0)
        frozen = run_sync(cfg, as_of=AS_OF + timedelta(days=1), state=state)  # the meeting's day
        assert frozen.dossiers_frozen, frozen
        path, headers, body = hook.posts[-1]
        assert path == "/workflows/secret-signature-a1b2c3"
        card = body["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        content = card["content"]
        assert content["type"] == "AdaptiveCard" and content["lang"] == "fr-FR"
        facts = {f["title"]: f["value"] for b in content["body"] if b["type"] == "FactSet" for f in b["facts"]}
        assert facts["Exécution"] == f"n° {frozen.run_id}" and facts["Projets"] == "8"
        words = " ".join(b.get("text", "") for b in content["body"])
        assert "figé" in words and "COPIL avenue de la Gare du 08/12/2026" in words
        links = [a["url"] for a in content.get("actions", [])]
        assert any(
            u.startswith(emulator.site_url("projets").split("/sites/")[0]) and u.endswith(".docx") for u in links
        )

        # a night that cannot reach its site fails: the channel is told, with the exit code
        bad = config(
            emulator,
            tmp_path,
            teams={"webhook_env": "COPIL_TEAMS_HOOK"},
            sharepoint={"site_url": emulator.site_url("absent")},
        )
        with pytest.raises(Exception):
            run_sync(bad, as_of=AS_OF, state=State(bad.state.url))
        content = hook.posts[-1][2]["attachments"][0]["content"]
        words = " ".join(b.get("text", "") for b in content["body"])
        assert "synchronisation en échec" in words and "code 4" in words

        # a channel that refuses: the night is partial (exit 5), said, and the URL never shown.
        # A person validates the next meeting's dossier: the night freezes it and wants to say so.
        hook.status = 403
        site = emulator.backend.site("projets")
        meetings = site.list_by_title("Comités de pilotage")
        title_f = next(f.internal_name for f in meetings.fields.values() if f.title == "Title")
        date_f = next(f.internal_name for f in meetings.fields.values() if f.title == "Date de la réunion")
        later = sorted((it.values[date_f], i) for i, it in meetings.items.items() if it.values[date_f] > "2026-12-09")
        assert later, [it.values[title_f] for it in meetings.items.values()]
        _edit(site, "Comités de pilotage", later[0][1], "Statut", "Validé")
        refused = run_sync(cfg, as_of=AS_OF + timedelta(days=2), state=state)
        assert refused.dossiers_frozen
    assert refused.exit_code == 5 and refused.status == "partial"
    assert any("le webhook Teams a refusé le message : HTTP 403" in e for e in refused.report_errors)
    assert secret_url not in caplog.text and "secret-signature" not in " ".join(refused.report_errors)


def _library_file(site, name: str):
    return next(f for url, f in site.files.items() if url.endswith("/" + name.lower()))


def test_the_portfolio_workbook_in_the_library(emulator, tmp_path):
    seeded(emulator, 10)
    site = emulator.backend.site("projets")
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    state = State(cfg.state.url)
    first = run_sync(cfg, as_of=AS_OF, state=state)
    assert first.workbook.endswith("/Synth%C3%A8se/Portefeuille copil.xlsx") or first.workbook.endswith(
        "/Synthèse/Portefeuille copil.xlsx"
    )
    f = _library_file(site, "Portefeuille copil.xlsx")
    versions = len(f.versions)
    wb = load_workbook(io.BytesIO(f.content))
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["copil_schema_version"] == workbook.SCHEMA_VERSION and props["copil_as_of"] == "2026-12-07"
    for sheet in workbook.SHEETS:
        ws = wb[sheet.name]
        (table,) = ws.tables.values()
        assert table.displayName == sheet.table
        # the table covers its range: the header row and every data row, every column
        last = get_column_letter(len(sheet.columns))
        assert table.ref == f"A1:{last}{max(ws.max_row, 2)}"
        assert [c.value for c in ws[1]] == [c.header for c in sheet.columns]

    # its figures are the lists': every project, the météo and slippage copil wrote into SharePoint
    lst = site.list_by_title("Projets")
    col = {f.title: f.internal_name for f in lst.fields.values()}
    ws = wb["Projets"]
    head = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == len(lst.items)
    for it in lst.items.values():
        row = rows[it.values[col["Code opération"]]]
        assert row["Météo calculée"] == it.values[col["Météo calculée"]]
        written = it.values.get(col["Glissement (jours)"])
        assert (row["Glissement (jours)"] is None and written is None) or row["Glissement (jours)"] == written
        rate = it.values.get(col["Taux d'exécution CP"])
        if rate is None:
            assert row["Taux d'exécution CP"] is None
        else:  # the list holds it rounded to 4 decimals
            assert row["Taux d'exécution CP"] == pytest.approx(rate, abs=1e-4)
    assert ws["P2"].number_format.endswith('"€"')  # AP votée, a money column
    # every budget line of the list is a row of « Budget »
    # every item of the lists is a row, or a finding that says why it is not (nothing dropped silently)
    told = {(r[1], r[2]) for r in wb["Anomalies"].iter_rows(min_row=2, values_only=True)}
    for sheet, title in (("Jalons", "Jalons"), ("Subventions", "Subventions"), ("Risques", "Risques")):
        shown = {r[1] for r in wb[sheet].iter_rows(min_row=2, values_only=True)}
        ids = set(site.list_by_title(title).items)
        assert shown <= ids and all((title, i) in told for i in ids - shown), (sheet, ids - shown)
        assert len(shown) >= len(ids) - 3

    # an unchanged night publishes no new version; a person's edit does
    again = run_sync(cfg, as_of=AS_OF, state=state)
    assert again.workbook == "" and len(_library_file(site, "Portefeuille copil.xlsx").versions) == versions
    _edit(site, "Projets", 2, "Avancement physique", "55 %")
    moved = run_sync(cfg, as_of=AS_OF, state=state)
    assert moved.workbook and len(_library_file(site, "Portefeuille copil.xlsx").versions) == versions + 1
    wb = load_workbook(io.BytesIO(_library_file(site, "Portefeuille copil.xlsx").content))
    ws = wb["Projets"]
    head = [c.value for c in ws[1]]
    code2 = lst.items[2].values[col["Code opération"]]
    row = next(dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == code2)
    assert row["Avancement physique"] == pytest.approx(0.55)


def test_copil_check_tries_the_relay_and_reads_the_webhook_without_sending(emulator, tmp_path, monkeypatch):
    from connector.check import run_checks

    seeded(emulator, 3)
    monkeypatch.setenv("COPIL_TEAMS_HOOK", "https://example.invalid/workflows/secret-signature")
    with SmtpReceiver() as box:
        cfg = _smtp_config(emulator, tmp_path, box, teams={"webhook_env": "COPIL_TEAMS_HOOK"})
        steps = list(run_checks(cfg))
        assert box.messages == []  # nothing sent
    said = [s.message for s in steps]
    assert f"Relais SMTP 127.0.0.1:{box.port} joignable (sans chiffrement) ; aucun courriel envoyé" in said
    assert any(m.startswith("Adresse du webhook Teams lue (non affichée)") for m in said)
    assert not any("secret-signature" in m for m in said)

    cfg.notify.smtp.port = free_port()
    bad = [s for s in run_checks(cfg) if not s.ok]
    assert len(bad) == 1 and bad[0].exit_code == 5 and "relais injoignable" in bad[0].message
    monkeypatch.delenv("COPIL_TEAMS_HOOK")
    cfg.notify.enabled = False
    bad = [s for s in run_checks(cfg) if not s.ok]
    assert len(bad) == 1 and "webhook Teams" in bad[0].message and bad[0].exit_code == 5
