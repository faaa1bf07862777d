"""The consolidated portfolio: what `consolidate` produces and reports consume.

Plain pandas frames with fixed column names, so reports, write-back and state
snapshots read the same figures. Amounts are floats in the site currency
(EUR, or XPF for New Caledonia); rates are fractions (0.95 = 95 %); dates are
`datetime.date` (or None/NaT); lists of French sentences are Python lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from connector.model.records import Meeting, YearClosing
from connector.tables import records

# Columns of Portfolio.projects (index = operation code). Staff inputs first,
# parsed; then computed indicators.
PROJECT_INPUT_COLUMNS = [
    "id",
    "url",
    "code",
    "title",
    "direction",
    "territory",
    "policy",
    "manager",
    "elected",
    "owner",
    "phase",
    "start",
    "baseline_end",
    "forecast_end",
    "progress",  # physical progress, fraction 0..1
    "ap_voted",
    "ap_deliberation",
    "manual_weather",
    "comment",
    "decisions",
    "decision_deadline",
    "decision_followup",
    "objective",
    "programme",
    "qpv",  # name of the quartier prioritaire, empty when outside
    "urban_policy",  # "Contrat de ville" | "NPNRU" | None
    "manager_email",  # the « Chef de projet »'s e-mail as SharePoint returns it ("" when none)
    "input_flags",  # {column key: ("estimated" | "invalid", value as typed)}
]
PROJECT_INDICATOR_COLUMNS = [
    "cp_year",
    "engaged_year",
    "paid_year",  # current financial year
    "cp_execution_rate",  # paid_year / cp_year
    "paid_year_as_of",  # the date paid_year is at: the finance export's when taken from it, else the run's
    "cp_total",
    "engaged_total",
    "paid_total",  # all years
    "commitment_rate",  # engaged_total / ap_voted
    "ap_consumption",  # paid_total / ap_voted
    "remaining_to_pay",  # ap_voted - paid_total
    "ap_coverage_years",  # (ap_voted - paid_total) / cp_year
    "ap_affected",  # AP affectée, from the finance export (NaN without)
    "subsidies_requested",
    "subsidies_notified",
    "subsidies_received",
    "self_funding_share",  # 1 - notified / ap_voted
    "amendments_rate_max",  # worst contract: cumulated amendments / initial
    "slippage_days",  # forecast_end - baseline_end, days
    "overdue_milestones",  # count: forecast/baseline passed, no actual date
    "next_milestone_label",
    "next_milestone_date",
    "next_milestone_late_days",  # days past its date when the next milestone is overdue, else 0
    "open_critical_risks",  # open risks with criticality >= threshold
    "running",  # bool: not closed (connector.model.is_running)
    "in_works",  # bool: works under way (or phase unknown): financial vs physical progress judged
    "started",  # bool: the works' start of execution has happened (execution_start)
    "execution_start",  # first works contract notified or works order given ([rules] grant_start_from)
    "planned_works_start",  # while not started: the first works contract or works order planned
    "subsidy_deadline",  # earliest DETR/DSIL lapse date still ahead
    "weather",  # Soleil | Nuageux | Orage | Indéterminé
    "weather_reasons",  # list[str], French
    "alerts",  # list[str], French (forecasts' messages included)
    "forecasts",  # list of {kind, message, amount}: connector.rules.forecasts
    "funding_need",  # « besoin de financement estimé »: cost beyond the AP (consolidate.funding_need)
    "funding_need_basis",  # « projection » | « constaté » | ""
    "money_at_risk",  # subsidies that can lapse + the year's CP projected unspent (consolidate.money_at_risk)
    "findings_count",  # data-quality findings on this project
]

MILESTONE_COLUMNS = [
    "project_code",
    "id",
    "title",
    "phase",
    "baseline",
    "forecast",
    "actual",
    "slippage_days",
    "status",  # connector.model.MilestoneStatus
    "slippage_open",
]  # True: overdue, the slippage still grows (at least)
BUDGET_COLUMNS = [
    "project_code",
    "year",
    "cp_planned",
    "engaged",
    "paid",
    "source",
]  # "finance": engaged/paid from the finance export; "liste": as typed
SUBSIDY_COLUMNS = [
    "project_code",
    "id",
    "title",
    "funder",
    "requested",
    "notified",
    "received",
    "notified_on",
    "start_deadline",
    "completion_deadline",
]
CONTRACT_COLUMNS = [
    "project_code",
    "id",
    "title",
    "number",
    "kind",
    "holder",
    "initial_amount",
    "amendments_count",
    "amendments_total",
    "amendments_rate",
    "threshold",
    "over_threshold",
    "commission_required",
    "commission_count",  # amendments each above the commission's share of the initial amount
]
RISK_COLUMNS = [
    "project_code",
    "id",
    "title",
    "probability",
    "impact",
    "criticality",
    "status",
    "mitigation",
    "owner",
    "due",
]
# Decisions asked of the committees: items of « Décisions » and the lines of projects' « Décisions
# attendues » that no item repeats (consolidate.decision_table).
DECISION_COLUMNS = [
    "project_code",
    "key",  # "item:12" for an item of the list, "texte:<line>" for a project's line
    "id",  # the item's id (None for a project's line)
    "url",
    "title",
    "due",  # the deadline (a project's line: « Échéance des décisions »)
    "status",  # connector.model.vocabulary.DecisionStatus
    "meeting",  # the key of the meeting that took or postponed it ("item:3"), "" when none
    "decided_on",
    "outcome",  # the relevé: what was decided
    "open",  # bool: still expected (Attendue, Reportée)
    "overdue",  # bool: open and its deadline passed
]
AMENDMENT_COLUMNS = ["project_code", "id", "contract_id", "contract_number", "number", "amount", "signed_on"]
# météo counts are of running operations; "closed" counts the closed ones apart
ROLLUP_COLUMNS = [
    "projects",
    "running",
    "soleil",
    "nuageux",
    "orage",
    "indetermine",
    "closed",
    "ap_voted",
    "cp_year",
    "engaged_year",
    "paid_year",
    "cp_execution_rate",
    "subsidies_notified",
]


@dataclass
class Finding:
    """A data-quality finding: one value a person typed that copil could not use."""

    list_title: str
    item_id: int | None
    column: str  # display name
    value: str  # raw value, as typed
    message: str  # French, for staff
    link: str = ""  # display form URL of the item
    project_code: str | None = None
    severity: str = "avertissement"  # "avertissement" | "erreur"


@dataclass
class Document:
    name: str
    url: str  # absolute URL
    modified: date | None = None
    project_code: str | None = None


@dataclass
class Portfolio:
    as_of: date
    year: int
    currency: str = "EUR"
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    milestones: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget: pd.DataFrame = field(default_factory=pd.DataFrame)
    subsidies: pd.DataFrame = field(default_factory=pd.DataFrame)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    risks: pd.DataFrame = field(default_factory=pd.DataFrame)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)  # DECISION_COLUMNS
    amendments: pd.DataFrame = field(default_factory=pd.DataFrame)  # AMENDMENT_COLUMNS
    # DETR/DSIL deadlines of running operations (connector.model.records.DEADLINE_COLUMNS)
    deadlines: pd.DataFrame = field(default_factory=pd.DataFrame)
    # "direction" | "territory" | "policy" -> frame indexed by the dimension value.
    rollups: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    documents: dict[str, list[Document]] = field(default_factory=dict)
    # the finance export engaged/paid figures came from: {"file", "modified"}, or None
    finance_source: dict | None = None
    # the month from which the year's CP are projected to 31 December ([rules]): before it, it is
    # too early in the year to say anything of them
    cp_projection_from_month: int = 7
    # the closing of the previous year while it is shown (consolidate.year_closing), else None;
    # the per-operation figures are the projects' CLOSING_COLUMNS
    closing: YearClosing | None = None
    # the meetings of « Comités de pilotage » (None: the site has no such list; then the [copil]
    # cadence plans them)
    meetings: list[Meeting] | None = None
    # operation codes typed on several project items (casefolded) -> their item ids: named as
    # duplicates in every message (none of them is consolidated)
    duplicates: dict[str, list] = field(default_factory=dict)

    # frame id -> (frame, {code: rows}): filtering a 100,000-row frame once per project made
    # building 10,000 report contexts quadratic
    _groups: dict = field(default_factory=dict, repr=False, compare=False)

    def project_rows(self, code: str, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        cached = self._groups.get(id(frame))
        if cached is None or cached[0] is not frame:
            cached = (frame, {k: g for k, g in frame.groupby("project_code", sort=False)})
            self._groups[id(frame)] = cached
        return cached[1].get(code, frame.iloc[0:0])

    def project(self, code: str) -> dict:
        """A project's row as a plain dict (a `.loc` row per project cost 1.5 ms, 15 s a night
        at 10,000 projects); made once for the whole frame."""
        frame = self.projects
        key = ("project", id(frame))
        cached = self._groups.get(key)
        if cached is None or cached[0] is not frame:
            cached = (frame, dict(zip(frame.index, records(frame))))
            self._groups[key] = cached
        return cached[1][code]

    def project_records(self, code: str, frame: pd.DataFrame) -> list[dict]:
        """A project's rows as plain dicts, grouped once per frame (to_dict on each small frame
        cost a millisecond a call, thousands of times a night)."""
        if frame.empty:
            return []
        key = ("records", id(frame))
        cached = self._groups.get(key)
        if cached is None or cached[0] is not frame:
            by_code: dict = {}
            for r in records(frame):
                by_code.setdefault(r["project_code"], []).append(r)
            cached = (frame, by_code)
            self._groups[key] = cached
        return cached[1].get(code, [])
