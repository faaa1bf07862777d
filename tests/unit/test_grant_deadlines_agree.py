"""DETR/DSIL deadlines in every place a reader meets them — the météo and its reasons, the
alerts, the forecasts, the subsidy calendar, page 1's money message and the project report's
subsidy table — say the same thing, in each case a PPI director meets: a start deadline passed,
a completion deadline passed (long ago), one within the warning period, and one the plan will
miss (an extension to ask for). Dates computed by hand below; no SharePoint."""

from __future__ import annotations

from datetime import date

import pytest

from connector.consolidate import consolidate
from connector.normalize import normalize
from connector.raw import RawData
from connector.reports.context import portfolio_context, project_context
from connector.rules import RulesConfig

AS_OF = date(2026, 11, 24)


def _project(i: int, code: str, **kw) -> dict:
    return {
        "_id": i,
        "_url": f"u{i}",
        "code": code,
        "title": f"Opération {code}",
        "ap_voted": "2 000 000",
        "baseline_end": "30/06/2028",
        "forecast_end": "30/06/2028",
        "progress": "30 %",
        "start": "01/01/2023",
        "phase": "Travaux",
        **kw,
    }


def _build(rules: RulesConfig):
    projects = [
        _project(1, "START-LAPSED", phase="Études"),  # DETR 01/11/2024: start by 01/11/2026, none yet
        _project(2, "DONE-LAPSED"),  # DSIL, works contract 01/06/2021: completion by 01/06/2025
        _project(3, "SOON", phase="Études"),  # DETR 01/03/2025: start by 01/03/2027 (97 days), order 15/01
        _project(4, "EXTEND", phase="Études"),  # DSIL 01/06/2025: start by 01/06/2027, order 01/09/2027
        _project(5, "STUDIES-ONLY", phase="Études", start="01/01/2021"),  # studies started long ago: no start
    ]
    subsidies = [
        {
            "_id": 1,
            "project": 1,
            "funder": "État - DETR",
            "notified": 300_000.0,
            "received": 0.0,
            "notified_on": "01/11/2024",
        },
        {
            "_id": 2,
            "project": 2,
            "funder": "État - DSIL",
            "notified": 500_000.0,
            "received": 100_000.0,
            "notified_on": "01/03/2020",
        },
        {
            "_id": 3,
            "project": 3,
            "funder": "État - DETR",
            "notified": 200_000.0,
            "received": 0.0,
            "notified_on": "01/03/2025",
        },
        {
            "_id": 4,
            "project": 4,
            "funder": "État - DSIL",
            "notified": 400_000.0,
            "received": 0.0,
            "notified_on": "01/06/2025",
        },
        {
            "_id": 5,
            "project": 5,
            "funder": "État - DETR",
            "notified": 100_000.0,
            "received": 0.0,
            "notified_on": "01/06/2025",
        },
    ]
    contracts = [
        {
            "_id": 1,
            "project": 2,
            "number": "M-2021",
            "kind": "Travaux",
            "initial_amount": 900_000.0,
            "notified_on": "2021-05-31T22:00:00Z",
        }
    ]
    milestones = [
        {
            "_id": 1,
            "project": 3,
            "title": "Ordre de service travaux",
            "phase": "OS travaux",
            "baseline": "2027-01-14T23:00:00Z",
        },
        {
            "_id": 2,
            "project": 4,
            "title": "Ordre de service travaux",
            "phase": "OS travaux",
            "baseline": "2027-08-31T22:00:00Z",
        },
    ]
    raw = RawData(
        lists={
            "projects": projects,
            "subsidies": subsidies,
            "contracts": contracts,
            "milestones": milestones,
            "budget": [],
            "amendments": [],
            "risks": [],
        },
        titles={},
        columns={},
    )
    frames, found = normalize(raw)
    return consolidate(frames, as_of=AS_OF, rules=rules, findings=found)


@pytest.fixture(scope="module")
def portfolio():
    return _build(RulesConfig())


@pytest.fixture(scope="module")
def synthesis(portfolio):
    return portfolio_context(portfolio, collectivite="X", copil_date=AS_OF, previous={}, previous_date=None)


def _calendar(synthesis, code):
    return [(r["date"], r["what"], r["status"]) for r in synthesis["subsidy_calendar"] if r["code"] == code]


def _report_deadline(portfolio, code):
    ctx = project_context(portfolio, code, collectivite="X", copil_date=AS_OF, previous=None)
    return ctx["subsidies"][0]["deadline"]


def test_a_passed_start_deadline(portfolio, synthesis):
    p = portfolio.projects.loc["START-LAPSED"]
    assert p["weather"] == "Orage"
    assert "subvention État - DETR caduque : démarrage des travaux requis avant le 01/11/2026" in p["weather_reasons"]
    assert _calendar(synthesis, "START-LAPSED") == [
        ("01/11/2026", "démarrage", "dépassée"),
        ("01/11/2030", "achèvement", "à tenir"),
    ]
    assert _report_deadline(portfolio, "START-LAPSED") == (
        "démarrage avant le 01/11/2026 (dépassée) ; achèvement avant le 01/11/2030 (à tenir)"
    )
    money = synthesis["page1"]["money"][3]
    assert "2 échéances de subvention DETR/DSIL dépassées : 700 000" in money.replace("\u202f", " ")
    assert "START-LAPSED" in money and "DONE-LAPSED" in money


def test_a_completion_deadline_passed_long_ago_is_still_said(portfolio, synthesis):
    p = portfolio.projects.loc["DONE-LAPSED"]
    assert p["started"] and p["execution_start"] == date(2021, 6, 1)
    assert any("caduque : achèvement de l'opération requis avant le 01/06/2025" in r for r in p["weather_reasons"])
    assert _calendar(synthesis, "DONE-LAPSED") == [("01/06/2025", "achèvement", "dépassée")]
    assert _report_deadline(portfolio, "DONE-LAPSED") == (
        "démarrage avant le 01/03/2022 (travaux commencés le 01/06/2021) ; achèvement avant le 01/06/2025 (dépassée)"
    )


def test_a_start_deadline_within_the_warning_period(portfolio, synthesis):
    p = portfolio.projects.loc["SOON"]
    assert p["weather"] == "Nuageux"
    assert "Subvention État - DETR : démarrage des travaux requis avant le 01/03/2027." in p["alerts"]
    assert not [f for f in p["forecasts"] if f["kind"] == "subvention_echeance"]  # the order is planned before
    assert ("01/03/2027", "démarrage", "à tenir") in _calendar(synthesis, "SOON")
    assert "SOON" not in synthesis["page1"]["money"][3]


def test_a_deadline_the_plan_will_miss_asks_for_the_extension(portfolio, synthesis):
    p = portfolio.projects.loc["EXTEND"]
    forecast = next(f for f in p["forecasts"] if f["kind"] == "subvention_echeance")
    assert forecast["amount"] == 400_000.0
    assert (
        "démarrage exigé avant le 01/06/2027, démarrage prévu le 01/09/2027" in forecast["message"]
        and "demander la prorogation d'un an (jusqu'au 01/06/2028)" in forecast["message"]
    )
    status = "avant la date prévue (01/09/2027) : prorogation à demander"
    assert ("01/06/2027", "démarrage", status) in _calendar(synthesis, "EXTEND")
    assert _report_deadline(portfolio, "EXTEND").startswith(f"démarrage avant le 01/06/2027 ({status})")
    money = synthesis["page1"]["money"][3]
    assert "1 subvention DETR/DSIL arrive à échéance avant la date prévue du démarrage ou de la fin" in money
    assert "EXTEND" in money


def test_studies_are_not_a_start(portfolio):
    """« Date de début » 2021 (studies): no works contract, no works order — not started, so the
    start deadline (01/06/2027) binds, and the completion one runs from it (01/06/2031)."""
    p = portfolio.projects.loc["STUDIES-ONLY"]
    assert not p["started"] and p["execution_start"] is None
    assert _report_deadline(portfolio, "STUDIES-ONLY") == (
        "démarrage avant le 01/06/2027 (à tenir) ; achèvement avant le 01/06/2031 (à tenir)"
    )


@pytest.mark.parametrize(
    "source,started_on", [("first", date(2021, 6, 1)), ("works_contract", date(2021, 6, 1)), ("works_order", None)]
)
def test_what_starts_an_operation_is_configurable(source, started_on):
    """DONE-LAPSED has a works contract notified on 01/06/2021 and no works order given."""
    p = _build(RulesConfig(grant_start_from=source)).projects.loc["DONE-LAPSED"]
    assert p["execution_start"] == started_on and bool(p["started"]) is (started_on is not None)
