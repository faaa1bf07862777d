"""Native charts into a .docx while docxtpl renders it: a chart placeholder (« {{ chart_budget }} »)
becomes an inline drawing that points to a chart part (/word/charts/chartN.xml), which points to
its workbook (/word/embeddings/Microsoft_Excel_WorksheetN.xlsx) — the layout Word itself writes,
so « Modifier les données » works. python-docx has no chart API (its issue 179): the parts are
added as plain parts of the package. A placeholder without a chart (no milestone typed) becomes
its message as text."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.shared import Mm

from connector.reports.charts import NativeChart

CHART_PART = "/word/charts/chart%d.xml"
WORKBOOK_PART = "/word/embeddings/Microsoft_Excel_Worksheet%d.xlsx"
_NS = (
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)
_EXTERNAL = b'<c:externalData r:id="%s"><c:autoUpdate val="0"/></c:externalData>'  # Word's place: the end of chartSpace


class ChartRun:
    """What the template's placeholder renders to (docxtpl calls __html__ under autoescape)."""

    def __init__(self, tpl, chart: NativeChart | None, message: str = ""):
        self.tpl, self.chart, self.message = tpl, chart, message

    def __html__(self) -> str:
        if self.chart is None:
            return escape(self.message)
        part = self.tpl.current_rendering_part
        rid = part.relate_to(add_chart_part(part.package, self.chart), RT.CHART)
        # the drawings rendered so far are still text, not in the part's XML: count them here
        shape_id = max(part.next_id, getattr(self.tpl, "_copil_next_shape", 0))
        self.tpl._copil_next_shape = shape_id + 1
        drawing = inline_xml(rid, shape_id, self.chart)
        return f'</w:t></w:r><w:r><w:drawing>{drawing}</w:drawing></w:r><w:r><w:t xml:space="preserve">'

    __str__ = __html__


def add_chart_part(package, chart: NativeChart) -> Part:
    partname = package.next_partname(CHART_PART)
    workbook = Part(package.next_partname(WORKBOOK_PART), CT.SML_SHEET, chart.workbook, package)
    part = Part(PackURI(partname), CT.DML_CHART, b"", package)
    wid = part.relate_to(workbook, RT.PACKAGE)
    # the workbook's relationship id is known only now: appended as the chart space's last child
    xml = chart.xml.rstrip()
    close = xml.rindex(b"</c:chartSpace>")
    part._blob = xml[:close] + _EXTERNAL % wid.encode() + xml[close:]
    return part


def inline_xml(rid: str, shape_id: int, chart: NativeChart) -> str:
    cx, cy = Mm(chart.width_mm), Mm(chart.height_mm)
    title = chart.alt.split(" : ")[0][:120]
    return (
        f'<wp:inline distT="0" distB="0" distL="0" distR="0" {_NS}>'
        f'<wp:extent cx="{int(cx)}" cy="{int(cy)}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f'<wp:docPr id="{shape_id}" name="Graphique {shape_id}" descr={quoteattr(chart.alt)} title={quoteattr(title)}/>'
        "<wp:cNvGraphicFramePr/>"
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        f'<c:chart r:id="{rid}"/></a:graphicData></a:graphic></wp:inline>'
    )
