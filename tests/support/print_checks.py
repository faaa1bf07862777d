"""What a printed report must satisfy, read from the .docx itself (python-docx and lxml, no
LibreOffice): used by the print tests on the demo's reports and on a 1,000-project sample."""

from __future__ import annotations

import io
import re

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm

A4 = (Cm(21.0), Cm(29.7))
TOLERANCE = Cm(0.1)
NOT_A_VALUE = re.compile(r"\b(nan|NaN|NAN|None|NaT|null|undefined)\b")
# a hyphen-minus used as a minus sign: a figure after a space, a parenthesis or the start (not
# a code like PPI-2024, a range, or a name a person chose such as « Lot-4 »)
HYPHEN_MINUS = re.compile(r"(?:^|(?<=[\s(]))-\s?\d")
FALLBACK_GLYPHS = re.compile("[☀☁⚡⛅⛈☂❄]")  # what copil once printed for the météo (staff text may hold emoji)
_DOCPR = (qn("wp:inline"), qn("wp:anchor"))


def texts(doc) -> list[str]:
    """Every paragraph of the body (tables included), headers and footers."""
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        out += [c.text for r in t.rows for c in r.cells]
    for s in doc.sections:
        out += [p.text for p in s.header.paragraphs] + [p.text for p in s.footer.paragraphs]
    return out


def _is_header_row(row) -> bool:
    tr_pr = row._tr.trPr
    return tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None


def _is_label_table(table) -> bool:
    """Label / value rows (no header): each row but the last kept with the next."""
    if len(table.columns) != 2:
        return False
    return all(p.paragraph_format.keep_with_next for r in list(table.rows)[:-1] for p in r.cells[0].paragraphs)


def _without(text: str, names) -> str:
    for n in names:
        text = text.replace(n, "")
    return text


def problems(data: bytes, *, author: str | None = None, names=()) -> list[str]:
    """Every print defect found in one report, in French-free plain words for the test output.
    `names`: list and column names the site chose (a column may be called « null »): shown
    as typed, so not mistaken for a missing value."""
    chosen = sorted((n for n in names if n and NOT_A_VALUE.search(n)), key=len, reverse=True)
    doc = Document(io.BytesIO(data))
    found: list[str] = []
    for s in doc.sections:
        if abs(s.page_width - A4[0]) > TOLERANCE or abs(s.page_height - A4[1]) > TOLERANCE:
            found.append(f"page size {s.page_width.cm:.1f} x {s.page_height.cm:.1f} cm, not A4")
    sec = doc.sections[0]
    text_width = sec.page_width - sec.left_margin - sec.right_margin

    styles = doc.styles.element
    default = styles.find(qn("w:docDefaults"))
    langs = [el.get(qn("w:val")) for el in styles.iter(qn("w:lang"))]
    default_lang = default.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}") if default is not None else None
    if default_lang is None or default_lang.get(qn("w:val")) != "fr-FR":
        found.append("default language is not fr-FR")
    if any(v != "fr-FR" for v in langs):
        found.append(f"styles with another language: {sorted(set(langs) - {'fr-FR'})}")
    if any(el.get(qn("w:val")) not in (None, "fr-FR") for el in doc.element.body.iter(qn("w:lang"))):
        found.append("runs marked in another language than fr-FR")

    props = doc.core_properties
    if not props.title or not props.subject:
        found.append("no title or subject in the document properties")
    if author is not None and props.author.replace("’", "'") != author.replace("’", "'"):
        found.append(f"author is {props.author!r}, not the collectivité")
    if (props.last_modified_by or "").lower() == "python-docx" or (props.created and props.created.year < 2020):
        found.append(f"stock properties left: {props.last_modified_by!r}, created {props.created}")

    for n, table in enumerate(doc.tables):
        rows = list(table.rows)
        if len(rows) > 1 and not (_is_header_row(rows[0]) or _is_label_table(table)):
            found.append(f"table {n} ({rows[0].cells[0].text!r}): header row not repeated on the next page")
        for r in rows:
            tr_pr = r._tr.trPr
            if tr_pr is None or tr_pr.find(qn("w:cantSplit")) is None:
                found.append(f"table {n} ({rows[0].cells[0].text!r}): a row may split across pages")
                break
        grid = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid.iter(qn("w:gridCol"))]
        if not grid or any(w <= 0 for w in grid):
            found.append(f"table {n}: no explicit column widths")
        elif sum(grid) * 635 > text_width + TOLERANCE:  # twips -> EMU
            found.append(
                f"table {n}: {sum(grid) / 567:.1f} cm wide, wider than the text ({text_width / 360000:.1f} cm)"
            )

    for style in ("Heading 1", "Heading 2"):
        if style in [s.name for s in doc.styles] and not doc.styles[style].paragraph_format.keep_with_next:
            found.append(f"{style} is not kept with the next paragraph")

    parts = [doc.part] + [s.header.part for s in doc.sections] + [s.footer.part for s in doc.sections]
    for part in parts:
        for inline in part.element.iter(*_DOCPR):
            pr = inline.find(qn("wp:docPr"))
            if pr is None or not (pr.get("descr") or "").strip():
                found.append("a picture without alternative text")
    footer_fields = " ".join(el.text or "" for s in doc.sections for el in s.footer._element.iter(qn("w:instrText")))
    footer_fields += " ".join(
        el.get(qn("w:instr")) or "" for s in doc.sections for el in s.footer._element.iter(qn("w:fldSimple"))
    )
    if "PAGE" not in footer_fields:
        found.append("no page number (PAGE field) in the footer")

    for t in texts(doc):
        if m := NOT_A_VALUE.search(_without(t, chosen)):
            found.append(f"{m.group(0)!r} printed: {t[:80]!r}")
        if m := HYPHEN_MINUS.search(t):
            found.append(f"hyphen-minus before a figure: {t[max(m.start() - 20, 0) : m.end() + 20]!r}")
        if "'" in t:
            found.append(f"straight apostrophe: {t[:80]!r}")
        if m := FALLBACK_GLYPHS.search(t):  # ☀ ☁ ⚡ printed as a snowflake where the font lacks them
            found.append(f"symbol that depends on font fallback: {m.group(0)!r} in {t[:60]!r}")
    return found
