"""Word reports: rendered from the sample collectivité, read back with python-docx; publishing
with content hashes; template validation; hostile titles."""

from __future__ import annotations

import io
import re
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from connector.errors import ConfigError
from connector.pipeline import build_portfolio, run_sync
from connector.reports.config import ReportsConfig
from connector.reports.publish import publish_reports, safe_file_name
from connector.reports.render import render_portfolio, render_project, validate_template
from emulator.server import start
from sample.collectivite import generate
from tests.support.sync_helpers import AS_OF, config, seeded, writes

TEMPLATES = Path(__file__).resolve().parents[2] / "docx_templates"
HOSTILE = "Voirie & réseaux <lot 2> {{ x }}"


class Hashes(dict):
    def set(self, k, v):
        self[k] = v


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory):
    srv = start()
    try:
        site = seeded(srv)
        lst = site.list_by_title("Projets")
        lst.items[4].values["Title"] = HOSTILE
        pf, *_ = build_portfolio(config(srv, tmp_path_factory.mktemp("r")), as_of=AS_OF)
        yield pf
    finally:
        srv.stop()


def _doc(data: bytes) -> Document:
    return Document(io.BytesIO(data))


def _text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        parts += [c.text for r in t.rows for c in r.cells]
    return "\n".join(parts)


def _table(doc, first_header: str):
    for t in doc.tables:
        if t.rows[0].cells[0].text == first_header:
            return [[c.text for c in r.cells] for r in t.rows]
    raise AssertionError(f"no table starting with {first_header!r}")


def _kv(doc) -> dict:
    out = {}
    for t in doc.tables:
        if len(t.columns) == 2:
            out.update({r.cells[0].text: r.cells[1].text for r in t.rows})
    return out


def test_project_report_has_the_figures_in_the_right_tables(portfolio):
    data = render_project(
        portfolio,
        "PPI-2024-002",
        template_path=TEMPLATES / "rapport_copil.docx",
        collectivite="Ville de Belcourt-sur-Loire",
        copil_date=AS_OF,
        previous={"weather": "Nuageux", "slippage_days": 60},
        previous_date=date(2026, 10, 27),
    )
    doc = _doc(data)
    text = _text(doc)
    assert "Requalification de l’avenue de la Gare" in text and "Fiche projet – situation au 24 novembre 2026" in text
    kv = _kv(doc)
    banner = kv["Météo : Orage"]
    assert banner.startswith("Tendance : en dégradation") and "27 octobre 2026 : météo Nuageux" in banner
    assert "chef de projet : Soleil" in banner
    assert kv["AP votée"] == "2\u202f500\u202f000\u00a0€"
    assert kv["Mandaté 2026"] == "1\u202f425\u202f000\u00a0€ (export financier)"
    assert kv["Exécution des CP 2026"] == "95\u202f%"
    assert kv["Fin prévisionnelle"] == "28/02/2027 (initiale : 31/10/2026 ; glissement : +120\u00a0j)"
    budget = _table(doc, "Exercice")
    y, m, d = portfolio.finance_source["file"][-15:-5].split("-")  # Export_AP_CP_2026-11-23.xlsx
    src = f"export financier du {d}/{m}/{y}"  # the export's date, not the day it was uploaded
    assert budget[1:] == [
        ["2025", "1\u202f000\u202f000\u00a0€", "900\u202f000\u00a0€", "800\u202f000\u00a0€", "80\u202f%", src],
        [
            "2026",
            "1\u202f500\u202f000\u00a0€",
            "1\u202f500\u202f000\u00a0€",
            "1\u202f425\u202f000\u00a0€",
            "95\u202f%",
            src,
        ],
        [
            "Total",
            "2\u202f500\u202f000\u00a0€",
            "2\u202f400\u202f000\u00a0€",
            "2\u202f225\u202f000\u00a0€",
            "89\u202f%",
            "",
        ],
        ["AP votée", "2\u202f500\u202f000\u00a0€", "", "", "", ""],
    ]
    ms = _table(doc, "Jalon")
    assert ["Réception des travaux", "Réception", "31/10/2026", "28/02/2027", "–", "+120\u00a0j", "À venir"] in ms
    assert any(r[0] == "Mise en service de l’éclairage" and r[-1] == "En retard" and r[5].startswith("≥") for r in ms)
    contracts = _table(doc, "Marché")
    assert contracts[1][0] == "2025-M-014" and contracts[1][5] == "17\u202f%" and contracts[1][7] == "au-delà du seuil"
    subs = _table(doc, "Financeur")
    assert subs[1][0] == "État - DETR" and "démarrage avant le 12/03/2026" in subs[1][6]
    risks = _table(doc, "Risque")
    assert risks[1][0] == "Recours contre l’arrêté de circulation" and risks[1][1] == "12 (3 × 4)"
    assert "livraison repoussée de 4 mois (31/10/2026 → 28/02/2027)" in text and "météo : Nuageux → Orage" in text
    assert "Évolutions depuis le COPIL du 27 octobre 2026" in text
    docs = _table(doc, "Document")
    assert any(r[0].startswith("Compte rendu COPIL PPI-2024-002") for r in docs)
    assert len(doc.inline_shapes) == 2  # timeline and budget charts


def _gare(portfolio) -> bytes:
    """The avenue de la Gare's report (late milestones, a budget over two years)."""
    return render_project(
        portfolio,
        "PPI-2024-002",
        template_path=TEMPLATES / "rapport_copil.docx",
        collectivite="X",
        copil_date=AS_OF,
        previous=None,
    )


def _serial(v):
    import datetime as dt

    return float((v - dt.datetime(1899, 12, 30)).days) if isinstance(v, dt.datetime) else v


def test_project_report_charts_are_native_word_charts_with_their_workbooks(portfolio):
    """Each chart is a chart part Word can edit: cached values (what Word and LibreOffice draw),
    explicit colours, its workbook embedded (« Modifier les données ») holding the same figures,
    its text alternative on the drawing; no picture."""
    import openpyxl
    from lxml import etree

    z = zipfile.ZipFile(io.BytesIO(_gare(portfolio)))
    names = z.namelist()
    assert not [n for n in names if n.startswith("word/media/")]  # no picture of a chart
    charts = sorted(n for n in names if re.fullmatch(r"word/charts/chart\d+\.xml", n))
    assert len(charts) == 2
    types = z.read("[Content_Types].xml").decode()
    ns = {
        "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
        "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
        "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    by_title = {}
    for name in charts:
        assert (
            f'PartName="/{name}" ContentType="application/vnd.openxmlformats-officedocument.drawingml.chart+xml"'
            in types
        )
        space = etree.fromstring(z.read(name))
        title = "".join(space.xpath("c:chart/c:title//a:t/text()", namespaces=ns))
        rid = space.xpath("c:externalData/@r:id", namespaces=ns)[0]
        rels = etree.fromstring(z.read(name.replace("charts/", "charts/_rels/") + ".rels"))
        target = rels.xpath(f"rel:Relationship[@Id='{rid}']/@Target", namespaces=ns)[0]
        workbook = openpyxl.load_workbook(io.BytesIO(z.read("word/" + target.replace("../", ""))))
        sheet = workbook.worksheets[0]
        for ser in space.xpath("//c:ser", namespaces=ns):
            cached = {
                int(pt.get("idx")): float(pt.findtext("c:v", namespaces=ns))
                for pt in ser.xpath("c:val//c:pt", namespaces=ns)
            }
            ref = ser.xpath("c:val/c:numRef/c:f/text()", namespaces=ns)[0].split("!")[1].replace("$", "")
            # a date cell (the calendar's offsets) is a date in the workbook, a day number in the
            # cache; an empty cell (no amount: no bar) is no point in the cache
            cells = [_serial(c.value) for row in sheet[ref] for c in row]
            in_book = {i: v for i, v in enumerate(cells) if v is not None}
            assert in_book == pytest.approx(cached), (title, ref)
            if ser.xpath("c:spPr/a:noFill", namespaces=ns):
                continue  # the invisible offset of a floating bar
            colours = ser.xpath(".//a:srgbClr/@val", namespaces=ns)
            assert colours, (title, "a series without an explicit colour")
        by_title[title] = space
    budget = by_title["Crédits de paiement par exercice (en M€)"]
    assert budget.xpath("//c:ser[1]/c:val//c:pt/c:v/text()", namespaces=ns) == ["1.0", "1.5"]  # CP 2025, 2026 in M€
    assert budget.xpath("c:lang/@val", namespaces=ns) == ["fr-FR"]
    timeline = by_title[f"Calendrier des jalons (au {AS_OF:%d/%m/%Y})"]
    assert timeline.xpath("//c:cat//c:pt/c:v/text()", namespaces=ns)[:3] == [
        "Ordre de service travaux",
        "Mise en service de l’éclairage",
        "Réception des travaux",
    ]
    document = etree.fromstring(z.read("word/document.xml"))
    described = document.xpath("//wp:inline[.//c:chart]/wp:docPr/@descr", namespaces=ns)
    assert len(described) == 2
    assert any(
        d.startswith("Calendrier des jalons : Ordre de service travaux : atteint, atteint le 20/01/2025")
        for d in described
    )
    assert any(
        d.startswith("Graphique des crédits de paiement par exercice : 2025 : CP prévus 1\u202f000\u202f000\u00a0€")
        for d in described
    )


def test_project_report_lists_its_data_quality_findings(portfolio):
    code = generate(40).lists["projects"][4]["code"]  # AP typed « à définir » (sample.collectivite.BAD_VALUES)
    doc = _doc(
        render_project(
            portfolio,
            code,
            template_path=TEMPLATES / "rapport_copil.docx",
            collectivite="X",
            copil_date=AS_OF,
            previous=None,
        )
    )
    rows = _table(doc, "Liste")
    assert ["Projets", "AP votée", "à définir", "montant non renseigné : « à définir »"] in rows
    assert _kv(doc)["Météo : Indéterminé"].startswith("Tendance : premier COPIL")
    assert "Premier COPIL établi par copil : pas encore de point de comparaison." in _text(doc)


def test_portfolio_synthesis(portfolio):
    doc = _doc(
        render_portfolio(
            portfolio,
            template_path=TEMPLATES / "synthese_portefeuille.docx",
            collectivite="Ville de Belcourt-sur-Loire",
            copil_date=AS_OF,
            previous={"PPI-2024-002": {"weather": "Soleil", "slippage_days": 0}},
            previous_date=date(2026, 10, 27),
        )
    )
    kv = _kv(doc)
    pr = portfolio.projects
    closed = int((pr["phase"] == "Clos").sum())
    counts = pr[pr["phase"] != "Clos"]["weather"].value_counts()  # the météo of running operations only
    assert kv["Projets suivis"] == (
        f"40 : {40 - closed} en cours, météo ci-dessous ; {closed} opérations closes, suivies pour leur solde"
    )
    assert kv["Orage"] == str(counts["Orage"]) and kv["Soleil"] == str(counts["Soleil"])
    assert (
        int(kv["Orage"]) + int(kv["Nuageux"]) + int(kv["Soleil"]) + int(kv["Indéterminé (données manquantes)"])
        == 40 - closed
    )
    total_ap = portfolio.projects["ap_voted"].sum()
    assert kv["AP votées"] == f"{total_ap:,.0f}".replace(",", "\u202f") + "\u00a0€"
    alerts = _table(doc, "Code")
    assert any(r[0] == "PPI-2024-002" and "livraison repoussée de 4 mois" in r[4] for r in alerts)
    movers = [t for t in doc.tables if len(t.columns) > 2 and t.rows[0].cells[2].text == "Tendance"][0]
    assert movers.rows[1].cells[0].text == "PPI-2024-002" and movers.rows[1].cells[2].text == "en dégradation"
    by_direction = [t for t in doc.tables if len(t.columns) > 2 and t.rows[0].cells[1].text == "En cours"][0]
    directions = [[c.text for c in r.cells] for r in by_direction.rows]
    assert directions[0][0] == "" and sum(int(r[1]) for r in directions[1:]) == 40 - closed
    assert directions[0][6] == "Closes" and sum(int(r[6]) for r in directions[1:]) == closed
    assert len(doc.inline_shapes) == 2


def test_hostile_title_renders_literally(portfolio):
    code = portfolio.projects.index[portfolio.projects["title"] == HOSTILE][0]
    doc = _doc(
        render_project(
            portfolio,
            code,
            template_path=TEMPLATES / "rapport_copil.docx",
            collectivite="A & B <c>",
            copil_date=AS_OF,
            previous=None,
        )
    )
    text = _text(doc)
    assert HOSTILE in text and "A & B <c>" in text


def test_template_with_unknown_variable_is_rejected_with_its_name(tmp_path):
    bad = tmp_path / "rapport_copil.docx"
    doc = Document(TEMPLATES / "rapport_copil.docx")
    doc.add_paragraph("{{ budget_secret.total }}")
    doc.save(bad)
    with pytest.raises(ConfigError) as e:
        validate_template(bad, "project")
    assert "budget_secret" in str(e.value)
    validate_template(TEMPLATES / "rapport_copil.docx", "project")
    validate_template(TEMPLATES / "synthese_portefeuille.docx", "portfolio")


def test_safe_file_names():
    assert safe_file_name('COPIL A:B "x" <y>?.docx') == "COPIL A-B -x- -y.docx"
    assert safe_file_name("CON.docx") == "_CON.docx"
    assert safe_file_name("~$tmp.docx") == "$tmp.docx"
    assert safe_file_name(" x. .docx") == "x.docx"
    assert len(safe_file_name("a" * 500 + ".docx")) == 120


def test_local_reports_and_hash_skip(portfolio, tmp_path):
    cfg = ReportsConfig()
    hashes = Hashes()
    first = publish_reports(
        None,
        portfolio,
        reports_cfg=cfg,
        collectivite="X",
        copil_date=AS_OF,
        previous={},
        hashes=hashes,
        out_dir=tmp_path,
    )
    assert first.uploaded == 41 and not first.errors
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.docx"))
    # living files: one per project under a fixed name, one for the portfolio (no night's date)
    assert "Projets/PPI-2024-001/Fiche projet PPI-2024-001.docx" in files
    assert "Synthèse/Synthèse du portefeuille.docx" in files and len(files) == 41
    again = publish_reports(
        None,
        portfolio,
        reports_cfg=cfg,
        collectivite="X",
        copil_date=AS_OF,
        previous={},
        hashes=hashes,
        out_dir=tmp_path / "again",
    )
    assert again.uploaded == 0 and again.skipped == 41
    forced = publish_reports(
        None,
        portfolio,
        reports_cfg=cfg,
        collectivite="X",
        copil_date=AS_OF,
        previous={},
        hashes=hashes,
        out_dir=tmp_path / "f",
        force=True,
        only=["PPI-2024-001"],
    )
    assert forced.uploaded == 1


def test_published_to_sharepoint_once_then_only_what_changed(emulator, tmp_path):
    site = seeded(emulator, 6)
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    first = run_sync(cfg, as_of=AS_OF)
    assert first.reports_uploaded == 7 and not first.report_errors
    lib = site.list_by_title("Rapports COPIL")
    url = "/sites/projets/Rapports COPIL/Projets/PPI-2024-002/Fiche projet PPI-2024-002.docx"
    f = site.file(url)
    code_f = lib.field_by_title("Code opération").internal_name
    meteo_f = lib.field_by_title("Météo").internal_name
    item = lib.items[f.item_id]
    assert item.values[code_f] == "PPI-2024-002" and item.values[meteo_f] == "Orage"
    assert "Orage" in _text(_doc(f.content))
    second = run_sync(cfg, as_of=AS_OF)
    assert second.reports_uploaded == 0 and second.reports_skipped == 7
    projets = site.list_by_title("Projets")
    com = projets.field_by_title("Commentaire").internal_name
    projets.update_item(projets.items[2], {com: "Nouveau commentaire du chef de projet"}, editor=1)
    third = run_sync(cfg, as_of=AS_OF)
    assert third.reports_uploaded == 1 and third.report_files == [url]
    assert f.major == 2 and len([k for k in site.files if "rapports copil/projets/ppi-2024-002/" in k]) == 1
    assert "Nouveau commentaire du chef de projet" in _text(_doc(site.file(url).content))


def test_template_from_a_sharepoint_library_wins(emulator, tmp_path):
    site = seeded(emulator, 3)
    site.create_list("Modèles COPIL", 101)
    doc = Document(TEMPLATES / "rapport_copil.docx")
    doc.add_paragraph("Modèle de la direction de la communication")
    buf = io.BytesIO()
    doc.save(buf)
    site.add_file("Modèles COPIL", "", "rapport_copil.docx", buf.getvalue())
    cfg = config(emulator, tmp_path, reports={"enabled": True, "template_library": "Modèles COPIL"})
    run_sync(cfg, as_of=AS_OF)
    f = next(v for k, v in site.files.items() if "ppi-2024-001/fiche projet" in k)
    assert "Modèle de la direction de la communication" in _text(_doc(f.content))


@pytest.mark.pdf
@pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext")),
    reason="LibreOffice ou poppler absent (make render-tools)",
)
def test_reports_open_in_libreoffice_with_their_native_charts_drawn(portfolio, tmp_path):
    """LibreOffice draws the charts from their cached values: their titles, legends, axis
    labels and values are on the page, with French numbers."""
    from jobs.render import page_texts, to_pdf

    (tmp_path / "p.docx").write_bytes(_gare(portfolio))
    (tmp_path / "s.docx").write_bytes(
        render_portfolio(
            portfolio,
            template_path=TEMPLATES / "synthese_portefeuille.docx",
            collectivite="X",
            copil_date=AS_OF,
            previous={},
        )
    )
    project_pdf, synthesis_pdf = to_pdf([tmp_path / "p.docx", tmp_path / "s.docx"], tmp_path / "pdf")
    project = "\n".join(page_texts(project_pdf))
    assert f"Calendrier des jalons (au {AS_OF:%d/%m/%Y})" in project
    assert "Crédits de paiement par exercice (en M€)" in project
    for legend in ("CP prévus", "Engagé", "Mandaté", "écart avec la date initiale", "atteint", "en retard"):
        assert legend in project, legend
    assert re.search(r"\b1,50\b", project) and not re.search(r"\b1\.50\b", project)  # values on the bars, in French
    assert re.search(r"\b0[1-9]/20(2[4-7])\b", project)  # the calendar's month ticks
    assert "Mise en service de l’éclairage" in project  # a category label of the calendar
    synthesis_text = "\n".join(page_texts(synthesis_pdf))
    assert "Opérations en cours par météo" in synthesis_text
    assert "Exécution des crédits de paiement par direction (en M€)" in synthesis_text
    assert "CP de l’exercice" in synthesis_text


def test_a_refused_template_stops_the_reports_and_a_missing_library_the_run(emulator, tmp_path):
    """A template using an unknown field: the lists are updated, no report, exit 5 naming the
    field and the local folder. A missing report library: nothing written at all."""
    site = seeded(emulator, 3)
    bad = tmp_path / "modeles"
    bad.mkdir()
    doc = Document(TEMPLATES / "rapport_copil.docx")
    doc.add_paragraph("{{ inconnue }}")
    doc.save(bad / "rapport_copil.docx")
    shutil.copy(TEMPLATES / "synthese_portefeuille.docx", bad)
    summary = run_sync(config(emulator, tmp_path, reports={"enabled": True, "templates_dir": str(bad)}), as_of=AS_OF)
    assert summary.exit_code == 5 and summary.written == 3
    assert "inconnue" in summary.message and "dossier local" in summary.message and str(bad) in summary.message
    assert not [k for k in site.files if "rapports copil" in k]
    emulator.admin("POST", "stats/reset")
    (tmp_path / "other").mkdir()
    site.delete_list(site.list_by_title("Rapports COPIL"))
    from connector.errors import SchemaError

    with pytest.raises(SchemaError) as e:
        run_sync(config(emulator, tmp_path / "other", reports={"enabled": True}), as_of=AS_OF)
    assert "Rapports COPIL" in str(e.value) and "init-site" in str(e.value)
    assert not writes(emulator.stats()["by_route"])


def test_variable_reference_is_up_to_date():
    from connector.reports.variables import reference

    doc = (Path(__file__).resolve().parents[2] / "docs" / "template-variables.md").read_text(encoding="utf-8")
    assert doc.strip() == reference().strip(), "run: python -m connector.reports.variables > docs/template-variables.md"


def test_a_project_has_one_living_file_whatever_its_title_or_folder(emulator, tmp_path):
    """A renamed project keeps its one file (the new title inside, one more version in the
    library); a folder configuration that moves the living files removes the old one."""
    from datetime import timedelta

    site = seeded(emulator, 3)
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    run_sync(cfg, as_of=AS_OF)
    folder = "/sites/projets/rapports copil/projets/ppi-2024-001/"
    lst = site.list_by_title("Projets")
    lst.update_item(lst.items[1], {"Title": "Rénovation et extension de l'école Jules Ferry"}, lst.items[1].editor_id)
    run_sync(cfg, as_of=AS_OF + timedelta(days=1))
    (name,) = [k for k in site.files if k.startswith(folder)]
    f = site.files[name]
    assert name.endswith("fiche projet ppi-2024-001.docx") and f.major == 2 and len(f.versions) == 1
    assert "Rénovation et extension de l’école Jules Ferry" in _text(_doc(f.content))
    moved = config(emulator, tmp_path, reports={"enabled": True, "folder": "{direction}/{code}"})
    run_sync(moved, as_of=AS_OF + timedelta(days=2))
    living = [k for k in site.files if k.endswith("fiche projet ppi-2024-001.docx")]
    assert len(living) == 1 and not living[0].startswith(folder), living


def test_no_report_for_a_project_whose_columns_could_not_be_written(emulator, tmp_path):
    site = seeded(emulator, 3)
    emulator.admin(
        "POST", "faults", json={"error_paths": [{"pattern": r"getItemById\(2\)/ValidateUpdateListItem", "status": 409}]}
    )
    summary = run_sync(config(emulator, tmp_path, reports={"enabled": True}), as_of=AS_OF)
    assert summary.failed == 1 and summary.exit_code == 5
    names = " ".join(k for k in site.files if "rapports copil" in k)
    assert "ppi-2024-001" in names and "ppi-2024-002" not in names
    emulator.admin("DELETE", "faults")
    again = run_sync(config(emulator, tmp_path, reports={"enabled": True}), as_of=AS_OF)
    assert again.failed == 0 and "rapports copil/projets/ppi-2024-002" in " ".join(site.files)


def test_no_nan_when_a_project_has_no_upcoming_milestone(portfolio):
    from connector.reports.context import project_context

    done = [
        c for c in portfolio.projects.index if not isinstance(portfolio.projects.loc[c, "next_milestone_label"], str)
    ]
    assert done, "the sample has projects without an upcoming milestone"
    ctx = project_context(portfolio, done[0], collectivite="X", copil_date=AS_OF, previous=None)
    assert ctx["figures"]["next_milestone"] == "aucun jalon à venir"
    import re

    assert not re.search(r"\b(nan|NaN|NaT|None)\b", repr(ctx).replace("'previous': None", ""))


def test_progress_counts_every_report_including_the_synthesis(emulator, tmp_path):
    from connector.pipeline import reports_only

    seeded(emulator, 5)
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    seen = []
    run_sync(cfg, as_of=AS_OF, progress=lambda step, done=None, total=None: seen.append((step, done, total)))
    words = [(d, t) for step, d, t in seen if step == "Rapports Word"]
    assert words[-1] == (6, 6) and [d for d, _ in words] == list(range(1, 7))
    seen.clear()
    reports_only(
        cfg,
        only=["PPI-2024-002"],
        out_dir=tmp_path / "one",
        as_of=AS_OF,
        progress=lambda step, done=None, total=None: seen.append((step, done, total)),
    )
    assert [(d, t) for step, d, t in seen if step == "Rapports Word"] == [(1, 1)]


def test_reports_rendered_by_worker_processes_are_the_same(emulator, tmp_path, monkeypatch):
    """Enough reports to start the worker pool: same files, same text as rendered in-process."""
    from connector.reports import workers
    from tests.support.print_checks import texts

    monkeypatch.setattr(workers, "POOL_MIN_JOBS", 4)
    pools = []

    class Pool(workers.ProcessPoolExecutor):
        def __init__(self, n, **kw):
            pools.append(n)
            super().__init__(n, **kw)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", Pool)
    seeded(emulator, workers.POOL_MIN_JOBS + 5)
    out = {}
    for n in (1, 2):
        cfg = config(emulator, tmp_path / str(n), reports={"enabled": True, "workers": n})
        (tmp_path / str(n)).mkdir()
        rs = run_sync(cfg, as_of=AS_OF, out_dir=tmp_path / str(n) / "out", reports=True)
        assert not rs.report_errors and rs.reports_uploaded == workers.POOL_MIN_JOBS + 6
        out[n] = {
            p.relative_to(tmp_path / str(n) / "out"): "\n".join(texts(_doc(p.read_bytes())))
            for p in (tmp_path / str(n) / "out").rglob("*.docx")
        }
    assert len(out[2]) == workers.POOL_MIN_JOBS + 6 and out[1] == out[2]
    assert pools == [2]  # rendered by two worker processes once, in-process with workers = 1


def test_a_report_that_fails_in_a_worker_is_reported_and_the_others_published(monkeypatch):
    from connector.reports import workers

    monkeypatch.setattr(workers, "chart_data", lambda pf, code: {"code": code})
    monkeypatch.setattr(workers, "charts_for", lambda data: 1 / 0 if data["code"] == "B" else {})
    monkeypatch.setattr(workers, "render", lambda tpl, ctx, images, day: b"docx " + ctx["code"].encode())
    got = list(
        workers.rendered(
            [("A", {"code": "A"}), ("B", {"code": "B"}), ("C", {"code": "C"})],
            portfolio=None,
            template="t.docx",
            copil_date=AS_OF,
            workers=1,
        )
    )
    assert [(c, d) for c, d, _ in got] == [("A", b"docx A"), ("B", None), ("C", b"docx C")]
    assert "ZeroDivisionError" in got[1][2]


def test_report_folders_are_created_once_and_again_if_a_person_removed_one(emulator, tmp_path):
    site = seeded(emulator, 3)
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    run_sync(cfg, as_of=AS_OF)
    assert emulator.stats()["by_route"]["op:folderadd.POST"] == 5  # Projets, Synthèse, one per project
    lst = site.list_by_title("Projets")
    name = {f.title: f.internal_name for f in lst.fields.values()}
    for item in lst.items.values():  # every report changes (a person's edit: in the change log)
        lst.update_item(item, {name["Avancement physique"]: "99 %"}, item.editor_id)
    emulator.admin("POST", "stats/reset")
    rs = run_sync(cfg, as_of=AS_OF)
    assert rs.reports_uploaded == 4 and not rs.report_errors
    assert "op:folderadd.POST" not in emulator.stats()["by_route"]  # known from the first night
    folder = next(k for k in site.files if "rapports copil/projets/ppi-2024-001/" in k).rsplit("/", 1)[0]
    for store in (site.files, site.folders):  # a person removes it
        for key in [k for k in store if k == folder or k.startswith(folder + "/")]:
            del store[key]
    for item in lst.items.values():
        lst.update_item(item, {name["Avancement physique"]: "98 %"}, item.editor_id)
    emulator.admin("POST", "stats/reset")
    rs = run_sync(cfg, as_of=AS_OF)
    assert emulator.stats()["by_route"]["op:folderadd.POST"] == 2  # after a 404: the folder and its parent
    assert rs.reports_uploaded == 4 and not rs.report_errors
    assert any(k.startswith(folder + "/") for k in site.files), (folder, sorted(site.files))


def test_report_folders_with_spaces_are_created_alone_the_others_in_batches(emulator, tmp_path):
    """« {year}/{direction}/{code} »: a direction has spaces, which a $batch request line cannot
    carry raw; those folders are created one by one at upload, « 2026 » and « Synthèse » in batches."""
    site = seeded(emulator, 6)
    cfg = config(emulator, tmp_path, reports={"enabled": True, "folder": "{year}/{direction}/{code}"})
    rs = run_sync(cfg, as_of=AS_OF)
    assert rs.reports_uploaded == 7 and not rs.report_errors
    routes = emulator.stats()["by_route"]
    assert routes["batch:op:folderadd.POST"] == 2 and routes["op:folderadd.POST"] >= 2  # « 2026 », « Synthèse »
    assert any("/2026/direction de l'éducation/ppi-2024-001/" in k for k in site.files)


def test_an_export_is_dated_by_its_file_name_else_by_its_upload():
    from datetime import datetime

    from connector.consolidate import export_dated
    from connector.reports.context import _export_date

    up = datetime(2026, 12, 6, 9, 0)

    def said(src):
        return _export_date(export_dated(src, as_of=date(2026, 12, 6), max_age_days=30) or {})

    assert said({"file": "Export_AP_CP_2026-11-23.xlsx", "modified": up}) == " du 23/11/2026"
    assert said({"file": "CP 23.11.2026 v2.xlsx", "modified": up}) == " du 23/11/2026"
    assert said({"file": "export_20261123.xlsx", "modified": up}) == " du 23/11/2026"
    assert said({"file": "Export_2025-02-31.xlsx", "modified": up}) == ", déposé le 06/12/2026"
    assert said({"file": "grand livre.xlsx", "modified": up}) == ", déposé le 06/12/2026"
    assert said({"file": "grand livre.xlsx"}) == ""


@pytest.mark.parametrize("as_of,age,stale", [(date(2026, 12, 23), 30, False), (date(2026, 12, 24), 31, True)])
def test_an_export_older_than_the_rules_allow_is_said_beside_its_figures(as_of, age, stale):
    """Export dated 23/11/2026: 30 days old on 23/12 is still fresh (the limit is « more than 30 »),
    31 days on 24/12 is a finding and every figure taken from it says « ancien »."""
    from connector.consolidate import export_dated
    from connector.reports.context import _export_age

    src = export_dated({"file": "Export_AP_CP_2026-11-23.xlsx"}, as_of=as_of, max_age_days=30)
    assert (src["age_days"], src["stale"]) == (age, stale)
    assert _export_age(src) == (
        f" (vieux de {age} jours, plus de 30 : montants peut-être dépassés, export à actualiser)" if stale else ""
    )


def test_reports_rendered_ahead_of_the_uploads_are_bounded(monkeypatch):
    """pool.map read everything ahead: with uploads slower than rendering, every .docx of a
    10,000-project night waited in memory. At most AHEAD_PER_WORKER x workers are in flight."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from connector.reports import workers

    started, lock = [], threading.Lock()

    def render_one(job):
        with lock:
            started.append(job[0])
        return job[0], b"docx", None

    monkeypatch.setattr(workers, "_render_one", render_one)
    monkeypatch.setattr(workers, "chart_data", lambda pf, code: {})
    given = []
    monkeypatch.setattr(
        workers,
        "ProcessPoolExecutor",
        lambda n, mp_context=None, initializer=None, initargs=(): given.append(initargs) or ThreadPoolExecutor(n),
    )
    jobs = [(f"P{i:03d}", {"code": i}) for i in range(workers.POOL_MIN_JOBS + 50)]
    n = len(jobs)
    seen = []
    portfolio = object()  # never sent to the workers: each job carries its own chart rows
    for code, data, error in workers.rendered(
        jobs, portfolio=portfolio, template="t.docx", copil_date=AS_OF, workers=2
    ):
        time.sleep(0.002)  # a slow upload
        seen.append(code)
        with lock:
            assert len(started) - len(seen) <= workers.AHEAD_PER_WORKER * 2
    assert seen == [f"P{i:03d}" for i in range(n)] and jobs == []  # in order; contexts handed over
    assert given == [("t.docx", AS_OF)]


@pytest.mark.parametrize("max_rows", [10, 13, 14, 15])
def test_synthesis_lists_are_cut_at_their_limit_and_say_how_many_more(portfolio, max_rows):
    """At 10,000 projects the synthesis in full ran to 42,000 table rows (1.4 GB to render): each
    list that grows with the portfolio stops at `synthesis_max_rows`, most urgent rows first, and
    a line says how many more and where they all are. At, just under and just over the sample's
    14 alerts."""
    from connector.reports.context import portfolio_context

    full = portfolio_context(portfolio, collectivite="X", copil_date=AS_OF, previous={}, max_rows=5000)
    cut = portfolio_context(portfolio, collectivite="X", copil_date=AS_OF, previous={}, max_rows=max_rows)
    alerts = len(full["alerts"])
    assert alerts == 14
    assert cut["alerts"] == full["alerts"][:max_rows]
    more = alerts - max_rows
    if more > 0:
        assert cut["alerts_more"] == (
            f"… et {more} autre{'s' if more > 1 else ''} projet{'s' if more > 1 else ''} en alerte, "
            "dans la vue « Projets en alerte » de la liste des projets."
        )
    else:
        assert cut["alerts_more"] == "" and full["alerts_more"] == ""
    for d_full, d_cut in zip(full["directions"], cut["directions"]):
        assert d_cut["projects"] == d_full["projects"][:max_rows]
        assert bool(d_cut["projects_more"]) == (len(d_full["projects"]) > max_rows)
    from connector.reports.render import portfolio_charts, render

    doc = _doc(render(TEMPLATES / "synthese_portefeuille.docx", cut, portfolio_charts(portfolio), AS_OF))
    text = _text(doc)
    (alert_table,) = [
        t for t in doc.tables if [c.text for c in t.rows[0].cells] == ["Code", "Projet", "Direction", "Météo", "Motifs"]
    ]
    assert len(alert_table.rows) - 1 == min(alerts, max_rows)
    assert (cut["alerts_more"] in text) if more > 0 else ("autres projets en alerte" not in text)
