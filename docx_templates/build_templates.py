"""Builds the two default Word templates with python-docx. Staff may then edit the .docx files
in Word (fonts, logo, wording, layout); keep the {{ ... }}, {%p ... %}, {%tr ... %} and
{% cellbg ... %} tags.

    python docx_templates/build_templates.py

Print rules they follow: A4, French language, every table at most the text width (17 cm) with
explicit column widths, header rows repeated on each page, rows kept whole, headings kept with
what follows, page numbers in the footer, typographic apostrophes."""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
ACCENT = RGBColor(0x00, 0x4B, 0x87)
GREY = RGBColor(0x59, 0x59, 0x59)
TEXT_WIDTH_CM = 17.0   # A4 (21 cm) minus 2 × 2 cm margins
RIGHT = "r"            # marks a right-aligned (numeric) column in _table


def _set_lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "fr-FR")


def _base(header: str) -> Document:
    doc = Document()
    # the stock python-docx package carries a thumbnail of an empty page: file browsers show it
    pkg = doc.part.package
    for rel in list(pkg.rels.values()):
        if rel.reltype.endswith("/thumbnail"):
            pkg.rels.pop(rel.rId)
    st = doc.styles["Normal"]
    st.font.name = "Calibri"
    st.font.size = Pt(10)
    st.paragraph_format.space_after = Pt(4)
    for name, size, before in (("Title", 20, 0), ("Heading 1", 13, 14), ("Heading 2", 11, 10)):
        s = doc.styles[name]
        s.font.color.rgb = ACCENT
        s.font.size = Pt(size)
        s.font.name = "Calibri"
        s.paragraph_format.space_before = Pt(before)
        s.paragraph_format.keep_with_next = True
    doc.styles["List Bullet"].paragraph_format.space_after = Pt(2)
    styles = doc.styles.element
    _set_lang(styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")))
    for lang in styles.iter(qn("w:lang")):
        lang.set(qn("w:val"), "fr-FR")
    theme = doc.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), "fr-FR")

    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.0)
    sec.top_margin, sec.bottom_margin = Cm(1.8), Cm(1.8)
    sec.header_distance = sec.footer_distance = Cm(0.8)
    hp = sec.header.paragraphs[0]
    hp.text = header
    hp.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    hp.runs[0].font.size, hp.runs[0].font.color.rgb = Pt(8), GREY
    fp = sec.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(fp, "{{ collectivite }} – document établi par copil à partir des listes SharePoint – page ")
    _field(fp, "PAGE")
    _run(fp, " sur ")
    _field(fp, "NUMPAGES")
    return doc


def _run(p, text: str, size: float = 8):
    r = p.add_run(text)
    r.font.size, r.font.color.rgb = Pt(size), GREY
    return r


def _field(p, code: str) -> None:
    """A Word field (PAGE, NUMPAGES): begin, instruction, separate, cached value, end."""
    for kind, text in (("begin", None), ("instr", f" {code} "), ("separate", None), ("text", "1"), ("end", None)):
        r = _run(p, "") if kind != "text" else _run(p, text)
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
            r._r.append(el)
        elif kind != "text":
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            r._r.append(el)


def _shade(cell, hex_fill: str) -> None:
    tc = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_fill)
    tc.append(shd)


def _row_props(row, header: bool = False) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))
        # the header row never ends a page alone: LibreOffice otherwise leaves it at the foot
        # of a page and loses the rows that follow
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.keep_with_next = True


def _margins(table, cm: float = 0.1) -> None:
    """Narrow cell margins: more room for amounts in a 17 cm table."""
    tbl_pr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(cm * 567)))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tbl_pr.append(mar)


def _widths(table, widths: list[float]) -> None:
    """Word reads the cell widths, LibreOffice the grid: set both, fixed layout."""
    assert sum(widths) <= TEXT_WIDTH_CM + 1e-6, (widths, sum(widths))
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for col, w in zip(table.columns, widths):
        col.width = Cm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths):
            cell.width = Cm(w)


def _cell_text(cell, text: str, size: float = 9, bold: bool = False, color=None, align=None) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    if align == RIGHT:
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    r = p.add_run(text)
    r.font.size, r.font.bold = Pt(size), bold
    if color is not None:
        r.font.color.rgb = color


def _table(doc, headers: list[str], loop: str, cells: list[str], widths: list[float], align: str = "",
           size: float = 9, caption: str | None = None):
    """Header row (repeated on each page), then a docxtpl row loop: `{%tr for ... %}` / data row
    / `{%tr endfor %}`. `align`: one letter per column, `r` for right-aligned figures."""
    t = doc.add_table(rows=4, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    _margins(t)
    align = align.ljust(len(headers), "l")
    for i, h in enumerate(headers):
        c = t.rows[0].cells[i]
        _cell_text(c, h, size=size, bold=True, color=RGBColor(0xFF, 0xFF, 0xFF), align=align[i])
        _shade(c, "004B87")
    t.rows[1].cells[0].text = "{%tr " + loop + " %}"
    for i, v in enumerate(cells):
        _cell_text(t.rows[2].cells[i], v, size=size, align=align[i])
    t.rows[3].cells[0].text = "{%tr endfor %}"
    for i, row in enumerate(t.rows):
        _row_props(row, header=i == 0)
    _widths(t, widths)
    if caption:
        p = doc.add_paragraph()
        _run(p, caption, size=8).italic = True
    doc.add_paragraph().paragraph_format.space_after = Pt(2)
    return t


def _kv(doc, rows: list[tuple[str, str]], widths=(6.0, 11.0)):
    """Label / value rows, kept on one page (each row kept with the next)."""
    t = doc.add_table(rows=len(rows), cols=2)
    t.style = "Table Grid"
    _margins(t, 0.15)
    for i, (k, v) in enumerate(rows):
        _cell_text(t.rows[i].cells[0], k, bold=True)
        _shade(t.rows[i].cells[0], "E8EEF5")
        _cell_text(t.rows[i].cells[1], v)
        _row_props(t.rows[i])
        if i < len(rows) - 1:
            for c in t.rows[i].cells:
                c.paragraphs[0].paragraph_format.keep_with_next = True
    _widths(t, list(widths))
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def _bullets(doc, loop_var: str, source: str, empty: str):
    doc.add_paragraph("{%p for " + loop_var + " in " + source + " %}")
    doc.add_paragraph("{{ " + loop_var + " }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not " + source + " %}")
    doc.add_paragraph(empty)
    doc.add_paragraph("{%p endif %}")


def _note(doc, text: str) -> None:
    p = doc.add_paragraph()
    _run(p, text, size=8).italic = True


def _banner(doc, color_var: str, text: str, side: str) -> None:
    """The météo as a traffic light: a coloured cell with the word in white, the trend beside it."""
    t = doc.add_table(rows=1, cols=2)
    _margins(t, 0.25)
    left, right = t.rows[0].cells
    p = left.paragraphs[0]
    p.add_run("{% cellbg " + color_var + " %}")
    r = p.add_run(text)
    r.font.size, r.font.bold, r.font.color.rgb = Pt(16), True, RGBColor(0xFF, 0xFF, 0xFF)
    _cell_text(right, side, size=10)
    _shade(left, "5F6368")
    _shade(right, "F2F2F2")
    _row_props(t.rows[0])
    _widths(t, [6.0, 11.0])
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def project_template() -> Document:
    doc = _base("COPIL {{ project.code }} – {{ project.title }}")
    p = doc.add_paragraph()
    r = p.add_run("{{ collectivite }} – Comité de pilotage du {{ copil_date }}")
    r.font.size, r.font.color.rgb = Pt(11), GREY
    doc.add_paragraph("{{ project.title }}", style="Title")
    doc.add_paragraph("Opération {{ project.code }} – {{ project.direction }} – {{ project.territory }} – "
                      "{{r project_link }}")
    _banner(doc, "weather.color", "Météo : {{ weather.computed }}",
            "Tendance : {{ weather.trend }}. {{ weather.previous_line }} "
            "Météo donnée par le chef de projet : {{ weather.manual }}.")

    doc.add_heading("Synthèse", level=1)
    _kv(doc, [("Phase", "{{ project.phase }}"), ("Avancement physique", "{{ project.progress }}"),
              ("Fin prévue initiale / prévisionnelle", "{{ project.baseline_end }} / {{ project.forecast_end }}"),
              ("Glissement", "{{ figures.slippage }}"), ("Prochain jalon", "{{ figures.next_milestone }}"),
              ("Chef de projet", "{{ project.manager }}"), ("Élu référent", "{{ project.elected }}"),
              ("Politique publique", "{{ project.policy }}"), ("Maîtrise d’ouvrage", "{{ project.owner }}")])
    doc.add_heading("Motifs de la météo", level=2)
    _bullets(doc, "r", "weather.reasons", "Aucun motif.")
    doc.add_heading("Décisions attendues", level=2)
    _bullets(doc, "d", "project.decisions", "Aucune décision attendue.")
    doc.add_heading("Alertes", level=2)
    _bullets(doc, "a", "weather.alerts", "Aucune alerte.")
    doc.add_heading("Évolutions {{ weather.since }}", level=2)
    _bullets(doc, "c", "weather.changes", "{{ weather.changes_note }}")

    doc.add_heading("Chiffres clés", level=1)
    _kv(doc, [("AP votée", "{{ figures.ap_voted }}"), ("CP {{ year }}", "{{ figures.cp_year }}"),
              ("Engagé {{ year }}", "{{ figures.engaged_year }}"), ("Mandaté {{ year }}", "{{ figures.paid_year }}"),
              ("Exécution des CP {{ year }}", "{{ figures.cp_execution_rate }}"),
              ("Taux d’engagement de l’AP", "{{ figures.commitment_rate }}"),
              ("Consommation de l’AP", "{{ figures.ap_consumption }}"),
              ("Reste à mandater sur l’AP", "{{ figures.remaining_to_pay }}"),
              ("Subventions notifiées", "{{ figures.subsidies_notified }}"),
              ("Subventions encaissées", "{{ figures.subsidies_received }}"),
              ("Part d’autofinancement", "{{ figures.self_funding_share }}")])
    _note(doc, "{{ figures.source }}")

    doc.add_heading("Jalons", level=1)
    _table(doc, ["Jalon", "Phase", "Date initiale", "Date prévue", "Date réelle", "Glissement", "État"],
           "for m in milestones", ["{{ m.title }}", "{{ m.phase }}", "{{ m.baseline }}", "{{ m.forecast }}",
                                   "{{ m.actual }}", "{{ m.slippage }}", "{{ m.status }}"],
           widths=[4.6, 2.4, 2.0, 2.0, 2.0, 2.0, 2.0], align="llrrrrl")
    doc.add_paragraph("{{ chart_timeline }}")

    doc.add_heading("Budget AP/CP", level=1)
    _table(doc, ["Exercice", "CP prévus", "Engagé", "Mandaté", "Exécution", "Source"], "for b in budget",
           ["{{ b.year }}", "{{ b.cp_planned }}", "{{ b.engaged }}", "{{ b.paid }}", "{{ b.execution }}",
            "{{ b.source }}"], widths=[1.9, 3.3, 3.3, 3.3, 2.0, 3.2], align="lrrrrl")
    doc.add_paragraph("{{ chart_budget }}")

    doc.add_heading("Subventions", level=1)
    _table(doc, ["Financeur", "Sollicité", "Notifié", "Encaissé", "Notification", "Échéances"], "for s in subsidies",
           ["{{ s.funder }}", "{{ s.requested }}", "{{ s.notified }}", "{{ s.received }}", "{{ s.notified_on }}",
            "{{ s.deadline }}"], widths=[3.0, 2.8, 2.8, 2.8, 2.0, 3.6], align="lrrrr")

    doc.add_heading("Marchés et avenants", level=1)
    _table(doc, ["Marché", "Type", "Titulaire", "Montant initial HT", "Avenants (montant)", "Cumul", "Seuil",
                 "Situation"],
           "for c in contracts", ["{{ c.number }}", "{{ c.kind }}", "{{ c.holder }}", "{{ c.initial }}",
                                  "{{ c.amendments_count }} ({{ c.amendments_total }})", "{{ c.rate }}",
                                  "{{ c.limit }}", "{{ c.status }}"],
           widths=[2.3, 1.7, 2.6, 2.6, 2.8, 1.4, 1.3, 2.3], align="lllrrrrl", size=8.5)

    doc.add_heading("Risques", level=1)
    _table(doc, ["Risque", "Probabilité", "Impact", "Criticité", "Statut", "Mesures"], "for r in risks",
           ["{{ r.title }}", "{{ r.probability }}", "{{ r.impact }}", "{{ r.criticality }}", "{{ r.status }}",
            "{{ r.mitigation }}"], widths=[4.2, 1.9, 1.4, 1.6, 1.7, 6.2], align="lrrrl")
    doc.add_heading("Matrice de criticité (risques ouverts)", level=2)
    _table(doc, ["Impact \\ probabilité", "1", "2", "3", "4"], "for row in risk_matrix",
           ["{{ row.impact }}", "{{ row.cells[0] }}", "{{ row.cells[1] }}", "{{ row.cells[2] }}", "{{ row.cells[3] }}"],
           widths=[4.2, 2.0, 2.0, 2.0, 2.0], align="lrrrr")

    doc.add_heading("Commentaire du chef de projet", level=1)
    doc.add_paragraph("{{ project.comment }}")

    doc.add_heading("Qualité des données", level=1)
    doc.add_paragraph("{%p if findings %}")
    doc.add_paragraph("Valeurs saisies que copil n’a pas pu utiliser ; à corriger dans SharePoint :")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if findings %}")
    _table(doc, ["Liste", "Colonne", "Valeur saisie", "Problème"], "for f in findings",
           ["{{ f.list_title }}", "{{ f.column }}", "{{ f.value }}", "{{ f.message }}"], widths=[3.0, 3.2, 3.6, 7.2])
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Aucune anomalie de saisie sur ce projet.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading("Documents récents", level=1)
    _table(doc, ["Document", "Modifié le"], "for d in documents", ["{{r d.link }}", "{{ d.modified }}"],
           widths=[13.5, 3.5], align="lr")
    return doc


def portfolio_template() -> Document:
    doc = _base("Synthèse du portefeuille – {{ copil_date }}")
    p = doc.add_paragraph()
    r = p.add_run("{{ collectivite }}")
    r.font.size, r.font.color.rgb = Pt(11), GREY
    doc.add_paragraph("Synthèse du portefeuille de projets", style="Title")
    doc.add_paragraph("Situation au {{ copil_date }} – exercice {{ year }} – précédent COPIL : {{ previous_date }}")
    doc.add_heading("Météo du portefeuille", level=1)
    _kv(doc, [("Projets suivis", "{{ counts.total }}, dont {{ counts.closed }} opérations closes"),
              ("Soleil", "{{ counts.soleil }}"), ("Nuageux", "{{ counts.nuageux }}"), ("Orage", "{{ counts.orage }}"),
              ("Indéterminée (données manquantes)", "{{ counts.indetermine }}"),
              ("Anomalies de saisie", "{{ findings_count }}")])
    doc.add_paragraph("{{ chart_weather }}")
    doc.add_heading("Totaux", level=1)
    _kv(doc, [("AP votées", "{{ totals.ap_voted }}"), ("CP {{ year }}", "{{ totals.cp_year }}"),
              ("Engagé {{ year }}", "{{ totals.engaged_year }}"), ("Mandaté {{ year }}", "{{ totals.paid_year }}"),
              ("Exécution des CP {{ year }}", "{{ totals.execution_rate }}"),
              ("Subventions notifiées", "{{ totals.subsidies_notified }}"),
              ("Reste à mandater sur les AP", "{{ totals.remaining_to_pay }}"),
              ("AP dépassées", "{{ totals.overruns }}"), ("Projets sans AP valide", "{{ totals.without_ap }}")])
    _note(doc, "{{ finance_source }}")
    doc.add_heading("Projets en alerte", level=1)
    _table(doc, ["Code", "Projet", "Direction", "Météo", "Motifs"], "for a in alerts",
           ["{{ a.code }}", "{{ a.title }}", "{{ a.direction }}", "{% cellbg a.tint %}{{ a.weather }}", "{{ a.reasons }}"],
           widths=[2.6, 3.8, 3.0, 2.2, 5.4])
    doc.add_heading("Plus fortes évolutions {{ since }}", level=1)
    doc.add_paragraph("{%p if movers_note %}")
    doc.add_paragraph("{{ movers_note }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if movers %}")
    _table(doc, ["Code", "Projet", "Tendance", "Avant", "Après", "Évolutions"], "for m in movers",
           ["{{ m.code }}", "{{ m.title }}", "{{ m.trend }}", "{{ m.before }}", "{% cellbg m.tint %}{{ m.after }}",
            "{{ m.changes }}"], widths=[2.6, 3.6, 2.4, 2.2, 2.2, 4.0])
    doc.add_paragraph("{%p endif %}")
    for title, var in (("Par direction", "by_direction"), ("Par territoire", "by_territory"),
                       ("Par politique publique", "by_policy")):
        doc.add_heading(title, level=1)
        _table(doc, ["", "Projets", "Soleil", "Nuageux", "Orage", "Indét.", "AP votées", "CP {{ year }}",
                     "Exécution"],
               f"for x in {var}", ["{{ x.name }}", "{{ x.projects }}", "{{ x.soleil }}", "{{ x.nuageux }}",
                                   "{{ x.orage }}", "{{ x.indetermine }}", "{{ x.ap_voted }}", "{{ x.cp_year }}",
                                   "{{ x.execution }}"],
               widths=[3.7, 1.4, 1.3, 1.5, 1.3, 1.2, 2.5, 2.5, 1.6], align="lrrrrrrrr", size=8.5)
        if var == "by_direction":
            doc.add_paragraph("{{ chart_execution }}")
    doc.add_heading("Opérations closes", level=1)
    doc.add_paragraph("{%p if closed %}")
    _table(doc, ["Code", "Opération", "AP votée", "Mandaté", "Solde de l’AP"], "for c in closed",
           ["{{ c.code }}", "{{ c.title }}", "{{ c.ap_voted }}", "{{ c.paid_total }}", "{{ c.balance }}"],
           widths=[2.6, 5.9, 2.8, 2.8, 2.9], align="llrrr")
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Aucune opération close.")
    doc.add_paragraph("{%p endif %}")
    return doc


def build(out_dir: Path = HERE) -> None:
    project_template().save(out_dir / "rapport_copil.docx")
    portfolio_template().save(out_dir / "synthese_portefeuille.docx")


if __name__ == "__main__":
    build()
    print(f"modèles écrits dans {HERE}")
