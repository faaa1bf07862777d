"""Consolidation and météo rules on a hand-built portfolio (no SharePoint)."""

from datetime import date

import pytest

from connector.consolidate import consolidate
from connector.normalize import normalize
from connector.raw import RawData
from connector.rules import RulesConfig, assess

AS_OF = date(2026, 11, 24)


def _raw(**over):
    lists = {
        "projects": [
            {
                "_id": 1,
                "_url": "u1",
                "code": "A",
                "title": "Projet A",
                "direction": "D1",
                "ap_voted": "1 000 000 €",
                "baseline_end": "2026-06-29T22:00:00Z",
                "forecast_end": "30/09/2026",
                "progress": "40 %",
                "start": "2025-01-01T23:00:00Z",
                "manual_weather": "Soleil",
            },
            {
                "_id": 2,
                "_url": "u2",
                "code": "B",
                "title": "Projet B",
                "direction": "D1",
                "ap_voted": "500000",
                "baseline_end": "2027-12-30T23:00:00Z",
                "forecast_end": "31/12/2027",
                "progress": "50 %",
            },
        ],
        "budget": [
            {"_id": 1, "project": 1, "year": 2026.0, "cp_planned": 200_000.0, "engaged": 150_000.0, "paid": 100_000.0},
            {"_id": 2, "project": 1, "year": 2025.0, "cp_planned": 100_000.0, "engaged": 100_000.0, "paid": 100_000.0},
            {"_id": 3, "project": 2, "year": 2026.0, "cp_planned": 100_000.0, "engaged": 50_000.0, "paid": 50_000.0},
        ],
        "subsidies": [
            {"_id": 1, "project": 1, "funder": "État - DETR", "notified": 850_000.0, "notified_on": "15/01/2025"}
        ],
        "contracts": [{"_id": 1, "project": 1, "number": "M1", "kind": "Services", "initial_amount": 100_000.0}],
        "amendments": [{"_id": 1, "contract": 1, "amount": 6_000.0}, {"_id": 2, "contract": 1, "amount": 5_000.0}],
        "milestones": [
            {"_id": 1, "project": 2, "title": "APD", "baseline": "2026-10-31T23:00:00Z"},
            {"_id": 2, "project": 2, "title": "PRO", "baseline": "2027-03-31T22:00:00Z"},
        ],
        "risks": [{"_id": 1, "project": 2, "title": "R", "probability": 3.0, "impact": 3.0, "status": "Ouvert"}],
    }
    lists.update(over)
    return RawData(lists=lists, titles={k: k for k in lists}, columns={})


def _portfolio_on(raw, as_of):
    frames, found = normalize(raw)
    return consolidate(frames, as_of=as_of, rules=RulesConfig(), findings=found)


def _portfolio(raw=None, finance=()):
    raw = raw or _raw()
    raw.finance_rows = list(finance)
    frames, found = normalize(raw)
    return consolidate(frames, as_of=AS_OF, rules=RulesConfig(), findings=found)


def test_indicators_by_hand():
    p = _portfolio().projects.loc["A"]
    assert p["cp_year"] == 200_000 and p["paid_year"] == 100_000
    assert p["cp_execution_rate"] == pytest.approx(0.5)
    assert p["commitment_rate"] == pytest.approx(0.25)  # 250 k / 1 M
    assert p["ap_consumption"] == pytest.approx(0.2)  # 200 k / 1 M
    assert p["remaining_to_pay"] == 800_000
    assert p["ap_coverage_years"] == pytest.approx(4.0)  # 800 k / 200 k
    assert p["slippage_days"] == 92  # 30/06 -> 30/09/2026
    assert p["self_funding_share"] == pytest.approx(0.15)
    assert p["amendments_rate_max"] == pytest.approx(0.11)


def test_weather_and_reasons():
    pf = _portfolio()
    a = pf.projects.loc["A"]
    assert a["weather"] == "Orage"
    assert "livraison repoussée de 3 mois (30/06/2026 → 30/09/2026)" in a["weather_reasons"]
    assert "avenants cumulés 11\u202f% sur le marché M1 (limite 10\u202f%)" in a["weather_reasons"]
    assert "autofinancement de 15\u202f% (minimum 20\u202f%)" in a["weather_reasons"]
    assert any("commission d'appel d'offres" in x for x in a["alerts"])
    assert any("plus optimiste" in x for x in a["alerts"])
    b = pf.projects.loc["B"]
    assert b["weather"] == "Nuageux" and b["overdue_milestones"] == 1 and b["open_critical_risks"] == 1
    # the APD, due 01/11/2026 and not reached, stays the next milestone (23 days late), not the PRO
    assert b["next_milestone_label"] == "APD" and b["next_milestone_date"] == date(2026, 11, 1)
    assert b["next_milestone_late_days"] == 23


def _milestones(*rows):
    return _raw(milestones=[{"_id": i, "project": 2, **r} for i, r in enumerate(rows, start=1)])


@pytest.mark.parametrize(
    "due,late",
    [("2026-11-22T23:00:00Z", 1), ("2026-11-23T23:00:00Z", 0), ("2026-11-24T23:00:00Z", 0)],
)
def test_a_milestone_is_late_from_the_day_after_its_date(due, late):
    """Due 23/11 on the 24th: one day late; due on the day itself or after: ahead, no lateness."""
    b = _portfolio(_milestones({"title": "APD", "baseline": due})).projects.loc["B"]
    assert b["next_milestone_label"] == "APD" and b["next_milestone_late_days"] == late
    assert b["overdue_milestones"] == (1 if late else 0)


def test_an_overdue_works_order_is_next_before_older_overdue_milestones_and_those_ahead():
    raw = _milestones(
        {"title": "APD", "baseline": "2026-09-30T22:00:00Z"},  # overdue since 01/10
        {"title": "Ordre de service travaux", "phase": "OS travaux", "baseline": "2026-11-19T23:00:00Z"},  # 20/11
        {"title": "PRO", "baseline": "2026-12-14T23:00:00Z"},
    )
    pf = _portfolio(raw)
    b = pf.projects.loc["B"]
    assert b["next_milestone_label"] == "Ordre de service travaux" and b["next_milestone_late_days"] == 4
    from connector.writeback import owned_values

    written = owned_values(b.to_dict(), {}, __import__("datetime").datetime(2026, 11, 24))
    assert written["next_milestone"] == "Ordre de service travaux – en retard depuis le 20/11/2026"
    # the next night, nothing else changed: the same value, nothing to write
    b2 = _portfolio_on(raw, date(2026, 11, 25)).projects.loc["B"]
    assert (
        owned_values(b2.to_dict(), {}, __import__("datetime").datetime(2026, 11, 25))["next_milestone"]
        == (written["next_milestone"])
    )
    # once given, the next one is the oldest overdue (the APD), then what is ahead
    raw.lists["milestones"][1]["actual"] = "2026-11-20T23:00:00Z"
    assert _portfolio(raw).projects.loc["B"]["next_milestone_label"] == "APD"
    raw.lists["milestones"][0]["actual"] = "2026-10-01T22:00:00Z"
    b = _portfolio(raw).projects.loc["B"]
    assert b["next_milestone_label"] == "PRO" and b["next_milestone_late_days"] == 0


def test_finance_export_wins_for_engaged_and_paid():
    pf = _portfolio(
        finance=[{"code": "A", "year": 2026, "engaged": "190 000", "paid": "180 000,00", "_file": "x.xlsx", "_row": 5}]
    )
    a = pf.projects.loc["A"]
    assert a["paid_year"] == 180_000 and a["cp_execution_rate"] == pytest.approx(0.9)


def test_detr_lapses_without_start():
    raw = _raw()
    raw.lists["projects"][1]["start"] = None
    raw.lists["subsidies"].append(
        {"_id": 2, "project": 2, "funder": "État - DETR", "notified": 10.0, "notified_on": "01/02/2024"}
    )
    b = _portfolio(raw).projects.loc["B"]
    assert b["weather"] == "Orage"
    assert any("caduque" in r and "01/02/2026" in r for r in b["weather_reasons"])


def test_missing_data_gives_indeterminate_with_reasons():
    raw = _raw()
    raw.lists["projects"][1]["ap_voted"] = "à définir"
    raw.lists["projects"][1]["baseline_end"] = None
    pf = _portfolio(raw)
    b = pf.projects.loc["B"]
    assert b["weather"] == "Indéterminé"
    assert b["weather_reasons"][0] == "données manquantes : fin prévue initiale, AP votée"
    assert any(f.item_id == 2 and f.value == "à définir" for f in pf.findings)


def test_rollups():
    r = _portfolio().rollups["direction"].loc["D1"]
    assert r["projects"] == 2 and r["orage"] == 1 and r["nuageux"] == 1
    assert r["cp_year"] == 300_000 and r["cp_execution_rate"] == pytest.approx(0.5)


def test_orphans_and_duplicates_are_findings():
    raw = _raw()
    raw.lists["projects"].append({"_id": 3, "code": "A", "title": "doublon"})
    raw.lists["budget"].append({"_id": 9, "project": 99, "year": 2026.0})
    pf = _portfolio(raw)
    msgs = [f.message for f in pf.findings]
    assert any("en double" in m for m in msgs) and any("projet inconnu « 99 »" in m for m in msgs)
    assert list(pf.projects.index) == ["B"]  # both items coded "A" left out until fixed


def test_thresholds_come_from_config():
    row = {"baseline_end": 1, "forecast_end": 1, "ap_voted": 1, "slippage_days": 40, "running": True}
    assert assess(row, year=2026, rules=RulesConfig())[0] == "Nuageux"
    assert assess(row, year=2026, rules=RulesConfig(slippage_cloudy_days=60))[0] == "Soleil"


def _overrun(ap_typed: str, affected: str | None, paid: float = 1_200_000.0):
    """A closed operation and a running one with the same figures: AP typed `ap_typed`, paid
    `paid` since the start, the export's AP affectée `affected` (or no export row)."""
    base = {"baseline_end": "30/06/2026", "forecast_end": "30/06/2026", "progress": "100 %", "ap_voted": ap_typed}
    raw = _raw(
        projects=[
            {"_id": 1, "_url": "u1", "code": "A", "title": "A", "phase": "Clos", **base},
            {"_id": 2, "_url": "u2", "code": "B", "title": "B", "phase": "Réception", **base},
        ],
        budget=[{"_id": i, "project": i, "year": 2025.0, "cp_planned": paid, "paid": paid} for i in (1, 2)],
        subsidies=[],
        contracts=[],
        amendments=[],
        milestones=[],
        risks=[],
    )
    finance = (
        []
        if affected is None
        else [
            {"code": c, "year": 2026, "ap_affected": affected, "_file": "x.xlsx", "_row": 2 + i}
            for i, c in enumerate("AB")
        ]
    )
    return _portfolio(raw, finance=finance).projects


@pytest.mark.parametrize(
    "affected,expected",
    [("1 200 000", "Nuageux"), ("1 199 999", "Orage"), (None, "Orage")],
)
def test_an_interpreted_ap_is_never_alone_the_basis_of_an_overrun(affected, expected):
    """AP typed « env. 1M », 1 200 000 paid: with the export's AP affectée covering what was paid
    (at 1 200 000 exactly, not at 1 199 999) the overrun is an AP to confirm (Nuageux), said with
    both amounts; without an export it stays a storm, said as computed on an interpreted AP."""
    for code in ("A", "B"):  # closed and running alike
        p = _overrun("env. 1M", affected).loc[code]
        assert p["weather"] == expected, (code, p["weather_reasons"])
        reason = next(r for r in p["weather_reasons"] if r.startswith("AP dépassée"))
        assert "calculé sur une AP interprétée d'après la saisie « env. 1M »" in reason
        if expected == "Nuageux":
            assert (
                "reste dans l'AP affectée de l'export financier (1\u202f200\u202f000\u00a0€) : AP votée à confirmer"
                in reason
            )
        if affected:
            assert any(a.startswith("AP affectée dans l'export financier") for a in p["alerts"])


def test_an_ap_typed_exactly_is_overrun_whatever_the_export_says():
    p = _overrun("1 000 000", "1 500 000").loc["B"]
    assert p["weather"] == "Orage"
    assert (
        "AP affectée dans l'export financier (1\u202f500\u202f000\u00a0€) supérieure à l'AP votée (1\u202f000\u202f000\u00a0€) : vérifier l'AP votée ou l'affectation."
        in p["alerts"]
    )


def test_an_ap_affected_above_the_ap_voted_is_a_finding_on_the_item():
    pf = _portfolio(
        _raw(), finance=[{"code": "A", "year": 2026, "ap_affected": "1 200 000", "_file": "x.xlsx", "_row": 2}]
    )
    found = [f for f in pf.findings if f.column == "AP affectée"]
    assert len(found) == 1 and found[0].project_code == "A" and found[0].link == "u1"
    assert found[0].message.startswith("AP affectée supérieure à l'AP votée (1\u202f000\u202f000\u00a0€)")
    assert pf.projects.loc["A", "findings_count"] == 1
