"""copil command line: exit codes, status table, masking, check and demo end to end."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

import jobs.cli as cli
from jobs.nightly import exit_code_for
from jobs.output import mask, register_secret
from tests.support.sync_helpers import writes

runner = CliRunner()


def _ns(**kw):
    return types.SimpleNamespace(**kw)


class ConfigError(Exception):
    pass


class SchemaError(Exception):
    pass


class AuthError(Exception):
    pass


def test_exit_codes_by_exception_kind():
    assert exit_code_for(ConfigError("x")) == 2
    assert exit_code_for(AuthError("x")) == 3
    assert exit_code_for(SchemaError("x")) == 4
    assert exit_code_for(RuntimeError("x")) == 1
    e = RuntimeError("x")
    e.exit_code = 5
    assert exit_code_for(e) == 5


def test_mask_known_secret_and_shapes():
    register_secret("s3cr3t-passphrase-value")
    out = mask('Authorization: Bearer eyJhbGciOi.abc passphrase="s3cr3t-passphrase-value" token=abcdef123 ok')
    assert "eyJhbGciOi" not in out and "s3cr3t" not in out and "abcdef123" not in out
    assert out.endswith("ok")


def test_json_output_is_masked(monkeypatch, tmp_path):
    register_secret("write-token-very-secret")

    def bad_load(path):
        raise ConfigError("jeton refusé: write-token-very-secret, en-tête Bearer abcdefghijkl")

    monkeypatch.setattr(cli, "load", bad_load)
    res = runner.invoke(cli.app, ["--json", "sync", "--config", str(tmp_path / "c.toml")])
    assert res.exit_code == 2
    out = res.output + (res.stderr if hasattr(res, "stderr") else "")
    assert "write-token-very-secret" not in out and "abcdefghijkl" not in out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines and all("msg" in line for line in lines)
    assert any("***" in line["msg"] for line in lines)


def test_status_lists_last_runs_in_local_time_with_reasons(tmp_path):
    from datetime import datetime, timezone

    from sqlalchemy import update

    from connector.state import State
    from connector.state import runs as runs_t

    db = tmp_path / "state.db"
    st = State(f"sqlite:///{db.as_posix()}")
    ok = st.start_run()
    st.finish_run(
        ok,
        status="partial",
        counts={"projects": 40, "written_items": 12, "findings": 7, "errors": 1, "exit_code": 5, "dry_run": False},
        message="1 écriture en échec",
    )
    dry = st.start_run()
    st.finish_run(dry, status="ok", counts={"projects": 40, "dry_run": True, "exit_code": 0})
    bad = st.start_run()
    st.finish_run(
        bad, status="failed", counts={"exit_code": 4}, message="SharePoint injoignable pendant : lecture du site"
    )
    st.start_run()  # killed: left running
    with st.engine.begin() as c:
        c.execute(
            update(runs_t)
            .where(runs_t.c.id == ok)
            .values(started_at=datetime(2026, 11, 24, 1, 0, 3, tzinfo=timezone.utc))
        )
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "http://127.0.0.1:9/sites/x"\nauth = "bearer"\n'
        f'[state]\nurl = "sqlite:///{db.as_posix()}"\n',
        encoding="utf-8",
    )
    res = runner.invoke(cli.app, ["status", "--config", str(cfg)], terminal_width=200)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "heures de Europe/Paris" in out and "24/11/2026 02:00" in out  # 01:00 UTC shown in Paris time
    assert "partielle" in out and "1 écriture en échec" in out and "réussie (simulation)" in out
    assert "échec" in out and "SharePoint injoignable" in out and "en cours" in out
    for header in ("Début", "Durée", "Statut", "Projets", "Écrits", "Anomalies", "Erreurs", "Code", "Motif"):
        assert header in out
    res = runner.invoke(cli.app, ["unlock", "--config", str(cfg)])
    assert res.exit_code == 0 and "rien à libérer" in res.output


def test_emulator_token_spec_is_validated():
    from emulator.auth import parse_token_spec

    g = parse_token_spec("abc:write:projets")
    assert (g.token, g.role, g.site) == ("abc", "write", "projets")
    with pytest.raises(ValueError):
        parse_token_spec("abc:admin")


# --- against the emulator ----------------------------------------------------------
@pytest.fixture
def live_site():
    from emulator import server
    from sample import collectivite as sample

    srv = server.start(port=0)
    sample.seed(srv.backend, "projets", projects=8)
    yield srv
    srv.stop()


def _config(tmp_path: Path, srv, extra: str = "", site: str = "projets") -> Path:
    p = tmp_path / "copil.toml"
    p.write_text(
        f"""
[collectivite]
name = "Commune test"
[sharepoint]
site_url = "{srv.site_url(site)}"
auth = "bearer"
token_env = "COPIL_TEST_TOKEN"
[state]
url = "sqlite:///{(tmp_path / "state.db").as_posix()}"
{extra}
""",
        encoding="utf-8",
    )
    return p


def _out(res) -> str:
    return res.output + (res.stderr if hasattr(res, "stderr") else "")


def test_check_ok_then_wrong_column_is_named(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    res = runner.invoke(cli.app, ["check", "--config", str(_config(tmp_path, live_site))])
    assert res.exit_code == 0, _out(res)
    bad = _config(tmp_path, live_site, '[lists.projects.columns]\ndirection = "Direction pilot"\n')
    res = runner.invoke(cli.app, ["check", "--config", str(bad)])
    out = _out(res)
    assert res.exit_code == 4, out
    assert "Direction pilot" in out and "Direction pilote" in out


def test_a_wrong_site_path_is_said_once_in_french_by_check_and_sync(live_site, tmp_path, monkeypatch):
    """Not a raw tuple from the client (check), not « every list is missing » (sync): the site."""
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    cfg = str(_config(tmp_path, live_site, "[reports]\nenabled = false\n", site="inexistant"))
    for command in ("check", "sync"):
        res = runner.invoke(cli.app, [command, "--config", cfg])
        out = _out(res)
        assert res.exit_code == 4, (command, out)
        assert "/sites/inexistant » n'existe pas" in out and "sharepoint.site_url" in out, out
        assert "FileNotFoundException" not in out and "Projets" not in out, out


def test_a_misnamed_list_gets_the_closest_titles(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    bad = _config(tmp_path, live_site, '[lists.milestones]\ntitle = "Jalon"\n')
    res = runner.invoke(cli.app, ["check", "--config", str(bad)])
    out = _out(res)
    assert res.exit_code == 4, out
    assert "la liste « Jalon » n'existe pas" in out and "Listes proches : « Jalons »" in out, out


def test_check_with_a_read_only_token_exits_3_and_sync_writes_nothing(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["read"])
    cfg = str(_config(tmp_path, live_site, "[reports]\nenabled = false\n"))
    res = runner.invoke(cli.app, ["check", "--config", cfg])
    assert res.exit_code == 3 and "ne peut pas modifier les éléments de « Projets »" in _out(res)
    res = runner.invoke(cli.app, ["sync", "--config", cfg])
    assert res.exit_code == 3 and "write" in _out(res)


def test_check_with_bad_token_exits_3(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", "not-a-token")
    res = runner.invoke(cli.app, ["check", "--config", str(_config(tmp_path, live_site))])
    assert res.exit_code == 3, _out(res)
    assert "not-a-token" not in _out(res)


def test_config_error_names_the_key(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[sharepoint]\nsite_url = "http://x"\nauth = "bearer"\npage_size = 9000\n', encoding="utf-8")
    res = runner.invoke(cli.app, ["check", "--config", str(p)])
    assert res.exit_code == 2 and "sharepoint.page_size" in _out(res)


def test_init_site_on_an_empty_site_is_idempotent_and_needs_manage(live_site, tmp_path, monkeypatch):
    live_site.backend.ensure_site("vide")
    cfg = _config(tmp_path, live_site, site="vide")
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    res = runner.invoke(cli.app, ["init-site", "--config", str(cfg)])
    assert res.exit_code == 3, _out(res)
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["manage"])
    res = runner.invoke(cli.app, ["init-site", "--config", str(cfg)])
    assert res.exit_code == 0, _out(res)
    site = live_site.backend.site("vide")
    projets = site.list_by_title("Projets")
    assert projets.field_by_title("Météo calculée").kind == "Choice"
    assert projets.field_by_title("Code opération").indexed
    jalons = site.list_by_title("Jalons")
    assert jalons.field_by_title("Projet").lookup_list_id == projets.id
    assert site.list_by_title("Rapports COPIL").is_library
    n_fields = {t.title: len(t.fields) for t in site.lists.values()}
    assert "vue « Projets en alerte » : créée" in _out(
        res
    ) and "mise en forme de « Météo calculée » : appliquée" in _out(res)
    assert {v.title for v in projets.views.values()} >= {"Projets en alerte", "Mes projets", "Données à corriger"}
    res = runner.invoke(cli.app, ["init-site", "--config", str(cfg)])
    assert res.exit_code == 0 and "déjà présente" in _out(res)
    assert "créée" not in _out(res) and "appliquée" not in _out(res)
    assert {t.title: len(t.fields) for t in site.lists.values()} == n_fields
    res = runner.invoke(cli.app, ["init-site", "--upgrade", "--config", str(cfg)])
    assert res.exit_code == 0 and "mise à jour" not in _out(res), _out(res)  # already current
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    res = runner.invoke(cli.app, ["check", "--config", str(cfg)])
    assert res.exit_code == 0, _out(res)


def test_sync_dry_run_then_sync_then_status(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    cfg = str(_config(tmp_path, live_site, "[reports]\nenabled = false\n"))
    res = runner.invoke(cli.app, ["sync", "--config", cfg, "--dry-run"])
    assert res.exit_code == 0, _out(res)
    assert "Simulation : 8 projet(s) seraient mis à jour" in res.output
    assert "computed_weather" not in res.output and "weather_reasons" not in res.output  # French names
    assert "Météo calculée" in res.output and "Motifs de la météo" in res.output
    assert "(vide) → Soleil" in res.output or "(vide) → Orage" in res.output  # old → new
    # whole values, wrapped in their cell: the reasons of the météo used to be cut at 60 characters
    simulation = res.output.split("Simulation :")[1].split("Anomalies de saisie")[0]
    assert "…" not in simulation and "Motifs de la météo" in simulation
    anomalies = res.output.split("Anomalies de saisie")[1]
    assert "/Lists/Projets/DispForm.aspx?ID=" in anomalies  # each item number with its link
    assert live_site.stats()["by_route"].get("batch:op:validate.POST") is None
    res = runner.invoke(cli.app, ["sync", "--config", cfg])
    assert res.exit_code == 0, _out(res)
    assert "Éléments écrits" in res.output and live_site.stats()["by_route"]["batch:op:validate.POST"] == 8
    res = runner.invoke(cli.app, ["status", "--config", cfg])
    assert res.exit_code == 0 and "réussie" in res.output


def test_report_out_writes_local_files(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["read"])
    out = tmp_path / "out"
    res = runner.invoke(
        cli.app,
        ["report", "--config", str(_config(tmp_path, live_site)), "--out", str(out), "--project", "PPI-2024-002"],
    )
    assert res.exit_code == 0, _out(res)
    files = sorted(out.rglob("*.docx"))
    assert [f.name for f in files] == ["Fiche projet PPI-2024-002.docx"]
    assert not writes(live_site.stats()["by_route"])  # nothing written


def count_docx(folder) -> int:
    return sum(1 for _ in folder.rglob("*.docx"))


def test_demo_end_to_end_leaves_docx(tmp_path):
    import docx

    out = tmp_path / "demo"
    res = runner.invoke(cli.app, ["demo", "--projects", "8", "--out", str(out)])
    assert res.exit_code == 0, _out(res)
    files = sorted(f for f in out.rglob("*.docx") if "Comités" not in f.parts)  # living files (a dossier may be due)
    assert len(files) == 9, _out(res)
    text = "\n".join(p.text for p in docx.Document(str(files[0])).paragraphs)
    from babel.dates import format_date

    from connector.pipeline import today

    # the collectivité's day (the sample's site is in Paris), not the test machine's: after 23:00 UTC
    # in winter it is already tomorrow there
    assert f"situation au {format_date(today('Europe/Paris'), 'd MMMM y', locale='fr_FR')}" in text
    # the portfolio's workbook and the week's digests beside the reports (issue 28), counted apart
    from openpyxl import load_workbook

    wb = load_workbook(out / "Synthèse" / "Portefeuille copil.xlsx")
    assert wb["Projets"].max_row == 8 + 1
    mails = sorted((out / "courriels").glob("*.eml"))
    assert mails and f"{count_docx(out)} rapport(s) Word copié(s)" in res.output
    assert f"{len(mails)} récapitulatif" in res.output


def test_unreachable_site_exits_4_with_a_plain_message(tmp_path, monkeypatch):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    monkeypatch.setenv("COPIL_TEST_TOKEN", "x")
    import office365.runtime.retry as client_retry

    monkeypatch.setattr(client_retry, "sleep", lambda s: None)  # the client's digest fetch backs off ~90 s
    p = tmp_path / "c.toml"
    p.write_text(
        f'[sharepoint]\nsite_url = "http://127.0.0.1:{port}/sites/projets"\nauth = "bearer"\n'
        f'token_env = "COPIL_TEST_TOKEN"\nmax_retries = 0\n[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n',
        encoding="utf-8",
    )
    res = runner.invoke(cli.app, ["sync", "--config", str(p)])
    assert res.exit_code == 4, _out(res)
    assert "SharePoint injoignable" in _out(res)


def test_json_sync_emits_findings_and_a_summary(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    res = runner.invoke(
        cli.app, ["--json", "sync", "--config", str(_config(tmp_path, live_site, "[reports]\nenabled = false\n"))]
    )
    assert res.exit_code == 0, _out(res)
    records = [json.loads(line) for line in _out(res).splitlines() if line.startswith("{")]
    findings = [r["finding"] for r in records if "finding" in r]
    assert {"list": "Projets", "item_id": 5, "column": "AP votée", "value": "à définir"}.items() <= findings[1].items()
    summary = next(r["summary"] for r in records if "summary" in r)
    assert summary["written"] == 8 and summary["status"] == "ok"
    assert live_site.tokens["write"] not in _out(res)


def test_report_publishes_one_project_without_touching_the_lists(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    cfg = str(_config(tmp_path, live_site))
    res = runner.invoke(cli.app, ["report", "--config", cfg, "--project", "PPI-2024-001"])
    assert res.exit_code == 0, _out(res)
    assert "1 rapport(s) écrit(s) dans la bibliothèque « Rapports COPIL »" in res.output
    site = live_site.backend.site("projets")
    assert [k for k in site.files if k.endswith(".docx")] == [
        k for k in site.files if "rapports copil/" in k and "ppi-2024-001/fiche projet" in k
    ]
    routes = live_site.stats()["by_route"]
    assert "batch:op:validate.POST" not in routes  # no write-back into the lists
    res = runner.invoke(cli.app, ["report", "--config", cfg, "--project", "PPI-2024-001"])
    assert "0 rapport(s) écrit(s)" in res.output and "1 inchangé(s)" in res.output
    res = runner.invoke(cli.app, ["report", "--config", cfg, "--project", "PPI-0000-000"])
    assert res.exit_code == 4 and "PPI-0000-000" in _out(res)


def test_a_second_sync_on_the_same_state_waits_its_turn(live_site, tmp_path, monkeypatch):
    from jobs.lock import RunLock, make_engine

    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    cfg_path = _config(tmp_path, live_site, "[reports]\nenabled = false\n")
    url = f"sqlite:///{(tmp_path / 'state.db').as_posix()}"
    other = RunLock(make_engine(url), owner="serveur-nuit:4242")
    assert other.acquire("copil:sync")
    res = runner.invoke(cli.app, ["sync", "--config", str(cfg_path)])
    assert res.exit_code == 6 and "serveur-nuit:4242" in _out(res)
    assert "batch:op:validate.POST" not in live_site.stats()["by_route"]
    other.release("copil:sync", done=False)
    assert runner.invoke(cli.app, ["sync", "--config", str(cfg_path)]).exit_code == 0
    assert runner.invoke(cli.app, ["sync", "--config", str(cfg_path)]).exit_code == 0  # lock released


def test_example_configuration_as_shipped_names_the_missing_certificate(tmp_path):
    """The example file points at /etc/copil/copil.pem: a configuration error naming the key,
    not an unexpected error."""
    example = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "copil.toml"
    cfg.write_text(example.replace("/var/lib/copil/copil-state.db", (tmp_path / "s.db").as_posix()), encoding="utf-8")
    res = runner.invoke(cli.app, ["check", "--config", str(cfg)])
    assert res.exit_code == 2, _out(res)
    assert "sharepoint.certificate_path" in _out(res) and "Traceback" not in _out(res)


def test_demo_keep_leaves_a_configuration_that_works_against_the_kept_emulator(tmp_path, monkeypatch):
    import socket

    from emulator import auth
    from emulator.server import EmulatorServer

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.chdir(tmp_path)
    keep = tmp_path / "essai"
    res = runner.invoke(
        cli.app, ["demo", "--projects", "4", "--out", str(tmp_path / "out"), "--keep", str(keep), "--port", str(port)]
    )
    assert res.exit_code == 0, _out(res)
    printed = [line.strip() for line in res.output.splitlines() if f"emulator --data {keep / 'emulator'}" in line]
    assert printed and printed[0].endswith(f" emulator --data {keep / 'emulator'} --port {port}"), res.output
    # the command printed works from where the demo ran (not « copil: command not found »)
    import shlex
    import subprocess

    command = shlex.split(printed[0].split(" emulator --data")[0])
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("copil "), (command, version.stderr)
    assert oct((keep / "jeton.txt").stat().st_mode)[-3:] == "600"
    srv = EmulatorServer(
        port, data_dir=str(keep / "emulator"), tokens=auth.load_grants(keep / "emulator" / "tokens.json")
    ).start()
    try:
        res = runner.invoke(cli.app, ["check", "--config", str(keep / "copil.toml")])
        assert res.exit_code == 0, _out(res)
        res = runner.invoke(cli.app, ["status", "--config", str(keep / "copil.toml")])
        assert res.exit_code == 0 and "réussie" in res.output
    finally:
        srv.stop()
    res = runner.invoke(cli.app, ["demo", "--projects", "4", "--keep", str(keep)])
    assert res.exit_code == 2 and "déjà" in _out(res)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/sites/projets", "http://sharepoint.copil-test.invalid/sites/x"])
def test_unreachable_sharepoint_is_reported_at_once_without_tracebacks(tmp_path, monkeypatch, url):
    import time

    monkeypatch.setenv("COPIL_TEST_TOKEN", "x")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{url}"\nauth = "bearer"\ntoken_env = "COPIL_TEST_TOKEN"\n'
        f'max_retries = 6\n[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n',
        encoding="utf-8",
    )
    for command in ("check", "sync"):
        t0 = time.monotonic()
        res = runner.invoke(cli.app, [command, "--config", str(cfg)])
        elapsed = time.monotonic() - t0
        out = _out(res)
        assert res.exit_code == 4, out
        assert "injoignable à cette adresse" in out and "sharepoint.site_url" in out
        assert "Traceback" not in out and "urllib3" not in out
        assert elapsed < 30, f"{command} took {elapsed:.0f} s"  # was 4 to 11 minutes: retries of a dead address


def test_check_interrupted_by_sharepoint_is_a_message_not_a_traceback(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    live_site.admin("POST", "faults", json={"error_paths": [{"pattern": r"/items$", "status": 503}]})
    cfg = _config(tmp_path, live_site, "[reports]\nenabled = false\n[sharepoint]\n")
    text = cfg.read_text(encoding="utf-8").replace("[sharepoint]\n", "[sharepoint]\nmax_retries = 0\n", 1)
    cfg.write_text(text.rsplit("[sharepoint]\n", 1)[0], encoding="utf-8")
    res = runner.invoke(cli.app, ["check", "--config", str(cfg)])
    out = _out(res)
    assert res.exit_code == 4, out
    assert "Vérification interrompue" in out and "indisponible (503)" in out and "Traceback" not in out


def test_demo_lists_no_address_of_an_emulator_that_is_gone(tmp_path):
    res = runner.invoke(cli.app, ["demo", "--projects", "8", "--out", str(tmp_path / "demo")])
    assert res.exit_code == 0, _out(res)
    assert "Anomalies de saisie" in res.output and "DispForm.aspx" not in res.output


def test_status_shows_the_next_meeting_and_the_last_frozen_dossier(tmp_path):
    from datetime import date

    from connector.state import State

    db = tmp_path / "state.db"
    st = State(f"sqlite:///{db.as_posix()}")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "http://127.0.0.1:9/sites/x"\nauth = "bearer"\n'
        f'[state]\nurl = "sqlite:///{db.as_posix()}"\n',
        encoding="utf-8",
    )
    res = runner.invoke(cli.app, ["status", "--config", str(cfg)])
    assert "Aucun dossier de réunion préparé par copil" in _out(res)
    st.record_edition("item:2", kind="frozen", on=date(2026, 12, 8), title="COPIL Gare", run_id=3, url="/r/g.docx",
                      pdf_url="/r/g.pdf")  # fmt: skip
    st.record_edition(
        "item:3",
        kind="draft",
        on=date.today() + __import__("datetime").timedelta(days=5),
        title="COPIL PPI",
        run_id=None,
        url="/r/p.docx",
    )
    res = runner.invoke(cli.app, ["status", "--config", str(cfg)])
    out = " ".join(_out(res).split())
    soon = (date.today() + __import__("datetime").timedelta(days=5)).strftime("%d/%m/%Y")
    assert f"Prochaine réunion : COPIL PPI du {soon} — projet de dossier en préparation (/r/p.docx)" in out
    assert "Dernière réunion : COPIL Gare du 08/12/2026 — dossier figé (/r/g.docx, PDF : /r/g.pdf)" in out


def test_report_builds_a_meeting_s_dossier_on_demand(live_site, tmp_path, monkeypatch):
    """`copil report --meeting N --out DIR`: the meeting's dossier as a draft dated today; an
    unknown meeting is named with the meetings the list has."""
    import docx

    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["read"])
    cfg = str(_config(tmp_path, live_site))
    out = tmp_path / "dossier"
    res = runner.invoke(cli.app, ["report", "--config", cfg, "--meeting", "2", "--out", str(out)])
    assert res.exit_code == 0, _out(res)
    (f,) = sorted(out.rglob("*.docx"))
    assert f.parent.name == "2026-12-08 COPIL avenue de la Gare" and "PPI-2024-002" in f.name
    header = " ".join(p.text for s in docx.Document(str(f)).sections for p in s.header.paragraphs)
    assert header.startswith("Projet de dossier – version du ")
    assert not writes(live_site.stats()["by_route"])
    res = runner.invoke(cli.app, ["report", "--config", cfg, "--meeting", "99", "--out", str(out)])
    assert res.exit_code == 4 and "réunion n° 99 absente" in _out(res) and "2 (COPIL avenue de la Gare" in _out(res)


def test_refresh_says_what_it_read_in_french_and_exits_6_beside_a_night(live_site, tmp_path, monkeypatch):
    from jobs.lock import RunLock, make_engine

    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    cfg = str(_config(tmp_path, live_site, "[reports]\nenabled = false\n"))
    first = runner.invoke(cli.app, ["refresh", "--config", cfg])  # no state yet: a full read, said
    assert first.exit_code == 0, _out(first)
    assert "Rafraîchissement n° 1" in _out(first) and "première lecture" in _out(first)
    assert "Rapports publiés" not in _out(first)  # a refresh makes no report
    runner.invoke(cli.app, ["refresh", "--config", cfg])  # past its own writes
    quiet = runner.invoke(cli.app, ["refresh", "--config", cfg])
    assert quiet.exit_code == 0 and "rien n'a changé depuis la dernière lecture (3 requêtes" in _out(quiet)
    night = RunLock(make_engine(f"sqlite:///{(tmp_path / 'state.db').as_posix()}"), owner="hote-nuit:1:x")
    assert night.acquire("copil:sync")
    busy = runner.invoke(cli.app, ["refresh", "--config", cfg])
    assert busy.exit_code == 6 and "une synchronisation est déjà en cours" in _out(busy)
    status = runner.invoke(cli.app, ["status", "--config", cfg])
    assert "(rafraîchissement)" in _out(status)
