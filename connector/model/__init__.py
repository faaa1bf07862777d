"""The model core: the words of the domain and the one notion of a missing value.

Everything else reads these: consolidation computes derived facts with them, rules judge with
them, write-back, list formats, views and reports only word what they hold. Nothing here does
I/O or knows SharePoint."""

from connector.model.missing import clean, is_missing, number, present, zero_if_missing
from connector.model.vocabulary import (
    COMPUTED_WEATHERS,
    MANUAL_WEATHERS,
    PHASES,
    RISK_STATUSES,
    STATE_GRANTS,
    MilestoneStatus,
    Phase,
    RiskStatus,
    Weather,
    is_running,
    is_state_grant,
    worse,
)

__all__ = [
    "clean",
    "is_missing",
    "number",
    "present",
    "zero_if_missing",
    "COMPUTED_WEATHERS",
    "MANUAL_WEATHERS",
    "PHASES",
    "RISK_STATUSES",
    "STATE_GRANTS",
    "MilestoneStatus",
    "Phase",
    "RiskStatus",
    "Weather",
    "is_running",
    "is_state_grant",
    "worse",
]
