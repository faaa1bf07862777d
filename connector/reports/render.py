"""Rendering with docxtpl (autoescaped), template validation, and the content hash that decides
whether a report must be re-rendered."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from pathlib import Path

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage, RichText

from connector.errors import ConfigError
from connector.reports import charts
from connector.reports.context import portfolio_context, project_context
from connector.reports.formatting import COLORS

PROJECT_IMAGES = ("chart_timeline", "chart_budget", "weather_badge")
PORTFOLIO_IMAGES = ("chart_weather", "chart_execution")


def validate_template(path: Path | str, kind: str) -> None:
    """Reject a template that uses a variable the context does not provide, naming it."""
    from connector.reports.variables import known_variables
    try:
        used = DocxTemplate(str(path)).get_undeclared_template_variables()
    except Exception as e:
        raise ConfigError(f"modèle de rapport illisible « {path} » : {type(e).__name__} : {e}") from None
    unknown = sorted(set(used) - set(known_variables(kind)))
    if unknown:
        raise ConfigError(f"le modèle « {Path(path).name} » utilise une variable inconnue : "
                          + ", ".join(f"« {u} »" for u in unknown)
                          + " (voir docs/template-variables.md)")


def content_hash(context: dict, template: Path | str | bytes) -> str:
    """Stable over the inputs of a report: the context (without the COPIL date, so an unchanged
    project is not re-published every night) and the template bytes."""
    data = {k: v for k, v in context.items() if k not in ("copil_date",)}
    tbytes = template if isinstance(template, bytes) else Path(template).read_bytes()
    h = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode())
    h.update(hashlib.sha256(tbytes).digest())
    return h.hexdigest()


def render(template_path: Path | str, context: dict, images: dict[str, bytes]) -> bytes:
    tpl = DocxTemplate(str(template_path))
    ctx = dict(context)
    for name, png in images.items():
        ctx[name] = InlineImage(tpl, io.BytesIO(png), width=Mm(160))
    if "weather" in ctx:   # the météo as a large coloured badge on the cover
        w = ctx["weather"]
        color = COLORS.get(w.get("computed"), "#999999").lstrip("#")
        ctx["weather_badge"] = RichText(f"{w.get('symbol', '')} Météo : {w.get('computed', '')}", color=color,
                                        bold=True, size=36)
    if "documents" in ctx:  # real hyperlinks to the library
        ctx["documents"] = [{**d, "link": RichText(d["name"], url_id=tpl.build_url_id(d["url"]), color="0563C1",
                                                   underline=True) if d.get("url") else RichText(d["name"])}
                            for d in ctx["documents"]]
    tpl.render(ctx, autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def project_images(portfolio, code: str) -> dict[str, bytes]:
    ms = portfolio.project_rows(code, portfolio.milestones).to_dict("records")
    budget = portfolio.project_rows(code, portfolio.budget).to_dict("records")
    out = {}
    out["chart_timeline"] = charts.timeline_chart(ms, portfolio.as_of) if ms else _blank()
    out["chart_budget"] = charts.budget_chart(budget, portfolio.currency) if budget else _blank()
    return out


def portfolio_images(portfolio) -> dict[str, bytes]:
    pr = portfolio.projects
    counts = pr["weather"].value_counts().to_dict() if not pr.empty else {}
    d = portfolio.rollups.get("direction")
    rows = [] if d is None else [(str(n), r["cp_year"], r["paid_year"]) for n, r in d.iterrows()]
    return {"chart_weather": charts.weather_chart(counts), "chart_execution": charts.execution_chart(rows)}


def _blank() -> bytes:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.2, 0.6))
    ax.axis("off")
    ax.text(0.5, 0.5, "Aucune donnée", ha="center", va="center")
    return charts._png(fig)


def render_project(portfolio, code: str, *, template_path, collectivite: str, copil_date: date,
                   previous: dict | None) -> bytes:
    ctx = project_context(portfolio, code, collectivite=collectivite, copil_date=copil_date, previous=previous)
    return render(template_path, ctx, project_images(portfolio, code))


def render_portfolio(portfolio, *, template_path, collectivite: str, copil_date: date,
                     previous: dict[str, dict]) -> bytes:
    ctx = portfolio_context(portfolio, collectivite=collectivite, copil_date=copil_date, previous=previous)
    return render(template_path, ctx, portfolio_images(portfolio))
