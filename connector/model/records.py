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
