"""Consolidate: typed frames -> the portfolio (indicators per project, tables for reports,
rollups by direction, territory and policy). Pure pandas, no I/O.

Every derived fact is computed here, once: whether an operation is running or started, which
milestones are late and which is next, the DETR/DSIL deadlines and where each stands. Rules,
write-back and reports read these facts; they never decide them again.

The finance software's export is authoritative for what was engaged and paid in a year: where
it has a row for (operation code, year), it replaces the figures typed in the budget list."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime
from typing import Any

import pandas as pd

from connector.formatting import fr_amount
from connector.model import (
    MilestoneStatus,
    Phase,
    RiskStatus,
    Weather,
    clean,
    is_missing,
    is_running,
    is_state_grant,
    present,
    zero_if_missing,
)
from connector.model.records import CLOSING_COLUMNS, DEADLINE_COLUMNS, ContractCheck, GrantDeadline, YearClosing
from connector.model.vocabulary import GRANT_COMPLETION_YEARS, GRANT_START_YEARS, WORKS_START_PHASES, DecisionStatus
from connector.normalize import Frames
from connector.portfolio import (
    AMENDMENT_COLUMNS,
    BUDGET_COLUMNS,
    CONTRACT_COLUMNS,
    DECISION_COLUMNS,
    MILESTONE_COLUMNS,
    PROJECT_INDICATOR_COLUMNS,
    PROJECT_INPUT_COLUMNS,
    RISK_COLUMNS,
    ROLLUP_COLUMNS,
    SUBSIDY_COLUMNS,
    Document,
    Finding,
    Portfolio,
)
from connector.rules import (
    AP_SHORTFALL,
    CP_UNSPENT,
    SUBSIDY_DEADLINE,
    RulesConfig,
    add_years,
    assess,
    exceeds,
    forecasts,
)
from connector.tables import records


def _div(a: Any, b: Any) -> float:
    if is_missing(a) or is_missing(b) or b == 0:
        return math.nan
    return float(a) / float(b)


def _records_by_code(frame: pd.DataFrame) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if frame.empty:
        return out
    for r in records(frame):
        out.setdefault(r["project_code"], []).append({k: clean(v) for k, v in r.items()})
    return out


def _sum(rows: list[dict], key: str) -> float:
    """Sum ignoring empty values; NaN when nothing is known (as pandas' min_count=1)."""
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(sum(vals)) if vals else math.nan


def budget_table(frames: Frames) -> pd.DataFrame:
    b = frames.budget
    if b.empty:
        b = pd.DataFrame(columns=BUDGET_COLUMNS)
    b = b.dropna(subset=["year"])[["project_code", "year", "cp_planned", "engaged", "paid"]]
    # vectorised sums (a Python lambda per group cost ~1 s at 1,000 projects); min_count=1: an
    # amount nobody typed stays unknown instead of becoming 0
    for c in ("cp_planned", "engaged", "paid"):
        b[c] = pd.to_numeric(b[c], errors="coerce").astype(float)
    b = b.groupby(["project_code", "year"], as_index=False)[["cp_planned", "engaged", "paid"]].sum(min_count=1)
    b["source"] = "liste"
    f = frames.finance
    if not f.empty:
        f = f.dropna(subset=["year"]).copy()
        for c in ("engaged", "paid"):
            f[c] = pd.to_numeric(f[c], errors="coerce").astype(float)
        f = (
            f.groupby(["project_code", "year"], as_index=False)[["engaged", "paid"]]
            .sum(min_count=1)
            .rename(columns={"engaged": "fin_engaged", "paid": "fin_paid"})
        )
        b = b.merge(f, on=["project_code", "year"], how="outer")
        b["engaged"] = b["fin_engaged"].where(b["fin_engaged"].notna(), b["engaged"])
        b["paid"] = b["fin_paid"].where(b["fin_paid"].notna(), b["paid"])
        b["source"] = ["finance" if e == e or p == p else "liste" for e, p in zip(b["fin_engaged"], b["fin_paid"])]
        b = b.drop(columns=["fin_engaged", "fin_paid"])
    b["year"] = b["year"].astype(int)
    for c in ("cp_planned", "engaged", "paid"):
        b[c] = pd.to_numeric(b[c], errors="coerce").astype(float)
    return b.sort_values(["project_code", "year"]).reset_index(drop=True)[BUDGET_COLUMNS]


def export_overrides(frames: Frames, source: dict | None, currency: str = "EUR") -> list[Finding]:
    """« Say what wins »: where a person typed an amount engaged or paid in the budget list and the
    finance export gives another for the same operation and year, the export's is used; the
    list's item is told, with both values and the export's date, instead of losing silently."""
    b, f = frames.budget, frames.finance
    if b.empty or f.empty or source is None:
        return []
    from connector.formatting import fr_amount, fr_date  # lazy: wording of a finding only

    fin = f.dropna(subset=["year"]).copy()
    for c in ("engaged", "paid"):
        fin[c] = pd.to_numeric(fin[c], errors="coerce").astype(float)
    keys = ["project_code", "year"]
    totals = fin.groupby(keys, as_index=False)[["engaged", "paid"]].sum(min_count=1)
    typed = b.dropna(subset=["year"]).copy()
    for c in ("engaged", "paid"):
        typed[c] = pd.to_numeric(typed[c], errors="coerce").astype(float)
    per_year = typed.groupby(keys, as_index=False)[["engaged", "paid"]].sum(min_count=1)
    # one merge, not a lookup per row (a MultiIndex .loc per item was 35 s at 10,000 projects)
    rows = typed.merge(per_year, on=keys, suffixes=("", "_typed")).merge(
        totals.rename(columns={"engaged": "engaged_export", "paid": "paid_export"}), on=keys
    )
    when = source.get("date") or source.get("modified")
    dated = f" du {fr_date(when)}" if when else ""
    labels = {"engaged": "Engagé", "paid": "Mandaté"}
    out = []
    for c, label in labels.items():
        mine, theirs = rows[f"{c}_typed"], rows[f"{c}_export"]
        # the export contradicts the year's typed total, and this item typed something in that
        # column (not only another item of the same year)
        differ = mine.notna() & theirs.notna() & ((mine - theirs).abs() >= 0.5) & rows[c].notna()
        for r in records(rows[differ]):
            out.append(
                Finding(
                    frames.titles.get("budget", "Budget AP-CP"),
                    r.get("id"),
                    label,
                    fr_amount(float(r[c]), currency),
                    f"« {label} » {int(r['year'])} saisi dans la liste ({fr_amount(float(r[f'{c}_typed']), currency)}) "
                    f"remplacé par l'export financier « {source.get('file') or '?'} »{dated} "
                    f"({fr_amount(float(r[f'{c}_export']), currency)}) : c'est le chiffre de l'export qui est retenu",
                    r.get("url") or "",
                    r["project_code"],
                )
            )
    # in the order of the list's items, as before: engaged then paid for each
    order = {id(f): i for i, f in enumerate(out)}
    position = {rid: i for i, rid in enumerate(typed["id"])} if "id" in typed else {}
    out.sort(key=lambda f: (position.get(f.item_id, 0), f.column != "Engagé", order[id(f)]))
    return out


def milestone_table(frames: Frames, as_of: date) -> pd.DataFrame:
    m = frames.milestones
    if m.empty:
        return pd.DataFrame(columns=MILESTONE_COLUMNS)
    rows = []
    for r in records(m):
        due = r["forecast"] or r["baseline"]
        slip = (r["forecast"] - r["baseline"]).days if r["forecast"] and r["baseline"] else None
        still_open = False
        if r["actual"]:
            status = MilestoneStatus.REACHED
            if r["baseline"]:
                slip = (r["actual"] - r["baseline"]).days
        elif due and due < as_of:
            status = MilestoneStatus.LATE
            if r["baseline"]:  # not reached yet: at least the days since the initial date
                slip, still_open = max(slip or 0, (as_of - r["baseline"]).days), True
        else:
            status = MilestoneStatus.AHEAD
        rows.append(
            {
                **{k: r.get(k) for k in ("project_code", "id", "title", "phase", "baseline", "forecast", "actual")},
                "slippage_days": slip,
                "status": status,
                "slippage_open": still_open,
            }
        )
    out = pd.DataFrame(rows, columns=MILESTONE_COLUMNS)
    out["_due"] = [r["forecast"] or r["baseline"] or date.max for r in rows]
    return out.sort_values(["project_code", "_due"]).drop(columns="_due").reset_index(drop=True)


def contract_table(frames: Frames, rules: RulesConfig) -> pd.DataFrame:
    c = frames.contracts
    if c.empty:
        return pd.DataFrame(columns=CONTRACT_COLUMNS)
    by_contract: dict = {}  # grouped once: filtering per contract was quadratic
    if not frames.amendments.empty:
        for cid, amount in zip(frames.amendments["contract_id"], frames.amendments["amount"]):
            by_contract.setdefault(cid, []).append(amount)
    rows = []
    for r in records(c):
        mine = by_contract.get(r["id"], [])
        amounts = [x for x in mine if present(x)]
        total = sum(amounts)
        initial = r.get("initial_amount")
        limit = rules.amendment_limit_works if (r.get("kind") or "") == "Travaux" else rules.amendment_limit_services
        rate = _div(total, initial) if amounts else (0.0 if initial else math.nan)
        rows.append(
            {
                "project_code": r["project_code"],
                "id": r["id"],
                "title": r.get("title"),
                "number": r.get("number") or r.get("title"),
                "kind": r.get("kind"),
                "holder": r.get("holder"),
                "initial_amount": initial,
                "amendments_count": len(mine),
                "amendments_total": total,
                "amendments_rate": rate,
                "threshold": limit,
                "over_threshold": exceeds(rate, limit),
                "commission_count": sum(1 for x in amounts if exceeds(x / initial, rules.amendment_commission))
                if initial
                else 0,
                "commission_required": bool(
                    initial and any(exceeds(x / initial, rules.amendment_commission) for x in amounts)
                ),
            }
        )
    return pd.DataFrame(rows, columns=CONTRACT_COLUMNS)


def execution_starts(frames: Frames, *, as_of: date, source: str) -> tuple[dict[str, date], dict[str, date]]:
    """Per operation, the start of execution of its works (commencement d'exécution: the first
    legal commitment for the works themselves — a works contract notified, a works order given;
    never the studies or a land purchase) when it has happened, and when it is planned otherwise.
    `source`: "first" (whichever comes first), "works_contract" or "works_order" ([rules])."""
    done: dict[str, list[date]] = {}
    planned: dict[str, list[date]] = {}

    def note(code: object, on: object, reached: bool) -> None:
        if not isinstance(code, str) or not isinstance(on, date):
            return
        (done if reached and on <= as_of else planned).setdefault(code, []).append(on)

    c = frames.contracts
    if source in ("first", "works_contract") and not c.empty:
        for r in records(c):
            if r.get("kind") == "Travaux":
                note(r["project_code"], clean(r.get("notified_on")), True)
    m = frames.milestones
    if source in ("first", "works_order") and not m.empty:
        for r in records(m):
            if r.get("phase") in WORKS_START_PHASES:
                actual = clean(r.get("actual"))
                note(
                    r["project_code"],
                    actual or clean(r.get("forecast")) or clean(r.get("baseline")),
                    actual is not None,
                )
    started = {k: min(v) for k, v in done.items()}
    return started, {k: min(v) for k, v in planned.items() if k not in started}


def subsidy_table(frames: Frames, starts: dict) -> pd.DataFrame:
    """Subsidies with their DETR/DSIL deadlines: works started within 2 years of the notification,
    the operation complete within 4 years of the start of execution (of the start deadline while
    the works have not started: the latest the completion deadline can be)."""
    s = frames.subsidies
    if s.empty:
        return pd.DataFrame(columns=SUBSIDY_COLUMNS)
    rows = []
    for r in records(s):
        start_deadline = completion = None
        funder = r.get("funder") or ""
        if is_state_grant(funder) and r.get("notified_on"):
            start_deadline = add_years(r["notified_on"], GRANT_START_YEARS)
            begin = starts.get(r["project_code"]) or start_deadline
            completion = add_years(begin, GRANT_COMPLETION_YEARS)
        rows.append(
            {
                **{k: r.get(k) for k in SUBSIDY_COLUMNS if k not in ("start_deadline", "completion_deadline")},
                "start_deadline": start_deadline,
                "completion_deadline": completion,
            }
        )
    return pd.DataFrame(rows, columns=SUBSIDY_COLUMNS)


def risk_table(frames: Frames) -> pd.DataFrame:
    r = frames.risks
    if r.empty:
        return pd.DataFrame(columns=RISK_COLUMNS)
    out = r.copy()
    out["criticality"] = [
        p * i if present(p) and present(i) else None for p, i in zip(out["probability"], out["impact"])
    ]
    return out[RISK_COLUMNS].reset_index(drop=True)


def _same_words(s: Any) -> str:
    # « l’APD » typed in one place and « l'APD » in the other are the same words
    return re.sub(r"\s+", " ", str(s or "").replace("’", "'")).strip(" -•.").casefold()


def decision_lines(value: Any) -> list[str]:
    """The decisions typed in a project's « Décisions attendues », one per line."""
    if is_missing(value):
        return []
    return [x.strip("-• ").strip() for x in str(value or "").splitlines() if x.strip("-• ").strip()]


def decision_table(frames: Frames, as_of: date) -> pd.DataFrame:
    """Every decision asked: the items of « Décisions » (status, deadline, the meeting that took or
    postponed it), then each line of a project's « Décisions attendues » that no item of that
    project repeats — expected, due at the project's « Échéance des décisions »."""
    rows = []
    items = frames.decisions
    titled: set[tuple[str, str]] = set()
    if not items.empty:
        for d in records(items):
            status = DecisionStatus.of(d.get("status"))
            due = d.get("due")
            due = due.date() if isinstance(due, datetime) else (None if is_missing(due) else due)
            decided = d.get("decided_on")
            decided = decided.date() if isinstance(decided, datetime) else (None if is_missing(decided) else decided)
            meeting = d.get("meeting")
            title = str(d.get("title") or "").strip() or "(décision sans intitulé)"
            titled.add((d["project_code"], _same_words(title)))
            rows.append(
                {
                    "project_code": d["project_code"],
                    "key": f"item:{d.get('id')}",
                    "id": d.get("id"),
                    "url": d.get("url", ""),
                    "title": title,
                    "due": due,
                    "status": str(status),
                    "meeting": f"item:{int(meeting)}"
                    if isinstance(meeting, (int, float)) and meeting == meeting
                    else "",
                    "decided_on": decided,
                    "outcome": str(d.get("outcome") or "").strip(),
                    "open": status.open,
                    "overdue": status.open and due is not None and due < as_of,
                }
            )
    p = frames.projects
    if not p.empty and "decisions" in p:
        deadlines = p["decision_deadline"] if "decision_deadline" in p else [None] * len(p)
        for code, text, due in zip(p["code"], p["decisions"], deadlines):
            due = due.date() if isinstance(due, datetime) else (None if is_missing(due) else due)
            for line in decision_lines(text):
                if (code, _same_words(line)) in titled:
                    continue
                rows.append(
                    {
                        "project_code": code,
                        "key": f"texte:{_same_words(line)}",
                        "id": None,
                        "url": "",
                        "title": line,
                        "due": due,
                        "status": str(DecisionStatus.EXPECTED),
                        "meeting": "",
                        "decided_on": None,
                        "outcome": "",
                        "open": True,
                        "overdue": due is not None and due < as_of,
                    }
                )
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def amendment_table(frames: Frames) -> pd.DataFrame:
    a = frames.amendments
    if a.empty:
        return pd.DataFrame(columns=AMENDMENT_COLUMNS)
    numbers = dict(zip(frames.contracts["id"], frames.contracts["number"])) if not frames.contracts.empty else {}
    out = a.copy()
    out["contract_number"] = [str(numbers.get(c) or "") for c in out["contract_id"]]
    return out[AMENDMENT_COLUMNS].reset_index(drop=True)


def consolidate(
    frames: Frames,
    *,
    as_of: date,
    rules: RulesConfig,
    findings: list[Finding],
    currency: str = "EUR",
    documents: list[Document] | None = None,
) -> Portfolio:
    year = as_of.year
    projects = frames.projects.copy()
    source = export_dated(frames.finance_source, as_of=as_of, max_age_days=rules.finance_max_age_days)
    if source and source["stale"]:
        findings = list(findings) + [
            Finding(
                str(source.get("file") or "export financier"),
                None,
                "",
                str(source.get("file") or ""),
                f"export financier du {source['date']:%d/%m/%Y}, vieux de {source['age_days']} jours (plus de "
                f"{source['max_age_days']}) : les montants engagés et mandatés qui en viennent sont peut-être "
                "dépassés ; déposer un export récent",
                severity="avertissement",
            )
        ]
    budget = budget_table(frames)
    findings = list(findings) + export_overrides(frames, source, currency)
    milestones = milestone_table(frames, as_of)
    contracts = contract_table(frames, rules)
    starts, planned_starts = execution_starts(frames, as_of=as_of, source=rules.grant_start_from)
    subsidies = subsidy_table(frames, starts)
    risks = risk_table(frames)
    # Group every table once into plain records per project: per-project DataFrame filtering is
    # what made consolidation slow on large portfolios.
    bud, ms_by, sub_by, con_by, risk_by = (
        _records_by_code(t) for t in (budget, milestones, subsidies, contracts, risks)
    )
    affected = _ap_affected(frames.finance)
    closing = year_closing(budget, as_of=as_of, until=rules.closing_view_until, source=source)
    findings = list(findings) + _ap_chain_findings(projects, affected, source, currency)
    found_by: dict[str, int] = {}
    for f in findings:
        if f.project_code:
            found_by[f.project_code] = found_by.get(f.project_code, 0) + 1

    indicators = []
    all_deadlines: list[GrantDeadline] = []
    for p in records(projects):
        code = p["code"]
        ap = p.get("ap_voted")
        ap = clean(ap)
        row = dict(p)
        row["input_flags"] = p.get("input_flags") if isinstance(p.get("input_flags"), dict) else {}
        b = bud.get(code, [])
        cur = [x for x in b if x["year"] == year]
        row["cp_year"], row["engaged_year"], row["paid_year"] = (
            _sum(cur, "cp_planned"),
            _sum(cur, "engaged"),
            _sum(cur, "paid"),
        )
        row["cp_total"], row["engaged_total"], row["paid_total"] = (
            _sum(b, "cp_planned"),
            _sum(b, "engaged"),
            _sum(b, "paid"),
        )
        row["cp_execution_rate"] = _div(row["paid_year"], row["cp_year"])
        # the date the year's payments are at: the export's when they come from it
        from_export = source is not None and source.get("date") and any(x.get("source") == "finance" for x in cur)
        row["paid_year_as_of"] = source["date"] if from_export and source else as_of
        row["commitment_rate"] = _div(row["engaged_total"], ap)
        row["ap_consumption"] = _div(row["paid_total"], ap)
        paid_total = zero_if_missing(row["paid_total"])
        row["remaining_to_pay"] = (ap - paid_total) if ap is not None else math.nan
        row["ap_affected"] = affected.get(code, math.nan)
        row["ap_coverage_years"] = _div(row["remaining_to_pay"], row["cp_year"])
        row.update(closing_figures(b, year=closing.year, running=is_running(p.get("phase"))) if closing else {})

        s = sub_by.get(code, [])
        row["subsidies_requested"] = _sum(s, "requested")
        row["subsidies_notified"] = _sum(s, "notified")
        row["subsidies_received"] = _sum(s, "received")
        notified = zero_if_missing(row["subsidies_notified"])
        row["self_funding_share"] = 1 - _div(notified, ap) if ap else math.nan
        # running and started: the two facts every rule and report section turns on
        row["running"] = is_running(p.get("phase"))
        known = Phase.of(p.get("phase"))
        # financial against physical progress is judged once works are under way (or the phase unknown)
        row["in_works"] = not (known is not None and known.before_works)
        # started = the works' first legal commitment is made (what DETR/DSIL call the start)
        row["execution_start"] = starts.get(code)
        row["started"] = row["execution_start"] is not None
        row["planned_works_start"] = None if row["started"] else planned_starts.get(code)
        grants = grant_deadlines(row, s, as_of=as_of, warning_days=rules.subsidy_deadline_warning_days)
        row["_deadlines"] = grants
        ahead_dates = [g.deadline for g in grants if not g.lapsed]
        row["subsidy_deadline"] = min(ahead_dates) if ahead_dates else None
        all_deadlines.extend(grants)

        c = con_by.get(code, [])
        measured = [x for x in c if not is_missing(x["amendments_rate"])]
        row["amendments_rate_max"] = max(x["amendments_rate"] for x in measured) if measured else math.nan
        row["_contracts"] = [
            ContractCheck(
                number=str(x["number"]),
                rate=x["amendments_rate"],
                limit=x["threshold"],
                commission=int(x["commission_count"]),
            )
            for x in measured
        ]

        be, fe = p.get("baseline_end"), p.get("forecast_end")
        row["slippage_days"] = (fe - be).days if be and fe else math.nan
        m = ms_by.get(code, [])
        row["overdue_milestones"] = sum(1 for x in m if x["status"] == MilestoneStatus.LATE)
        nxt = next_milestone(m)
        row["next_milestone_label"] = nxt["title"] if nxt else None
        row["next_milestone_date"] = (nxt["forecast"] or nxt["baseline"]) if nxt else None
        late = nxt is not None and nxt["status"] == MilestoneStatus.LATE
        row["next_milestone_late_days"] = (as_of - row["next_milestone_date"]).days if late else 0

        row["open_critical_risks"] = sum(
            1
            for x in risk_by.get(code, [])
            if RiskStatus.is_open(x["status"]) and (x["criticality"] or 0) >= rules.risk_critical
        )
        row["findings_count"] = found_by.get(code, 0)
        row["weather"], row["weather_reasons"], row["alerts"] = assess(row, year=year, rules=rules, currency=currency)
        ahead = forecasts(row, as_of=as_of, rules=rules, currency=currency, budget=b, deadlines=grants)
        row["forecasts"] = [{"kind": f[0], "message": f[1], "amount": f[2]} for f in ahead]
        replaced = {f[3] for f in ahead if len(f) > 3}  # the deadline alert the forecast spells out
        row["alerts"] = [a for a in row["alerts"] if a not in replaced] + [f["message"] for f in row["forecasts"]]
        row["funding_need"], row["funding_need_basis"] = funding_need(row)
        row["money_at_risk"] = money_at_risk(row)
        indicators.append(row)

    cols = PROJECT_INPUT_COLUMNS + PROJECT_INDICATOR_COLUMNS + CLOSING_COLUMNS
    out = pd.DataFrame(indicators, columns=cols)
    out.index = out["code"].tolist()
    portfolio = Portfolio(
        as_of=as_of,
        year=year,
        currency=currency,
        projects=out,
        milestones=milestones,
        budget=budget,
        subsidies=subsidies,
        contracts=contracts,
        risks=risks,
        decisions=decision_table(frames, as_of),
        amendments=amendment_table(frames),
        deadlines=pd.DataFrame([g.__dict__ for g in all_deadlines], columns=DEADLINE_COLUMNS),
        findings=list(findings),
        finance_source=source,
        cp_projection_from_month=rules.cp_projection_from_month,
        closing=closing,
    )
    portfolio.rollups = {dim: rollup(out, dim) for dim in ("direction", "territory", "policy")}
    docs: dict[str, list] = {}
    for d in documents or []:
        if d.project_code:
            docs.setdefault(d.project_code, []).append(d)
    for k in docs:
        docs[k].sort(key=lambda d: (d.modified or date.min, d.name), reverse=True)
    portfolio.documents = docs
    portfolio.meetings = frames.meetings
    portfolio.duplicates = dict(frames.duplicates)
    return portfolio


def next_milestone(milestones: list[dict]) -> dict | None:
    """The milestone a reader looks at next: an overdue one stays next until it is reached — a
    works order first (until it is given the works have not started), then the oldest overdue —
    otherwise the first one ahead. `milestones`: one project's rows, sorted by due date."""
    late = [x for x in milestones if x["status"] == MilestoneStatus.LATE]
    works = [x for x in late if x.get("phase") in WORKS_START_PHASES]
    ahead = [x for x in milestones if x["status"] == MilestoneStatus.AHEAD]
    first = works or late or ahead
    return first[0] if first else None


def grant_deadlines(project: dict, subsidies: list[dict], *, as_of: date, warning_days: int) -> list[GrantDeadline]:
    """The DETR/DSIL deadlines that still bind a running operation: the start of works while
    they have not started, the completion always. A closed operation has none: its grants are
    claimed, not at risk."""
    if not project["running"]:
        return []
    out = []
    for r in subsidies:
        checks = [] if project["started"] else [("start", r["start_deadline"], project.get("planned_works_start"))]
        checks.append(("completion", r["completion_deadline"], project.get("forecast_end")))
        for kind, deadline, planned in checks:
            if deadline is None:
                continue
            lapsed = deadline < as_of
            notified = 0.0 if is_missing(r.get("notified")) else float(r["notified"])
            received = 0.0 if is_missing(r.get("received")) else float(r["received"])
            out.append(
                GrantDeadline(
                    project_code=str(project["code"]),
                    subsidy_id=r.get("id"),
                    funder=str(r.get("funder") or ""),
                    kind=kind,
                    deadline=deadline,
                    planned_on=clean(planned),
                    lapsed=lapsed,
                    soon=not lapsed and (deadline - as_of).days <= warning_days,
                    notified=notified,
                    to_receive=max(notified - received, 0.0),
                )
            )
    return out


# A date in an export's file name: « Export_AP_CP_2026-11-23.xlsx », « CP 23.11.2026 v2.xlsx »,
# « export_20261123.xlsx ».
_DATE_IN_NAME = (
    (r"(20\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?([0-2]\d|3[01])", (1, 2, 3)),
    (r"([0-2]\d|3[01])[-_.](0[1-9]|1[0-2])[-_.](20\d\d)", (3, 2, 1)),
)


def year_closing(budget: pd.DataFrame, *, as_of: date, until: str, source: dict | None) -> YearClosing | None:
    """The closing of the previous year, shown from 1 January to `until` (« MM-JJ ») — and no
    longer once the finance export carries payments of the new year: the director then reads the
    new year. None when there is nothing to show (no figure of the previous year)."""
    month, day = (int(x) for x in until.split("-"))
    try:
        last = date(as_of.year, month, day)
    except ValueError:  # « 02-30 » in a configuration: the month's last day it can mean
        last = date(as_of.year, month, 28)
    if as_of > last or budget.empty:
        return None
    this, prev = budget[budget["year"] == as_of.year], budget[budget["year"] == as_of.year - 1]
    if ((this["source"] == "finance") & (this["paid"].fillna(0) > 0)).any():
        return None
    if prev[["cp_planned", "paid", "engaged"]].isna().all(axis=None):
        return None
    from_export = source is not None and bool((prev["source"] == "finance").any())
    return YearClosing(
        year=as_of.year - 1,
        until=last,
        figures_on=source.get("date") if from_export and source else None,
        file=str(source.get("file")) if from_export and source else None,
    )


def closing_figures(rows: list[dict], *, year: int, running: bool) -> dict[str, float]:
    """One operation's closing of `year` (CLOSING_COLUMNS). The CP not paid are carried over as
    restes à réaliser where they were engaged; what is neither paid nor engaged must be voted again
    in the new year for a running operation — a closed one's lapse with it (its AP balance is to
    cancel)."""
    prev = [x for x in rows if x["year"] == year]
    cp, paid, engaged = _sum(prev, "cp_planned"), _sum(prev, "paid"), _sum(prev, "engaged")
    unpaid = max(cp - zero_if_missing(paid), 0.0) if present(cp) else math.nan
    rar = max(engaged - zero_if_missing(paid), 0.0) if present(engaged) else math.nan
    revote = max(unpaid - zero_if_missing(rar), 0.0) if running and present(unpaid) else 0.0
    return {
        "closing_cp": cp,
        "closing_paid": paid,
        "closing_engaged": engaged,
        "closing_unpaid": unpaid,
        "closing_rar": rar,
        "closing_revote": revote if present(unpaid) else math.nan,
    }


def export_dated(src: dict | None, *, as_of: date, max_age_days: int) -> dict | None:
    """The finance export read, with the date its figures are at — the one in its file name (the
    finance software's) when there is one, else the day it was put in the library — its age on
    `as_of` and whether it is older than the rules allow."""
    if not src:
        return None
    name, on, by = str(src.get("file") or ""), None, None
    for pattern, order in _DATE_IN_NAME:
        m = re.search(pattern, name)
        if m:
            try:
                on, by = date(*(int(m[i]) for i in order)), "name"
            except ValueError:  # « 2025-02-31 »: not a date, fall back to the upload
                pass
            break
    if on is None and src.get("modified"):
        up = src["modified"]
        on, by = (up.date() if isinstance(up, datetime) else up), "upload"
    age = (as_of - on).days if on else None
    return {
        **src,
        "date": on,
        "dated_by": by,
        "age_days": age,
        "stale": age is not None and age > max_age_days,
        "max_age_days": max_age_days,
    }


def _ap_chain_findings(
    projects: pd.DataFrame, affected: dict[str, float], source: dict | None, currency: str
) -> list[Finding]:
    """AP voted → AP affectée: the finance software assigning more than the assembly voted is a
    value to check, shown on the item like any other (the export's row is the value)."""

    out = []
    for p in records(projects) if not projects.empty else []:
        ap, aff = clean(p.get("ap_voted")), affected.get(p["code"])
        if ap is not None and aff is not None and aff > ap:
            out.append(
                Finding(
                    str((source or {}).get("file") or "export financier"),
                    p.get("id"),
                    "AP affectée",
                    fr_amount(aff, currency),
                    f"AP affectée supérieure à l'AP votée ({fr_amount(ap, currency)}) : vérifier l'AP votée ou "
                    "l'affectation",
                    link=str(p.get("url") or ""),
                    project_code=p["code"],
                )
            )
    return out


def _ap_affected(finance: pd.DataFrame) -> dict[str, float]:
    """AP affectée per operation, from the finance export's latest year (a running figure)."""
    if finance.empty or "ap_affected" not in finance:
        return {}
    f = finance.dropna(subset=["ap_affected", "year"]).sort_values("year")
    return {code: float(v) for code, v in zip(f["project_code"], f["ap_affected"])}


def funding_need(row: dict) -> tuple[float, str]:
    """« Besoin de financement estimé »: what the operation will cost beyond its AP, and on what
    basis — « projection » (the cost at completion projected from what was paid for the physical
    progress made, AP_SHORTFALL) or « constaté » (already paid beyond the AP). A projection is
    not money lost: it is an AP revision to prepare, said as such wherever it is printed."""
    projected = [f["amount"] for f in row["forecasts"] if f["kind"] == AP_SHORTFALL]
    if projected:
        return float(sum(projected)), "projection"
    rem = row.get("remaining_to_pay")
    if row.get("running") and present(rem) and rem < 0:
        return float(-rem), "constaté"
    return 0.0, ""


def money_at_risk(row: dict) -> float:
    """Money that can be lost or go unused: the subsidies still to receive whose DETR/DSIL deadline
    has passed or will pass before the plan (SUBSIDY_DEADLINE), and the year's CP projected unspent
    at 31 December (CP_UNSPENT). Each counted once; what ranks the projects most exposed with the
    funding need."""
    total = sum(f["amount"] for f in row["forecasts"] if f["kind"] in (SUBSIDY_DEADLINE, CP_UNSPENT))
    total += sum(g.to_receive for g in row.get("_deadlines") or [] if g.lapsed)
    return float(total)


def rollup(projects: pd.DataFrame, dim: str) -> pd.DataFrame:
    """Per direction, territory or policy: the météo of the running operations (they add up to
    the portfolio's counts), the closed ones counted apart, the money of all."""
    if projects.empty:
        return pd.DataFrame(columns=ROLLUP_COLUMNS)
    p = projects.copy()
    p[dim] = p[dim].fillna("Non renseigné")
    g = p.groupby(dim)
    # météo per group among running operations: one count table, not a pass per météo
    live = p[p["running"]].groupby([dim, "weather"]).size().unstack(fill_value=0)
    out = pd.DataFrame(
        {
            "projects": g.size(),
            "running": g["running"].sum().astype(int),
            "closed": (~p["running"]).groupby(p[dim]).sum().astype(int),
            "ap_voted": g["ap_voted"].sum(min_count=1),
            "cp_year": g["cp_year"].sum(min_count=1),
            "engaged_year": g["engaged_year"].sum(min_count=1),
            "paid_year": g["paid_year"].sum(min_count=1),
            "subsidies_notified": g["subsidies_notified"].sum(min_count=1),
        }
    )
    for w in Weather:
        out[w.key] = (
            live[w].reindex(out.index, fill_value=0).astype(int)
            if w in live.columns
            else pd.Series(0, index=out.index, dtype=int)
        )
    out["cp_execution_rate"] = [(_div(a, b)) for a, b in zip(out["paid_year"], out["cp_year"])]
    return out[ROLLUP_COLUMNS].sort_index()


def restrict(portfolio: Portfolio, codes: list[str]) -> Portfolio:
    """The portfolio of a committee's scope (a territory, a direction, a policy): its projects and
    their rows, the rollups counted again over them; the figures of each project are the ones
    consolidated for the whole portfolio (one definition)."""
    keep = set(codes)

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["project_code"].isin(keep)] if "project_code" in frame else frame

    projects = portfolio.projects[portfolio.projects.index.isin(keep)]
    out = dataclasses.replace(
        portfolio,
        projects=projects,
        milestones=rows(portfolio.milestones),
        budget=rows(portfolio.budget),
        subsidies=rows(portfolio.subsidies),
        contracts=rows(portfolio.contracts),
        risks=rows(portfolio.risks),
        decisions=rows(portfolio.decisions),
        amendments=rows(portfolio.amendments),
        deadlines=rows(portfolio.deadlines),
        findings=[f for f in portfolio.findings if f.project_code in keep],
        documents={k: v for k, v in portfolio.documents.items() if k in keep},
        _groups={},
    )
    out.rollups = {dim: rollup(projects, dim) for dim in ("direction", "territory", "policy")}
    return out
