"""The finishing pass on a rendered report, whatever the template: French language, document
properties that name the collectivité and the COPIL, alternative text on every picture a
template brings (RGAA; the charts carry theirs from connector.reports.native), table rows that do
not split across pages."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

LANG = "fr-FR"


def finish(doc, *, title: str, subject: str, author: str, copil_date: date, keywords: str) -> None:
    _properties(doc, title=title, subject=subject, author=author, copil_date=copil_date, keywords=keywords)
    _language(doc)
    _alt_texts(doc)
    for table in doc.tables:
        _table_flow(table)


def _properties(doc, *, title, subject, author, copil_date, keywords) -> None:
    p = doc.core_properties
    when = datetime.combine(copil_date, time(0, 0), timezone.utc).replace(tzinfo=None)
    p.title, p.subject, p.author, p.keywords = title[:250], subject[:250], author[:250], keywords[:250]
    p.last_modified_by, p.language, p.category = "copil", LANG, "Rapport de pilotage"
    p.comments, p.revision = "Document généré par copil à partir des listes SharePoint.", 1
    p.created = p.modified = when


def _language(doc) -> None:
    """fr-FR on the defaults and every style, so Word spell-checks the French as French."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    if rpr.find(qn("w:lang")) is None:
        rpr.append(OxmlElement("w:lang"))
    for lang in styles.iter(qn("w:lang")):
        lang.set(qn("w:val"), LANG)
    for lang in doc.element.body.iter(qn("w:lang")):  # runs a template author marked en-US
        lang.set(qn("w:val"), LANG)
    settings = doc.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), LANG)


def _alt_texts(doc) -> None:
    parts = [doc.part] + [s.header.part for s in doc.sections] + [s.footer.part for s in doc.sections]
    for part in parts:
        for inline in part.element.iter(qn("wp:inline"), qn("wp:anchor")):
            doc_pr = inline.find(qn("wp:docPr"))
            if doc_pr is None:
                continue
            if not doc_pr.get("descr"):  # a logo from the template: say what it is rather than nothing
                doc_pr.set("descr", doc_pr.get("name") or "image")


def _table_flow(table) -> None:
    """No row split across pages, on every table (header rows are the template's to mark)."""
    for row in table.rows:
        tr_pr = row._tr.get_or_add_trPr()
        if tr_pr.find(qn("w:cantSplit")) is None:  # schema order: before trHeight, tblHeader, jc…
            later = [c for c in tr_pr if c.tag in _AFTER_CANT_SPLIT]
            node = OxmlElement("w:cantSplit")
            later[0].addprevious(node) if later else tr_pr.append(node)


_AFTER_CANT_SPLIT = {
    qn(f"w:{t}") for t in ("trHeight", "tblHeader", "tblCellSpacing", "jc", "hidden", "ins", "del", "trPrChange")
}
