"""Fifteen nights of the 40-project sample with nobody editing anything (the issue counted 20 new
dated files a night, 268 files after 12 nights): the library holds one living file per project
and one synthesis, uploaded over themselves; a night renders a file only when what it is made of
changed, or once a week for what the calendar alone moves (day counts growing); an edit is in the
next night's file, and the library keeps each refresh as a version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.pipeline import run_sync
from emulator.server import start
from tests.support.sync_helpers import AS_OF, config, seeded

NIGHTS = 15  # two weekly refreshes; `python bench/quiet_nights.py` measures 30


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    srv = start()
    try:
        site = seeded(srv)
        cfg = config(srv, tmp_path_factory.mktemp("living"), reports={"enabled": True})
        runs = [run_sync(cfg, as_of=AS_OF + timedelta(days=n)) for n in range(NIGHTS)]
        yield srv, site, cfg, runs
    finally:
        srv.stop()


def _docx(site) -> dict:
    lib = site.list_by_title("Rapports COPIL")
    # the living files (the sample's project COPIL of 8 December has its dossier apart, in « Comités »)
    return {k: f for k, f in site.files.items() if f.list_id == lib.id and k.endswith(".docx") and "/comités/" not in k}


def test_thirty_quiet_nights_leave_one_file_per_project_and_one_synthesis(nights):
    srv, site, cfg, runs = nights
    files = _docx(site)
    assert len(files) == 41, sorted(files)[:5]
    assert all(r.exit_code == 0 and not r.report_errors for r in runs)
    uploads = [r.reports_uploaded for r in runs]
    assert uploads[0] == 41  # the first night publishes everything
    # afterwards only the calendar moves things (overdue milestones' « ≥ +N j », an export's age):
    # a living file waits a week before such a refresh, so no file is uploaded two nights running
    for n in range(1, NIGHTS):
        assert uploads[n] <= 41
    total = sum(uploads[1:])
    assert total <= 41 * ((NIGHTS - 1) // 7 + 1), uploads
    for r in runs[1:]:
        assert set(r.report_reasons) <= {"actualisation du calendrier", "données modifiées"}, r.report_reasons
    # every refresh is a version of the same file, never a second file
    assert sum(len(f.versions) + 1 for f in files.values()) == sum(uploads)
    assert all(r.written == 0 for r in runs[1:] if not r.report_reasons.get("données modifiées"))


def test_an_edit_is_in_the_next_night_s_file(nights):
    import io

    from docx import Document

    srv, site, cfg, _ = nights
    lst = site.list_by_title("Projets")
    name = {f.title: f.internal_name for f in lst.fields.values()}
    item = next(i for i in lst.items.values() if i.values.get(name["Code opération"]) == "PPI-2024-001")
    lst.update_item(item, {name["Commentaire"]: "Chantier arrêté par les intempéries"}, editor=1)
    night = run_sync(cfg, as_of=AS_OF + timedelta(days=NIGHTS))
    # the project's file; the synthesis too when its own figures moved since its last refresh
    # (a comment is not in it: it is refreshed only if the calendar changed what it shows); and
    # that night (9 December) the avenue de la Gare's two decisions, due on the 8th, turn overdue:
    # its file says so (an event for its reader, as a milestone turning late)
    assert night.report_reasons.get("données modifiées") in (2, 3), (night.report_reasons, night.report_files)
    assert "/Projets/PPI-2024-001/Fiche projet PPI-2024-001.docx" in " ".join(night.report_files)
    assert "/Projets/PPI-2024-002/Fiche projet PPI-2024-002.docx" in " ".join(night.report_files)
    assert all("Projets/" not in f or "PPI-2024-00" in f for f in night.report_files), night.report_files
    gare = next(f for k, f in _docx(site).items() if k.endswith("fiche projet ppi-2024-002.docx"))
    assert any(
        p.text.startswith("Échéance dépassée, toujours attendues : ") and "(08/12/2026)" in p.text
        for p in Document(io.BytesIO(gare.content)).paragraphs
    )
    f = next(f for k, f in _docx(site).items() if k.endswith("fiche projet ppi-2024-001.docx"))
    text = "\n".join(p.text for p in Document(io.BytesIO(f.content)).paragraphs)
    assert "Chantier arrêté par les intempéries" in text
    assert len(_docx(site)) == 41
