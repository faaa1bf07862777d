"""Derived facts that consolidation computes once and rules, write-back and reports read.

Each is a small frozen record: what a rule needs to judge and a report to word, nothing it has
to compute again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class GrantDeadline:
    """One DETR/DSIL deadline of a running operation: works to start (only while they have not
    started) or the operation to complete."""

    project_code: str
    subsidy_id: int | None
    funder: str
    kind: str  # "start" | "completion"
    deadline: date
    planned_on: date | None  # the planned start, or the forecast end
    lapsed: bool  # the deadline has passed
    soon: bool  # ahead, within the warning period
    notified: float  # 0.0 when not typed
    to_receive: float  # notified minus received, never negative

    @property
    def missed_by_plan(self) -> bool:
        """Still ahead, but the plan lands after it: an extension to ask for."""
        return not self.lapsed and self.planned_on is not None and self.planned_on > self.deadline

    @property
    def what(self) -> str:
        return "démarrage des travaux" if self.kind == "start" else "achèvement de l'opération"


@dataclass(frozen=True)
class ContractCheck:
    """A contract whose amendments were measured: the rate against its limit."""

    number: str
    rate: float  # cumulated amendments / initial amount
    limit: float  # legal limit for its kind
    commission: int  # amendments that each need the commission d'appel d'offres


@dataclass(frozen=True)
class Meeting:
    """A committee meeting: an item of « Comités de pilotage », or one the [copil] cadence plans
    on a site whose list has none."""

    key: str  # "item:12" for a list item, "cadence:2027-01-05" for a planned one
    title: str  # « COPIL PPI », « Comité de territoire Nord »
    on: date
    instance: str
    scope: str = "Portefeuille"  # connector.model.vocabulary.Scope
    scope_value: str = ""  # the territory, direction or policy of a restricted scope
    projects: tuple[str, ...] = ()  # operation codes, for a « Projets » scope
    status: str = "Prévu"  # connector.model.vocabulary.MeetingStatus
    item_id: int | None = None

    @property
    def folder_name(self) -> str:
        return f"{self.on.isoformat()} {self.title}"

    @property
    def committee(self) -> str:
        """Meetings of one committee follow each other: « since the previous COPIL » is the
        previous meeting with the same committee key."""
        return f"{self.instance}|{self.scope}|{self.scope_value}|{','.join(self.projects)}"


@dataclass(frozen=True)
class YearClosing:
    """How the previous budget year ended, shown from 1 January until the new year's figures are
    in (the export carries payments of the new year) or a configured date. Per operation the
    figures are columns of the projects frame (CLOSING_COLUMNS); this says what they stand on."""

    year: int  # the year closed (N−1)
    until: date  # the last day the closing is shown
    figures_on: date | None  # the finance export's date; None: payments typed in the lists
    file: str | None  # the export's file name

    @property
    def final(self) -> bool:
        """The figures postdate 31 December: the year's closing, not a situation before it."""
        return self.figures_on is not None and self.figures_on > date(self.year, 12, 31)


# Per operation, while the closing is shown (NaN otherwise): CP of N−1 voted, paid, engaged, not
# paid (CP − paid, at least 0), restes à réaliser (engaged − paid, at least 0: carried over to N),
# CP to vote again in N (not paid and not carried over, running operations only).
CLOSING_COLUMNS = [
    "closing_cp",
    "closing_paid",
    "closing_engaged",
    "closing_unpaid",
    "closing_rar",
    "closing_revote",
]

DEADLINE_COLUMNS = [
    "project_code",
    "subsidy_id",
    "funder",
    "kind",
    "deadline",
    "planned_on",
    "lapsed",
    "soon",
    "notified",
    "to_receive",
]
