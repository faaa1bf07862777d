"""What a report is made from, hashed: the decision to render a report again rests on it.

A report is rendered again when something a reader would see has changed: an input typed in a
list, a row of the finance export, the template, the edition (draft, frozen, which meeting), the
committee it is compared with — or a judgement that moved (a météo, an alert appearing, a
milestone turning late). Figures the calendar alone moves a little every day (« ≥ +71 j », an
export's age) are not inputs: they refresh a living file at most every
`[copil] living_refresh_days`, and never a frozen edition.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from connector.portfolio import PROJECT_INPUT_COLUMNS, Portfolio
from connector.reports.synthesis import alert_key

# Judgements of a project whose change is an event for its reader (not a count growing by a day).
JUDGED = ("weather", "running", "started", "overdue_milestones", "open_critical_risks")
# Per-project rows, the columns typed by staff or read from the export (derived ones left out).
ROW_COLUMNS = {
    "milestones": ("title", "phase", "baseline", "forecast", "actual", "status"),
    "budget": ("year", "cp_planned", "engaged", "paid", "source"),
    "subsidies": ("funder", "requested", "notified", "received", "notified_on"),
    "contracts": ("number", "kind", "initial_amount", "amendments_rate"),
    "risks": ("title", "probability", "impact", "status", "owner", "due"),
    # a decision turning overdue is an event for the reader, as a milestone turning late
    "decisions": ("key", "title", "due", "status", "meeting", "decided_on", "outcome", "overdue"),
    "amendments": ("contract_number", "number", "amount", "signed_on"),
}


def _masked(texts: Any) -> list[str]:
    """Alerts and reasons without their figures: « +71 j » and « +72 j » are one reason (the same
    test as « nouvelle alerte » in the synthesis)."""
    return sorted(alert_key(t) for t in texts or [])


def project_inputs(portfolio: Portfolio, code: str) -> dict:
    p = portfolio.project(code)
    # the link and the manager's e-mail are on no page: a new address republishes nothing
    out: dict[str, Any] = {k: p.get(k) for k in PROJECT_INPUT_COLUMNS if k not in ("url", "manager_email")}
    out.update({k: p.get(k) for k in JUDGED})
    out["reasons"] = _masked(p.get("weather_reasons"))
    out["alerts"] = _masked(p.get("alerts"))
    for name, cols in ROW_COLUMNS.items():
        frame = getattr(portfolio, name)
        rows = portfolio.project_records(code, frame) if frame is not None and not frame.empty else []
        out[name] = [[r.get(c) for c in cols] for r in rows]
    out["documents"] = [(d.name, d.modified) for d in portfolio.documents.get(code, [])]
    return out


def previous_inputs(previous: dict | None) -> list:
    """What a report shows of the previous edition: its météo and the facts « Évolutions » and the
    relevé de décisions are measured from (fixed between two meetings)."""
    if not previous:
        return [None, None]
    return [previous.get("weather"), digest(previous.get("_facts"))]


def portfolio_inputs(portfolio: Portfolio) -> dict:
    src = portfolio.finance_source or {}
    return {
        "year": portfolio.year,
        "finance": [src.get("file"), src.get("date"), bool(src.get("stale"))],
        "closing": portfolio.closing.year if portfolio.closing else None,
        "findings": _masked(f.message for f in portfolio.findings),
    }


def digest(*parts: Any) -> str:
    """A short stable hash (40 hex characters) of JSON-able parts; bytes are hashed as they are."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(hashlib.sha256(part).digest())
        else:
            h.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=_plain).encode())
    return h.hexdigest()[:40]


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    return str(v)


def content_hash(context: dict, template: bytes) -> str:
    """What the reader sees, stable from night to night: the context without the night's date and
    the edition line (« situation au … », « version du … ») — the edition itself is part of the
    input hash — and the template bytes."""
    data = {k: v for k, v in context.items() if k not in ("copil_date", "edition")}
    h = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode())
    h.update(hashlib.sha256(template).digest())
    return h.hexdigest()
