"""Builds the two default Word templates with python-docx. Staff may then edit the .docx files
in Word (fonts, logo, wording, layout); keep the {{ ... }} and {%tr ... %} tags.

    python docx_templates/build_templates.py
"""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
ACCENT = RGBColor(0x00, 0x4B, 0x87)


def _base() -> Document:
    doc = Document()
    st = doc.styles["Normal"]
    st.font.name = "Calibri"
    st.font.size = Pt(10)
    for name, size in (("Title", 24), ("Heading 1", 14), ("Heading 2", 11)):
        doc.styles[name].font.color.rgb = ACCENT
        doc.styles[name].font.size = Pt(size)
    sec = doc.sections[0]
    sec.left_margin = sec.right_margin = Pt(56)
    footer = sec.footer.paragraphs[0]
    footer.text = "{{ collectivite }} – document généré par copil à partir des listes SharePoint – {{ copil_date }}"
    footer.runs[0].font.size = Pt(8)
    return doc


def _shade(cell, hex_fill: str) -> None:
    tc = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_fill)
    tc.append(shd)


def _table(doc, headers: list[str], loop: str, cells: list[str], widths=None):
    """Header row, then a docxtpl row loop: `{%tr for ... %}` / data row / `{%tr endfor %}`."""
    t = doc.add_table(rows=4, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, h in enumerate(headers):
        c = t.rows[0].cells[i]
        c.text = h
        c.paragraphs[0].runs[0].font.bold = True
        c.paragraphs[0].runs[0].font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
        _shade(c, "004B87")
    t.rows[1].cells[0].text = "{%tr " + loop + " %}"
    for i, v in enumerate(cells):
        t.rows[2].cells[i].text = v
        for run in t.rows[2].cells[i].paragraphs[0].runs:
            run.font.size = Pt(9)
    t.rows[3].cells[0].text = "{%tr endfor %}"
    if widths:   # Word reads the cell widths, LibreOffice the table grid: set both
        t.autofit = False
        for col, w in zip(t.columns, widths):
            col.width = Cm(w)
        for row in t.rows:
            for cell, w in zip(row.cells, widths):
                cell.width = Cm(w)
    doc.add_paragraph()
    return t


def _kv(doc, rows: list[tuple[str, str]]):
    t = doc.add_table(rows=len(rows), cols=2)
    t.style = "Table Grid"
    for i, (k, v) in enumerate(rows):
        t.rows[i].cells[0].text = k
        t.rows[i].cells[0].paragraphs[0].runs[0].font.bold = True
        _shade(t.rows[i].cells[0], "E8EEF5")
        t.rows[i].cells[1].text = v
    doc.add_paragraph()


def _bullets(doc, loop_var: str, source: str, empty: str):
    doc.add_paragraph("{%p for " + loop_var + " in " + source + " %}")
    doc.add_paragraph("{{ " + loop_var + " }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not " + source + " %}")
    doc.add_paragraph(empty)
    doc.add_paragraph("{%p endif %}")


def project_template() -> Document:
    doc = _base()
    p = doc.add_paragraph("{{ collectivite }}")
    p.runs[0].font.size = Pt(14)
    doc.add_paragraph("Comité de pilotage", style="Title")
    p = doc.add_paragraph("{{ project.title }}")
    p.runs[0].font.size = Pt(18)
    p.runs[0].font.bold = True
    doc.add_paragraph("Opération {{ project.code }} – {{ project.direction }} – {{ project.territory }}")
    doc.add_paragraph("COPIL du {{ copil_date }}")
    doc.add_paragraph("{{r weather_badge }}").alignment = WD_ALIGN_PARAGRAPH.LEFT
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    doc.add_heading("Synthèse", level=1)
    _kv(doc, [("Météo calculée", "{{ weather.symbol }} {{ weather.computed }}"),
              ("Météo du chef de projet", "{{ weather.manual_symbol }} {{ weather.manual }}"),
              ("Tendance depuis le dernier COPIL", "{{ weather.trend }} (précédente : {{ weather.previous }})"),
              ("Phase", "{{ project.phase }}"), ("Chef de projet", "{{ project.manager }}"),
              ("Élu référent", "{{ project.elected }}"), ("Politique publique", "{{ project.policy }}"),
              ("Maîtrise d'ouvrage", "{{ project.owner }}")])
    doc.add_heading("Motifs de la météo", level=2)
    _bullets(doc, "r", "weather.reasons", "Aucun motif.")
    doc.add_heading("Évolutions depuis le dernier COPIL", level=2)
    _bullets(doc, "c", "weather.changes", "Pas d'évolution notable.")
    doc.add_heading("Alertes", level=2)
    _bullets(doc, "a", "weather.alerts", "Aucune alerte.")

    doc.add_heading("Chiffres clés", level=1)
    _kv(doc, [("AP votée", "{{ figures.ap_voted }}"), ("CP {{ year }}", "{{ figures.cp_year }}"),
              ("Engagé {{ year }}", "{{ figures.engaged_year }}"), ("Mandaté {{ year }}", "{{ figures.paid_year }}"),
              ("Exécution des CP {{ year }}", "{{ figures.cp_execution_rate }}"),
              ("Taux d'engagement de l'AP", "{{ figures.commitment_rate }}"),
              ("Consommation de l'AP", "{{ figures.ap_consumption }}"),
              ("Reste à mandater sur l'AP", "{{ figures.remaining_to_pay }}"),
              ("Subventions notifiées", "{{ figures.subsidies_notified }}"),
              ("Part d'autofinancement", "{{ figures.self_funding_share }}"),
              ("Avancement physique", "{{ project.progress }}"),
              ("Fin prévue initiale / prévisionnelle", "{{ project.baseline_end }} / {{ project.forecast_end }}"),
              ("Glissement", "{{ figures.slippage }}"), ("Prochain jalon", "{{ figures.next_milestone }}")])

    doc.add_page_break()
    doc.add_heading("Jalons", level=1)
    _table(doc, ["Jalon", "Phase", "Date initiale", "Date prévue", "Date réelle", "Glissement", "État"],
           "for m in milestones", ["{{ m.title }}", "{{ m.phase }}", "{{ m.baseline }}", "{{ m.forecast }}",
                                   "{{ m.actual }}", "{{ m.slippage }}", "{{ m.status }}"])
    doc.add_paragraph("{{ chart_timeline }}")

    doc.add_heading("Budget AP/CP", level=1)
    _table(doc, ["Exercice", "CP prévus", "Engagé", "Mandaté", "Exécution"], "for b in budget",
           ["{{ b.year }}", "{{ b.cp_planned }}", "{{ b.engaged }}", "{{ b.paid }}", "{{ b.execution }}"])
    doc.add_paragraph("{{ chart_budget }}")

    doc.add_heading("Subventions", level=1)
    _table(doc, ["Financeur", "Sollicité", "Notifié", "Encaissé", "Notification", "Échéances"], "for s in subsidies",
           ["{{ s.funder }}", "{{ s.requested }}", "{{ s.notified }}", "{{ s.received }}", "{{ s.notified_on }}",
            "{{ s.deadline }}"])

    doc.add_heading("Marchés et avenants", level=1)
    _table(doc, ["Marché", "Type", "Titulaire", "Montant initial HT", "Avenants", "Cumul", "Seuil", "Situation"],
           "for c in contracts", ["{{ c.number }}", "{{ c.kind }}", "{{ c.holder }}", "{{ c.initial }}",
                                  "{{ c.amendments_count }} ({{ c.amendments_total }})", "{{ c.rate }}",
                                  "{{ c.limit }}", "{{ c.status }}"])

    doc.add_heading("Risques", level=1)
    _table(doc, ["Risque", "Probabilité", "Impact", "Criticité", "Statut", "Mesures"], "for r in risks",
           ["{{ r.title }}", "{{ r.probability }}", "{{ r.impact }}", "{{ r.criticality }}", "{{ r.status }}",
            "{{ r.mitigation }}"])
    doc.add_heading("Matrice de criticité (risques ouverts)", level=2)
    _table(doc, ["Impact \\ Probabilité", "1", "2", "3", "4"], "for row in risk_matrix",
           ["{{ row.impact }}", "{{ row.cells[0] }}", "{{ row.cells[1] }}", "{{ row.cells[2] }}", "{{ row.cells[3] }}"])

    doc.add_heading("Décisions attendues", level=1)
    _bullets(doc, "d", "project.decisions", "Aucune décision attendue.")
    doc.add_heading("Commentaire du chef de projet", level=2)
    doc.add_paragraph("{{ project.comment }}")

    doc.add_heading("Qualité des données", level=1)
    doc.add_paragraph("{%p if findings %}")
    doc.add_paragraph("Valeurs saisies que copil n'a pas pu utiliser ; à corriger dans SharePoint :")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if findings %}")
    _table(doc, ["Liste", "Colonne", "Valeur saisie", "Problème"], "for f in findings",
           ["{{ f.list_title }}", "{{ f.column }}", "{{ f.value }}", "{{ f.message }}"], widths=[3, 3.5, 3.5, 7.7])
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Aucune anomalie de saisie sur ce projet.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading("Documents récents", level=1)
    _table(doc, ["Document", "Modifié le"], "for d in documents", ["{{r d.link }}", "{{ d.modified }}"])
    return doc


def portfolio_template() -> Document:
    doc = _base()
    p = doc.add_paragraph("{{ collectivite }}")
    p.runs[0].font.size = Pt(14)
    doc.add_paragraph("Synthèse du portefeuille de projets", style="Title")
    doc.add_paragraph("Situation au {{ copil_date }} – exercice {{ year }}")
    doc.add_heading("Météo du portefeuille", level=1)
    _kv(doc, [("Projets suivis", "{{ counts.total }}"), ("☀ Soleil", "{{ counts.soleil }}"),
              ("☁ Nuageux", "{{ counts.nuageux }}"), ("⚡ Orage", "{{ counts.orage }}"),
              ("? Indéterminé", "{{ counts.indetermine }}"), ("Anomalies de saisie", "{{ findings_count }}")])
    doc.add_paragraph("{{ chart_weather }}")
    doc.add_heading("Totaux", level=1)
    _kv(doc, [("AP votées", "{{ totals.ap_voted }}"), ("CP {{ year }}", "{{ totals.cp_year }}"),
              ("Engagé {{ year }}", "{{ totals.engaged_year }}"), ("Mandaté {{ year }}", "{{ totals.paid_year }}"),
              ("Exécution des CP {{ year }}", "{{ totals.execution_rate }}"),
              ("Subventions notifiées", "{{ totals.subsidies_notified }}"),
              ("Reste à mandater sur les AP", "{{ totals.remaining_to_pay }}")])
    doc.add_heading("Projets en alerte", level=1)
    _table(doc, ["Code", "Projet", "Direction", "Météo", "Motifs"], "for a in alerts",
           ["{{ a.code }}", "{{ a.title }}", "{{ a.direction }}", "{{ a.symbol }} {{ a.weather }}", "{{ a.reasons }}"],
           widths=[2.3, 3.4, 2.8, 2.6, 6.6])
    doc.add_heading("Plus fortes évolutions depuis le dernier COPIL", level=1)
    doc.add_paragraph("{%p if not movers %}")
    doc.add_paragraph("Pas de changement de météo depuis le dernier COPIL.")
    doc.add_paragraph("{%p endif %}")
    _table(doc, ["Code", "Projet", "Tendance", "Avant", "Après", "Évolutions"], "for m in movers",
           ["{{ m.code }}", "{{ m.title }}", "{{ m.trend }}", "{{ m.before }}", "{{ m.after }}", "{{ m.changes }}"],
           widths=[2.3, 3.6, 2.4, 1.8, 1.8, 5.8])
    for title, var in (("Par direction", "by_direction"), ("Par territoire", "by_territory"),
                       ("Par politique publique", "by_policy")):
        doc.add_heading(title, level=1)
        _table(doc, ["", "Projets", "☀", "☁", "⚡", "?", "AP votées", "CP {{ year }}", "Mandaté", "Exécution"],
               f"for x in {var}", ["{{ x.name }}", "{{ x.projects }}", "{{ x.soleil }}", "{{ x.nuageux }}",
                                   "{{ x.orage }}", "{{ x.indetermine }}", "{{ x.ap_voted }}", "{{ x.cp_year }}",
                                   "{{ x.paid_year }}", "{{ x.execution }}"])
        if var == "by_direction":
            doc.add_paragraph("{{ chart_execution }}")
    return doc


def build(out_dir: Path = HERE) -> None:
    project_template().save(out_dir / "rapport_copil.docx")
    portfolio_template().save(out_dir / "synthese_portefeuille.docx")


if __name__ == "__main__":
    build()
    print(f"modèles écrits dans {HERE}")
