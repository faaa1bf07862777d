"""Template contexts: plain dicts of already formatted French strings, built from the portfolio.
Everything a template may use is here; `variables.py` documents it from these builders."""
from __future__ import annotations

import math
from datetime import date

from connector.reports.formatting import (SYMBOLS, _missing, as_date, days, fr_amount, fr_number, fr_percent,
                                          long_date, short_date, text)

RANK = {"Soleil": 0, "Nuageux": 1, "Orage": 2}


def _num(v):
    return None if _missing(v) else float(v)


def trend(current: dict, previous: dict | None) -> tuple[str, list[str]]:
    """'en amélioration' | 'stable' | 'en dégradation' | 'premier COPIL', and what changed."""
    if not previous:
        return "premier COPIL", []
    changes = []
    before, after = previous.get("weather"), current.get("weather")
    if before != after:
        changes.append(f"météo : {before or '–'} → {after or '–'}")
    s0, s1 = _num(previous.get("slippage_days")), _num(current.get("slippage_days"))
    if s0 is not None and s1 is not None and s0 != s1:
        changes.append(f"glissement : {days(s0)} → {days(s1)}")
    r0, r1 = _num(previous.get("cp_execution_rate")), _num(current.get("cp_execution_rate"))
    if r0 is not None and r1 is not None and abs(r0 - r1) >= 0.005:
        changes.append(f"exécution des CP : {fr_percent(r0)} → {fr_percent(r1)}")
    o0, o1 = previous.get("overdue_milestones"), current.get("overdue_milestones")
    if o0 is not None and o1 is not None and o0 != o1:
        changes.append(f"jalons en retard : {o0} → {o1}")
    if before in RANK and after in RANK and before != after:
        return ("en amélioration" if RANK[after] < RANK[before] else "en dégradation"), changes
    if s0 is not None and s1 is not None and s1 - s0 >= 15:
        return "en dégradation", changes
    return "stable", changes


def _project_head(p: dict) -> dict:
    return {"code": text(p.get("code")), "title": text(p.get("title")), "direction": text(p.get("direction")),
            "territory": text(p.get("territory")), "policy": text(p.get("policy")),
            "manager": text(p.get("manager")), "elected": text(p.get("elected")), "owner": text(p.get("owner")),
            "phase": text(p.get("phase")), "start": short_date(p.get("start")),
            "baseline_end": short_date(p.get("baseline_end")), "forecast_end": short_date(p.get("forecast_end")),
            "progress": fr_percent(p.get("progress")), "url": text(p.get("url")),
            "comment": text(p.get("comment")),
            "decisions": [line.strip("-• ").strip() for line in text(p.get("decisions")).splitlines() if line.strip()]}


def project_context(portfolio, code: str, *, collectivite: str, copil_date: date, previous: dict | None,
                    documents_shown: int = 8) -> dict:
    cur = portfolio.currency
    p = portfolio.projects.loc[code].to_dict()
    t, changes = trend(p, previous)
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    ctx = {
        "collectivite": collectivite, "copil_date": long_date(copil_date), "year": str(portfolio.year),
        "project": _project_head(p),
        "weather": {"computed": text(p.get("weather")), "symbol": SYMBOLS.get(p.get("weather"), ""),
                    "manual": text(p.get("manual_weather")) or "non renseignée",
                    "manual_symbol": SYMBOLS.get(p.get("manual_weather"), ""),
                    "reasons": list(p.get("weather_reasons") or []), "alerts": list(p.get("alerts") or []),
                    "trend": t, "changes": changes,
                    "previous": text((previous or {}).get("weather")) or "–"},
        "figures": {"ap_voted": amount(p.get("ap_voted")), "cp_year": amount(p.get("cp_year")),
                    "engaged_year": amount(p.get("engaged_year")), "paid_year": amount(p.get("paid_year")),
                    "cp_execution_rate": fr_percent(p.get("cp_execution_rate")),
                    "commitment_rate": fr_percent(p.get("commitment_rate")),
                    "ap_consumption": fr_percent(p.get("ap_consumption")),
                    "remaining_to_pay": amount(p.get("remaining_to_pay")),
                    "subsidies_notified": amount(p.get("subsidies_notified")),
                    "subsidies_received": amount(p.get("subsidies_received")),
                    "self_funding_share": fr_percent(p.get("self_funding_share")),
                    "slippage": days(p.get("slippage_days")),
                    "overdue_milestones": str(p.get("overdue_milestones") or 0),
                    "next_milestone": (f"{text(p['next_milestone_label'])} ({short_date(p.get('next_milestone_date'))})"
                                       if text(p.get("next_milestone_label")) else "–"),
                    "open_critical_risks": str(p.get("open_critical_risks") or 0)},
        "milestones": [{"title": text(m["title"]), "phase": text(m["phase"]), "baseline": short_date(m["baseline"]),
                        "forecast": short_date(m["forecast"]), "actual": short_date(m["actual"]),
                        "slippage": days(m["slippage_days"]), "status": text(m["status"])}
                       for m in portfolio.project_rows(code, portfolio.milestones).to_dict("records")],
        "budget": [{"year": str(b["year"]), "cp_planned": amount(b["cp_planned"]), "engaged": amount(b["engaged"]),
                    "paid": amount(b["paid"]),
                    "execution": fr_percent(b["paid"] / b["cp_planned"]) if b["cp_planned"] else "–"}
                   for b in portfolio.project_rows(code, portfolio.budget).to_dict("records")],
        "subsidies": [{"funder": text(s["funder"]), "title": text(s["title"]), "requested": amount(s["requested"]),
                       "notified": amount(s["notified"]), "received": amount(s["received"]),
                       "notified_on": short_date(s["notified_on"]),
                       "deadline": _deadline(s)}
                      for s in portfolio.project_rows(code, portfolio.subsidies).to_dict("records")],
        "contracts": [{"number": text(c["number"]), "title": text(c["title"]), "kind": text(c["kind"]),
                       "holder": text(c["holder"]), "initial": amount(c["initial_amount"]),
                       "amendments_count": str(c["amendments_count"]), "amendments_total": amount(c["amendments_total"]),
                       "rate": fr_percent(c["amendments_rate"]), "limit": fr_percent(c["threshold"]),
                       "status": ("au-delà du seuil" if c["over_threshold"] else
                                  ("avis de la CAO requis" if c["commission_required"] else "conforme"))}
                      for c in portfolio.project_rows(code, portfolio.contracts).to_dict("records")],
        "risks": [], "risk_matrix": [], "findings": [], "documents": [],
    }
    risks = portfolio.project_rows(code, portfolio.risks).to_dict("records")
    ctx["risks"] = [{"title": text(r["title"]), "probability": fr_number(r["probability"]),
                     "impact": fr_number(r["impact"]), "criticality": fr_number(r["criticality"]),
                     "status": text(r["status"]) or "Ouvert", "mitigation": text(r["mitigation"])}
                    for r in sorted(risks, key=lambda r: -(r["criticality"] or 0))]
    # Criticality matrix: impact 4 (top) .. 1, probability 1..4; each cell counts open risks.
    matrix = []
    for impact in (4, 3, 2, 1):
        cells = [sum(1 for r in risks if r["impact"] == impact and r["probability"] == prob
                     and (r["status"] or "Ouvert") == "Ouvert") for prob in (1, 2, 3, 4)]
        matrix.append({"impact": str(impact), "cells": [str(c) if c else "" for c in cells]})
    ctx["risk_matrix"] = matrix
    ctx["findings"] = [{"list_title": f.list_title, "column": f.column, "value": f.value, "message": f.message,
                        "link": f.link} for f in portfolio.findings if f.project_code == code]
    ctx["documents"] = [{"name": d.name, "url": d.url, "modified": short_date(d.modified), "link": d.name}
                        for d in portfolio.documents.get(code, [])[:documents_shown]]
    return ctx


def _deadline(s: dict) -> str:
    parts = []
    if s.get("start_deadline"):
        parts.append(f"démarrage avant le {short_date(s['start_deadline'])}")
    if s.get("completion_deadline"):
        parts.append(f"achèvement avant le {short_date(s['completion_deadline'])}")
    return " ; ".join(parts) or "–"


def portfolio_context(portfolio, *, collectivite: str, copil_date: date, previous: dict[str, dict]) -> dict:
    cur = portfolio.currency
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    pr = portfolio.projects
    counts = pr["weather"].value_counts().to_dict() if not pr.empty else {}
    total = lambda col: pr[col].sum(min_count=1) if not pr.empty else math.nan  # noqa: E731
    cp, paid = total("cp_year"), total("paid_year")
    ctx = {
        "collectivite": collectivite, "copil_date": long_date(copil_date), "year": str(portfolio.year),
        "counts": {"total": str(len(pr)), "soleil": str(counts.get("Soleil", 0)),
                   "nuageux": str(counts.get("Nuageux", 0)), "orage": str(counts.get("Orage", 0)),
                   "indetermine": str(counts.get("Indéterminé", 0))},
        "totals": {"ap_voted": amount(total("ap_voted")), "cp_year": amount(cp),
                   "engaged_year": amount(total("engaged_year")), "paid_year": amount(paid),
                   "execution_rate": fr_percent(paid / cp) if cp and not math.isnan(cp) else "–",
                   "subsidies_notified": amount(total("subsidies_notified")),
                   "remaining_to_pay": amount(total("remaining_to_pay"))},
        "findings_count": str(len(portfolio.findings)),
    }
    for dim, key in (("direction", "by_direction"), ("territory", "by_territory"), ("policy", "by_policy")):
        frame = portfolio.rollups.get(dim)
        ctx[key] = [] if frame is None else [
            {"name": str(name), "projects": str(int(r["projects"])), "soleil": str(int(r["soleil"])),
             "nuageux": str(int(r["nuageux"])), "orage": str(int(r["orage"])),
             "indetermine": str(int(r["indetermine"])),
             "ap_voted": amount(r["ap_voted"]), "cp_year": amount(r["cp_year"]), "paid_year": amount(r["paid_year"]),
             "execution": fr_percent(r["cp_execution_rate"])} for name, r in frame.iterrows()]
    order = {"Orage": 0, "Indéterminé": 1, "Nuageux": 2}
    alerting = pr[pr["weather"].isin(["Orage", "Nuageux", "Indéterminé"])] if not pr.empty else pr
    ctx["alerts"] = [{"code": text(code), "title": text(r["title"]), "direction": text(r["direction"]),
                      "weather": r["weather"], "symbol": SYMBOLS.get(r["weather"], ""),
                      "reasons": " ; ".join(r["weather_reasons"] or [])}
                     for code, r in sorted(alerting.iterrows(), key=lambda x: (order.get(x[1]["weather"], 9), x[0]))]
    movers = []
    for code, r in pr.iterrows():
        before = (previous or {}).get(code)
        if not before:
            continue
        t, changes = trend(r.to_dict(), before)
        if t in ("en amélioration", "en dégradation"):
            movers.append({"code": code, "title": r["title"], "trend": t, "before": before.get("weather") or "–",
                           "after": r["weather"], "changes": " ; ".join(changes),
                           "_score": abs(RANK.get(r["weather"], 1) - RANK.get(before.get("weather"), 1)) * 1000 +
                           abs((_num(r.get("slippage_days")) or 0) - (_num(before.get("slippage_days")) or 0))})
    movers.sort(key=lambda m: (-m["_score"], m["code"]))
    ctx["movers"] = [{k: v for k, v in m.items() if k != "_score"} for m in movers[:15]]
    return ctx


__all__ = ["project_context", "portfolio_context", "trend", "as_date"]
