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
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
ACCENT = RGBColor(0x00, 0x4B, 0x87)
GREY = RGBColor(0x59, 0x59, 0x59)
TEXT_WIDTH_CM = 17.0  # A4 (21 cm) minus 2 × 2 cm margins
RIGHT = "r"  # marks a right-aligned (numeric) column in _table


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


def _table(
    doc,
    headers: list[str],
    loop: str,
    cells: list[str],
    widths: list[float],
    align: str = "",
    size: float = 9,
    caption: str | None = None,
):
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
    _more(doc, loop.split(" in ", 1)[-1].strip())
    _spacer(doc)
    return t


# The synthesis' lists cut at [reports] synthesis_max_rows (connector.reports.context.BOUNDED,
# with the loop variable of their holder): each is followed by its « … et N autres » line.
BOUNDED_SOURCES = {
    "alerts",
    "closed",
    "decisions",
    "decided",
    "evolutions",
    "subsidy_calendar",
    "agenda",
    "urban.projects",
    "t.projects",
    "t.works",
    "g.findings",
}


def _more(doc, source: str) -> None:
    if source in BOUNDED_SOURCES:
        _if_text(doc, f"{source}_more", italic=True)


def _spacer(doc) -> None:
    """The gap after a table: Word needs a paragraph between two tables, but a full empty line
    after each one pushed page 1's last money message onto page 2."""
    f = doc.add_paragraph().paragraph_format
    f.line_spacing_rule, f.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(6)
    f.space_before = f.space_after = Pt(0)


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
    _spacer(doc)


def _bullets(doc, loop_var: str, source: str, empty: str):
    doc.add_paragraph("{%p for " + loop_var + " in " + source + " %}")
    doc.add_paragraph("{{ " + loop_var + " }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    _more(doc, source)
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
    _spacer(doc)


def _heading(doc, text: str, level: int = 1, new_page: bool = False):
    h = doc.add_heading(text, level=level)
    h.paragraph_format.page_break_before = new_page
    return h


def _if_text(doc, var: str, italic: bool = False) -> None:
    """A paragraph only when the variable is not empty (no blank line otherwise)."""
    doc.add_paragraph("{%p if " + var + " %}")
    if italic:
        _note(doc, "{{ " + var + " }}")
    else:
        doc.add_paragraph("{{ " + var + " }}")
    doc.add_paragraph("{%p endif %}")


def _total_row(table, cells: list[str], align: str, size: float = 9) -> None:
    """A static row after the loop (totals, AP), bold on a light background."""
    row = table.add_row()
    align = align.ljust(len(cells), "l")
    for i, v in enumerate(cells):
        _cell_text(row.cells[i], v, size=size, bold=True, align=align[i])
        _shade(row.cells[i], "E8EEF5")
    for cell, ref in zip(row.cells, table.rows[0].cells):
        cell.width = ref.width
    _row_props(row)


def project_template() -> Document:
    doc = _base("{{ edition.header }}")
    p = doc.add_paragraph()
    r = p.add_run("{{ collectivite }} – {{ edition.line }}")
    r.font.size, r.font.color.rgb = Pt(11), GREY
    doc.add_paragraph("{{ project.title }}", style="Title")
    doc.add_paragraph(
        "Opération {{ project.code }} – {{ project.direction }} – {{ project.territory }} – {{r project_link }}"
    )
    _banner(
        doc,
        "weather.color",
        "Météo : {{ weather.computed }}",
        "Tendance : {{ weather.trend }}. {{ weather.previous_line }} "
        "Météo donnée par le chef de projet : {{ weather.manual }}.",
    )

    # Page 1: what the committee must know and decide.
    _heading(doc, "L’essentiel")
    _kv(
        doc,
        [
            ("Phase, avancement physique", "{{ project.phase_progress }}"),
            (
                "Fin prévisionnelle",
                "{{ project.forecast_end }} (initiale : {{ project.baseline_end }} ; "
                "glissement : {{ figures.slippage }})",
            ),
            ("Prochain jalon", "{{ figures.next_milestone }}"),
            ("AP votée / reste à mandater", "{{ figures.ap_voted }} / {{ figures.remaining_to_pay }}"),
            ("CP {{ year }} / mandatés", "{{ figures.cp_paid }}"),
            (
                "Subventions notifiées / encaissées",
                "{{ figures.subsidies_notified }} / {{ figures.subsidies_received }}",
            ),
        ],
    )
    _heading(doc, "Décisions attendues", 2)
    # the overdue ones first, apart; then the others with their deadlines
    _if_text(doc, "project.decisions_overdue")
    doc.add_paragraph("{%p for d in project.decisions %}")
    doc.add_paragraph("{{ d }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not project.decisions and not project.decisions_overdue %}")
    doc.add_paragraph("Aucune décision attendue.")
    doc.add_paragraph("{%p endif %}")
    _heading(doc, "Motifs de la météo", 2)
    _bullets(doc, "r", "weather.reasons", "Aucun motif.")
    _heading(doc, "À anticiper", 2)
    _bullets(doc, "f", "weather.forecasts", "Rien à anticiper au vu des chiffres.")
    _heading(doc, "Alertes", 2)
    _bullets(doc, "a", "weather.alerts", "Aucune alerte.")
    _heading(doc, "Évolutions {{ weather.since }}", 2)
    _bullets(doc, "c", "weather.changes", "{{ weather.changes_note }}")

    _heading(doc, "Identité du projet", new_page=True)
    _kv(
        doc,
        [
            ("Objectif", "{{ project.objective }}"),
            ("Programme", "{{ project.programme }}"),
            ("Politique publique", "{{ project.policy }}"),
            ("Direction pilote", "{{ project.direction }}"),
            ("Territoire", "{{ project.territory }}"),
            ("Quartier prioritaire", "{{ project.qpv }}"),
            ("Date de début", "{{ project.start }}"),
            ("Délibération de l’AP", "{{ project.ap_deliberation }}"),
            ("Fin prévue initiale / prévisionnelle", "{{ project.baseline_end }} / {{ project.forecast_end }}"),
            ("Chef de projet", "{{ project.manager }}"),
            ("Élu référent", "{{ project.elected }}"),
            ("Maîtrise d’ouvrage", "{{ project.owner }}"),
        ],
    )
    _heading(doc, "Relevé des décisions du précédent COPIL", 2)
    _bullets(doc, "d", "previous_decisions", "{{ previous_decisions_note }}")
    doc.add_paragraph("{%p if project.decision_followup %}")
    doc.add_paragraph("Suivi indiqué par le chef de projet : {{ project.decision_followup }}")
    doc.add_paragraph("{%p endif %}")

    _heading(doc, "Chiffres clés")
    _kv(
        doc,
        [
            ("AP votée", "{{ figures.ap_voted }}"),
            ("CP {{ year }}", "{{ figures.cp_year }}"),
            ("Engagé {{ year }}", "{{ figures.engaged_year }}"),
            ("Mandaté {{ year }}", "{{ figures.paid_year }}"),
            ("Exécution des CP {{ year }}", "{{ figures.cp_execution_rate }}"),
            ("Taux d’engagement de l’AP", "{{ figures.commitment_rate }}"),
            ("Consommation de l’AP", "{{ figures.ap_consumption }}"),
            ("Reste à mandater sur l’AP", "{{ figures.remaining_to_pay }}"),
            ("Subventions notifiées", "{{ figures.subsidies_notified }}"),
            ("Subventions encaissées", "{{ figures.subsidies_received }}"),
            ("Part d’autofinancement", "{{ figures.self_funding_share }}"),
        ],
    )
    _note(doc, "{{ figures.source }}")

    _heading(doc, "Jalons")
    _table(
        doc,
        ["Jalon", "Phase", "Date initiale", "Date prévue", "Date réelle", "Glissement", "État"],
        "for m in milestones",
        [
            "{{ m.title }}",
            "{{ m.phase }}",
            "{{ m.baseline }}",
            "{{ m.forecast }}",
            "{{ m.actual }}",
            "{{ m.slippage }}",
            "{{ m.status }}",
        ],
        widths=[4.6, 2.4, 2.0, 2.0, 2.0, 2.0, 2.0],
        align="llrrrrl",
    )
    doc.add_paragraph("{{ chart_timeline }}")

    _heading(doc, "Budget AP/CP")
    t = _table(
        doc,
        ["Exercice", "CP prévus", "Engagé", "Mandaté", "Exécution", "Source"],
        "for b in budget",
        [
            "{{ b.year }}",
            "{{ b.cp_planned }}",
            "{{ b.engaged }}",
            "{{ b.paid }}",
            "{{ b.execution }}",
            "{{ b.source }}",
        ],
        widths=[1.9, 3.0, 3.0, 3.0, 1.8, 4.3],
        align="lrrrrl",
    )
    _total_row(
        t,
        [
            "Total",
            "{{ budget_total.cp_planned }}",
            "{{ budget_total.engaged }}",
            "{{ budget_total.paid }}",
            "{{ budget_total.execution }}",
            "",
        ],
        "lrrrr",
    )
    _total_row(t, ["AP votée", "{{ budget_total.ap }}", "", "", "", ""], "lr")
    _if_text(doc, "budget_total.gap", italic=True)
    doc.add_paragraph("{{ chart_budget }}")
    # the closing of the previous year, from 1 January until the new year's figures are in
    doc.add_paragraph("{%p if closing.heading %}")
    _heading(doc, "{{ closing.heading }}", 2)
    t = _table(
        doc,
        ["Exercice clos", "Montant"],
        "for c in closing.rows",
        ["{{ c.label }}", "{{ c.value }}"],
        widths=[9.0, 8.0],
        align="lr",
    )
    _note(doc, "{{ closing.basis }}")
    doc.add_paragraph("{%p endif %}")

    _heading(doc, "Subventions")
    t = _table(
        doc,
        ["Financeur", "Sollicité", "Notifié", "Encaissé", "Reste à percevoir", "Notification", "Échéances"],
        "for s in subsidies",
        [
            "{{ s.funder }}",
            "{{ s.requested }}",
            "{{ s.notified }}",
            "{{ s.received }}",
            "{{ s.to_receive }}",
            "{{ s.notified_on }}",
            "{{ s.deadline }}",
        ],
        widths=[2.6, 2.3, 2.3, 2.3, 2.3, 1.9, 3.3],
        align="lrrrrr",
        size=8.5,
    )
    _total_row(
        t,
        [
            "Total",
            "{{ subsidies_total.requested }}",
            "{{ subsidies_total.notified }}",
            "{{ subsidies_total.received }}",
            "{{ subsidies_total.to_receive }}",
            "",
            "",
        ],
        "lrrrr",
        size=8.5,
    )

    _heading(doc, "Marchés et avenants")
    _table(
        doc,
        ["Marché", "Type", "Titulaire", "Montant initial HT", "Avenants (montant)", "Cumul", "Seuil", "Situation"],
        "for c in contracts",
        [
            "{{ c.number }}",
            "{{ c.kind }}",
            "{{ c.holder }}",
            "{{ c.initial }}",
            "{{ c.amendments_count }} ({{ c.amendments_total }})",
            "{{ c.rate }}",
            "{{ c.limit }}",
            "{{ c.status }}",
        ],
        widths=[2.3, 1.7, 2.6, 2.6, 2.8, 1.4, 1.3, 2.3],
        align="lllrrrrl",
        size=8.5,
    )

    _heading(doc, "Risques")
    _table(
        doc,
        ["Risque", "Criticité (P × I)", "Statut", "Responsable", "Échéance", "Mesures"],
        "for r in risks",
        [
            "{{ r.title }}",
            "{{ r.criticality }} ({{ r.probability }} × {{ r.impact }})",
            "{{ r.status }}",
            "{{ r.owner }}",
            "{{ r.due }}",
            "{{ r.mitigation }}",
        ],
        widths=[3.6, 1.9, 1.6, 2.6, 2.1, 5.2],
        align="lrl",
        size=8.5,
    )
    _heading(doc, "Matrice de criticité (risques ouverts)", 2)
    _table(
        doc,
        ["Impact \\ probabilité", "1", "2", "3", "4"],
        "for row in risk_matrix",
        ["{{ row.impact }}", "{{ row.cells[0] }}", "{{ row.cells[1] }}", "{{ row.cells[2] }}", "{{ row.cells[3] }}"],
        widths=[4.2, 2.0, 2.0, 2.0, 2.0],
        align="lrrrr",
    )

    _heading(doc, "Commentaire du chef de projet")
    doc.add_paragraph("{{ project.comment }}")

    _heading(doc, "Qualité des données")
    doc.add_paragraph("{%p if findings %}")
    doc.add_paragraph("Valeurs saisies que copil n’a pas pu utiliser ; à corriger dans SharePoint :")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if findings %}")
    _table(
        doc,
        ["Liste", "Colonne", "Valeur saisie", "Problème"],
        "for f in findings",
        ["{{ f.list_title }}", "{{ f.column }}", "{{ f.value }}", "{{ f.message }}"],
        widths=[3.0, 3.2, 3.6, 7.2],
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Aucune anomalie de saisie sur ce projet.")
    doc.add_paragraph("{%p endif %}")
    _heading(doc, "Documents récents")
    _table(
        doc,
        ["Document", "Modifié le"],
        "for d in documents",
        ["{{r d.link }}", "{{ d.modified }}"],
        widths=[13.5, 3.5],
        align="lr",
    )
    return doc


def _sheets(doc, title: str, var: str) -> None:
    """One sheet per territory or direction: its projects, then the works starting soon."""
    _heading(doc, title)
    doc.add_paragraph("{%p for t in " + var + " %}")
    _heading(doc, "{{ t.name }}", 2)
    doc.add_paragraph("{{ t.summary }}")
    _table(
        doc,
        ["Code", "Projet", "Phase", "Météo", "QPV", "Prochain jalon"],
        "for x in t.projects",
        [
            "{{ x.code }}",
            "{{ x.title }}",
            "{{ x.phase }}",
            "{% cellbg x.tint %}{{ x.weather }}",
            "{{ x.qpv }}",
            "{{ x.next }}",
        ],
        widths=[2.5, 5.0, 2.0, 1.9, 1.1, 4.5],
        size=8.5,
    )
    p = doc.add_paragraph()
    p.add_run("Démarrages de travaux dans les trois mois").bold = True
    _bullets(doc, "w", "t.works", "{{ t.works_note }}")
    doc.add_paragraph("{%p endfor %}")


def portfolio_template() -> Document:
    doc = _base("{{ edition.header }}")
    p = doc.add_paragraph()
    r = p.add_run("{{ collectivite }}")
    r.font.size, r.font.color.rgb = Pt(11), GREY
    doc.add_paragraph("Synthèse du portefeuille de projets", style="Title")
    doc.add_paragraph("{{ edition.line }} – exercice {{ year }} – précédent COPIL : {{ previous_date }}")
    p = doc.add_paragraph()
    p.add_run("{{ page1.counts_line }}").bold = True

    # Page 1: what to decide, where the money is at stake, what changed, the money messages.
    _heading(doc, "Décisions à prendre", 2)
    _table(
        doc,
        ["Échéance", "Projet", "Décision", "Élu référent"],
        "for d in page1.decisions",
        ["{{ d.deadline }}", "{{ d.code }} – {{ d.title }}", "{{ d.decision }}", "{{ d.elected_short }}"],
        widths=[2.0, 5.4, 6.4, 3.2],
        size=8.5,
    )
    _if_text(doc, "page1.decisions_more", italic=True)
    _if_text(doc, "page1.decisions_note")
    _heading(doc, "Projets les plus exposés", 2)
    _table(
        doc,
        ["Projet", "Météo", "AP votée", "Besoin de financement estimé", "Montants à risque", "Pourquoi"],
        "for x in page1.exposed",
        [
            "{{ x.code }} – {{ x.title }}",
            "{% cellbg x.tint %}{{ x.weather }}",
            "{{ x.ap }}",
            "{{ x.need }}",
            "{{ x.at_risk }}",
            "{{ x.reason }}",
        ],
        widths=[4.3, 1.4, 2.1, 2.4, 1.9, 4.9],
        align="llrrr",
        size=8,
    )
    _if_text(doc, "page1.exposed_note")
    _heading(doc, "{{ page1.since }}", 2)
    _bullets(doc, "c", "page1.changes", "")
    _heading(doc, "Messages financiers", 2)
    _bullets(doc, "m", "page1.money", "")

    _heading(doc, "Météo du portefeuille", new_page=True)
    _kv(
        doc,
        [
            (
                "Projets suivis",
                "{{ counts.total }} : {{ counts.running }} en cours, météo ci-dessous ; "
                "{{ counts.closed }} opérations closes, suivies pour leur solde",
            ),
            ("Soleil", "{{ counts.soleil }}"),
            ("Nuageux", "{{ counts.nuageux }}"),
            ("Orage", "{{ counts.orage }}"),
            ("Indéterminé (données manquantes)", "{{ counts.indetermine }}"),
            ("Anomalies de saisie", "{{ findings_count }}"),
        ],
    )
    doc.add_paragraph("{{ chart_weather }}")
    _heading(doc, "Totaux")
    _kv(
        doc,
        [
            ("AP votées", "{{ totals.ap_voted }}"),
            ("CP {{ year }}", "{{ totals.cp_year }}"),
            ("Engagé {{ year }}", "{{ totals.engaged_year }}"),
            ("Mandaté {{ year }}", "{{ totals.paid_year }}"),
            ("Exécution des CP {{ year }}", "{{ totals.execution_rate }}"),
            ("Subventions notifiées", "{{ totals.subsidies_notified }}"),
            ("Reste à mandater sur les AP (opérations en cours)", "{{ totals.remaining_to_pay }}"),
            ("AP dépassées", "{{ totals.overruns }}"),
            ("Projets sans AP valide", "{{ totals.without_ap }}"),
        ],
    )
    _note(doc, "{{ finance_source }}")
    _heading(doc, "Projets en alerte")
    _table(
        doc,
        ["Code", "Projet", "Direction", "Météo", "Motifs"],
        "for a in alerts",
        ["{{ a.code }}", "{{ a.title }}", "{{ a.direction }}", "{% cellbg a.tint %}{{ a.weather }}", "{{ a.reasons }}"],
        widths=[2.6, 3.8, 3.0, 2.2, 5.4],
    )
    _heading(doc, "Plus fortes évolutions {{ since }}")
    _if_text(doc, "movers_note")
    doc.add_paragraph("{%p if movers %}")
    _table(
        doc,
        ["Code", "Projet", "Tendance", "Avant", "Après", "Évolutions"],
        "for m in movers",
        [
            "{{ m.code }}",
            "{{ m.title }}",
            "{{ m.trend }}",
            "{{ m.before }}",
            "{% cellbg m.tint %}{{ m.after }}",
            "{{ m.changes }}",
        ],
        widths=[2.6, 3.6, 2.4, 2.2, 2.2, 4.0],
    )
    doc.add_paragraph("{%p endif %}")
    _heading(doc, "Toutes les décisions attendues")
    _table(
        doc,
        ["Échéance", "Code", "Projet", "Décision", "Élu référent"],
        "for d in decisions",
        ["{{ d.deadline }}", "{{ d.code }}", "{{ d.title }}", "{{ d.decision }}", "{{ d.elected }}"],
        widths=[2.0, 2.4, 3.8, 4.8, 4.0],
        size=8.5,
    )
    _heading(doc, "Relevé des décisions {{ since }}")
    _if_text(doc, "decided_note")
    doc.add_paragraph("{%p if decided %}")
    _table(
        doc,
        ["Date", "Code", "Décision", "Suite", "Relevé"],
        "for d in decided",
        ["{{ d.on }}", "{{ d.code }}", "{{ d.decision }}", "{{ d.status }}", "{{ d.outcome }}"],
        widths=[2.0, 2.4, 4.8, 2.2, 5.6],
        size=8.5,
    )
    doc.add_paragraph("{%p endif %}")
    _heading(doc, "Évolutions saisies {{ since }}")
    _if_text(doc, "evolutions_note")
    doc.add_paragraph("{%p if evolutions %}")
    _table(
        doc,
        ["Code", "Projet", "Modifications"],
        "for e in evolutions",
        ["{{ e.code }}", "{{ e.title }}", "{{ e.changes }}"],
        widths=[2.4, 4.2, 10.4],
        size=8.5,
    )
    doc.add_paragraph("{%p endif %}")

    # the closing of the previous year, from 1 January until the new year's figures are in
    doc.add_paragraph("{%p if closing.heading %}")
    _heading(doc, "{{ closing.heading }}")
    doc.add_paragraph("{{ closing.summary }}")
    t = _table(
        doc,
        ["Opération", "CP votés", "Mandatés", "Exéc.", "Non mandatés", "Restes à réaliser", "CP à réinscrire"],
        "for c in closing.rows",
        [
            "{{ c.code }} – {{ c.title }}",
            "{{ c.cp }}",
            "{{ c.paid }}",
            "{{ c.execution }}",
            "{{ c.unpaid }}",
            "{{ c.rar }}",
            "{{ c.revote }}",
        ],
        widths=[4.6, 2.2, 2.2, 1.2, 2.2, 2.3, 2.3],
        align="lrrrrrr",
        size=8,
    )
    _total_row(
        t,
        [
            "Total",
            "{{ closing.total.cp }}",
            "{{ closing.total.paid }}",
            "{{ closing.total.execution }}",
            "{{ closing.total.unpaid }}",
            "{{ closing.total.rar }}",
            "{{ closing.total.revote }}",
        ],
        "lrrrrrr",
        size=8,
    )
    _note(doc, "{{ closing.basis }}")
    doc.add_paragraph("{%p endif %}")

    _heading(doc, "AP/CP pluriannuel du PPI")
    _kv(
        doc,
        [
            ("AP votées (opérations en cours)", "{{ ppi.ap_voted }}"),
            ("Mandaté depuis l’origine (sur ces AP)", "{{ ppi.paid_total }}"),
            ("Reste à mandater sur les AP", "{{ ppi.remaining }}"),
            ("Soldes d’AP à annuler (opérations closes)", "{{ ppi.closed_balance }}"),
            ("CP {{ year }} (opérations en cours)", "{{ ppi.cp_year }}"),
            ("CP prévus après {{ year }} (jusqu’en {{ ppi.last_year }})", "{{ ppi.cp_after }}"),
            ("AP non couvertes par des CP (opérations en cours)", "{{ ppi.not_planned }}"),
            ("AP votées non affectées", "{{ ppi.unassigned }}"),
            ("Ratio de couverture (reste à mandater / CP {{ year }})", "{{ ppi.coverage }}"),
        ],
    )
    _table(
        doc,
        ["Exercice", "Opérations", "CP prévus", "Engagé", "Mandaté", "Exécution", "CP non mandatés"],
        "for y in ppi.years",
        [
            "{{ y.year }}",
            "{{ y.operations }}",
            "{{ y.cp_planned }}",
            "{{ y.engaged }}",
            "{{ y.paid }}",
            "{{ y.execution }}",
            "{{ y.unpaid }}",
        ],
        widths=[1.8, 1.9, 2.9, 2.9, 2.9, 1.8, 2.8],
        align="lrrrrrr",
        size=8.5,
    )

    _heading(doc, "Subventions par financeur")
    t = _table(
        doc,
        ["Financeur", "Opérations", "Sollicité", "Notifié", "Encaissé", "Reste à percevoir"],
        "for f in funders",
        [
            "{{ f.funder }}",
            "{{ f.operations }}",
            "{{ f.requested }}",
            "{{ f.notified }}",
            "{{ f.received }}",
            "{{ f.to_receive }}",
        ],
        widths=[3.4, 1.9, 2.9, 2.9, 2.9, 3.0],
        align="lrrrrr",
        size=8.5,
    )
    _total_row(
        t,
        [
            "{{ funders_total.funder }}",
            "{{ funders_total.operations }}",
            "{{ funders_total.requested }}",
            "{{ funders_total.notified }}",
            "{{ funders_total.received }}",
            "{{ funders_total.to_receive }}",
        ],
        "lrrrrr",
        size=8.5,
    )
    _heading(doc, "Calendrier des échéances DETR/DSIL", 2)
    _table(
        doc,
        ["Échéance", "Financeur", "Exigence", "Opération", "Reste à percevoir", "Situation"],
        "for s in subsidy_calendar",
        [
            "{{ s.date }}",
            "{{ s.funder }}",
            "{{ s.what }}",
            "{{ s.code }} – {{ s.title }}",
            "{{ s.to_receive }}",
            "{{ s.status }}",
        ],
        widths=[2.0, 2.4, 2.0, 5.0, 2.4, 3.2],
        align="llllr",
        size=8.5,
    )

    _heading(doc, "Politique de la ville")
    doc.add_paragraph("{{ urban.summary }}")
    doc.add_paragraph("{%p if urban.projects %}")
    _table(
        doc,
        ["Code", "Projet", "Quartier prioritaire", "Dispositif", "AP votée", "Météo"],
        "for q in urban.projects",
        [
            "{{ q.code }}",
            "{{ q.title }}",
            "{{ q.qpv }}",
            "{{ q.scheme }}",
            "{{ q.ap }}",
            "{% cellbg q.tint %}{{ q.weather }}",
        ],
        widths=[2.5, 4.6, 3.6, 2.2, 2.3, 1.8],
        align="llllr",
        size=8.5,
    )
    doc.add_paragraph("{%p endif %}")

    _heading(doc, "Agenda des élus : les trois prochains mois")
    _table(
        doc,
        ["Date", "Événement", "Opération", "Élu référent", "Territoire"],
        "for e in agenda",
        ["{{ e.date }}", "{{ e.event }}", "{{ e.code }} – {{ e.title }}", "{{ e.elected }}", "{{ e.territory }}"],
        widths=[2.0, 3.6, 5.0, 4.2, 2.2],
        size=8.5,
    )

    for title, var in (
        ("Par direction", "by_direction"),
        ("Par territoire", "by_territory"),
        ("Par politique publique", "by_policy"),
    ):
        _heading(doc, title)
        # météo of the running operations (they add up to page 1's counts), closed ones apart
        _table(
            doc,
            [
                "",
                "En cours",
                "Soleil",
                "Nuageux",
                "Orage",
                "Indét.",
                "Closes",
                "AP votées",
                "CP {{ year }}",
                "Exécution",
            ],
            f"for x in {var}",
            [
                "{{ x.name }}",
                "{{ x.running }}",
                "{{ x.soleil }}",
                "{{ x.nuageux }}",
                "{{ x.orage }}",
                "{{ x.indetermine }}",
                "{{ x.closed }}",
                "{{ x.ap_voted }}",
                "{{ x.cp_year }}",
                "{{ x.execution }}",
            ],
            widths=[3.4, 1.3, 1.2, 1.4, 1.2, 1.1, 1.2, 2.3, 2.3, 1.6],
            align="lrrrrrrrrr",
            size=8.5,
        )
        if var == "by_direction":
            doc.add_paragraph("{{ chart_execution }}")
            _sheets(doc, "Fiches par direction", "directions")
        if var == "by_territory":
            _sheets(doc, "Fiches par territoire", "territories")
    _heading(doc, "Opérations closes")
    doc.add_paragraph("{%p if closed %}")
    _table(
        doc,
        ["Code", "Opération", "AP votée", "Mandaté", "Solde de l’AP", "Subventions à solder", "DGD"],
        "for c in closed",
        [
            "{{ c.code }}",
            "{{ c.title }}",
            "{{ c.ap_voted }}",
            "{{ c.paid_total }}",
            "{{ c.balance }}",
            "{{ c.subsidies_to_claim }}",
            "{{ c.dgd }}",
        ],
        widths=[2.2, 3.5, 2.3, 2.2, 2.7, 1.9, 2.2],
        align="llrrrr",
        size=8.5,
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Aucune opération close.")
    doc.add_paragraph("{%p endif %}")

    _heading(doc, "Qualité des données par chef de projet")
    doc.add_paragraph("{%p if not findings_by_manager %}")
    doc.add_paragraph("Aucune anomalie de saisie.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for g in findings_by_manager %}")
    _heading(doc, "{{ g.manager }} – {{ g.count }}", 2)
    _table(
        doc,
        ["Projet", "Liste", "Colonne", "Valeur saisie", "Problème", "Élément"],
        "for f in g.findings",
        ["{{ f.code }}", "{{ f.list_title }}", "{{ f.column }}", "{{ f.value }}", "{{ f.message }}", "{{r f.link }}"],
        widths=[2.3, 2.0, 2.4, 2.6, 6.1, 1.6],
        size=8,
    )
    doc.add_paragraph("{%p endfor %}")
    return doc


def build(out_dir: Path = HERE) -> None:
    project_template().save(out_dir / "rapport_copil.docx")
    portfolio_template().save(out_dir / "synthese_portefeuille.docx")


if __name__ == "__main__":
    build()
    print(f"modèles écrits dans {HERE}")
