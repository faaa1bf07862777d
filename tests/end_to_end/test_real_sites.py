"""Sites shaped like real collectivités': titles with spaces, quotes and #, other time zones,
renamed report columns, and a `copil check` that tries every write path a run takes."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import requests

from connector.check import run_checks
from connector.pipeline import build_portfolio, run_sync
from connector.sharepoint import timezones
from sample.collectivite import Layout, seed, sp_date
from tests.conftest import client
from tests.support.sync_helpers import AS_OF, config, item_state, owned

SPACED = Layout(
    titles={
        "projects": "Opérations PPI",
        "milestones": "Jalons d'opérations",
        "budget": "Budget « AP/CP » 2026",
        "reports": "Rapports COPIL #2 (100 %)",
        "finance_exports": "Exports de l'outil financier",
    }
)


def _cfg(emulator, tmp_path, layout: Layout, publish: bool = True, **sections):
    sec = layout.config()
    sec["reports"]["enabled"] = publish
    for k, v in sections.items():
        sec[k] = {**sec.get(k, {}), **v}
    return config(emulator, tmp_path, **sec)


def test_titles_with_spaces_quotes_and_hash_are_read_written_and_published(emulator, tmp_path):
    site = seed(emulator.backend, "projets", 10, layout=SPACED)
    cfg = _cfg(emulator, tmp_path, SPACED)
    steps = list(run_checks(cfg))
    assert all(s.ok for s in steps), [s.message for s in steps if not s.ok]
    summary = run_sync(cfg, as_of=AS_OF)
    assert summary.failed == 0 and summary.written == 10 and not summary.report_errors
    assert summary.reports_uploaded == 11
    assert owned(site, 2, "Opérations PPI")["Météo calculée"] == "Orage"
    assert owned(site, 1, "Opérations PPI")["Prochain jalon"] == "Achèvement du gros œuvre – 15/01/2027"
    # the writes went through $batch, addressed by id
    assert emulator.stats()["by_route"]["batch:op:validate.POST"] >= 10
    lib = site.list_by_title("Rapports COPIL #2 (100 %)")
    assert sum(1 for f in site.files.values() if f.list_id == lib.id and f.name.endswith(".docx")) == 11
    assert run_sync(cfg, as_of=AS_OF).written == 0


def test_a_title_left_unencoded_in_a_batch_part_is_refused_as_by_sharepoint(emulator):
    from office365.runtime.queries.service_operation import ServiceOperationQuery

    site = seed(emulator.backend, "projets", 3, layout=SPACED)
    ctx = client(emulator, "write")
    item = ctx.web.lists.get_by_title("Opérations PPI").get_item_by_id(1)
    ctx.add_query(
        ServiceOperationQuery(
            item,
            "ValidateUpdateListItem",
            None,
            {"formValues": [{"FieldName": "Commentaire", "FieldValue": "écrasé"}], "bNewDocumentUpdate": True},
        )
    )
    try:
        ctx.execute_batch()
    except Exception:
        pass
    lst = site.list_by_title("Opérations PPI")
    assert lst.items[1].values[lst.field_by_title("Commentaire").internal_name] != "écrasé"
    assert emulator.stats()["by_route"].get("batch:op:validate.POST") is None


def test_check_changes_nothing_a_person_sees(emulator, tmp_path):
    site = seed(emulator.backend, "projets", 5)
    cfg = _cfg(emulator, tmp_path, Layout())
    run_sync(cfg, as_of=AS_OF)
    before = item_state(site), {i: owned(site, i) for i in range(1, 6)}, sorted(site.files)
    steps = list(run_checks(cfg))
    assert all(s.ok for s in steps), [s.message for s in steps]
    assert any("$batch" in s.message for s in steps) and any("fichier retiré" in s.message for s in steps)
    assert (item_state(site), {i: owned(site, i) for i in range(1, 6)}, sorted(site.files)) == before


def _faulty(emulator, pattern: str, status: int):
    emulator.admin("POST", "faults", json={"error_paths": [{"pattern": pattern, "status": status}]}, timeout=5)


def test_check_fails_when_batch_writes_would_fail(emulator, tmp_path):
    seed(emulator.backend, "projets", 3)
    cfg = _cfg(emulator, tmp_path, Layout(), publish=False)
    _faulty(emulator, "ValidateUpdateListItem", 409)
    last = list(run_checks(cfg))[-1]
    assert not last.ok and last.exit_code == 4 and "$batch" in last.message
    _faulty(emulator, "ValidateUpdateListItem", 403)
    last = list(run_checks(cfg))[-1]
    assert not last.ok and last.exit_code == 3


def test_check_fails_when_report_upload_would_fail(emulator, tmp_path):
    site = seed(emulator.backend, "projets", 3)
    cfg = _cfg(emulator, tmp_path, Layout())
    _faulty(emulator, "Files/add", 403)
    last = list(run_checks(cfg))[-1]
    assert not last.ok and last.exit_code == 3 and "Rapports COPIL" in last.message
    lib = site.list_by_title("Rapports COPIL")
    assert not [f for f in site.files.values() if f.list_id == lib.id]


def test_check_fails_on_an_unwritable_state_database(emulator, tmp_path):
    seed(emulator.backend, "projets", 3)
    cfg = _cfg(emulator, tmp_path, Layout(), publish=False, state={"url": "sqlite:////nonexistent/dir/state.db"})
    steps = list(run_checks(cfg))
    assert len(steps) == 1 and not steps[0].ok and steps[0].exit_code == 2
    assert "state.url" in steps[0].message and "dossier" in steps[0].message


def test_a_noumea_site_gets_the_same_values_and_its_own_date(emulator, tmp_path):
    paris = seed(emulator.backend, "projets", 10)
    noumea = seed(emulator.backend, "noumea", 10, layout=Layout(timezone_id=41))
    lst = noumea.list_by_title("Projets")
    start = lst.field_by_title("Date de début").internal_name
    assert lst.items[1].values[start] == "2024-08-31T13:00:00Z"  # 1 September, local midnight (UTC+11)
    (tmp_path / "p").mkdir()
    (tmp_path / "n").mkdir()
    run_sync(config(emulator, tmp_path / "p"), as_of=AS_OF)
    cfg = config(emulator, tmp_path / "n", sharepoint={"site_url": emulator.site_url("noumea")})
    run_sync(cfg, as_of=AS_OF)

    def values(site):
        return {i: {k: v for k, v in owned(site, i).items() if k != "Dernière synchro copil"} for i in range(1, 11)}

    assert values(noumea) == values(paris)
    pf, *_ = build_portfolio(cfg)  # no as_of: the date in Nouméa, not the server's or the TOML's
    now = datetime.now(ZoneInfo("Pacific/Noumea")).date()
    assert pf.as_of in (now, datetime.now(ZoneInfo("Pacific/Noumea")).date())
    assert pf.projects.loc["PPI-2024-001", "start"] == date(2024, 9, 1)


def test_site_zone_wins_and_the_toml_zone_is_only_a_fallback(emulator, tmp_path, caplog):
    seed(emulator.backend, "projets", 3, layout=Layout(timezone_id=15))
    cfg = config(emulator, tmp_path, collectivite={"timezone": "Pacific/Tahiti"})
    from connector.sharepoint import SharePointSite

    assert SharePointSite.from_config(cfg).timezone(cfg.collectivite.timezone) == "Pacific/Tahiti"
    assert SharePointSite.from_config(cfg).timezone("Europe/Paris") == "Pacific/Honolulu"  # same zone as Hawaii
    _faulty(emulator, "RegionalSettings", 404)
    with caplog.at_level(logging.WARNING, logger="copil.sp"):
        assert SharePointSite.from_config(cfg).timezone("Pacific/Tahiti") == "Pacific/Tahiti"
    assert "fuseau de la configuration utilisé" in caplog.text


def test_sharepoint_time_zone_ids_are_not_offsets():
    assert timezones.resolve(13) == "America/Los_Angeles"  # 13 is Pacific Time US, not UTC
    assert timezones.resolve(93) == "Etc/UTC"
    assert timezones.resolve(41, preferred="Pacific/Noumea") == "Pacific/Noumea"
    assert timezones.resolve(41, preferred="Europe/Paris") == "Pacific/Guadalcanal"
    assert timezones.resolve(32) == "America/Cayenne" and timezones.resolve(89, "Indian/Reunion") == "Indian/Reunion"
    assert timezones.resolve(56, "Indian/Mayotte") == "Indian/Mayotte" and timezones.resolve(999) is None
    assert all(timezones.valid_iana(t.iana) for t in timezones.BY_ID.values())


def test_emulator_answers_the_site_zone_the_table_and_stores_form_dates_in_it(emulator):
    seed(emulator.backend, "projets", 3, layout=Layout(timezone_id=15))
    h = {"Authorization": f"Bearer {emulator.tokens['read']}", "Accept": "application/json;odata=verbose"}
    base = emulator.site_url("projets") + "/_api/web/RegionalSettings"
    tz = requests.get(base + "/TimeZone", headers=h, timeout=5).json()["d"]
    assert tz["Id"] == 15 and tz["Description"] == "(UTC-10:00) Hawaii" and tz["Information"]["Bias"] == 600
    ids = {z["Id"] for z in requests.get(base + "/TimeZones", headers=h, timeout=5).json()["d"]["results"]}
    assert ids == set(timezones.BY_ID) and {3, 13, 41, 93} <= ids
    both = requests.get(base + "?$expand=TimeZone", headers=h, timeout=5).json()["d"]
    assert both["TimeZone"]["Id"] == 15 and both["LocaleId"] == 1036
    ctx = client(emulator, "write")
    item = ctx.web.lists.get_by_title("Projets").get_item_by_id(1)
    item.validate_update_list_item({"Date_x0020_de_x0020_d_x00e9_but": "30/06/2027"}).execute_query()
    lst = emulator.backend.site("projets").list_by_title("Projets")
    assert lst.items[1].values[lst.field_by_title("Date de début").internal_name] == "2027-06-30T10:00:00Z"
    assert sp_date(date(2027, 6, 30), ZoneInfo("Pacific/Tahiti")) == "2027-06-30T10:00:00Z"


def test_report_library_columns_renamed_in_the_toml(emulator, tmp_path):
    layout = Layout(
        columns={
            ("reports", "project_code"): "N° d'opération",
            ("reports", "copil_date"): "Séance",
            ("reports", "weather"): "Tendance",
            ("reports", "report_kind"): "Nature",
        }
    )
    site = seed(emulator.backend, "projets", 3, layout=layout)
    cfg = _cfg(emulator, tmp_path, layout)
    assert all(s.ok for s in run_checks(cfg))
    run_sync(cfg, as_of=AS_OF)
    lib = site.list_by_title("Rapports COPIL")
    code = lib.field_by_title("N° d'opération").internal_name
    kind = lib.field_by_title("Nature").internal_name
    items = [i for i in lib.items.values() if not i.is_folder and (i.file_url or "").endswith(".docx")]
    assert sorted(i.values.get(code) or "" for i in items) == ["", "PPI-2024-001", "PPI-2024-002", "PPI-2024-003"]
    assert {i.values.get(kind) for i in items} == {"Rapport COPIL", "Synthèse portefeuille"}
    bad = _cfg(emulator, tmp_path, layout, reports={"columns": {"weather": "Météo"}})
    problems = [s.message for s in run_checks(bad) if not s.ok]
    assert any("« Météo » (clé `reports.columns.weather`)" in p for p in problems)


def test_a_misnamed_finance_export_library_stops_check_and_sync_when_declared(emulator, tmp_path):
    site = seed(emulator.backend, "projets", 3)
    cfg = _cfg(emulator, tmp_path, Layout(), publish=False, finance_export={"library": "Export finances"})
    problems = [s for s in run_checks(cfg) if not s.ok]
    assert problems and "finance_export.library" in problems[0].message and problems[0].exit_code == 4
    import pytest

    from connector.errors import SchemaError

    with pytest.raises(SchemaError):
        run_sync(cfg, as_of=AS_OF)
    assert owned(site, 2)["Météo calculée"] is None  # nothing written from list figures alone
    default = config(emulator, tmp_path)  # the default name, absent: a warning
    site.delete_list(site.list_by_title("Exports finances"))
    steps = list(run_checks(default))
    assert all(s.ok for s in steps) and any(s.warning and "export financier" in s.message for s in steps)
