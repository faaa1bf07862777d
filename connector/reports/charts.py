"""Charts for the reports as native Word charts (DrawingML chart parts with their data), so a
project office can fix a label or a colour in Word before a COPIL (« Modifier les données » opens
the embedded workbook). French labels, the unit stated once in the title (k€, M€, millions of
F CFP), values on the bars, explicit colours (LibreOffice ignores the theme's), and a text
alternative for each (RGAA).

python-pptx writes the chart XML (with the cached categories and values Word and LibreOffice draw
from) and the workbook; connector.reports.native puts them into the .docx. A chart here is only
a `NativeChart`: its XML, its workbook, its size and its text alternative — plain bytes and
strings, cheap to send back from a worker process."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from lxml import etree
from pptx.chart.chart import Chart
from pptx.chart.data import CategoryChartData
from pptx.chart.xmlwriter import ChartXmlWriter
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.oxml import parse_xml
from pptx.util import Pt

from connector.model import MilestoneStatus, Weather, zero_if_missing
from connector.parse import parse_text
from connector.reports.formatting import fr_amount, short_date

BLUE, ORANGE, GREY, RED, GREEN = "0072B2", "E69F00", "8C8C8C", "B71C1C", "1B7A3A"
LIGHT, PINK = "C8C8C8", "F2B8B8"  # a slip, a delay: lighter than the marks they lead to
FONT = "Calibri"  # the templates' font; LibreOffice draws it with Carlito (same metrics)
_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of a workbook's dates (the 1900 leap-year bug included)


@dataclass(frozen=True)
class NativeChart:
    """A chart ready to be put into a document: `xml` the chart part, `workbook` its data."""

    xml: bytes
    workbook: bytes
    width_mm: float
    height_mm: float
    alt: str


def _val(v) -> float:
    return zero_if_missing(v)


def scale(values, currency: str = "EUR") -> tuple[float, str, int]:
    """(divisor, unit, decimals) so that amounts read in a handful of digits: M€ from a million,
    k€ below; F CFP always in millions, as XPF budgets are voted."""
    top = max((abs(_val(v)) for v in values), default=0)
    if currency == "XPF":
        return 1e6, "millions de F CFP", 1
    unit = "€" if currency == "EUR" else currency
    if top >= 1e6:  # 1,43 M€ below ten millions, 12,4 M€ above
        return 1e6, f"M{unit}" if currency == "EUR" else f"millions de {unit}", 2 if top < 1e7 else 1
    return 1e3, f"k{unit}" if currency == "EUR" else f"milliers de {unit}", 0


def _number_format(decimals: int) -> str:
    """An Excel number format; Word and LibreOffice show it with the document's French separators."""
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def _label(text, limit: int = 40) -> str:
    """A category as the chart writes it: what the lists hold is untrusted (a control character
    pasted into a title makes the chart's XML unreadable), so it goes through the text parser."""
    text = (parse_text(text) or "(sans titre)").replace("'", "’").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _build(chart_type, data: CategoryChartData) -> tuple[Chart, object]:
    space = parse_xml(ChartXmlWriter(chart_type, data).xml.encode("utf-8"))
    chart = Chart(space, None)  # the object model over the XML; no presentation behind it
    chart.font.size = Pt(8)
    chart.font.name = FONT
    return chart, space


def _title(chart: Chart, text: str) -> None:
    chart.has_title = True
    frame = chart.chart_title.text_frame
    frame.text = text
    run = frame.paragraphs[0].runs[0]
    run.font.size, run.font.bold, run.font.name = Pt(10), True, FONT
    # python-pptx leaves <c:overlay> out: LibreOffice then lays the title over the plot
    title = chart._chartSpace.chart.find(f"{{{_C}}}title")
    if title.find(f"{{{_C}}}overlay") is None:
        etree.SubElement(title, f"{{{_C}}}overlay").set("val", "0")


def _fill(fmt, colour: str | None) -> None:
    if colour is None:
        fmt.fill.background()  # no fill: the offset of a floating bar
        fmt.line.fill.background()
    else:
        fmt.fill.solid()
        fmt.fill.fore_color.rgb = RGBColor.from_string(colour)


def _legend(chart: Chart, hidden: tuple[int, ...] = ()) -> None:
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.legend.font.size = Pt(8)
    legend = chart._chartSpace.chart.find(f"{{{_C}}}legend")
    pos = legend.find(f"{{{_C}}}legendPos")
    for idx in sorted(hidden, reverse=True):  # schema order: legendPos, legendEntry*, layout…
        entry = etree.Element(f"{{{_C}}}legendEntry")
        etree.SubElement(entry, f"{{{_C}}}idx").set("val", str(idx))
        etree.SubElement(entry, f"{{{_C}}}delete").set("val", "1")
        pos.addnext(entry)


def _gridlines(axis) -> None:
    axis.has_major_gridlines = True
    axis.major_gridlines.format.line.color.rgb = RGBColor.from_string("E0E0E0")


def _value_labels(series, number_format: str, position=XL_LABEL_POSITION.OUTSIDE_END) -> None:
    labels = series.data_labels
    labels.show_value = True
    labels.number_format = number_format
    labels.number_format_is_linked = False
    labels.position = position
    labels.font.size = Pt(7)


def _bar(v, div: float, decimals: int) -> float | None:
    """An amount in the chart's unit; none (no bar, no « 0,00 » written over nothing) when nobody
    typed it or it is nil: a future year's engaged and paid."""
    amount = _val(v)
    return round(amount / div, decimals + 2) if amount else None


def _finish(space, width_mm: float, height_mm: float, alt: str, data: CategoryChartData) -> NativeChart:
    # rounded corners off (Word's default), and the workbook written by python-pptx (XlsxWriter)
    # French number formats (decimal comma) in Word and LibreOffice, square corners
    lang, rounded = etree.Element(f"{{{_C}}}lang"), etree.Element(f"{{{_C}}}roundedCorners")
    lang.set("val", "fr-FR")
    rounded.set("val", "0")
    first = space.find(f"{{{_C}}}date1904")  # schema order: date1904, lang, roundedCorners…
    if first is None:
        space.insert(0, lang)
    else:
        first.addnext(lang)
    lang.addnext(rounded)
    xml = etree.tostring(space, xml_declaration=True, encoding="UTF-8", standalone=True)
    return NativeChart(xml, data.xlsx_blob, width_mm, height_mm, alt)


def budget_chart(rows: list[dict], currency: str = "EUR") -> NativeChart:
    """CP planned vs engaged vs paid per year: clustered columns."""
    series = (("cp_planned", "CP prévus", GREY), ("engaged", "Engagé", ORANGE), ("paid", "Mandaté", BLUE))
    div, unit, dec = scale([r[k] for r in rows for k, *_ in series], currency)
    fmt = _number_format(dec)
    data = CategoryChartData(number_format=fmt)
    data.categories = [str(r["year"]) for r in rows]
    for key, name, _ in series:
        data.add_series(name, [_bar(r[key], div, dec) for r in rows])
    chart, space = _build(XL_CHART_TYPE.COLUMN_CLUSTERED, data)
    _title(chart, f"Crédits de paiement par exercice (en {unit})")
    plot = chart.plots[0]
    plot.gap_width, plot.overlap = 60, 0
    for s, (_, _, colour) in zip(plot.series, series):
        _fill(s.format, colour)
        _value_labels(s, fmt)
    axis = chart.value_axis
    _gridlines(axis)
    axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = fmt, False
    axis.has_title = True
    axis.axis_title.text_frame.text = f"en {unit}"
    axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = Pt(8)
    _legend(chart)
    alt = (
        "Graphique des crédits de paiement par exercice : "
        + " ; ".join(
            f"{r['year']} : CP prévus {fr_amount(r['cp_planned'], currency)}, engagé {fr_amount(r['engaged'], currency)}, "
            f"mandaté {fr_amount(r['paid'], currency)}"
            for r in rows
        )
        + "."
    )
    return _finish(space, 150, 75, alt, data)


def _serial(d: date) -> float:
    return float((d - EXCEL_EPOCH).days)


def _months(first: date, last: date) -> tuple[date, date, int]:
    """The axis: from the first of a month to the first of a month, a tick every 1, 2, 3, 6 or
    12 months so that about six dates are written."""
    start = date(first.year, first.month, 1)
    end_month = last.month + 1
    end = date(last.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    span = (end.year - start.year) * 12 + end.month - start.month
    step = next((s for s in (1, 2, 3, 6, 12, 24) if span / s <= 7), 48)
    return start, end, step


def timeline_chart(rows: list[dict], as_of: date) -> NativeChart:
    """Milestones on a calendar: a floating bar per milestone. A short mark at its date (forecast
    or actual) coloured by status, and a grey bar back to its initial date when it moved. Drawn
    as stacked bars (an invisible offset first), what Excel users know as a Gantt chart."""
    marks = (("reached", "atteint", GREEN), ("planned", "prévu", BLUE), ("late", "en retard", RED))
    dates = [d for r in rows for d in (r["baseline"], r["forecast"], r["actual"]) if d] + [as_of]
    start, end, step = _months(min(dates), max(dates))
    width = max(3.0, ((end - start).days) / 40)  # a mark stays visible on a long calendar
    start, end, step = _months(min(dates), max(dates) + timedelta(days=math.ceil(width)))  # the last mark whole
    names = [_label(r["title"]) for r in rows]
    offset, slip_before, overdue, slip_after = [], [], [], []
    mark = {key: [] for key, *_ in marks}
    for r in rows:
        when = r["actual"] or r["forecast"] or r["baseline"]
        base = r["baseline"] or when
        kind = "reached" if r["actual"] else ("late" if r["status"] == MilestoneStatus.LATE else "planned")
        for key in mark:
            mark[key].append(width if key == kind else 0.0)
        # a late milestone: how late it is today, after its mark
        overdue.append(max(0.0, (as_of - when).days - width) if kind == "late" else 0.0)
        if base <= when:  # moved later (or not at all): grey from the initial date, then the mark
            offset.append(_serial(base))
            slip_before.append(float((when - base).days))
            slip_after.append(0.0)
        else:  # moved earlier: the mark, then grey up to the initial date
            offset.append(_serial(when))
            slip_before.append(0.0)
            slip_after.append(0.0 if overdue[-1] else max(0.0, (base - when).days - width))
    data = CategoryChartData(number_format="0")
    data.categories = names
    data.add_series("début", offset, number_format="dd/mm/yyyy")  # a date in the workbook
    data.add_series("écart avec la date initiale", slip_before)
    for key, name, _ in marks:
        data.add_series(name, mark[key])
    data.add_series("retard à ce jour", overdue)
    data.add_series("écart (avancé)", slip_after)
    chart, space = _build(XL_CHART_TYPE.BAR_STACKED, data)
    _title(chart, f"Calendrier des jalons (au {short_date(as_of)})")
    plot = chart.plots[0]
    plot.gap_width, plot.overlap = 40, 100
    colours = [None, LIGHT] + [c for *_, c in marks] + [PINK, LIGHT]
    for s, colour in zip(plot.series, colours):
        _fill(s.format, colour)
    _top_down(chart)  # the first milestone on top, as in the table
    chart.category_axis.tick_labels.font.size = Pt(8)
    axis = chart.value_axis
    _gridlines(axis)
    _month_ticks(axis, start, end, step)
    _legend(chart, hidden=(0, len(colours) - 1))
    alt = (
        "Calendrier des jalons : "
        + " ; ".join(
            f"{r['title']} : {r['status'].lower()}, "
            + (
                f"atteint le {short_date(r['actual'])}"
                if r["actual"]
                else f"prévu le {short_date(r['forecast'] or r['baseline'])}"
            )
            + (
                f" (date initiale {short_date(r['baseline'])})"
                if r["baseline"] and (r["actual"] or r["forecast"]) not in (None, r["baseline"])
                else ""
            )
            for r in rows
        )
        + "."
    )
    return _finish(space, 160, 30 + 9 * max(len(rows), 2), alt, data)


def _top_down(chart: Chart) -> None:
    """Horizontal bars read from the top, and the value axis stays under the plot (reversing the
    categories alone moves it to the top)."""
    chart.category_axis.reverse_order = True
    # the value axis crosses the category axis at its last category, now the bottom one (Excel's
    # « L'axe horizontal coupe : à la catégorie maximale »); python-pptx has this only for value axes
    for crosses in chart._chartSpace.xpath("c:chart/c:plotArea/c:valAx/c:crosses"):
        crosses.set("val", "max")


def _month_ticks(axis, start: date, end: date, step: int) -> None:
    """The value axis counts Excel dates (the offset series starts at the milestone's date), so
    the ordinary date format names the months; a tick every `step` months of 30.44 days. The axis
    starts in the middle of the month before the first date: months are not all 30.44 days
    long, and a tick drifting to the 31st of May would be labelled « 05 » for June; from the
    middle of a month the drift stays within the month for years."""
    base = _serial(start) - 16
    axis.minimum_scale, axis.maximum_scale = base, _serial(end) + 15
    axis.major_unit = round(step * 30.4375, 4)
    axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = "mm/yyyy", False
    axis.tick_labels.font.size = Pt(8)


def weather_chart(counts: dict[str, int]) -> NativeChart:
    names = list(Weather)
    vals = [counts.get(n, 0) for n in names]
    data = CategoryChartData(number_format="0")
    data.categories = [n.label for n in names]
    data.add_series("projets", vals)
    chart, space = _build(XL_CHART_TYPE.COLUMN_CLUSTERED, data)
    _title(chart, "Opérations en cours par météo")
    plot = chart.plots[0]
    plot.gap_width, plot.vary_by_categories = 50, False
    series = plot.series[0]
    for i, n in enumerate(names):  # each météo in its own colour; its name is under the bar
        _fill(series.points[i].format, n.color.lstrip("#"))
    _value_labels(series, "0")
    axis = chart.value_axis
    _gridlines(axis)
    axis.tick_labels.number_format, axis.tick_labels.number_format_is_linked = "0", False
    axis.has_title = True
    axis.axis_title.text_frame.text = "projets"
    axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = Pt(8)
    chart.has_legend = False
    alt = "Opérations en cours par météo : " + ", ".join(f"{n.label} {v}" for n, v in zip(names, vals)) + "."
    return _finish(space, 110, 60, alt, data)


def execution_chart(rows: list[tuple[str, float, float]], currency: str = "EUR") -> NativeChart:
    """Per direction: CP of the year vs paid (horizontal bars)."""
    div, unit, dec = scale([v for r in rows for v in r[1:]], currency)
    fmt = _number_format(dec)
    data = CategoryChartData(number_format=fmt)
    data.categories = [_label(r[0]) for r in rows]
    cp = [_bar(r[1], div, dec) for r in rows]
    paid = [_bar(r[2], div, dec) for r in rows]
    data.add_series("CP de l’exercice", cp)
    data.add_series("Mandaté", paid)
    chart, space = _build(XL_CHART_TYPE.BAR_CLUSTERED, data)
    _title(chart, f"Exécution des crédits de paiement par direction (en {unit})")
    plot = chart.plots[0]
    plot.gap_width, plot.overlap = 50, 0
    for s, colour in zip(plot.series, (GREY, BLUE)):
        _fill(s.format, colour)
        _value_labels(s, fmt)
    _top_down(chart)  # in the order of the table
    axis = chart.value_axis
    _gridlines(axis)
    top = max((v for v in cp + paid if v is not None), default=0)
    # whole units on the axis once they are large enough; the bars keep their decimals
    axis.tick_labels.number_format = _number_format(0 if top >= 5 or not dec else 1)
    axis.tick_labels.number_format_is_linked = False
    if top > 0:  # room for the value written after the longest bar
        axis.maximum_scale = _nice(top * 1.15)
    _legend(chart)
    alt = (
        "Exécution des crédits de paiement par direction : "
        + " ; ".join(f"{r[0]} : CP {fr_amount(r[1], currency)}, mandaté {fr_amount(r[2], currency)}" for r in rows)
        + "."
    )
    return _finish(space, 160, 25 + 11 * max(len(rows), 2), alt, data)


def _nice(v: float) -> float:
    """The next round value above v (1, 1,2, 1,5, 2, 2,5, 3, 4, 5, 6, 8 × a power of ten)."""
    power = 10 ** math.floor(math.log10(v))
    return next(m * power for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= v)
