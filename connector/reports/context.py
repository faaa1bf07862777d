"""Template contexts: plain dicts of already formatted French strings, built from the portfolio.
Everything a template may use is here; `variables.py` documents it from these builders."""

from __future__ import annotations

import math
from datetime import date, timedelta

from connector import evolutions
from connector.consolidate import decision_lines
from connector.formatting import fr_share, milestone_when
from connector.model import RiskStatus, Weather, present, worse
from connector.model import is_missing as _missing
from connector.model import number as _num
from connector.model.vocabulary import DecisionStatus
from connector.reports import synthesis
from connector.reports.editions import Edition, living
from connector.reports.formatting import (
    as_date,
    color,
    days,
    fr_amount,
    fr_number,
    fr_percent,
    label,
    long_date,
    short_date,
    symbol,
    text,
    typeset,
)
from connector.tables import records


def trend(current: dict, previous: dict | None, manual: bool = False) -> tuple[str, list[str]]:
    """'en amélioration' | 'stable' | 'en dégradation' | 'premier COPIL', and what changed. With
    `manual`, the project manager's météo moving counts when the computed one stays."""
    if not previous:
        return "premier COPIL", []
    changes = []
    before, after = previous.get("weather"), current.get("weather")
    if before != after:
        changes.append(f"météo : {label(before)} → {label(after)}")
    s0, s1 = _num(previous.get("slippage_days")), _num(current.get("slippage_days"))
    if s0 is not None and s1 is not None and s0 != s1:
        changes.append(f"glissement : {days(s0)} → {days(s1)}")
    r0, r1 = _num(previous.get("cp_execution_rate")), _num(current.get("cp_execution_rate"))
    if r0 is not None and r1 is not None and abs(r0 - r1) >= 0.005:
        changes.append(f"exécution des CP : {fr_percent(r0)} → {fr_percent(r1)}")
    o0, o1 = previous.get("overdue_milestones"), current.get("overdue_milestones")
    if o0 is not None and o1 is not None and o0 != o1:
        changes.append(f"jalons en retard : {o0} → {o1}")
    moved = worse(Weather.of(after), Weather.of(before))
    if moved is None and manual:
        m0 = (previous.get("_facts") or {}).get("manual_weather")
        m1 = text(current.get("manual_weather"))
        if m0 is not None and m0 != m1:
            moved = worse(Weather.of(m1), Weather.of(m0))
    if moved is not None:
        return ("en dégradation" if moved else "en amélioration"), changes
    if s0 is not None and s1 is not None and s1 - s0 >= 15:
        return "en dégradation", changes
    return "stable", changes


def _project_head(p: dict) -> dict:
    return {
        "code": text(p.get("code")),
        "title": text(p.get("title")),
        "direction": text(p.get("direction")),
        "territory": text(p.get("territory")),
        "policy": text(p.get("policy")),
        "manager": text(p.get("manager")),
        "elected": text(p.get("elected")),
        "owner": text(p.get("owner")),
        "phase": text(p.get("phase")),
        "start": short_date(p.get("start")),
        "baseline_end": _date_or_flag(p, "baseline_end"),
        "forecast_end": _date_or_flag(p, "forecast_end"),
        "progress": fr_percent(p.get("progress")),
        # « Travaux – 40 % », « Clos » (not « Clos – – »): what is known, nothing else
        "phase_progress": " – ".join(x for x in (text(p.get("phase")), fr_percent(p.get("progress"))) if x and x != "–")
        or "–",
        "url": text(p.get("url")),
        "comment": text(p.get("comment")),
        # the decisions themselves (items and lines, with deadlines) are set by _project_decisions
        "decision_deadline": short_date(p.get("decision_deadline"))
        if not _missing(p.get("decision_deadline"))
        else "non précisée",
        "decisions_heading": _decisions_heading(p),
        "decision_followup": text(p.get("decision_followup")),
        "objective": text(p.get("objective")) or "non renseigné",
        "programme": text(p.get("programme")) or "–",
        "ap_deliberation": _date_or_flag(p, "ap_deliberation"),
        "qpv": (
            f"{text(p.get('qpv'))}" + (f" ({text(p.get('urban_policy'))})" if text(p.get("urban_policy")) else "")
            if text(p.get("qpv"))
            else "hors quartier prioritaire"
        ),
    }


def _flag(p: dict, key: str) -> tuple[str, str] | None:
    flags = p.get("input_flags")
    return flags.get(key) if isinstance(flags, dict) else None


def _date_or_flag(p: dict, key: str) -> str:
    flag = _flag(p, key)
    if _missing(p.get(key)) and flag and flag[0] == "invalid":
        return f"date illisible (« {flag[1]} »)"
    return short_date(p.get(key))


def since(previous_date) -> str:
    return f"depuis le COPIL du {long_date(previous_date)}" if previous_date else "depuis le dernier COPIL"


def _weather(p: dict, previous: dict | None, previous_date) -> dict:
    ahead = [f["message"] for f in p.get("forecasts") or []]
    t, changes = trend(p, previous, manual=True) if previous_date else ("premier COPIL établi par copil", [])
    if previous_date and not previous:
        t = "nouveau projet"
    if not previous_date:
        line = "Pas encore de point de comparaison."
        note = "Premier COPIL établi par copil : pas encore de point de comparaison."
    elif not previous:
        line = f"Précédent COPIL le {long_date(previous_date)}, avant le suivi de ce projet."
        note = f"Projet suivi pour la première fois (précédent COPIL le {long_date(previous_date)})."
    else:
        line = f"Précédent COPIL le {long_date(previous_date)} : météo {label(previous.get('weather'))}."
        note = f"Pas d'évolution notable {since(previous_date)}."
    w, manual = p.get("weather"), p.get("manual_weather")
    return {
        "computed": label(w),
        "symbol": symbol(w),
        "color": color(w),
        "tint": color(w, tint=True),
        "manual": label(manual) if text(manual) else "non renseignée",
        "manual_symbol": symbol(manual),
        "manual_tint": color(manual, tint=True),
        "reasons": list(p.get("weather_reasons") or []),
        # forecasts have their own heading: « À anticiper »
        "alerts": [a for a in p.get("alerts") or [] if a not in ahead],
        "forecasts": ahead,
        "trend": t,
        "changes": changes,
        "changes_note": note,
        "since": since(previous_date),
        "previous_line": line,
        "previous": label((previous or {}).get("weather")) if previous else "–",
        "previous_date": long_date(previous_date) if previous_date else "aucun",
    }


def _figures(p: dict, portfolio, code: str) -> dict:
    amount = lambda v: fr_amount(v, portfolio.currency)  # noqa: E731
    ap, ap_flag = p.get("ap_voted"), _flag(p, "ap_voted")
    if _missing(ap):
        ap_text = f"illisible (« {ap_flag[1]} »)" if ap_flag else "non renseignée"
        on_ap = ""
    elif ap_flag and ap_flag[0] == "estimated":
        ap_text = f"≈ {amount(ap)} (saisie « {ap_flag[1]} », à confirmer)"
        on_ap = " (sur l’AP à confirmer)"
    else:
        ap_text, on_ap = amount(ap), ""
    rem = p.get("remaining_to_pay")
    if not _missing(rem) and rem < 0:
        remaining = f"aucun : AP dépassée de {amount(-rem)}{on_ap}"
    elif not p.get("running", True) and not _missing(rem):
        # a closed operation pays nothing more: its balance is to cancel, as the synthesis says
        remaining = f"aucun (opération close) ; solde de {amount(rem)} à annuler{on_ap}" if rem > 0 else "aucun, soldée"
    else:
        remaining = amount(rem) + on_ap if not _missing(rem) else "–"
    share = p.get("self_funding_share")
    if not _missing(share) and share < 0:
        self_funding = (
            f"aucune : subventions notifiées supérieures de {amount(p['subsidies_notified'] - ap)} à l’AP{on_ap}"
        )
    else:
        self_funding = fr_share(share) + (on_ap if not _missing(share) else "")
    year_rows = [b for b in portfolio.project_records(code, portfolio.budget) if b["year"] == portfolio.year]
    stale = bool((portfolio.finance_source or {}).get("stale"))
    from_finance = (
        (" (export financier ancien)" if stale else " (export financier)")
        if any(b.get("source") == "finance" for b in year_rows)
        else ""
    )
    nxt = text(p.get("next_milestone_label"))
    paid_year_rate = amount(p.get("paid_year")) + (
        f" ({fr_share(p.get('cp_execution_rate'))}{from_finance.replace(' (', ', ').rstrip(')')})"
        if not _missing(p.get("cp_execution_rate"))
        else from_finance
    )
    return {
        "ap_voted": ap_text,
        "cp_year": amount(p.get("cp_year")),
        "engaged_year": amount(p.get("engaged_year")) + from_finance,
        "paid_year": amount(p.get("paid_year")) + from_finance,
        # one bracket: « 1 425 000 € (95 %, export financier) »
        "paid_year_rate": paid_year_rate,
        # « aucun CP en 2026 » rather than « – / – » when the year has neither CP nor payment
        "cp_paid": f"{amount(p.get('cp_year'))} / {paid_year_rate}"
        if present(p.get("cp_year")) or present(p.get("paid_year"))
        else f"aucun CP en {portfolio.year}",
        "cp_execution_rate": fr_share(p.get("cp_execution_rate")),
        "commitment_rate": _on(fr_percent(p.get("commitment_rate")), on_ap),
        "ap_consumption": _on(fr_share(p.get("ap_consumption")), on_ap),
        "remaining_to_pay": remaining,
        "subsidies_notified": amount(p.get("subsidies_notified")),
        "subsidies_received": amount(p.get("subsidies_received")),
        "self_funding_share": self_funding,
        "slippage": days(p.get("slippage_days")),
        "overdue_milestones": str(p.get("overdue_milestones") or 0),
        "next_milestone": f"{nxt} ({milestone_when(p.get('next_milestone_date'), p.get('next_milestone_late_days'))})"
        if nxt
        else "aucun jalon à venir",
        "open_critical_risks": str(p.get("open_critical_risks") or 0),
        "source": finance_note(portfolio, [code]),
    }


def _evolutions(portfolio, code: str, previous: dict | None, previous_date) -> list | None:
    """Every change people made since the previous edition (connector.evolutions); None when the
    previous snapshot predates the facts copil keeps (the trend's figures are said instead)."""
    before = (previous or {}).get("_facts") if previous_date else None
    if not before:
        return None
    since_day = as_date((previous or {}).get("_as_of")) or as_date(previous_date)
    return evolutions.changes(
        before, evolutions.facts(portfolio, code), since=since_day, as_of=portfolio.as_of, currency=portfolio.currency
    )


def _decision_line(d: dict) -> str:
    due = d["due"] if not _missing(d["due"]) else None
    if d["overdue"]:
        return f"{text(d['title'])} (échéance dépassée : {short_date(due)})"
    postponed = " ; reportée" if d["status"] == DecisionStatus.POSTPONED else ""
    return f"{text(d['title'])} (échéance : {short_date(due) if due else 'non précisée'}{postponed})"


def _outcome_line(title: str, d: dict | None) -> str:
    """What became of a decision asked at the previous meeting."""
    if d is None:
        return f"{title} : retirée de la liste des décisions"
    s = DecisionStatus.of(d["status"])
    on = f" le {short_date(d['decided_on'])}" if not _missing(d["decided_on"]) else ""
    outcome = f" – {text(d['outcome'])}" if text(d["outcome"]) else ""
    if s is DecisionStatus.EXPECTED:
        due = d["due"] if not _missing(d["due"]) else None
        late = " (échéance dépassée)" if d["overdue"] else ""
        return f"{title} : toujours attendue{f', échéance {short_date(due)}' if due else ''}{late}"
    if s is DecisionStatus.POSTPONED and not _missing(d["due"]):
        return f"{title} : reportée{on}, nouvelle échéance {short_date(d['due'])}{outcome}"
    return f"{title} : {s.outcome}{on}{outcome}"


def _project_decisions(ctx: dict, portfolio, code: str, previous: dict | None, previous_date, copil_date) -> None:
    """Decisions expected (overdue ones apart) and the relevé of the previous meeting's: each
    decision then expected or decided since, with what became of it."""
    rows = portfolio.project_records(code, portfolio.decisions) if portfolio.decisions is not None else []
    expected = sorted((d for d in rows if d["open"]), key=lambda d: (as_date(d["due"]) or date.max, d["title"]))
    head = ctx["project"]
    head["decisions"] = [_decision_line(d) for d in expected if not d["overdue"]]
    late = [d for d in expected if d["overdue"]]
    head["decisions_overdue"] = (
        "Échéance dépassée, toujours attendue"
        + ("s" if len(late) > 1 else "")
        + " : "
        + " ; ".join(f"{text(d['title'])} ({short_date(d['due'])})" for d in late)
        if late
        else ""
    )
    by_key = {d["key"]: d for d in rows}
    before = ((previous or {}).get("_facts") or {}).get("decisions") if previous_date else None
    start = as_date(previous_date) if previous_date else as_date(copil_date) - timedelta(days=90)
    keys: list[str] = []
    titles: dict[str, str] = {}
    for k, (title, status, *_rest) in (before or {}).items():
        if DecisionStatus.of(status).open:
            keys.append(k)
            titles[k] = title
    for d in rows:
        on = as_date(d["decided_on"])
        if d["key"] not in titles and on is not None and start < on <= as_date(copil_date):
            keys.append(d["key"])
            titles[d["key"]] = text(d["title"])
    if before is None and previous_date and previous:  # a snapshot older than the facts: its lines
        ctx["previous_decisions"] = decision_lines(previous.get("decisions"))
    else:
        ctx["previous_decisions"] = [_outcome_line(titles[k], by_key.get(k)) for k in keys]
    ctx["previous_decisions_note"] = (
        ""
        if ctx["previous_decisions"]
        else "Premier COPIL établi par copil : aucune décision enregistrée ces trois derniers mois."
        if not previous_date
        else f"Aucune décision n’était attendue au COPIL du {long_date(previous_date)}."
    )


def _decisions_heading(p: dict) -> str:
    if not decision_lines(p.get("decisions")):
        return "Décisions attendues"
    if _missing(p.get("decision_deadline")):
        return "Décisions attendues (échéance non précisée)"
    return f"Décisions attendues (échéance : {short_date(p.get('decision_deadline'))})"


# yyyy-mm-dd (or yyyymmdd) and dd-mm-yyyy in a file name; group order giving (year, month, day)
def _export_date(src: dict) -> str:
    """When the export's figures are from, as consolidation dated it (consolidate.export_dated):
    « du 23/11/2026 » from its file name, « déposé le … » from its upload."""
    on = src.get("date")
    if not on:
        return ""
    return f" du {short_date(on)}" if src.get("dated_by") == "name" else f", déposé le {short_date(on)}"


def _export_age(src: dict) -> str:
    """An export older than the rules allow says so. A fresh one is dated only (« du 23/11/2026 »):
    an age counted in days would change every report every night with nothing else changed."""
    age = src.get("age_days")
    if age is None or not src.get("stale"):
        return ""
    return (
        f" (vieux de {age} jours, plus de {src.get('max_age_days')} : montants peut-être dépassés, export à actualiser)"
    )


def _on(value: str, note: str) -> str:
    return value if value == "–" else value + note


def finance_note(portfolio, codes: list[str] | None = None) -> str:
    """Where engaged and paid come from: the finance export (named, dated) or the budget list."""
    if codes is None:
        rows = records(portfolio.budget) if not portfolio.budget.empty else []
    else:
        rows = [r for c in codes for r in portfolio.project_records(c, portfolio.budget)]
    src = portfolio.finance_source
    years = sorted({str(r["year"]) for r in rows if r.get("source") == "finance"})
    if src and years:
        when = _export_date(src) + _export_age(src)
        return (
            f"Engagé et mandaté ({', '.join(years)}) : export du logiciel financier « {src.get('file')} »"
            f"{when} ; les autres montants viennent des listes SharePoint."
        )
    return "Montants saisis dans les listes SharePoint (aucun export du logiciel financier pour ces lignes)."


def project_context(
    portfolio,
    code: str,
    *,
    collectivite: str,
    copil_date: date,
    previous: dict | None,
    documents_shown: int = 8,
    previous_date=None,
    edition: Edition | None = None,
) -> dict:
    cur = portfolio.currency
    p = portfolio.projects.loc[code].to_dict()
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    grants: dict = {}  # subsidy id -> {"start" | "completion": its deadline, as consolidated}
    for g in portfolio.project_records(code, portfolio.deadlines):
        grants.setdefault(g["subsidy_id"], {})[g["kind"]] = g
    ctx = {
        "collectivite": collectivite,
        "copil_date": long_date(copil_date),
        "edition": (edition or living(copil_date)).context(f"{text(code)} – {text(p.get('title'))}", "Fiche projet"),
        "year": str(portfolio.year),
        "project": _project_head(p),
        "weather": _weather(p, previous, previous_date),
        "figures": _figures(p, portfolio, code),
        "milestones": [
            {
                "title": text(m["title"]),
                "phase": text(m["phase"]),
                "baseline": short_date(m["baseline"]),
                "forecast": short_date(m["forecast"]),
                "actual": short_date(m["actual"]),
                "slippage": days(m["slippage_days"], at_least=bool(m.get("slippage_open"))),
                "status": text(m["status"]),
            }
            for m in portfolio.project_records(code, portfolio.milestones)
        ],
        "budget": _budget_rows(portfolio, code),
        "subsidies": [
            {
                "funder": text(s["funder"]),
                "title": text(s["title"]),
                "requested": amount(s["requested"]),
                "notified": amount(s["notified"]),
                "received": amount(s["received"]),
                "to_receive": amount(max((s["notified"] or 0) - (s["received"] or 0), 0))
                if not _missing(s["notified"])
                else "–",
                "notified_on": short_date(s["notified_on"]),
                "deadline": _deadline(s, grants.get(s["id"], {}), p.get("execution_start")),
            }
            for s in portfolio.project_records(code, portfolio.subsidies)
        ],
        "contracts": [
            {
                "number": text(c["number"]),
                "title": text(c["title"]),
                "kind": text(c["kind"]),
                "holder": text(c["holder"]),
                "initial": amount(c["initial_amount"]),
                "amendments_count": str(c["amendments_count"]),
                "amendments_total": amount(c["amendments_total"]),
                "rate": fr_percent(c["amendments_rate"]),
                "limit": fr_percent(c["threshold"]),
                "status": (
                    "au-delà du seuil"
                    if c["over_threshold"]
                    else ("avis de la CAO requis" if c["commission_required"] else "conforme")
                ),
            }
            for c in portfolio.project_records(code, portfolio.contracts)
        ],
        "risks": [],
        "risk_matrix": [],
        "findings": [],
        "documents": [],
    }
    risks = portfolio.project_records(code, portfolio.risks)
    ctx["risks"] = [
        {
            "title": text(r["title"]),
            "probability": fr_number(r["probability"]),
            "impact": fr_number(r["impact"]),
            "criticality": fr_number(r["criticality"]),
            "status": text(r["status"]) or str(RiskStatus.OPEN),
            "mitigation": text(r["mitigation"]),
            "owner": text(r.get("owner")) or "–",
            "due": _risk_due(r, portfolio.as_of),
        }
        for r in sorted(risks, key=lambda r: -(r["criticality"] or 0))
    ]
    subs = portfolio.project_records(code, portfolio.subsidies)
    total = lambda k: sum(s[k] for s in subs if not _missing(s[k])) if any(not _missing(s[k]) for s in subs) else None  # noqa: E731
    ctx["subsidies_total"] = {
        "requested": amount(total("requested")),
        "notified": amount(total("notified")),
        "received": amount(total("received")),
        "to_receive": amount(max((total("notified") or 0) - (total("received") or 0), 0))
        if total("notified") is not None
        else "–",
    }
    ctx["budget_total"] = {**_budget_total(portfolio, code, p), "ap": ctx["figures"]["ap_voted"]}
    closing_rows = synthesis.project_closing(portfolio, code)
    ctx["closing"] = {
        "heading": f"Clôture de l’exercice {portfolio.closing.year}" if closing_rows else "",
        "rows": closing_rows,
        "basis": synthesis.closing_basis(portfolio) if closing_rows else "",
    }
    _project_decisions(ctx, portfolio, code, previous, previous_date, copil_date)
    evo = _evolutions(portfolio, code, previous, previous_date)
    if evo is not None:
        w = ctx["weather"]
        # the figures' trend the lists do not say (payments come from the finance export)
        w["changes"] = [c.text for c in evo] + [c for c in w["changes"] if c.startswith("exécution des CP")]
        w["changes_note"] = f"Aucune modification {since(previous_date)}."
    # Criticality matrix: impact 4 (top) .. 1, probability 1..4; each cell counts open risks.
    matrix = []
    for impact in (4, 3, 2, 1):
        cells = [
            sum(
                1
                for r in risks
                if r["impact"] == impact and r["probability"] == prob and RiskStatus.is_open(r["status"])
            )
            for prob in (1, 2, 3, 4)
        ]
        matrix.append({"impact": str(impact), "cells": [str(c) if c else "" for c in cells]})
    ctx["risk_matrix"] = matrix
    ctx["findings"] = [
        {"list_title": f.list_title, "column": f.column, "value": f.value, "message": f.message, "link": f.link}
        for f in portfolio.findings
        if f.project_code == code
    ]
    ctx["documents"] = [
        {"name": d.name, "url": d.url, "modified": short_date(d.modified), "link": d.name}
        for d in portfolio.documents.get(code, [])[:documents_shown]
    ]
    return typeset(ctx)


def _source(portfolio, b: dict) -> str:
    if b.get("source") != "finance":
        return "liste"
    src = portfolio.finance_source or {}
    return "export financier" + _export_date(src) + (" (ancien)" if src.get("stale") else "")


def _budget_rows(portfolio, code: str) -> list[dict]:
    """One row per year; engaged and paid are « – » for a year not begun (nothing can be paid
    yet, « 0 € » would read as a fact)."""
    amount = lambda v: fr_amount(v, portfolio.currency)  # noqa: E731
    out = []
    for b in portfolio.project_records(code, portfolio.budget):
        future = b["year"] > portfolio.year
        out.append(
            {
                "year": str(b["year"]),
                "cp_planned": amount(b["cp_planned"]),
                "engaged": "–" if future else amount(b["engaged"]),
                "paid": "–" if future else amount(b["paid"]),
                "execution": "–"
                if future or not b["cp_planned"] or _missing(b["cp_planned"])
                else fr_percent(b["paid"] / b["cp_planned"]),
                "source": "échéancier (liste)" if future else _source(portfolio, b),
            }
        )
    return out


def _budget_total(portfolio, code: str, p: dict) -> dict:
    amount = lambda v: fr_amount(v, portfolio.currency)  # noqa: E731
    rows = portfolio.project_records(code, portfolio.budget)
    cp = sum(b["cp_planned"] for b in rows if not _missing(b["cp_planned"]))
    paid = sum(b["paid"] for b in rows if not _missing(b["paid"]))
    engaged = sum(b["engaged"] for b in rows if not _missing(b["engaged"]))
    # execution over the years begun: CP of years to come cannot have been paid yet
    begun = sum(b["cp_planned"] for b in rows if not _missing(b["cp_planned"]) and b["year"] <= portfolio.year)
    ap = p.get("ap_voted")
    gap = (
        ""
        if _missing(ap) or not rows or abs(cp - ap) < 0.5
        else (
            f"les CP prévus ({amount(cp)}) {'dépassent' if cp > ap else 'n’atteignent pas'} l’AP de {amount(abs(cp - ap))}"
        )
    )
    return {
        "cp_planned": amount(cp) if rows else "–",
        "engaged": amount(engaged) if rows else "–",
        "paid": amount(paid) if rows else "–",
        "execution": fr_percent(paid / begun) if begun else "–",
        "gap": gap,
    }


def _risk_due(r: dict, as_of) -> str:
    d = r.get("due")
    if _missing(d):
        return "–"
    late = RiskStatus.is_open(text(r.get("status"))) and d < as_of
    return short_date(d) + (" (dépassée)" if late else "")


def _deadline(s: dict, grants: dict[str, dict], started_on) -> str:
    """A DETR/DSIL grant's two deadlines with where each stands (synthesis.grant_status, as in
    the calendar); the start deadline of works already started says when they started."""
    parts = []
    if s.get("start_deadline"):
        on = f"démarrage avant le {short_date(s['start_deadline'])}"
        if not _missing(started_on):
            on += f" (travaux commencés le {short_date(started_on)})"
        elif "start" in grants:
            on += f" ({synthesis.grant_status(grants['start'])})"
        parts.append(on)
    if s.get("completion_deadline"):
        on = f"achèvement avant le {short_date(s['completion_deadline'])}"
        if "completion" in grants:
            on += f" ({synthesis.grant_status(grants['completion'])})"
        parts.append(on)
    return " ; ".join(parts) or "–"


def _totals(portfolio) -> dict:
    """Portfolio totals that do not hide anything: balances left on the AP summed apart from the
    overruns (never netted), CP of projects without a valid AP counted and said."""
    cur, pr = portfolio.currency, portfolio.projects
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    total = lambda col, frame=pr: frame[col].sum(min_count=1) if not frame.empty else math.nan  # noqa: E731
    cp, paid = total("cp_year"), total("paid_year")
    rem = pr["remaining_to_pay"] if not pr.empty else None
    # left to pay on running operations only (a closed one's balance is to cancel), as in the PPI
    left = rem[(rem >= 0) & pr["running"]].sum() if rem is not None else math.nan
    over = rem[rem < 0] if rem is not None else []
    no_ap = pr[pr["ap_voted"].isna()] if not pr.empty else pr
    no_ap_cp = total("cp_year", no_ap) if len(no_ap) else math.nan
    return {
        "ap_voted": amount(total("ap_voted")),
        "cp_year": amount(cp),
        "engaged_year": amount(total("engaged_year")),
        "paid_year": amount(paid),
        "execution_rate": fr_percent(paid / cp) if cp and present(cp) else "–",
        "subsidies_notified": amount(total("subsidies_notified")),
        "remaining_to_pay": amount(left) if rem is not None else "–",
        "overruns": (
            f"{_n(len(over), 'projet')} : {amount(-over.sum())} au-delà de l’AP votée" if len(over) else "aucun"
        ),
        "without_ap": (
            (
                f"{_n(len(no_ap), 'projet')} sans AP valide, dont les CP {portfolio.year} "
                f"({amount(no_ap_cp)}) sont comptés dans les totaux"
                if present(no_ap_cp)
                else f"{_n(len(no_ap), 'projet')} sans AP valide, sans CP {portfolio.year}"
            )
            if len(no_ap)
            else "aucun"
        ),
    }


def _severity(w) -> int:
    known = Weather.of(w)
    return known.severity if known else Weather.INDETERMINE.severity


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


MAX_ROWS = 150  # [reports] synthesis_max_rows


def portfolio_context(
    portfolio,
    *,
    collectivite: str,
    copil_date: date,
    previous: dict[str, dict],
    previous_date=None,
    edition: Edition | None = None,
    max_rows: int = MAX_ROWS,
) -> dict:
    cur = portfolio.currency
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    pr = portfolio.projects
    counts = synthesis.weather_counts(pr)
    running = int(pr["running"].sum()) if not pr.empty else 0
    ctx = {
        "collectivite": collectivite,
        "copil_date": long_date(copil_date),
        "edition": (edition or living(copil_date)).context("Synthèse du portefeuille"),
        "year": str(portfolio.year),
        "counts": {
            "total": str(len(pr)),
            "running": str(running),
            **{w.key: str(counts.get(w, 0)) for w in Weather},
            "closed": str(len(pr) - running),
        },
        "totals": _totals(portfolio),
        "finance_source": finance_note(portfolio),
        "findings_count": str(len(portfolio.findings)),
        "previous_date": long_date(previous_date) if previous_date else "aucun",
        "since": since(previous_date),
    }
    for dim, key in (("direction", "by_direction"), ("territory", "by_territory"), ("policy", "by_policy")):
        frame = portfolio.rollups.get(dim)
        ctx[key] = (
            []
            if frame is None
            else [
                {
                    "name": str(name),
                    "projects": str(int(r["projects"])),
                    "running": str(int(r["running"])),
                    **{w.key: str(int(r[w.key])) for w in Weather},
                    "closed": str(int(r["closed"])),
                    "ap_voted": amount(r["ap_voted"]),
                    "cp_year": amount(r["cp_year"]),
                    "paid_year": amount(r["paid_year"]),
                    "execution": fr_percent(r["cp_execution_rate"]),
                }
                for name, r in frame.iterrows()
            ]
        )
    # closed operations are followed for their balances, not among the alerts; the worst first
    alerting = pr[(pr["weather"] != Weather.SOLEIL) & pr["running"]] if not pr.empty else pr
    ctx["alerts"] = [
        {
            "code": text(code),
            "title": text(r["title"]),
            "direction": text(r["direction"]),
            "weather": label(r["weather"]),
            "symbol": symbol(r["weather"]),
            "tint": color(r["weather"], tint=True),
            "reasons": " ; ".join(r["weather_reasons"] or []),
        }
        for code, r in sorted(alerting.iterrows(), key=lambda x: (-Weather(x[1]["weather"]).severity, x[0]))
    ]
    ctx["closed"] = synthesis.closed(portfolio)
    movers = []
    for code, r in pr.iterrows():
        before = (previous or {}).get(code)
        if not before or not previous_date:
            continue
        t, changes = trend(r.to_dict(), before)
        if t in ("en amélioration", "en dégradation"):
            movers.append(
                {
                    "code": code,
                    "title": r["title"],
                    "trend": t,
                    "before": label(before.get("weather")),
                    "after": label(r["weather"]),
                    "tint": color(r["weather"], tint=True),
                    "changes": " ; ".join(changes),
                    "_score": abs(_severity(r["weather"]) - _severity(before.get("weather"))) * 1000
                    + abs((_num(r.get("slippage_days")) or 0) - (_num(before.get("slippage_days")) or 0)),
                }
            )
    movers.sort(key=lambda m: (-m["_score"], m["code"]))
    ctx["movers"] = [{k: v for k, v in m.items() if k != "_score"} for m in movers[:15]]
    _sections(ctx, portfolio, previous or {}, previous_date)
    _portfolio_decided(ctx, portfolio, previous_date, copil_date)
    _portfolio_evolutions(ctx, portfolio, previous or {}, previous_date)
    if not previous_date:
        ctx["movers_note"] = "Premier COPIL établi par copil : pas encore de point de comparaison."
    elif not movers:
        ctx["movers_note"] = f"Aucun changement de météo {since(previous_date)}."
    else:
        ctx["movers_note"] = ""
    bounded(ctx, max_rows)
    return typeset(ctx)


# The synthesis' lists that grow with the portfolio, and what one of their rows is. Beyond
# `max_rows` a list is cut, most urgent rows kept (each list is already in reading order), and
# « <list>_more » says how many more and where they all are.
BOUNDED = {
    "alerts": ("projet en alerte", "projets en alerte", "la vue « Projets en alerte » de la liste des projets"),
    "closed": ("opération close", "opérations closes", "la liste des projets"),
    "decisions": ("décision attendue", "décisions attendues", "la liste des décisions"),
    "decided": ("décision prise", "décisions prises", "la liste des décisions"),
    "evolutions": ("projet modifié", "projets modifiés", "les fiches projet"),
    "subsidy_calendar": ("échéance", "échéances", "la liste des subventions"),
    "agenda": ("événement", "événements", "la liste des jalons"),
    "urban.projects": ("opération", "opérations", "la liste des projets"),
    "directions.projects": ("opération", "opérations", "la vue « Par direction » de la liste des projets"),
    "directions.works": ("démarrage de travaux", "démarrages de travaux", "la liste des jalons"),
    "territories.projects": ("opération", "opérations", "la vue « Par territoire » de la liste des projets"),
    "territories.works": ("démarrage de travaux", "démarrages de travaux", "la liste des jalons"),
    "findings_by_manager.findings": ("anomalie", "anomalies", "la vue « Données à corriger » des listes"),
}


def bounded(ctx: dict, max_rows: int) -> None:
    """Cut the long lists of a synthesis context in place (see BOUNDED)."""
    for path, (one, many, where) in BOUNDED.items():
        head, _, leaf = path.rpartition(".")
        holders = ctx.get(head, []) if head else [ctx]
        if isinstance(holders, dict):
            holders = [holders]
        for holder in holders:
            rows = holder.get(leaf)
            if not isinstance(rows, list):
                continue
            more = len(rows) - max_rows
            holder[f"{leaf}_more"] = (
                f"… et {fr_number(more, 0)} {'autre ' + one if more == 1 else 'autres ' + many}, dans {where}."
                if more > 0
                else ""
            )
            if more > 0:
                holder[leaf] = rows[:max_rows]


def _portfolio_decided(ctx: dict, portfolio, previous_date, copil_date) -> None:
    start = as_date(previous_date) if previous_date else as_date(copil_date) - timedelta(days=90)
    ctx["decided"] = synthesis.decided_since(portfolio, start)
    ctx["decided_note"] = (
        ""
        if ctx["decided"]
        else f"Aucune décision enregistrée {since(previous_date)}."
        if previous_date
        else "Aucune décision enregistrée ces trois derniers mois."
    )


def _portfolio_evolutions(ctx: dict, portfolio, previous: dict, previous_date) -> None:
    """Per project, every change people made since the previous edition (the computed météo and the
    calendar's unreached milestones are in « Plus fortes évolutions » and the alerts)."""
    rows = []
    known = 0
    for code in portfolio.projects.index:
        evo = _evolutions(portfolio, code, previous.get(code), previous_date)
        if evo is None:
            continue
        known += 1
        typed = [c.text for c in evo if c.by == evolutions.PERSON]
        if typed:
            rows.append(
                {"code": text(code), "title": text(portfolio.projects.at[code, "title"]), "changes": " ; ".join(typed)}
            )
    ctx["evolutions"] = rows
    ctx["evolutions_note"] = (
        ""
        if rows
        else "Premier COPIL établi par copil : pas encore de point de comparaison."
        if not previous_date or not known
        else f"Aucune modification saisie {since(previous_date)}."
    )


def _sections(ctx: dict, portfolio, previous: dict, previous_date) -> None:
    """Page 1 and the sections the deciders read (connector.reports.synthesis)."""
    c = ctx["counts"]
    decisions = synthesis.decisions(portfolio)
    exposed = synthesis.exposed(portfolio)
    closing = synthesis.closing(portfolio)
    more = len(decisions) - synthesis.PAGE1_DECISIONS
    ctx["page1"] = {
        "counts_line": (
            f"{c['total']} projets suivis : {c['running']} en cours ({c['orage']} en orage, "
            f"{c['nuageux']} nuageux, {c['soleil']} au soleil, {c['indetermine']} à météo indéterminée) "
            f"et {c['closed']} opérations closes, suivies pour leur solde."
        ),
        "decisions": decisions[: synthesis.PAGE1_DECISIONS],
        "decisions_more": (
            f"… et {more} autre{'s' if more > 1 else ''} décision{'s' if more > 1 else ''} : voir "
            "« Toutes les décisions attendues »."
            if more > 0
            else ""
        ),
        "decisions_note": "" if decisions else "Aucune décision demandée au COPIL.",
        "exposed": exposed[: synthesis.PAGE1_EXPOSED],
        "exposed_note": ""
        if exposed
        else "Aucune opération en orage, nuageuse, avec un besoin de financement ou des montants à risque.",
        "since": synthesis.since_line(previous_date),
        "changes": synthesis.changes(portfolio, previous, previous_date)[: synthesis.PAGE1_CHANGES],
        "money": synthesis.money_messages(portfolio),
    }
    ctx["closing"] = closing or {"heading": "", "rows": [], "basis": "", "total": {}, "summary": ""}
    ctx["decisions"] = decisions
    ctx["ppi"] = synthesis.ppi(portfolio)
    ctx["funders"], ctx["funders_total"] = synthesis.funders(portfolio)
    ctx["subsidy_calendar"] = synthesis.subsidy_calendar(portfolio)
    ctx["territories"] = synthesis.sheets(portfolio, "territory")
    ctx["directions"] = synthesis.sheets(portfolio, "direction")
    ctx["urban"] = synthesis.urban_policy(portfolio)
    ctx["agenda"] = synthesis.agenda(portfolio)
    ctx["findings_by_manager"] = synthesis.findings_by_manager(portfolio)


__all__ = ["project_context", "portfolio_context", "trend", "as_date"]
