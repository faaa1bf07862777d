"""Charts for the reports (matplotlib, Agg): French labels, the unit stated once (k€, M€, millions
of F CFP), values on the bars, traffic-light colours, and a text alternative for each (RGAA)."""

from __future__ import annotations

import io
import math
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
from babel.numbers import format_decimal  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402
from PIL import Image  # noqa: E402

from connector.model import MilestoneStatus, Weather, zero_if_missing  # noqa: E402
from connector.reports.formatting import fr_amount, fr_number, short_date  # noqa: E402

BLUE, ORANGE, GREY, RED, GREEN = "#0072B2", "#E69F00", "#8C8C8C", "#B71C1C", "#1B7A3A"
matplotlib.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.family": "DejaVu Sans",
        "axes.formatter.use_locale": False,
    }
)


DPI = 200
# Room around the plot for what lies outside it (tick labels, title, legend below): the figure is
# drawn once with this room, then cropped to what was drawn. savefig(bbox_inches="tight") gave the
# same picture but laid the figure out twice, which was a third of a project report's time.
MARGIN_IN = (3.6, 1.6, 0.8, 0.8)  # left, bottom, right, top


def figure(width: float, height: float, bottom: float = 0.11) -> tuple[Figure, object]:
    """A figure whose plot area has the size and place matplotlib's default subplot would have
    in a `width` x `height` inch figure, with room around it for labels; no pyplot state (the
    charts are drawn in worker processes, many per second)."""
    left, low, right, top = MARGIN_IN
    w, h = width + left + right, height + low + top
    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.add_axes(
        ((left + 0.125 * width) / w, (low + bottom * height) / h, 0.775 * width / w, (0.88 - bottom) * height / h)
    )
    return fig, fig.axes[0]


def _png(fig, pad_in: float = 0.1) -> bytes:
    """Draw once, crop to the drawn artists plus a small pad, encode (fast PNG compression: the
    .docx is zipped anyway)."""
    canvas = fig.canvas
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer())
    rgba = np.asarray(canvas.buffer_rgba())
    height = rgba.shape[0]
    x0 = max(0, math.floor((box.x0 - pad_in) * DPI))
    x1 = min(rgba.shape[1], math.ceil((box.x1 + pad_in) * DPI))
    y0 = max(0, math.floor(height - (box.y1 + pad_in) * DPI))
    y1 = min(height, math.ceil(height - (box.y0 - pad_in) * DPI))
    img = Image.fromarray(rgba[y0:y1, x0:x1, :3])
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1, dpi=(DPI, DPI))
    return buf.getvalue()


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


def _tick(v, _pos=None) -> str:
    """Axis ticks in the unit of the chart: `1,25`, `2`, French decimal comma."""
    return format_decimal(round(v, 2), format="#,##0.##", locale="fr_FR")


def _label_bars(ax, bars, values, decimals, horizontal=False) -> None:
    """Values are already in the chart's unit."""
    for b, v in zip(bars, values):
        if not v:
            continue
        txt = fr_number(v, decimals)
        if horizontal:
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {txt}", va="center", fontsize=7)
        else:
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), txt, ha="center", va="bottom", fontsize=7)


def budget_chart(rows: list[dict], currency: str = "EUR") -> tuple[bytes, str]:
    """CP planned vs engaged vs paid per year."""
    series = (("cp_planned", "CP prévus", GREY), ("engaged", "Engagé", ORANGE), ("paid", "Mandaté", BLUE))
    div, unit, dec = scale([r[k] for r in rows for k, *_ in series], currency)
    fig, ax = figure(6.2, 2.4)
    years = [str(r["year"]) for r in rows]
    x = range(len(years))
    width = 0.27
    for i, (key, name, col) in enumerate(series):
        vals = [_val(r[key]) / div for r in rows]  # plotted in the unit, so ticks fall on round values
        bars = ax.bar([p + (i - 1) * width for p in x], vals, width, label=name, color=col)
        _label_bars(ax, bars, vals, dec)
    ax.set_xticks(list(x), years)
    ax.yaxis.set_major_formatter(_tick)
    ax.set_ylabel(f"en {unit}")
    ax.set_title(f"Crédits de paiement par exercice (en {unit})", pad=12)
    ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    alt = (
        "Graphique des crédits de paiement par exercice : "
        + " ; ".join(
            f"{r['year']} : CP prévus {fr_amount(r['cp_planned'], currency)}, engagé {fr_amount(r['engaged'], currency)}, "
            f"mandaté {fr_amount(r['paid'], currency)}"
            for r in rows
        )
        + "."
    )
    return _png(fig), alt


def timeline_chart(rows: list[dict], as_of: date) -> tuple[bytes, str]:
    """Milestones: initial date (hollow), forecast or actual (filled), today's line; the legend
    below the plot carries every explanation, so nothing overlaps the title."""
    fig, ax = figure(6.2, 0.42 * max(len(rows), 2) + 1.3, bottom=0.2)
    labels = []
    for i, r in enumerate(reversed(rows)):
        title = str(r["title"] or "").replace("'", "’")
        labels.append(title if len(title) <= 40 else title[:39] + "…")
        if r["baseline"]:
            ax.plot(r["baseline"], i, "o", mfc="white", mec=GREY, ms=7)
        done = r["actual"]
        when = done or r["forecast"]
        if when:
            col = GREEN if done else (RED if r["status"] == MilestoneStatus.LATE else BLUE)
            ax.plot(when, i, "D" if done else "o", color=col, ms=7)
        if r["baseline"] and when and when != r["baseline"]:
            ax.plot([r["baseline"], when], [i, i], color=GREY, lw=1, zorder=0)
    ax.axvline(as_of, color=RED, lw=1, ls="--")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y"))
    ax.set_title("Calendrier des jalons", pad=10)
    handles = [
        Line2D([], [], marker="o", ls="", mfc="white", mec=GREY, label="date initiale"),
        Line2D([], [], marker="o", ls="", color=BLUE, label="date prévue"),
        Line2D([], [], marker="D", ls="", color=GREEN, label="atteint"),
        Line2D([], [], marker="o", ls="", color=RED, label="en retard"),
        Line2D([], [], color=RED, ls="--", label=f"aujourd’hui ({short_date(as_of)})"),
    ]
    for label in ax.get_xticklabels():  # what fig.autofmt_xdate() does, without moving the plot
        label.set(rotation=30, ha="right")
    # a fixed distance below the rotated dates, whatever the number of milestones (a share of the
    # plot's height left an inch of blank under a long list)
    below = offset_copy(ax.transAxes, fig=fig, y=-0.62, units="inches")
    ax.legend(
        handles=handles,
        frameon=False,
        ncols=5,
        loc="upper center",
        bbox_to_anchor=(0.5, 0),
        bbox_transform=below,
        fontsize=7,
    )
    alt = (
        "Calendrier des jalons : "
        + " ; ".join(
            f"{r['title']} : {r['status'].lower()}, "
            + (
                f"atteint le {short_date(r['actual'])}"
                if r["actual"]
                else f"prévu le {short_date(r['forecast'] or r['baseline'])}"
            )
            for r in rows
        )
        + "."
    )
    return _png(fig), alt


def weather_chart(counts: dict[str, int]) -> tuple[bytes, str]:
    fig, ax = figure(5.0, 2.2)
    names = list(Weather)
    vals = [counts.get(n, 0) for n in names]
    bars = ax.bar([n.label for n in names], vals, color=[n.color for n in names])
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, b.get_height(), str(v), ha="center", va="bottom")
    ax.set_ylabel("projets")
    ax.set_title("Opérations en cours par météo", pad=12)
    alt = "Opérations en cours par météo : " + ", ".join(f"{n.label} {v}" for n, v in zip(names, vals)) + "."
    return _png(fig), alt


def execution_chart(rows: list[tuple[str, float, float]], currency: str = "EUR") -> tuple[bytes, str]:
    """Per direction: CP of the year vs paid (horizontal bars)."""
    div, unit, dec = scale([v for r in rows for v in r[1:]], currency)
    fig, ax = figure(6.2, 0.5 * max(len(rows), 2) + 1.0)
    names = [n if len(n) <= 40 else n[:39] + "…" for n in (r[0].replace("'", "’") for r in rows)]
    y = range(len(rows))
    cp, paid = [_val(r[1]) / div for r in rows], [_val(r[2]) / div for r in rows]
    _label_bars(ax, ax.barh([p + 0.2 for p in y], cp, 0.4, color=GREY, label="CP de l’exercice"), cp, dec, True)
    _label_bars(ax, ax.barh([p - 0.2 for p in y], paid, 0.4, color=BLUE, label="Mandaté"), paid, dec, True)
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.xaxis.set_major_formatter(_tick)
    ax.set_title(f"Exécution des crédits de paiement par direction (en {unit})", pad=12)
    ax.legend(frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    alt = (
        "Exécution des crédits de paiement par direction : "
        + " ; ".join(f"{r[0]} : CP {fr_amount(r[1], currency)}, mandaté {fr_amount(r[2], currency)}" for r in rows)
        + "."
    )
    return _png(fig), alt
