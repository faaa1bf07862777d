"""A COPIL is a meeting. Through the emulator, nights around the sample's calendar: the project
COPIL of the avenue de la Gare on 8 December gets its draft from 28 November (« Projet de
dossier – version du … »), the same file refreshed only when what it shows changes; on the day it
is frozen (rendered once more, PDF beside it when LibreOffice is there, the meeting item linked),
then never rewritten; the next meeting of that committee compares with the frozen figures. A
site with no meeting in its list gets the [copil] cadence's. No SharePoint mock."""

from __future__ import annotations

import io
import shutil
from datetime import date, timedelta

import pytest
from docx import Document

from connector.model.records import Meeting
from connector.pipeline import run_sync
from connector.reports.editions import DRAFT, FROZEN, due, planned, previous_meeting
from emulator.server import start
from tests.support.sync_helpers import config, seeded

GARE = "comités/2026-12-08 copil avenue de la gare/"


def _header_and_text(content: bytes) -> tuple[str, str]:
    doc = Document(io.BytesIO(content))
    header = "\n".join(p.text for s in doc.sections for p in s.header.paragraphs)
    return header, "\n".join(p.text for p in doc.paragraphs)


def _dossier(site) -> dict:
    return {k: f for k, f in site.files.items() if GARE in k}


@pytest.fixture(scope="module")
def calendar(tmp_path_factory):
    srv = start()
    try:
        site = seeded(srv, 6)
        cfg = config(srv, tmp_path_factory.mktemp("copil"), reports={"enabled": True})
        yield srv, site, cfg
    finally:
        srv.stop()


def test_draft_then_frozen_then_never_rewritten(calendar):
    srv, site, cfg = calendar
    # 27 November: eleven days before, no dossier yet
    night = run_sync(cfg, as_of=date(2026, 11, 27))
    assert not night.dossiers_draft and not _dossier(site)
    # 28 November: the draft, in the meeting's folder
    night = run_sync(cfg, as_of=date(2026, 11, 28))
    assert night.dossiers_draft == ["COPIL avenue de la Gare du 08/12/2026"]
    (name,) = [k for k in _dossier(site) if k.endswith(".docx")]
    draft = site.files[name]
    header, text = _header_and_text(draft.content)
    assert "Projet de dossier – version du 28 novembre 2026" in header
    assert "COPIL avenue de la Gare du 8 décembre 2026 – projet de dossier, version du 28 novembre 2026" in text
    # nothing changed the next night: the draft is not uploaded again
    run_sync(cfg, as_of=date(2026, 11, 29))
    assert site.files[name].major == 1
    # a manager edits the project: the same file is refreshed (a new version, not a new file)
    lst = site.list_by_title("Projets")
    col = {f.title: f.internal_name for f in lst.fields.values()}
    item = next(i for i in lst.items.values() if i.values.get(col["Code opération"]) == "PPI-2024-002")
    lst.update_item(item, {col["Commentaire"]: "Plan de financement revu avec la Région."}, editor=1)
    run_sync(cfg, as_of=date(2026, 11, 30))
    assert site.files[name].major == 2 and len([k for k in _dossier(site) if k.endswith(".docx")]) == 1
    assert "version du 30 novembre 2026" in _header_and_text(site.files[name].content)[0]
    assert "Plan de financement revu avec la Région." in _header_and_text(site.files[name].content)[1]
    # 8 December: frozen — rendered once more over the draft, the meeting item linked
    night = run_sync(cfg, as_of=date(2026, 12, 8))
    assert night.dossiers_frozen == ["COPIL avenue de la Gare du 08/12/2026"] and not night.report_errors
    frozen = site.files[name]
    header, text = _header_and_text(frozen.content)
    assert "Projet de dossier" not in header and "COPIL avenue de la Gare du 8 décembre 2026" in header
    versions = frozen.major
    meetings = site.list_by_title("Comités de pilotage")
    mcol = {f.title: f.internal_name for f in meetings.fields.values()}
    gare = next(i for i in meetings.items.values() if i.values.get("Title") == "COPIL avenue de la Gare")
    assert gare.values[mcol["État du dossier"]] == "Dossier figé le 08/12/2026"
    assert gare.values[mcol["Dossier"]]["Url"].endswith(".docx")
    if shutil.which("soffice"):
        pdfs = [k for k in _dossier(site) if k.endswith(".pdf")]
        assert len(pdfs) == 1 and site.files[pdfs[0]].content.startswith(b"%PDF")
    # afterwards, whatever is edited, the frozen dossier never changes
    lst.update_item(item, {col["Commentaire"]: "Après le COPIL."}, editor=1)
    for day in (9, 10, 15, 20):
        night = run_sync(cfg, as_of=date(2026, 12, day))
        assert not night.dossiers_frozen and not night.dossiers_draft
    assert site.files[name].major == versions and site.files[name].content == frozen.content


def test_the_next_meeting_compares_with_the_frozen_figures(calendar):
    """The next meeting of the avenue de la Gare's committee compares with the figures its
    dossier was frozen with on 8 December (not with a night before, nor with tonight's)."""
    from connector.dossiers import previous_for
    from connector.pipeline import build_portfolio
    from connector.state import State

    srv, site, cfg = calendar
    state = State(cfg.state.url)
    pf, *_ = build_portfolio(cfg, as_of=date(2027, 2, 1))
    gare = next(m for m in pf.meetings if m.title == "COPIL avenue de la Gare")
    frozen = state.editions()[gare.key]
    assert frozen["kind"] == FROZEN and frozen["meeting_on"] == "2026-12-08"
    previous = previous_for(state, None, pf.meetings, before=date(2027, 2, 1), committee=gare.committee, fallback=dict)
    assert previous.as_of == date(2026, 12, 8)
    assert previous == state.snapshots_of_run(frozen["run_id"])
    assert previous["PPI-2024-002"]["_as_of"] == "2026-12-08"


def test_planned_meetings_follow_the_cadence():
    tuesdays = [m.on for m in planned("quarterly", 1, "COPIL PPI", date(2026, 12, 6))]
    assert tuesdays == [date(2026, 4, 7), date(2026, 7, 7), date(2026, 10, 6), date(2027, 1, 5), date(2027, 4, 6)]
    assert all(d.weekday() == 1 and d.day <= 7 for d in tuesdays)
    months = [m.on for m in planned("monthly", 0, "COPIL", date(2027, 2, 15))]
    assert months == [date(2026, 12, 7), date(2027, 1, 4), date(2027, 2, 1), date(2027, 3, 1), date(2027, 4, 5)]
    assert planned("none", 1, "COPIL", date(2027, 1, 1)) == []


@pytest.mark.parametrize(
    ("as_of", "status", "kind"),
    [
        (date(2027, 1, 1), "Prévu", None),  # 11 days before
        (date(2027, 1, 2), "Prévu", DRAFT),  # 10 days before: the draft
        (date(2027, 1, 11), "Prévu", DRAFT),  # the day before
        (date(2027, 1, 11), "Validé", FROZEN),  # validated by a person: frozen at once
        (date(2027, 1, 12), "Prévu", FROZEN),  # the day
        (date(2027, 1, 19), "Prévu", FROZEN),  # a week after (a night missed)
        (date(2027, 1, 20), "Prévu", None),  # too late: no dossier made up afterwards
    ],
)
def test_which_edition_a_night_makes(as_of, status, kind):
    m = Meeting(key="item:3", title="COPIL PPI", on=date(2027, 1, 12), instance="COPIL PPI", status=status)
    got = due([m], as_of=as_of, draft_days=10, frozen=set())
    assert [e.kind for e in got] == ([kind] if kind else [])
    assert due([m], as_of=as_of, draft_days=10, frozen={"item:3"}) == []  # frozen once


def test_previous_meeting_is_the_committee_s():
    ppi = Meeting(key="a", title="COPIL PPI", on=date(2026, 10, 6), instance="COPIL PPI")
    gare = Meeting(
        key="b", title="COPIL Gare", on=date(2026, 12, 8), instance="COPIL de projet", scope="Projets", projects=("X",)
    )
    assert previous_meeting([ppi, gare], before=date(2027, 1, 12)) == ppi  # the portfolio's
    assert previous_meeting([ppi, gare], before=date(2027, 2, 1), committee=gare.committee) == gare
    assert previous_meeting([ppi, gare], before=date(2026, 10, 6)) is None  # strictly before


def test_a_site_with_no_meeting_gets_the_cadence_s(tmp_path):
    srv = start()
    try:
        site = seeded(srv, 3)
        meetings = site.list_by_title("Comités de pilotage")
        meetings.items.clear()
        cfg = config(srv, tmp_path, reports={"enabled": True})
        first_tuesday = date(2027, 1, 5)
        night = run_sync(cfg, as_of=first_tuesday - timedelta(days=3))
        assert night.dossiers_draft == ["COPIL PPI du 05/01/2027"]
        names = [k for k in site.files if "comités/2027-01-05 copil ppi/" in k]
        assert names and all("synthèse du portefeuille" in k for k in names)
    finally:
        srv.stop()


def test_a_territory_committee_gets_the_synthesis_of_its_territory(tmp_path):
    srv = start()
    try:
        site = seeded(srv, 12)
        cfg = config(srv, tmp_path, reports={"enabled": True})
        run_sync(cfg, as_of=date(2027, 1, 10))  # nine days before the Centre-ville committee
        (name,) = [k for k in site.files if "comités/2027-01-19 comité de territoire centre-ville/" in k]
        _, text = _header_and_text(site.files[name].content)
        from sample.collectivite import generate

        projects = generate(12).lists["projects"]
        inside = [p["code"] for p in projects if p.get("territory") == "Centre-ville"]
        outside = [p["code"] for p in projects if p.get("territory") != "Centre-ville"]
        assert inside and f"{len(inside)} projets suivis" in text
        doc = Document(io.BytesIO(site.files[name].content))
        cells = " ".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
        assert not [c for c in outside if c in cells], "a project of another territory in the committee's dossier"
    finally:
        srv.stop()


def test_upgrade_adds_the_committees_list_to_an_older_site_and_a_run_goes_on_without_it(tmp_path):
    """A site provisioned before committees existed: a run says the lists are missing and uses the
    cadence; `init-site --upgrade` creates « Comités de pilotage » and « Décisions » (its lookup to
    the meetings) with their columns, touching no report."""
    from connector.provision import init_site
    from connector.sharepoint import SharePointSite

    srv = start()
    try:
        site = seeded(srv, 3)
        site.delete_list(site.list_by_title("Décisions"))
        site.delete_list(site.list_by_title("Comités de pilotage"))
        cfg = config(srv, tmp_path, reports={"enabled": True})
        night = run_sync(cfg, as_of=date(2027, 1, 2))  # three days before the cadence's first Tuesday
        assert night.exit_code == 0 and night.dossiers_draft == ["COPIL PPI du 05/01/2027"]
        files = {k: f.content for k, f in site.files.items()}
        manage = config(srv, tmp_path, role="manage")
        init_site(SharePointSite.from_config(manage), manage, upgrade=True)
        lst = site.list_by_title("Comités de pilotage")
        titles = {f.title for f in lst.fields.values()}
        assert {"Date de la réunion", "Instance", "Périmètre", "Statut", "Dossier", "État du dossier"} <= titles
        decisions = site.list_by_title("Décisions")
        fields = {f.title: f for f in decisions.fields.values()}
        assert {"Projet", "Échéance", "Statut", "Comité", "Date de la décision", "Relevé de décision"} <= set(fields)
        assert fields["Comité"].lookup_list_id == lst.id
        assert set(fields["Statut"].choices) == {"Attendue", "Prise", "Reportée", "Abandonnée"}
        assert {k: f.content for k, f in site.files.items()} == files
    finally:
        srv.stop()
