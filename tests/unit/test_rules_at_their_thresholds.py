"""Every threshold of [rules], exactly at, just under and just over, through normalize and
consolidate. Shares are judged at the precision they are printed with: a value printed as the
threshold is judged as the threshold, whatever the binary float behind it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from connector.consolidate import consolidate
from connector.normalize import normalize
from connector.raw import RawData
from connector.rules import RulesConfig

AS_OF = date(2026, 11, 24)
BASELINE = date(2027, 6, 30)


def _fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def judge(
    *,
    slip=0,
    progress="50 %",
    paid_2026=100_000.0,
    paid_2025=400_000.0,  # 500 000 paid since the start: 50 % of the AP for 50 % done
    subsidies=(),
    contracts=(),
    overdue=0,
    risks=(),
    start="01/01/2025",
    rules=None,
    phase="Travaux",
    as_of=AS_OF,
    cp_next_year=None,
):
    """One project that is Soleil unless a keyword moves it: (météo, reasons, alerts)."""
    project = {
        "_id": 1,
        "_url": "u",
        "code": "P",
        "title": "Projet",
        "ap_voted": "1 000 000",
        "baseline_end": _fr(BASELINE),
        "forecast_end": _fr(BASELINE + timedelta(days=slip)),
        "progress": progress,
        "start": start,
        **({"phase": phase} if phase else {}),
    }
    budget = [
        {"_id": 1, "project": 1, "year": 2026.0, "cp_planned": 200_000.0, "engaged": 0.0, "paid": paid_2026},
        {"_id": 2, "project": 1, "year": 2025.0, "cp_planned": 1_000_000.0, "engaged": 0.0, "paid": paid_2025},
    ]
    if cp_next_year:
        budget.append({"_id": 3, "project": 1, "year": 2027.0, "cp_planned": cp_next_year, "engaged": 0.0, "paid": 0.0})
    milestones = [
        {"_id": i + 1, "project": 1, "title": f"J{i}", "baseline": _fr(AS_OF - timedelta(days=10))}
        for i in range(overdue)
    ]
    subs = [
        {"_id": i + 1, "project": 1, "funder": f, "notified": n, "notified_on": on}
        for i, (f, n, on) in enumerate(subsidies)
    ]
    cons, amds = [], []
    for i, (kind, initial, amounts) in enumerate(contracts, start=1):
        cons.append({"_id": i, "project": 1, "number": f"M{i}", "kind": kind, "initial_amount": initial})
        amds += [{"_id": len(amds) + 1, "contract": i, "amount": a} for a in amounts]
    rsk = [
        {"_id": i + 1, "project": 1, "title": f"R{i}", "probability": p, "impact": im, "status": "Ouvert"}
        for i, (p, im) in enumerate(risks)
    ]
    raw = RawData(
        lists={
            "projects": [project],
            "budget": budget,
            "milestones": milestones,
            "subsidies": subs,
            "contracts": cons,
            "amendments": amds,
            "risks": rsk,
        },
        titles={},
        columns={},
    )
    frames, found = normalize(raw)
    assert not found, [f.message for f in found]
    judge.last_portfolio = consolidate(frames, as_of=as_of, rules=rules or RulesConfig(), findings=found)
    row = judge.last_portfolio.projects.loc["P"]
    return row["weather"], " | ".join(row["weather_reasons"]), " | ".join(row["alerts"])


def test_the_base_project_is_soleil():
    assert judge()[0] == "Soleil"


@pytest.mark.parametrize(
    "days,expected", [(29, "Soleil"), (30, "Nuageux"), (31, "Nuageux"), (89, "Nuageux"), (90, "Orage"), (91, "Orage")]
)
def test_slippage_days(days, expected):
    weather, reasons, _ = judge(slip=days)
    assert weather == expected, reasons


def test_slippage_threshold_comes_from_the_configuration():
    rules = RulesConfig(slippage_cloudy_days=45)
    assert judge(slip=44, rules=rules)[0] == "Soleil" and judge(slip=45, rules=rules)[0] == "Nuageux"


@pytest.mark.parametrize("n,expected", [(0, "Soleil"), (1, "Nuageux"), (2, "Nuageux"), (3, "Orage"), (4, "Orage")])
def test_overdue_milestones(n, expected):
    assert judge(overdue=n)[0] == expected


# Financial against physical progress, cumulative both (70 % done): paid since the start ÷ AP
# (1 000 000). The gap |0.45 - 0.70| is 0.24999999999999994: judged at 25 points, as printed.
@pytest.mark.parametrize(
    "paid,expected,printed",
    [
        (450_000.0, "Nuageux", "écart de 25\u202fpoints"),  # exactly at 25 points
        (451_000.0, "Soleil", None),  # 24,9 points: just under
        (449_000.0, "Nuageux", "écart de 25,1\u202fpoints"),  # just over
        (200_000.0, "Orage", "écart de 50\u202fpoints"),  # 0.7 - 0.2 = 0.49999999999999994: at the storm threshold
        (201_000.0, "Nuageux", "écart de 49,9\u202fpoints"),
        (199_000.0, "Orage", "écart de 50,1\u202fpoints"),
    ],
)
def test_execution_gap(paid, expected, printed):
    weather, reasons, _ = judge(progress="70 %", paid_2025=paid, paid_2026=0.0)
    assert weather == expected, reasons
    if printed:
        assert printed in reasons
        assert "de l'AP mandatés depuis le début pour 70\u202f% d'avancement physique" in reasons


@pytest.mark.parametrize("phase,judged", [("Études", False), ("Consultation", False), ("Travaux", True), (None, True)])
def test_financial_progress_is_judged_once_works_are_under_way(phase, judged):
    """An operation in études spends little and counts the studies' progress: no gap judged."""
    weather, reasons, _ = judge(progress="70 %", paid_2025=100_000.0, paid_2026=0.0, phase=phase)
    assert ("d'avancement physique" in reasons) is judged, reasons


def test_the_year_s_cp_never_move_the_weather_in_january():
    """On 7 January nothing of the year's CP is paid: the météo does not move for that."""
    january = date(2027, 1, 7)
    weather, reasons, _ = judge(paid_2026=0.0, as_of=january, cp_next_year=300_000.0)
    assert weather == "Soleil" and "CP 2027" not in reasons, reasons


# Self-funding: 1 - 800 000 / 1 000 000 is 0.19999999999999996, printed 20 %: not below 20 %.
@pytest.mark.parametrize("notified,alert", [(800_000.0, False), (801_000.0, True), (799_000.0, False)])
def test_self_funding_minimum(notified, alert):
    weather, reasons, alerts = judge(subsidies=[("Région", notified, "01/01/2025")])
    assert ("Part d'autofinancement insuffisante" in alerts) is alert, alerts
    assert weather == ("Nuageux" if alert else "Soleil")
    if alert:
        assert "19,9\u202f% pour un minimum légal de 20\u202f%" in alerts


@pytest.mark.parametrize(
    "kind,amounts,over",
    [
        ("Services", [4_000.0, 4_000.0, 2_000.0], False),  # exactly 10 %
        ("Services", [4_000.0, 4_000.0, 2_100.0], True),  # 10,1 %
        ("Services", [4_000.0, 4_000.0, 1_900.0], False),
        ("Travaux", [4_000.0, 4_000.0, 4_000.0, 3_000.0], False),  # exactly 15 %
        ("Travaux", [4_000.0, 4_000.0, 4_000.0, 3_100.0], True),
        ("Travaux", [4_000.0, 4_000.0, 4_000.0, 2_900.0], False),
    ],
)
def test_cumulated_amendments(kind, amounts, over):
    weather, reasons, _ = judge(contracts=[(kind, 100_000.0, amounts)])
    assert (weather == "Orage") is over, reasons


@pytest.mark.parametrize("amount,alert", [(5_000.0, False), (5_100.0, True), (4_900.0, False)])
def test_amendment_needing_the_commission(amount, alert):
    _, _, alerts = judge(contracts=[("Services", 100_000.0, [amount])])
    assert ("commission d'appel d'offres" in alerts) is alert


@pytest.mark.parametrize(
    "risks,expected",
    [
        ([(2.0, 4.0)], "Soleil"),  # criticality 8, under 9
        ([(3.0, 3.0)], "Nuageux"),  # exactly 9
        ([(4.0, 3.0)], "Nuageux"),  # 12
        ([(3.0, 3.0), (4.0, 4.0)], "Orage"),  # two critical risks: the storm threshold
        ([(3.0, 3.0), (4.0, 4.0), (3.0, 4.0)], "Orage"),
    ],
)
def test_critical_risks(risks, expected):
    assert judge(risks=risks)[0] == expected


@pytest.mark.parametrize("days_left,alert", [(179, True), (180, True), (181, False)])
def test_state_grant_start_deadline_warning(days_left, alert):
    deadline = AS_OF + timedelta(days=days_left)
    notified = deadline.replace(year=deadline.year - 2)
    # works planned to start in a month, well before the deadline: only the warning window counts
    weather, _, alerts = judge(
        subsidies=[("État - DETR", 100_000.0, _fr(notified))], start=_fr(AS_OF + timedelta(days=30))
    )
    assert ("démarrage des travaux requis avant le" in alerts) is alert, alerts
    assert weather == ("Nuageux" if alert else "Soleil")


@pytest.mark.parametrize(
    "paid_2025,storm", [(900_000.0, False), (901_000.0, True), (899_000.0, False), (900_004.0, False)]
)  # 100,0004 % prints as 100 %
def test_ap_overrun(paid_2025, storm):
    # works done (100 %): the financial progress is judged beside the physical one, no gap
    weather, reasons, _ = judge(paid_2025=paid_2025, progress="100 %")
    assert ("AP dépassée" in reasons) is storm and (weather == "Orage") is storm


@pytest.mark.parametrize(
    "amounts,words",
    [
        ([5_100.0], "Marché M1 : un avenant dépasse 5\u202f% du montant initial"),
        ([5_100.0, 6_000.0], "Marché M1 : 2 avenants dépassent chacun 5\u202f% du montant initial"),
        ([5_100.0, 5_000.0], "Marché M1 : un avenant dépasse 5\u202f% du montant initial"),  # 5 % is not above
    ],
)
def test_each_amendment_needing_the_commission_is_counted(amounts, words):
    _, _, alerts = judge(contracts=[("Travaux", 100_000.0, amounts)])
    assert words in alerts, alerts


def test_a_passed_completion_deadline_is_worded_with_the_elision():
    """« échéance d'achèvement », never « échéance de achèvement »."""
    from connector.formatting import of

    assert of("achèvement de l'opération") == "d'achèvement de l'opération"
    assert of("démarrage des travaux") == "de démarrage des travaux"
    assert of("Hôtel de ville") == "d'Hôtel de ville"


@pytest.mark.parametrize("notified,printed,alert", [(801_000.0, "19,9\u202f%", True), (800_000.0, "20\u202f%", False)])
def test_a_share_is_printed_as_it_was_judged(notified, printed, alert):
    """Self-funding of 19,9 % is judged below the 20 % minimum: « Chiffres clés » says 19,9 %, not a
    rounded 20 % beside the alert; exactly 20 % is printed 20 % and not alerted."""
    from connector.reports.context import project_context

    weather, reasons, alerts = judge(subsidies=[("Région", notified, "01/01/2025")])
    assert ("autofinancement de 19,9\u202f%" in reasons) is alert
    pf = judge.last_portfolio
    ctx = project_context(pf, "P", collectivite="X", copil_date=AS_OF, previous=None)
    assert ctx["figures"]["self_funding_share"] == printed
