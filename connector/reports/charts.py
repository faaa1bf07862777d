"""Charts for the reports (matplotlib, Agg): French labels, Okabe-Ito colours, print-legible."""
from __future__ import annotations

import io
import math
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from connector.reports.formatting import COLORS, fr_number  # noqa: E402

BLUE, ORANGE, GREY, VERMILLION, GREEN = "#0072B2", "#E69F00", "#999999", "#D55E00", "#009E73"
plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False,
                     "font.family": "DejaVu Sans"})


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _k(v: float) -> str:
    return f"{fr_number(v / 1000)} k"


def budget_chart(rows: list[dict], currency: str = "EUR") -> bytes:
    """CP planned vs engaged vs paid per year."""
    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    years = [str(r["year"]) for r in rows]
    x = range(len(years))
    width = 0.27
    for i, (key, label, color) in enumerate((("cp_planned", "CP prévus", GREY), ("engaged", "Engagé", ORANGE),
                                             ("paid", "Mandaté", BLUE))):
        vals = [0 if r[key] is None or (isinstance(r[key], float) and math.isnan(r[key])) else r[key] for r in rows]
        ax.bar([p + (i - 1) * width for p in x], vals, width, label=label, color=color)
    ax.set_xticks(list(x), years)
    ax.yaxis.set_major_formatter(lambda v, _: _k(v))
    ax.set_ylabel(f"milliers de {'€' if currency == 'EUR' else currency}")
    ax.set_title("Crédits de paiement par exercice")
    ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return _png(fig)


def timeline_chart(rows: list[dict], as_of: date) -> bytes:
    """Milestones: baseline (hollow) and forecast or actual (filled), today's line."""
    fig, ax = plt.subplots(figsize=(6.2, 0.45 * max(len(rows), 2) + 0.9))
    labels = []
    for i, r in enumerate(reversed(rows)):
        labels.append(r["title"][:38])
        if r["baseline"]:
            ax.plot(r["baseline"], i, "o", mfc="white", mec=GREY, ms=7, label="Date initiale" if i == 0 else None)
        done = r["actual"]
        when = done or r["forecast"]
        if when:
            color = GREEN if done else (VERMILLION if r["status"] == "En retard" else BLUE)
            ax.plot(when, i, "D" if done else "o", color=color, ms=7)
        if r["baseline"] and when and when != r["baseline"]:
            ax.plot([r["baseline"], when], [i, i], color=GREY, lw=1, zorder=0)
    ax.axvline(as_of, color=VERMILLION, lw=1, ls="--")
    ax.text(as_of, len(rows) - 0.4, " aujourd'hui", color=VERMILLION, fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y"))
    ax.set_title("Jalons : date initiale (cercle vide), prévue (bleu), atteinte (vert), en retard (rouge)")
    fig.autofmt_xdate()
    return _png(fig)


def weather_chart(counts: dict[str, int]) -> bytes:
    fig, ax = plt.subplots(figsize=(5.0, 2.2))
    names = ["Soleil", "Nuageux", "Orage", "Indéterminé"]
    vals = [counts.get(n, 0) for n in names]
    bars = ax.bar(names, vals, color=[COLORS[n] for n in names], edgecolor="black", linewidth=0.4)
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, b.get_height(), str(v), ha="center", va="bottom")
    ax.set_ylabel("projets")
    ax.set_title("Répartition des projets par météo")
    return _png(fig)


def execution_chart(rows: list[tuple[str, float, float]]) -> bytes:
    """Per direction: CP of the year vs paid (horizontal bars)."""
    fig, ax = plt.subplots(figsize=(6.2, 0.42 * max(len(rows), 2) + 0.9))
    names = [r[0][:40] for r in rows]
    y = range(len(rows))
    ax.barh([p + 0.2 for p in y], [r[1] or 0 for r in rows], 0.4, color=GREY, label="CP de l'exercice")
    ax.barh([p - 0.2 for p in y], [r[2] or 0 for r in rows], 0.4, color=BLUE, label="Mandaté")
    ax.set_yticks(list(y), names)
    ax.xaxis.set_major_formatter(lambda v, _: _k(v))
    ax.set_title("Exécution des crédits de paiement par direction")
    ax.legend(frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return _png(fig)
