"""French wording of counted things: singular and plural agree with the count."""

from __future__ import annotations

from datetime import date

import pytest

from connector.consolidate import consolidate
from connector.normalize import normalize
from connector.raw import RawData
from connector.reports import synthesis
from connector.rules import RulesConfig

AS_OF = date(2026, 11, 24)


@pytest.mark.parametrize(
    "missed,words",
    [(1, "1 jalon manqué (date passée, non atteint) : "), (2, "2 jalons manqués (dates passées, non atteints) : ")],
)
def test_missed_milestones_since_the_previous_copil(missed, words):
    milestones = [
        {"_id": i, "project": 1, "title": f"J{i}", "baseline": "2026-11-09T23:00:00Z"} for i in range(1, missed + 1)
    ]
    project = {
        "_id": 1,
        "_url": "u",
        "code": "A",
        "title": "A",
        "ap_voted": "1 000 000",
        "baseline_end": "30/06/2028",
        "forecast_end": "30/06/2028",
    }
    raw = RawData(lists={"projects": [project], "milestones": milestones}, titles={}, columns={})
    frames, found = normalize(raw)
    pf = consolidate(frames, as_of=AS_OF, rules=RulesConfig(), findings=found)
    lines = synthesis.changes(pf, {"A": {"weather": pf.projects.loc["A", "weather"], "alerts": []}}, date(2026, 10, 27))
    assert any(line.startswith(words) for line in lines), lines


def _pf(projects, budget=()):
    raw = RawData(lists={"projects": projects, "budget": list(budget)}, titles={}, columns={})
    frames, found = normalize(raw)
    return consolidate(frames, as_of=AS_OF, rules=RulesConfig(), findings=found)


def test_a_closed_operation_reads_as_closed_and_balances_count_what_is_left_to_cancel():
    """« Clos », not « Clos – – »; « aucun CP en 2026 », not « – / – »; AP balances to cancel
    counted on the operations that have one (a closed operation paid in full has nothing to cancel)."""
    from connector.reports.context import project_context

    closed = {"_url": "u", "phase": "Clos", "ap_voted": "100 000"}
    pf = _pf(
        [
            {"_id": 1, "code": "C1", "title": "C1", **closed},
            {"_id": 2, "code": "C2", "title": "C2", **closed},
            {
                "_id": 3,
                "code": "R",
                "title": "R",
                "_url": "u",
                "phase": "Travaux",
                "progress": "40 %",
                "ap_voted": "100 000",
            },
        ],
        budget=[
            {"_id": 1, "project": 1, "year": 2025.0, "cp_planned": 100_000.0, "paid": 100_000.0},  # paid in full
            {"_id": 2, "project": 2, "year": 2025.0, "cp_planned": 100_000.0, "paid": 80_000.0},  # 20 000 left
        ],
    )
    ctx = project_context(pf, "C1", collectivite="X", copil_date=AS_OF, previous=None)
    assert ctx["project"]["phase_progress"] == "Clos"
    assert ctx["figures"]["cp_paid"] == "aucun CP en 2026"
    running = project_context(pf, "R", collectivite="X", copil_date=AS_OF, previous=None)
    assert running["project"]["phase_progress"] == "Travaux – 40\u202f%"
    assert synthesis.ppi(pf)["closed_balance"] == "20\u202f000\u00a0€ sur 1 opération close"
    # the same balance, with the same word, in the closed operation's own report
    c2 = project_context(pf, "C2", collectivite="X", copil_date=AS_OF, previous=None)
    assert c2["figures"]["remaining_to_pay"] == "aucun (opération close) ; solde de 20\u202f000\u00a0€ à annuler"
    assert ctx["figures"]["remaining_to_pay"] == "aucun, soldée"
