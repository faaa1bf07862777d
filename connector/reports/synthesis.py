"""The sections of the portfolio synthesis a DGS, a PPI director, a territory director and the
élus decide from: page 1 (decisions, projects most exposed, what changed, money messages), the
multi-year AP/CP table, subsidies by funder, territory and direction sheets, the politique de
la ville, the élus' agenda and data quality by project manager. Plain dicts of French strings."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

from babel.dates import format_date

from connector.formatting import milestone_when
from connector.model import Weather, is_missing, present, worse, zero_if_missing
from connector.model.vocabulary import WORKS_START_PHASES, DecisionStatus
from connector.reports.formatting import color, fr_amount, fr_percent, label, long_date, short_date, symbol, text
from connector.rules import AP_SHORTFALL, CP_MISSING, CP_PLAN_GAP, CP_UNSPENT, SUBSIDY_DEADLINE
from connector.tables import records

AHEAD_DAYS = 92  # « the next three months »
PAGE1_DECISIONS, PAGE1_EXPOSED, PAGE1_CHANGES = 6, 5, 5


def _n(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
BY_SEVERITY = sorted(Weather, key=lambda w: -w.severity)  # Orage, Nuageux, Indéterminé, Soleil


def _records(frame) -> list[dict]:
    return [] if frame is None or frame.empty else records(frame)


def _due(m: dict):
    return m.get("forecast") or m.get("baseline")


# --- decisions -------------------------------------------------------------------------
def decisions(portfolio) -> list[dict]:
    """Every decision still expected (items of « Décisions » and lines of « Décisions attendues »),
    soonest deadline first, those without a deadline last; a passed deadline says so."""
    out = []
    d = portfolio.decisions
    if d is None or d.empty:
        return []
    titles = portfolio.projects["title"] if "title" in portfolio.projects else {}
    elected = portfolio.projects["elected"] if "elected" in portfolio.projects else {}
    for r in records(d[d["open"]]):
        code = r["project_code"]
        if code not in portfolio.projects.index:
            continue
        due = r["due"] if not is_missing(r["due"]) else None
        who = text(elected.get(code)) if len(elected) else ""
        out.append(
            {
                "code": text(code),
                "title": text(titles.get(code)) if len(titles) else "",
                "decision": text(r["title"]) + (" (reportée)" if r["status"] == DecisionStatus.POSTPONED else ""),
                "elected": who or "–",
                "elected_short": who.split(",")[0].strip() or "–",
                "deadline": (short_date(due) + (" (dépassée)" if r["overdue"] else "")) if due else "–",
                "overdue": bool(r["overdue"]),
                "_key": (due or date.max, str(code)),
            }
        )
    out.sort(key=lambda d: d["_key"])
    return [{k: v for k, v in d.items() if k != "_key"} for d in out]


def decided_since(portfolio, since: date | None) -> list[dict]:
    """The relevé de décisions: what the committees decided (taken, postponed, abandoned) since
    the previous meeting, newest first, with what was decided."""
    d = portfolio.decisions
    if d is None or d.empty or since is None:
        return []
    out = []
    for r in records(d[~d["open"] | (d["status"] == DecisionStatus.POSTPONED)]):
        on = r["decided_on"] if not is_missing(r["decided_on"]) else None
        if on is None or on <= since or r["project_code"] not in portfolio.projects.index:
            continue
        out.append(
            {
                "on": short_date(on),
                "code": text(r["project_code"]),
                "decision": text(r["title"]),
                "status": DecisionStatus.of(r["status"]).outcome,
                "outcome": text(r["outcome"]) or "–",
                "_key": (on, str(r["project_code"])),
            }
        )
    out.sort(key=lambda d: (-d["_key"][0].toordinal(), d["_key"][1]))
    return [{k: v for k, v in d.items() if k != "_key"} for d in out]


# --- projects most exposed ---------------------------------------------------------------
def exposed(portfolio) -> list[dict]:
    """Running projects with a storm, a cloud or money named (funding need, money at risk), by
    severity then by those amounts then AP: the reader sees first where a decision moves the most
    money. The funding need says its basis: a projection is not money lost."""
    cur = portfolio.currency
    rows = []
    for code, p in portfolio.projects.iterrows():
        if not p["running"]:
            continue
        need, risk = zero_if_missing(p.get("funding_need")), zero_if_missing(p.get("money_at_risk"))
        sev = Weather(p["weather"]).severity
        if sev < Weather.NUAGEUX.severity and need <= 0 and risk <= 0:
            continue
        reasons = list(p.get("weather_reasons") or [])
        if p["weather"] == Weather.SOLEIL or not reasons or reasons == ["aucun écart au-delà des seuils"]:
            reasons = []
        biggest = max(p.get("forecasts") or [], key=lambda f: f["amount"], default=None)
        why = reasons[:1] + ([_short(biggest)] if biggest and biggest["kind"] != CP_UNSPENT else [])
        rows.append(
            {
                "code": text(code),
                "title": text(p["title"]),
                "weather": label(p["weather"]),
                "symbol": symbol(p["weather"]),
                "tint": color(p["weather"], tint=True),
                "ap": fr_amount(p.get("ap_voted"), cur),
                "need": f"{fr_amount(need, cur)} ({_BASIS[p.get('funding_need_basis') or 'projection']})"
                if need
                else "–",
                "at_risk": fr_amount(risk, cur) if risk else "–",
                "reason": " ; ".join(why) or "–",
                "_key": (-sev, -(need + risk), -zero_if_missing(p.get("ap_voted")), str(code)),
            }
        )
    rows.sort(key=lambda r: r["_key"])
    return [{k: v for k, v in r.items() if k != "_key"} for r in rows]


_BASIS = {"projection": "projection", "constaté": "déjà mandaté au-delà de l’AP"}


def funding_need_message(portfolio) -> str:
    """Page 1's « besoin de financement estimé »: the sum of the running operations' funding needs
    (consolidate.funding_need), saying what it adds — a projection of the cost at completion, and
    apart what was already paid beyond the AP. Never called money lost: AP revisions to prepare."""
    cur, pr = portfolio.currency, portfolio.projects
    running = pr[pr["running"] & (pr["funding_need"].fillna(0) > 0)] if not pr.empty else pr
    if running.empty:
        return (
            "Aucun besoin de financement au-delà des AP : aucune AP ne paraît insuffisante au regard de "
            "l’avancement physique et des mandatements."
        )
    need = float(running["funding_need"].sum())
    paid_over = running[running["funding_need_basis"] == "constaté"]
    projected = need - float(paid_over["funding_need"].sum())
    order = running.sort_values(["funding_need", "code"], ascending=[False, True])
    projection = "projection du coût à l’achèvement (mandaté ÷ avancement physique)"
    if not len(paid_over):
        basis = projection
    elif not projected:
        basis = "déjà mandatés au-delà de l’AP"
    else:
        basis = f"dont {fr_amount(projected, cur)} en {projection} et {fr_amount(need - projected, cur)} déjà mandatés"
    return (
        f"Besoin de financement estimé au-delà des AP : {fr_amount(need, cur)} sur {_n(len(running), 'opération')} "
        f"({_few([str(c) for c in order.index], 2)}), {basis} ; révisions d’AP à prévoir."
    )


_SHORT = {
    AP_SHORTFALL: "AP probablement insuffisante",
    CP_MISSING: "CP absents avant la fin prévisionnelle",
    CP_PLAN_GAP: "échéancier des CP différent de l’AP",
    SUBSIDY_DEADLINE: "subvention menacée par son échéance",
}


def _short(f: dict) -> str:
    return _SHORT.get(f["kind"], f["message"])


def weather_counts(pr) -> dict[str, int]:
    """Projects per météo among the operations still running: a closed one is followed for its
    balance only (the synthesis' counts and its chart)."""
    return pr[pr["running"]]["weather"].value_counts().to_dict() if not pr.empty else {}


# --- what changed since the previous COPIL ------------------------------------------------
def changes(portfolio, previous: dict, previous_date) -> list[str]:
    if not previous_date:
        return ["Premier COPIL établi par copil : pas encore de point de comparaison."]
    pr, out = portfolio.projects, []
    worsened: list[str] = []
    better: list[str] = []
    new_alerts: list[str] = []
    for code, p in pr.iterrows():
        before = previous.get(code)
        if not before:
            continue
        b, a = before.get("weather"), p["weather"]
        moved = worse(Weather.of(a), Weather.of(b))
        if moved is not None:
            (worsened if moved else better).append(f"{code} ({label(b)} → {label(a)})")
        old = {alert_key(x) for x in before.get("alerts") or []}
        if any(alert_key(x) not in old for x in p.get("alerts") or []):
            new_alerts.append(str(code))
    if worsened:
        out.append(f"{_n(len(worsened), 'projet')} en dégradation : {_few(worsened)}.")
    if better:
        out.append(f"{_n(len(better), 'projet')} en amélioration : {_few(better)}.")
    if new_alerts:
        out.append(f"Nouvelles alertes sur {_n(len(new_alerts), 'projet')} : {_few(new_alerts)}.")
    passed, missed = [], []
    for m in _records(portfolio.milestones):
        if m.get("actual") and previous_date < m["actual"] <= portfolio.as_of:
            passed.append(f"{text(m['title'])} ({m['project_code']}, {short_date(m['actual'])})")
        elif not m.get("actual") and _due(m) and previous_date < _due(m) < portfolio.as_of:
            missed.append(f"{text(m['title'])} ({m['project_code']}, prévu le {short_date(_due(m))})")
    if passed:
        out.append(f"{_n(len(passed), 'jalon atteint', 'jalons atteints')} : {_few(passed)}.")
    if missed:
        gone = "date passée, non atteint" if len(missed) == 1 else "dates passées, non atteints"
        out.append(f"{_n(len(missed), 'jalon manqué', 'jalons manqués')} ({gone}) : {_few(missed)}.")
    if not out:
        out.append("Aucun changement de météo, aucune nouvelle alerte, aucun jalon atteint ou manqué.")
    return out


def alert_key(alert: str) -> str:
    """An alert without its figures and dates: the same alert a month later (another amount,
    « au 24/11/2026 ») is not a new one."""
    return _FIGURES.sub("#", str(alert))


_FIGURES = re.compile(r"\d[\d\s\u202f\u00a0.,/:%]*")


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (
        f" et {len(items) - n} autre{'s' if len(items) - n > 1 else ''}" if len(items) > n else ""
    )


# --- money messages -------------------------------------------------------------------------
def money_messages(portfolio) -> list[str]:
    """Four sums a DGS asks for, each with its amount, said even when it is zero (so the
    reader knows it was checked)."""
    cur, pr, year = portfolio.currency, portfolio.projects, portfolio.year
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    by_kind: dict[str, list] = {}
    for code, p in pr.iterrows():
        for f in p.get("forecasts") or []:
            by_kind.setdefault(f["kind"], []).append((code, f["amount"]))
    out = []
    unspent = by_kind.get(CP_UNSPENT, [])
    closed_year = closing(portfolio)
    out.append(
        # from January the reader reads how the previous year ended: the new year's CP have no pace yet
        closed_year["summary"]
        if closed_year
        else f"CP {year} : environ {amount(sum(a for _, a in unspent))} risquent de ne pas être mandatés au "
        f"31/12/{year} sur {_n(len(unspent), 'opération')}, à reporter ou à redéployer."
        if unspent
        else f"CP {year} : au rythme actuel, pas de crédits de paiement notablement non consommés au 31 décembre."
        if portfolio.as_of.month >= portfolio.cp_projection_from_month
        else f"CP {year} : trop tôt dans l’exercice pour projeter les crédits non consommés au 31 décembre "
        f"(projection à partir de {format_date(date(2000, portfolio.cp_projection_from_month, 1), 'MMMM', locale='fr_FR')})."
    )
    to_receive = sum(
        max(zero_if_missing(s["notified"]) - zero_if_missing(s["received"]), 0.0) for s in _records(portfolio.subsidies)
    )
    closed_codes = set(pr.index[~pr["running"]]) if not pr.empty else set()
    on_closed = sum(
        max(zero_if_missing(s["notified"]) - zero_if_missing(s["received"]), 0.0)
        for s in _records(portfolio.subsidies)
        if s["project_code"] in closed_codes
    )
    out.append(
        f"Subventions notifiées à encaisser : {amount(to_receive)}"
        + (f", dont {amount(on_closed)} sur des opérations closes (à solder)." if on_closed else ".")
    )
    out.append(funding_need_message(portfolio))
    # DETR/DSIL: the deadlines already passed and those the plan will miss, as the rules, the
    # calendar and the project reports see them (consolidation's deadlines)
    risky = by_kind.get(SUBSIDY_DEADLINE, [])
    lapsed = [g for g in _records(portfolio.deadlines) if g["lapsed"]]
    parts = []
    if lapsed:
        codes = sorted({str(g["project_code"]) for g in lapsed})
        parts.append(
            f"{_n(len(lapsed), 'échéance')} de subvention DETR/DSIL dépassée{'s' if len(lapsed) > 1 else ''} : "
            f"{amount(sum(g['to_receive'] for g in lapsed))} restant à percevoir menacés ({_few(codes)}), "
            "subvention caduque sans prorogation"
        )
    if risky:
        parts.append(
            f"{_n(len(risky), 'subvention')} DETR/DSIL arrive{'nt' if len(risky) > 1 else ''} à échéance avant "
            f"la date prévue du démarrage ou de la fin de l’opération : {amount(sum(a for _, a in risky))} "
            "restant à percevoir menacés "
            f"({_few([str(c) for c, _ in risky])}) ; demander les prorogations"
        )
    out.append(
        (" ; ".join(parts) + ".")
        if parts
        else "Aucune échéance de subvention DETR/DSIL dépassée ni avant la date prévue du démarrage ou de la fin "
        "de son opération."
    )
    return out


# --- the multi-year AP/CP table of the PPI --------------------------------------------------------
def ppi(portfolio) -> dict:
    cur, pr, year = portfolio.currency, portfolio.projects, portfolio.year
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    rows = _records(portfolio.budget)
    years = sorted({int(r["year"]) for r in rows})
    table = []
    for y in years:
        mine = [r for r in rows if r["year"] == y]
        cp = sum(zero_if_missing(r["cp_planned"]) for r in mine)
        future = y > year
        paid = sum(zero_if_missing(r["paid"]) for r in mine)
        engaged = sum(zero_if_missing(r["engaged"]) for r in mine)
        table.append(
            {
                "year": str(y),
                "operations": str(sum(1 for r in mine if zero_if_missing(r["cp_planned"]) > 0)),
                "cp_planned": amount(cp),
                "engaged": "–" if future else amount(engaged),
                "paid": "–" if future else amount(paid),
                "execution": "–" if future or not cp else fr_percent(paid / cp),
                "unpaid": "–" if future else amount(max(cp - paid, 0.0)),
            }
        )
    # the AP still running: a closed operation's balance is to cancel, not to pay, and an
    # operation without a valid AP cannot be set against one
    running = pr[pr["running"]] if not pr.empty else pr
    with_ap = running[running["ap_voted"].notna()] if not pr.empty else pr
    ap = with_ap["ap_voted"].sum(min_count=1) if len(with_ap) else math.nan
    paid_total = with_ap["paid_total"].fillna(0).sum() if len(with_ap) else math.nan
    rem = with_ap["remaining_to_pay"] if len(with_ap) else None
    remaining = float(rem[rem > 0].sum()) if rem is not None else math.nan
    over = rem[rem < 0] if rem is not None else []
    remaining_text = amount(remaining) + (
        f" (les dépassements, {amount(float(-over.sum()))} sur {_n(len(over), 'opération')}, n’en sont pas déduits)"
        if len(over)
        else ""
    )
    no_ap = running[running["ap_voted"].isna()] if not pr.empty else pr
    paid_text = amount(paid_total) + (
        f" (hors {_n(len(no_ap), 'opération')} sans AP valide : {amount(float(no_ap['paid_total'].fillna(0).sum()))} "
        "mandatés)"
        if len(no_ap)
        else ""
    )
    closed = pr[~pr["running"] & pr["ap_voted"].notna()] if not pr.empty else pr
    to_cancel = closed[closed["remaining_to_pay"] > 0] if len(closed) else closed  # a balance left on the AP
    closed_balance = float(to_cancel["remaining_to_pay"].sum()) if len(to_cancel) else 0.0
    cp_year = running["cp_year"].sum(min_count=1) if len(running) else math.nan
    cp_after = sum(zero_if_missing(r["cp_planned"]) for r in rows if r["year"] > year)
    not_planned = sum(
        max(zero_if_missing(p["ap_voted"]) - zero_if_missing(p["cp_total"]), 0.0)
        for _, p in pr.iterrows()
        if not is_missing(p["ap_voted"]) and p["running"]
    )
    affected = pr["ap_affected"] if "ap_affected" in pr else None
    known = pr[affected.notna()] if affected is not None else pr.iloc[0:0]
    if len(known):
        unassigned = amount(float((known["ap_voted"] - known["ap_affected"]).clip(lower=0).sum()))
        unassigned += f" (sur {_n(len(known), 'opération')} de l’export financier)"
    else:
        unassigned = "non disponible : l’export financier ne donne pas l’AP affectée"
    coverage = "–"
    if cp_year and not is_missing(cp_year) and not is_missing(remaining):
        ratio = round(remaining / cp_year, 1)
        coverage = f"{ratio:.1f}".replace(".", ",") + (" ans" if ratio >= 2 else " an")
    return {
        "years": table,
        "ap_voted": amount(ap),
        "paid_total": paid_text,
        "remaining": remaining_text,
        "cp_year": amount(cp_year),
        "cp_after": amount(cp_after),
        "closed_balance": f"{amount(closed_balance)} sur {_n(len(to_cancel), 'opération close', 'opérations closes')}",
        "not_planned": amount(not_planned),
        "unassigned": unassigned,
        "coverage": coverage,
        "last_year": str(years[-1]) if years else "–",
    }


# --- subsidies by funder, and their deadlines ---------------------------------------------------
def funders(portfolio) -> tuple[list[dict], dict]:
    cur = portfolio.currency
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    groups: dict[str, list] = {}
    for s in _records(portfolio.subsidies):
        groups.setdefault(text(s["funder"]) or "Non renseigné", []).append(s)

    def row(name, items):
        req, notif, recv = (sum(zero_if_missing(s[k]) for s in items) for k in ("requested", "notified", "received"))
        return {
            "funder": name,
            "operations": str(len({s["project_code"] for s in items})),
            "requested": amount(req),
            "notified": amount(notif),
            "received": amount(recv),
            "to_receive": amount(
                sum(max(zero_if_missing(s["notified"]) - zero_if_missing(s["received"]), 0.0) for s in items)
            ),
        }

    rows = [row(k, v) for k, v in sorted(groups.items())]
    return rows, row("Total", [s for v in groups.values() for s in v])


def grant_status(g: dict) -> str:
    """Where a DETR/DSIL deadline stands, in the calendar and in the project report alike."""
    planned = None if is_missing(g["planned_on"]) else g["planned_on"]
    if g["lapsed"]:
        return "dépassée"
    if planned and planned > g["deadline"]:
        return f"avant la date prévue ({short_date(planned)}) : prorogation à demander"
    return "à tenir"


def subsidy_calendar(portfolio) -> list[dict]:
    """Every DETR/DSIL deadline of the running operations, soonest first, as consolidation
    computed them: those passed (the grant lapses unless extended: said until the operation is
    closed, as the rules and page 1 say it) and those ahead."""
    cur, pr = portfolio.currency, portfolio.projects
    out = []
    for g in _records(portfolio.deadlines):
        if g["project_code"] not in pr.index:
            continue
        status = grant_status(g)
        out.append(
            {
                "date": short_date(g["deadline"]),
                "funder": text(g["funder"]),
                "what": "démarrage" if g["kind"] == "start" else "achèvement",
                "code": text(g["project_code"]),
                "title": text(pr.loc[g["project_code"]]["title"]),
                "to_receive": fr_amount(g["to_receive"], cur),
                "status": status,
                "_d": g["deadline"],
            }
        )
    out.sort(key=lambda r: (r["_d"], r["code"]))
    return [{k: v for k, v in r.items() if k != "_d"} for r in out]


# --- closed operations ------------------------------------------------------------------
def closed(portfolio) -> list[dict]:
    cur, pr = portfolio.currency, portfolio.projects
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    out = []
    for code, r in pr[~pr["running"]].iterrows() if not pr.empty else []:
        rem = r["remaining_to_pay"]
        subs = portfolio.project_records(code, portfolio.subsidies)
        to_claim = sum(max(zero_if_missing(s["notified"]) - zero_if_missing(s["received"]), 0.0) for s in subs)
        dgd = [m for m in portfolio.project_records(code, portfolio.milestones) if m.get("phase") == "DGD"]
        if dgd and dgd[0].get("actual"):
            dgd_text = f"signé le {short_date(dgd[0]['actual'])}"
        elif dgd:
            dgd_text = f"prévu le {short_date(_due(dgd[0]))}"
        else:
            dgd_text = "non saisi"
        flags = r.get("input_flags") if isinstance(r.get("input_flags"), dict) else {}
        # an AP copil interpreted (« env. 3M ») is said so beside every figure computed from it,
        # as in the project's own report; the export's AP affectée is the figure to compare
        guessed = (flags.get("ap_voted") or ("",))[0] == "estimated"
        on_ap = " (sur l’AP à confirmer)" if guessed else ""
        affected = r.get("ap_affected")
        within = (
            f" ; dans l’AP affectée ({amount(affected)})"
            if guessed and present(affected) and zero_if_missing(r["paid_total"]) <= affected
            else ""
        )
        out.append(
            {
                "code": text(code),
                "title": text(r["title"]),
                "ap_voted": f"≈ {amount(r['ap_voted'])} (à confirmer)" if guessed else amount(r["ap_voted"]),
                "paid_total": amount(r["paid_total"]),
                "balance": (
                    "–"
                    if is_missing(rem)
                    else f"dépassement de {amount(-rem)}{on_ap}{within}"
                    if rem < 0
                    else f"{amount(rem)} à annuler{on_ap}"
                    if rem > 0
                    else "soldée"
                ),
                "subsidies_to_claim": amount(to_claim) if to_claim else "–",
                "dgd": dgd_text,
            }
        )
    return out


# --- sheets per territory and per direction ---------------------------------------------
def sheets(portfolio, dim: str) -> list[dict]:
    cur, pr, as_of = portfolio.currency, portfolio.projects, portfolio.as_of
    horizon = as_of + timedelta(days=AHEAD_DAYS)
    out = []
    if pr.empty:
        return out
    names = pr[dim].fillna("Non renseigné")
    for name in sorted(set(names)):
        mine = pr[names == name]
        live = mine[mine["running"]]
        projects: list[dict] = []
        works: list[tuple] = []
        for code, p in live.iterrows():
            nxt = text(p.get("next_milestone_label"))
            projects.append(
                {
                    "code": text(code),
                    "title": text(p["title"]),
                    "phase": text(p["phase"]),
                    "weather": label(p["weather"]),
                    "tint": color(p["weather"], tint=True),
                    "qpv": "QPV" if text(p.get("qpv")) else "",
                    "next": f"{nxt} ({milestone_when(p.get('next_milestone_date'), p.get('next_milestone_late_days'))})"
                    if nxt
                    else "–",
                }
            )
            for m in portfolio.project_records(code, portfolio.milestones):
                # a works start still not given after its date is listed first, with its lateness
                if m.get("phase") in WORKS_START_PHASES and not m.get("actual") and _due(m) and _due(m) <= horizon:
                    late = (as_of - _due(m)).days if _due(m) < as_of else 0
                    on = milestone_when(_due(m), late) if late else f"le {short_date(_due(m))}"
                    works.append((_due(m), f"{text(p['title'])} ({code}) : {text(m['title']).lower()} {on}"))
        n_closed = len(mine) - len(live)
        counts = live["weather"].value_counts().to_dict()
        summary = (
            f"{_n(len(live), 'projet en cours', 'projets en cours')}"
            + (f" et {_n(n_closed, 'opération close', 'opérations closes')}" if n_closed else "")
            + f" ; AP votées {fr_amount(mine['ap_voted'].sum(min_count=1), cur)} ; "
            + ", ".join(f"{counts[w]} {w.label.lower()}" for w in BY_SEVERITY if counts.get(w))
        )
        out.append(
            {
                "name": str(name),
                "summary": summary,
                "projects": projects,
                "works": [w for _, w in sorted(works, key=lambda x: x[0])],
                "works_note": "" if works else "Aucun démarrage de travaux prévu dans les trois mois.",
            }
        )
    return out


# --- politique de la ville ----------------------------------------------------------------
def urban_policy(portfolio) -> dict:
    """Running operations in a quartier prioritaire and their share of the running investment;
    closed ones are counted apart (their AP is history, not investment to come)."""
    cur, pr = portfolio.currency, portfolio.projects
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    if pr.empty or "qpv" not in pr:
        return {"projects": [], "summary": "Aucun projet en quartier prioritaire renseigné."}
    in_qpv = pr["qpv"].fillna("").astype(str).str.strip() != ""
    inside, running = pr[in_qpv & pr["running"]], pr[pr["running"]]
    n_closed = int((in_qpv & ~pr["running"]).sum())
    rows = [
        {
            "code": text(c),
            "title": text(p["title"]),
            "qpv": text(p["qpv"]),
            "scheme": text(p.get("urban_policy")) or "–",
            "ap": amount(p["ap_voted"]),
            "weather": label(p["weather"]),
            "tint": color(p["weather"], tint=True),
        }
        for c, p in inside.iterrows()
    ]
    total = running["ap_voted"].sum(min_count=1)
    ap_in = inside["ap_voted"].sum(min_count=1) if len(inside) else 0.0
    closed_note = (
        f" ({_n(n_closed, 'opération close', 'opérations closes')} en quartier prioritaire, "
        "comptée" + ("s" if n_closed > 1 else "") + " à part)"
        if n_closed
        else ""
    )
    if not len(inside):
        summary = (
            "Aucun projet en cours en quartier prioritaire renseigné (colonne « Quartier prioritaire "
            "(QPV) »)" + closed_note + "."
        )
    else:
        share = fr_percent(ap_in / total) if total and not is_missing(total) else "–"
        npnru = int((inside["urban_policy"] == "NPNRU").sum()) if "urban_policy" in inside else 0
        summary = (
            f"{_n(len(inside), 'projet en cours', 'projets en cours')} en quartier prioritaire, dont {npnru} "
            f"au titre du NPNRU : {amount(ap_in)} d’AP votées, soit {share} de l’investissement des "
            f"opérations en cours{closed_note}."
        )
    return {"projects": rows, "summary": summary}


# --- the élus' agenda ---------------------------------------------------------------------
def agenda(portfolio) -> list[dict]:
    """Milestones, AP deliberations and decision deadlines of the next three months, and each
    running operation's overdue next milestone (a works order not given is an élu's business)."""
    pr, as_of = portfolio.projects, portfolio.as_of
    horizon = as_of + timedelta(days=AHEAD_DAYS)
    out = []
    for m in _records(portfolio.milestones):
        d = _due(m)
        if m.get("actual") or not d or d > horizon or m["project_code"] not in pr.index:
            continue
        p = pr.loc[m["project_code"]]
        if d >= as_of:
            out.append((d, text(m["title"]), m["project_code"], p))
        elif p["running"] and p.get("next_milestone_label") == m["title"] and p.get("next_milestone_date") == d:
            out.append((d, f"{text(m['title'])} (en retard)", m["project_code"], p))
    for code, p in pr.iterrows():
        for key, what in (
            ("ap_deliberation", "Délibération sur l’AP"),
            ("decision_deadline", "Décisions attendues en COPIL"),
        ):
            d = p.get(key)
            if not is_missing(d) and as_of <= d <= horizon:
                out.append((d, what, code, p))
    out.sort(key=lambda x: (x[0], str(x[2])))
    return [
        {
            "date": short_date(d),
            "event": what,
            "code": text(code),
            "title": text(p["title"]),
            "elected": text(p.get("elected")) or "–",
            "territory": text(p.get("territory")) or "–",
        }
        for d, what, code, p in out
    ]


# --- data quality by project manager -----------------------------------------------------------
def findings_by_manager(portfolio) -> list[dict]:
    pr = portfolio.projects
    groups: dict[str, list] = {}
    for f in portfolio.findings:
        who = "Sans projet rattaché"
        if f.project_code and f.project_code in pr.index:
            who = text(pr.loc[f.project_code].get("manager")) or "Chef de projet non renseigné"
        groups.setdefault(who, []).append(f)
    order = sorted(groups, key=lambda k: (k == "Sans projet rattaché", -len(groups[k]), k))
    return [
        {
            "manager": who,
            "count": _n(len(groups[who]), "anomalie"),
            "findings": [
                {
                    "code": text(f.project_code) or "–",
                    "list_title": f.list_title,
                    "column": f.column,
                    "value": f.value,
                    "message": f.message,
                    "url": f.link or "",
                    "link": "",
                }
                for f in groups[who]
            ],
        }
        for who in order
    ]


def since_line(previous_date) -> str:
    return f"Depuis le COPIL du {long_date(previous_date)}" if previous_date else "Depuis le précédent COPIL"


# --- the closing of the previous year ----------------------------------------------------------
def closing_basis(portfolio) -> str:
    """What the closing figures stand on: the export and its date — before 31 December, a
    situation, not the closing — or the amounts typed in the lists."""
    c = portfolio.closing
    if c is None:
        return ""
    shown = (
        f"Présentée jusqu’au {short_date(c.until)}, ou jusqu’à l’arrivée d’un export portant des mandats {c.year + 1}."
    )
    if c.figures_on is None:
        return f"Mandaté et engagé {c.year} saisis dans les listes SharePoint (aucun export financier). {shown}"
    if c.final:
        return f"Chiffres de l’export « {c.file} » du {short_date(c.figures_on)}, après la clôture. {shown}"
    return (
        f"Situation au {short_date(c.figures_on)} (export « {c.file} »), antérieure au 31/12/{c.year} : chiffres "
        f"provisoires, les mandats de fin d’exercice n’y sont pas ; déposer l’export de clôture. {shown}"
    )


def _closing_state(c) -> str:
    if c.figures_on is None:
        return "(montants saisis dans les listes)"
    return f"({'clôture, ' if c.final else 'provisoire, '}export du {short_date(c.figures_on)})"


def _closing_rows(portfolio):
    pr = portfolio.projects
    if portfolio.closing is None or pr.empty or "closing_cp" not in pr:
        return pr.iloc[0:0]
    return pr[pr["closing_cp"].notna() | pr["closing_paid"].notna()]


def closing(portfolio) -> dict:
    """The closing of N−1 (connector.model.records.CLOSING_COLUMNS) for the synthesis: one row per
    operation with CP or payments that year, largest not paid first, and the totals that page 1
    quotes. Empty when the closing is not shown."""
    c = portfolio.closing
    rows = _closing_rows(portfolio)
    if c is None or rows.empty:
        return {}
    cur = portfolio.currency
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    table = []
    for code, p in rows.sort_values(["closing_unpaid", "code"], ascending=[False, True]).iterrows():
        cp = p["closing_cp"]
        table.append(
            {
                "code": text(code),
                "title": text(p["title"]),
                "cp": amount(cp),
                "paid": amount(p["closing_paid"]),
                "execution": fr_percent(zero_if_missing(p["closing_paid"]) / cp) if cp and cp == cp else "–",
                "unpaid": amount(p["closing_unpaid"]),
                "rar": amount(p["closing_rar"]),
                "revote": amount(p["closing_revote"]) if p["running"] else "– (close)",
            }
        )
    total = {k: float(rows[f"closing_{k}"].fillna(0).sum()) for k in ("cp", "paid", "unpaid", "rar", "revote")}
    n = c.year + 1
    return {
        "heading": f"Clôture de l’exercice {c.year}",
        "basis": closing_basis(portfolio),
        "rows": table,
        "total": {
            **{k: amount(v) for k, v in total.items()},
            "execution": fr_percent(total["paid"] / total["cp"]) if total["cp"] else "–",
        },
        "summary": (
            f"Exercice {c.year} {_closing_state(c)} : {amount(total['cp'])} de CP votés, {amount(total['paid'])} "
            f"mandatés" + (f" ({fr_percent(total['paid'] / total['cp'])})" if total["cp"] else "") + " ; "
            f"{amount(total['rar'])} de restes à réaliser reportés en {n}, {amount(total['revote'])} de CP à "
            "réinscrire."
        ),
    }


def project_closing(portfolio, code: str) -> list[dict]:
    """The closing of N−1 for one operation's report: label / value rows, empty when not shown."""
    c = portfolio.closing
    rows = _closing_rows(portfolio)
    if c is None or code not in rows.index:
        return []
    p, cur, n = rows.loc[code], portfolio.currency, c.year + 1
    amount = lambda v: fr_amount(v, cur)  # noqa: E731
    cp = p["closing_cp"]
    out = [
        (f"CP {c.year} votés", amount(cp)),
        (
            "Mandatés",
            amount(p["closing_paid"])
            + (f" ({fr_percent(zero_if_missing(p['closing_paid']) / cp)})" if cp and cp == cp else ""),
        ),
        ("Non mandatés", amount(p["closing_unpaid"])),
        (f"Restes à réaliser (engagés non mandatés, reportés en {n})", amount(p["closing_rar"])),
        (
            f"CP à réinscrire au budget {n}",
            amount(p["closing_revote"])
            if p["running"]
            else "– (opération close : solde de l’AP à annuler)"
            if zero_if_missing(p["remaining_to_pay"]) > 0
            else "– (opération close)",
        ),
    ]
    return [{"label": k, "value": v} for k, v in out]
