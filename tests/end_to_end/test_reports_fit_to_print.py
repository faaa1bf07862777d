"""Reports fit to print and to trust, checked over every report the demo publishes (through the
emulator, downloaded back): A4, French, tables that fit and flow, alternative text, page numbers,
no `nan`, typographic signs; the figures that were wrong; the trend wording over three COPILs.
The slow tests render them with LibreOffice and read the PDF as a reader would."""

from __future__ import annotations

import io
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document

from connector.pipeline import run_sync
from emulator.server import start
from sample.collectivite import generate
from tests.support.print_checks import problems, texts
from tests.support.sync_helpers import AS_OF, config, seeded

COLLECTIVITE = "Ville de Belcourt-sur-Loire"
first_run_routes: dict = {}


def _reports(site) -> dict[str, bytes]:
    """Published reports, by file name (the emulator keys files by lower-cased path)."""
    return {
        k.rsplit("/", 1)[-1]: f.content for k, f in site.files.items() if k.endswith(".docx") and "rapports copil" in k
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    srv = start()
    try:
        site = seeded(srv)
        cfg = config(srv, tmp_path_factory.mktemp("print"), reports={"enabled": True})
        summary = run_sync(cfg, as_of=AS_OF)
        assert summary.reports_uploaded == 41 and not summary.report_errors
        first_run_routes.update(srv.stats()["by_route"])
        yield srv, site, cfg, _reports(site)
    finally:
        srv.stop()


def _overrun(code: str) -> str:
    """The amount paid beyond the AP of a sample project, as the reports print it ("" if none)."""
    from connector.reports.formatting import fr_amount
    from tests.support.sync_helpers import overrun

    v = overrun(code)
    return fr_amount(v, "EUR") if v > 0 else ""


def _doc(data: bytes):
    return Document(io.BytesIO(data))


def _project(reports: dict[str, bytes], code: str):
    return _doc(next(v for k, v in reports.items() if f"fiche projet {code.lower()}." in k))


def _synthesis(reports: dict[str, bytes]):
    return _doc(reports["synthèse du portefeuille.docx"])  # the living file, not a meeting's dossier


def _kv(doc) -> dict:
    return {r.cells[0].text: r.cells[1].text for t in doc.tables if len(t.columns) == 2 for r in t.rows}


def test_every_demo_report_is_fit_to_print(demo):
    *_, reports = demo
    assert len(reports) == 41
    bad = {name: found for name, data in reports.items() if (found := problems(data, author=COLLECTIVITE))}
    assert not bad, bad


def test_reports_carry_their_metadata_set_in_batches(demo):
    """One upload per report; the metadata of all 41 in one $batch after one read of the library
    for their ids (not one request per file), one version per report."""
    _, site, _, _ = demo
    lib = site.list_by_title("Rapports COPIL")
    name = {f.title: f.internal_name for f in lib.fields.values()}
    # the reports (the portfolio's workbook beside them carries no report metadata)
    files = [i for i in lib.items.values() if not i.is_folder and (i.file_url or "").endswith(".docx")]
    assert len(files) == 41
    assert {i.values.get(name["Type de rapport"]) for i in files} == {"Rapport COPIL", "Synthèse portefeuille"}
    assert sum(1 for i in files if i.values.get(name["Code opération"])) == 40
    assert first_run_routes["op:fileadd.POST"] == 41 + 1  # and the portfolio's workbook
    assert "op:validate.POST" not in first_run_routes  # never one request per file
    # the projects' columns, the files' metadata, then each project's link to its report
    assert first_run_routes["batch:op:validate.POST"] == 40 + 41 + 40
    # the folders too, parents first: « Projets », then the 40 projects' and « Synthèse »
    assert first_run_routes["batch:op:folderadd.POST"] == 1 + 40 + 1 and "op:folderadd.POST" not in first_run_routes
    folders = {k for k in site.folders if k.startswith("/sites/projets/rapports copil/projets/")}
    assert len(folders) == 40 and all(any(f.startswith(k + "/") for f in site.files) for k in folders)


def test_the_checks_catch_what_the_first_tranche_printed(tmp_path):
    """The checks themselves fail on a stock python-docx document with the old defects."""
    from docx.shared import Cm

    doc = Document()
    doc.add_paragraph("Prochain jalon : nan (–) ; reste à mandater : -4 735 100 € ; l'AP ; ⚡ Orage")
    t = doc.add_table(rows=3, cols=3)
    t.rows[0].cells[0].text = "Code"
    for col in t.columns:
        col.width = Cm(8)
    buf = io.BytesIO()
    doc.save(buf)
    found = " | ".join(problems(buf.getvalue(), author="X"))
    for defect in (
        "not A4",
        "default language",
        "'nan' printed",
        "hyphen-minus",
        "straight apostrophe",
        "header row not repeated",
        "may split",
        "wider than the text",
        "no page number",
        "author",
        "font fallback",
    ):
        assert defect in found, defect


def test_wrong_figures_of_the_first_tranche_are_gone(demo):
    *_, reports = demo
    codes = [p["code"] for p in generate(40).lists["projects"]]
    approx = _kv(_project(reports, codes[3]))  # AP typed « env. 3M » (BAD_VALUES), overrun
    assert approx["AP votée"].startswith("≈ 3\u202f000\u202f000\u00a0€ (saisie « env. 3M »")
    assert approx["Reste à mandater sur l’AP"].startswith(f"aucun : AP dépassée de {_overrun(codes[3])}")
    assert "sur l’AP à confirmer" in approx["Reste à mandater sur l’AP"]
    invalid = _project(reports, codes[5])  # forecast end typed 31/02/2025
    text = "\n".join(texts(invalid))
    assert "fin prévisionnelle illisible (« 31/02/2025 »)" in text and "données manquantes" not in text
    assert _kv(invalid)["Fin prévue initiale / prévisionnelle"].endswith("date illisible (« 31/02/2025 »)")
    assert "Météo : Indéterminé" in text
    overdue = _project(reports, "PPI-2024-002")
    ms = [[c.text for c in r.cells] for t in overdue.tables if t.rows[0].cells[0].text == "Jalon" for r in t.rows]
    late = next(r for r in ms if r[-1] == "En retard")
    assert late[5] == f"≥\u00a0+{(AS_OF - date(2026, 9, 15)).days}\u00a0j", late  # due 15/09/2026, not reached
    src = "\n".join(texts(overdue))
    assert "export du logiciel financier « Export_AP_CP_" in src and "Mandaté 2026" in _kv(overdue)


def test_closed_operations_are_not_alerts(demo):
    *_, reports = demo
    syn = _synthesis(reports)
    alerts = next(t for t in syn.tables if t.rows[0].cells[0].text == "Code" and t.rows[0].cells[3].text == "Météo")
    closed = next(t for t in syn.tables if t.rows[0].cells[1].text == "Opération")
    closed_codes = {r.cells[0].text for r in list(closed.rows)[1:]}
    alert_codes = {r.cells[0].text for r in list(alerts.rows)[1:]}
    assert closed_codes and alert_codes and not closed_codes & alert_codes
    for code in closed_codes:  # followed for the AP balance only: no delay, risk or milestone reason
        reasons = "\n".join(texts(_project(reports, code))).split("Motifs de la météo")[1].split("À anticiper")[0]
        assert (
            "opération close" in reasons
            or reasons.strip().startswith("AP dépassée")
            or reasons.strip() == "données manquantes : AP votée"
        ), (code, reasons)  # only the AP is judged
        assert "retard" not in reasons and "risque" not in reasons


def test_portfolio_totals_never_net_an_overrun(demo):
    _, site, cfg, reports = demo
    kv = _kv(_synthesis(reports))
    overruns = [p["code"] for p in generate(40).lists["projects"] if _overrun(p["code"])]
    assert overruns, "the sample keeps an AP overrun (the « env. 3M » AP)"
    assert kv["AP dépassées"].startswith(f"{len(overruns)} projet{'s' if len(overruns) > 1 else ''} : ")
    assert _overrun(generate(40).lists["projects"][3]["code"]) in kv["AP dépassées"] or len(overruns) > 1
    assert kv["Projets sans AP valide"].startswith("1 projet sans AP valide")
    from connector.pipeline import build_portfolio

    pf, *_ = build_portfolio(cfg, as_of=AS_OF)
    running = pf.projects[pf.projects["phase"] != "Clos"]  # a closed operation's balance is to cancel
    left = running["remaining_to_pay"]
    assert (
        kv["Reste à mandater sur les AP (opérations en cours)"].replace("\u202f", "").replace("\u00a0€", "")
        == f"{left[left > 0].sum():.0f}"
    )


def test_trend_wording_over_three_copils(tmp_path):
    """A COPIL PPI held on 24 November (copil's first night): the first reports say they are the
    first; the next night and four weeks later, the living files compare with that meeting."""
    srv = start()
    try:
        site = seeded(srv)
        meetings = site.list_by_title("Comités de pilotage")
        col = {f.title: f.internal_name for f in meetings.fields.values()}
        meetings.add_item(
            {"Title": "COPIL PPI", col["Date de la réunion"]: "2026-11-23T23:00:00Z", col["Instance"]: "COPIL PPI",
             col["Périmètre"]: "Portefeuille", col["Statut"]: "Tenu"}
        )  # fmt: skip
        cfg = config(srv, tmp_path, reports={"enabled": True})
        run_sync(cfg, as_of=AS_OF)
        first = _reports(site)
        for doc in (_synthesis(first), _project(first, "PPI-2024-001")):
            text = "\n".join(texts(doc))
            assert "Premier COPIL établi par copil" in text and "Pas de changement" not in text
            assert "Pas d’évolution notable" not in text

        run_sync(cfg, as_of=AS_OF + timedelta(days=1), force_reports=True)
        second = _reports(site)  # the living files, refreshed over themselves
        assert "depuis le COPIL du 24 novembre 2026" in "\n".join(texts(_project(second, "PPI-2024-001")))

        # four weeks later, one project slipped by 100 days
        later = AS_OF + timedelta(days=28)
        lst = site.list_by_title("Projets")
        name = {f.title: f.internal_name for f in lst.fields.values()}
        item = next(i for i in lst.items.values() if i.values.get(name["Code opération"]) == "PPI-2024-001")
        end = date(*reversed([int(x) for x in item.values[name["Fin prévisionnelle"]].split("/")]))
        lst.update_item(
            item, {name["Fin prévisionnelle"]: (end + timedelta(days=100)).strftime("%d/%m/%Y")}, item.editor_id
        )
        run_sync(cfg, as_of=later)
        third = _reports(site)
        moved = "\n".join(texts(_project(third, "PPI-2024-001")))
        assert "Évolutions depuis le COPIL du 24 novembre 2026" in moved
        assert "glissement : " in moved and "Premier COPIL" not in moved
        still = "\n".join(texts(_project(third, "PPI-2024-003")))
        assert (
            "Pas d’évolution notable depuis le COPIL du 24 novembre 2026." in still
            or "Évolutions depuis le COPIL du 24 novembre 2026" in still
        )
        syn = "\n".join(texts(_synthesis(third)))
        assert "précédent COPIL : 24 novembre 2026" in syn and "Premier COPIL" not in syn
        assert "PPI-2024-001" in syn
    finally:
        srv.stop()


# -- rendered as a reader sees them ------------------------------------------------------------

needs_libreoffice = pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext")),
    reason="LibreOffice or poppler-utils absent (make render installs them)",
)
AMOUNT_OR_CODE = re.compile(r"^(\d{1,3}(?:[\u202f\u00a0 ]\d{3})*\u00a0(?:€|XPF)|[A-Z]{2,5}-\d{4}-\d{3})$")


def _cells(doc) -> set[str]:
    return {c.text.strip() for t in doc.tables for r in t.rows for c in r.cells if AMOUNT_OR_CODE.match(c.text.strip())}


def pdf_problems(pdf: Path, docx: bytes) -> list[str]:
    from jobs.render import page_texts

    pages = page_texts(pdf)
    found = [f"page {i + 1} is empty" for i, p in enumerate(pages) if not p.strip()]
    flat = [re.sub(r"[\u202f\u00a0]", " ", line) for p in pages for line in p.splitlines()]
    for value in _cells(_doc(docx)):
        v = re.sub(r"[\u202f\u00a0]", " ", value)
        if not any(v in line for line in flat):
            found.append(f"{value!r} broken across lines")
    return found


@pytest.mark.slow
@pytest.mark.pdf
@needs_libreoffice
def test_demo_reports_render_without_empty_pages_or_broken_figures(demo, tmp_path):
    from jobs.render import to_pdf

    *_, reports = demo
    paths = []
    for i, (name, data) in enumerate(sorted(reports.items())):
        p = tmp_path / f"{i:02d}.docx"
        p.write_bytes(data)
        paths.append(p)
    pdfs = to_pdf(paths, tmp_path / "pdf")
    bad = {}
    for (name, data), pdf in zip(sorted(reports.items()), pdfs):
        if found := pdf_problems(pdf, data):
            bad[name] = found
    assert not bad, bad


@pytest.mark.slow
def test_a_thousand_project_sample_is_fit_to_print(tmp_path):
    srv = start()
    try:
        seeded(srv, 1000)
        cfg = config(srv, tmp_path, reports={"enabled": True})
        out = tmp_path / "out"
        summary = run_sync(cfg, as_of=AS_OF, out_dir=out)
        assert not summary.report_errors
        files = sorted(out.rglob("*.docx"))
        assert len(files) == 1001
        bad = {f.name: found for f in files if (found := problems(f.read_bytes(), author=COLLECTIVITE))}
        assert not bad, dict(list(bad.items())[:5])
        if shutil.which("soffice") and shutil.which("pdftotext"):  # a sample of them, read from the PDF
            from jobs.render import to_pdf

            some = files[::50] + [f for f in files if f.name.startswith("Synthèse")]
            pdfs = to_pdf(some, tmp_path / "pdf")
            bad = {f.name: found for f, pdf in zip(some, pdfs) if (found := pdf_problems(pdf, f.read_bytes()))}
            assert not bad, bad
    finally:
        srv.stop()
