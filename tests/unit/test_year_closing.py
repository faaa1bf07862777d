"""The closing of the previous year (CP N−1 voted, paid, not paid; restes à réaliser; CP to vote
again) and the money page 1 names (funding need apart from money at risk). Hand-built portfolio,
figures computed by hand; each boundary of the closing view tried on both sides."""

from __future__ import annotations

import math
from datetime import date

import pytest
from pydantic import ValidationError

from connector.consolidate import closing_figures, consolidate
from connector.normalize import normalize
from connector.raw import RawData
from connector.reports.context import portfolio_context, project_context
from connector.reports.synthesis import exposed, funding_need_message, money_messages
from connector.rules import RulesConfig

EXPORT = {"file": "Export_AP_CP_2026-11-23.xlsx", "modified": date(2026, 11, 23)}


def _raw(finance=(), source=EXPORT) -> RawData:
    projects = [
        # running: CP 2026 400 000, paid 240 000, engaged 350 000 -> not paid 160 000, RAR 110 000,
        # to vote again 50 000
        {"_id": 1, "_url": "u1", "code": "RUN", "title": "En cours", "ap_voted": "2 000 000", "phase": "Travaux",
         "progress": "30 %", "baseline_end": "30/06/2028", "forecast_end": "30/06/2028"},
        # closed: CP 2026 100 000, paid 60 000, engaged 60 000 -> not paid 40 000, RAR 0, nothing to vote
        {"_id": 2, "_url": "u2", "code": "SHUT", "title": "Close", "ap_voted": "500 000", "phase": "Clos",
         "progress": "100 %"},
        # typed only, no engaged: RAR unknown, all the unpaid CP to vote again
        {"_id": 3, "_url": "u3", "code": "TYPED", "title": "Saisie", "ap_voted": "300 000", "phase": "Études",
         "progress": "10 %"},
    ]  # fmt: skip
    budget = [
        {"_id": 1, "project": 1, "year": 2026.0, "cp_planned": 400_000.0},
        {"_id": 2, "project": 1, "year": 2027.0, "cp_planned": 600_000.0},
        {"_id": 3, "project": 2, "year": 2026.0, "cp_planned": 100_000.0, "engaged": 60_000.0, "paid": 60_000.0},
        {"_id": 4, "project": 3, "year": 2026.0, "cp_planned": 80_000.0, "paid": 20_000.0},
    ]
    raw = RawData(lists={"projects": projects, "budget": budget}, titles={}, columns={})
    raw.finance_rows = list(finance) or [
        {"code": "RUN", "year": 2026, "engaged": "350 000", "paid": "240 000", "_file": EXPORT["file"], "_row": 2}
    ]
    raw.finance_source = source
    return raw


def _on(as_of: date, raw: RawData | None = None, **rules):
    frames, found = normalize(raw or _raw())
    return consolidate(frames, as_of=as_of, rules=RulesConfig(**rules), findings=found)


def test_closing_figures_by_hand():
    pf = _on(date(2027, 1, 7))
    assert pf.closing is not None and pf.closing.year == 2026
    assert pf.closing.figures_on == date(2026, 11, 23) and not pf.closing.final
    run, shut, typed = (pf.projects.loc[c] for c in ("RUN", "SHUT", "TYPED"))
    assert (run["closing_cp"], run["closing_paid"], run["closing_unpaid"]) == (400_000, 240_000, 160_000)
    assert (run["closing_rar"], run["closing_revote"]) == (110_000, 50_000)
    assert (shut["closing_unpaid"], shut["closing_rar"], shut["closing_revote"]) == (40_000, 0, 0)  # lapses
    assert typed["closing_unpaid"] == 60_000 and math.isnan(typed["closing_rar"]) and typed["closing_revote"] == 60_000


def test_closing_figures_never_negative():
    # paid beyond the CP, engaged below paid: nothing unpaid, nothing carried over
    rows = [{"year": 2026, "cp_planned": 100.0, "engaged": 90.0, "paid": 120.0}]
    assert closing_figures(rows, year=2026, running=True) == {
        "closing_cp": 100.0,
        "closing_paid": 120.0,
        "closing_engaged": 90.0,
        "closing_unpaid": 0.0,
        "closing_rar": 0.0,
        "closing_revote": 0.0,
    }
    # RAR above what is not paid (engaged beyond the CP): nothing left to vote again
    rows = [{"year": 2026, "cp_planned": 100.0, "engaged": 180.0, "paid": 50.0}]
    got = closing_figures(rows, year=2026, running=True)
    assert (got["closing_unpaid"], got["closing_rar"], got["closing_revote"]) == (50.0, 130.0, 0.0)


@pytest.mark.parametrize(
    ("as_of", "until", "shown"),
    [
        (date(2026, 12, 31), "04-15", False),  # the year is not over
        (date(2027, 1, 1), "04-15", True),  # 1 January: the closing appears
        (date(2027, 4, 15), "04-15", True),  # the last day
        (date(2027, 4, 16), "04-15", False),  # the day after
        (date(2027, 2, 28), "02-30", True),  # a day the month has not: its last day
        (date(2027, 3, 1), "02-30", False),
    ],
)
def test_closing_shown_from_1_january_to_the_configured_day(as_of, until, shown):
    assert (_on(as_of, closing_view_until=until).closing is not None) is shown


def test_closing_ends_when_the_export_carries_the_new_year_s_payments():
    january = {"file": "Export_AP_CP_2027-01-20.xlsx", "modified": date(2027, 1, 20)}
    base = {"code": "RUN", "_file": january["file"], "_row": 2}
    no_payment = [{**base, "year": 2026, "engaged": "350 000", "paid": "390 000"}, {**base, "year": 2027, "paid": "0"}]
    pf = _on(date(2027, 1, 25), _raw(no_payment, january))
    assert pf.closing is not None and pf.closing.final  # dated after 31/12: the closing figures
    assert pf.projects.loc["RUN", "closing_paid"] == 390_000
    paid = no_payment[:1] + [{**base, "year": 2027, "paid": "1"}]  # one euro paid in 2027
    assert _on(date(2027, 1, 25), _raw(paid, january)).closing is None


@pytest.mark.parametrize("until", ["13-01", "4-15", "04-32", "avril"])
def test_closing_day_must_be_a_month_and_day(until):
    with pytest.raises(ValidationError):
        RulesConfig(closing_view_until=until)


def test_closing_in_the_reports_and_page_one():
    pf = _on(date(2027, 1, 7))
    port = portfolio_context(pf, collectivite="X", copil_date=date(2027, 1, 7), previous=None)
    closing = port["closing"]
    assert closing["heading"] == "Clôture de l’exercice 2026"
    assert [r["code"] for r in closing["rows"]] == ["RUN", "TYPED", "SHUT"]  # largest not paid first
    shut = closing["rows"][2]
    assert shut["revote"] == "– (close)"
    nb = "\u202f"
    # the totals are the sums of the rows: 580 000 voted, 320 000 paid, RAR 110 000 (typed: unknown),
    # to vote again 50 000 + 60 000
    assert closing["total"]["cp"] == f"580{nb}000\u00a0€" and closing["total"]["paid"] == f"320{nb}000\u00a0€"
    assert closing["total"]["rar"] == f"110{nb}000\u00a0€" and closing["total"]["revote"] == f"110{nb}000\u00a0€"
    assert "antérieure au 31/12/2026 : chiffres provisoires" in closing["basis"]
    first = money_messages(pf)[0]
    assert first.startswith("Exercice 2026 (provisoire, export du 23/11/2026) : 580") and first.endswith(
        "de CP à réinscrire."
    )
    proj = project_context(pf, "RUN", collectivite="X", copil_date=date(2027, 1, 7), previous=None)
    rows = {r["label"]: r["value"] for r in proj["closing"]["rows"]}
    assert rows["CP 2026 votés"] == f"400{nb}000\u00a0€"
    assert rows["Restes à réaliser (engagés non mandatés, reportés en 2027)"] == f"110{nb}000\u00a0€"
    assert rows["CP à réinscrire au budget 2027"] == f"50{nb}000\u00a0€"
    shut = project_context(pf, "SHUT", collectivite="X", copil_date=date(2027, 1, 7), previous=None)
    assert (
        "solde de l’AP à annuler"
        in {r["label"]: r["value"] for r in shut["closing"]["rows"]}["CP à réinscrire au budget 2027"]
    )
    # in December nothing of it
    dec = _on(date(2026, 12, 6))
    assert (
        portfolio_context(dec, collectivite="X", copil_date=date(2026, 12, 6), previous=None)["closing"]["heading"]
        == ""
    )
    assert not project_context(dec, "RUN", collectivite="X", copil_date=date(2026, 12, 6), previous=None)["closing"][
        "rows"
    ]


def test_closing_from_typed_amounts_says_so():
    raw = _raw(source=None)
    raw.finance_rows = []
    pf = _on(date(2027, 1, 7), raw)
    assert pf.closing is not None and pf.closing.figures_on is None
    assert money_messages(pf)[0].startswith("Exercice 2026 (montants saisis dans les listes) : ")


# --- money named for what it is ------------------------------------------------------------------
def _money_raw(paid: str, progress: str, ap: str = "1 000 000") -> RawData:
    raw = RawData(
        lists={
            "projects": [
                {"_id": 1, "_url": "u1", "code": "M", "title": "Money", "ap_voted": ap, "phase": "Travaux",
                 "progress": progress, "baseline_end": "30/06/2028", "forecast_end": "30/06/2028"},
            ],
            "budget": [{"_id": 1, "project": 1, "year": 2026.0, "cp_planned": 1_000_000.0, "paid": float(paid)}],
        },
        titles={},
        columns={},
    )  # fmt: skip
    return raw


@pytest.mark.parametrize(
    ("paid", "progress", "need", "basis"),
    [
        # 600 000 paid for 50 %: 1 200 000 at completion, 20 % beyond the AP (margin 10 %): a projection
        ("600000", "50 %", 200_000.0, "projection"),
        # 549 000 for 50 %: 1 098 000, 9,8 % beyond: under the margin, no need
        ("549000", "50 %", 0.0, ""),
        # 1 100 000 paid at 100 %: no projection (done), 100 000 already paid beyond the AP
        ("1100000", "100 %", 100_000.0, "constaté"),
    ],
)
def test_funding_need_and_its_basis(paid, progress, need, basis):
    p = _on(date(2026, 11, 24), _money_raw(paid, progress)).projects.loc["M"]
    assert (p["funding_need"], p["funding_need_basis"]) == (need, basis)


def test_a_need_above_the_ap_is_printed_as_a_projection():
    # 1 000 000 paid for 20 %: 5 000 000 at completion for an AP of 1 000 000: need 4 000 000
    pf = _on(date(2026, 11, 24), _money_raw("1000000", "20 %"))
    row = exposed(pf)[0]
    assert row["need"] == "4\u202f000\u202f000\u00a0€ (projection)" and row["at_risk"] == "–"
    need = funding_need_message(pf)
    assert need.startswith(
        "Besoin de financement estimé au-delà des AP : 4\u202f000\u202f000\u00a0€ sur 1 opération (M)"
    )
    assert "projection du coût à l’achèvement (mandaté ÷ avancement physique)" in need
    # already paid beyond the AP: said as such, not as a projection
    over = funding_need_message(_on(date(2026, 11, 24), _money_raw("1100000", "100 %")))
    assert "100\u202f000\u00a0€ sur 1 opération (M), déjà mandatés au-delà de l’AP" in over
    nothing = funding_need_message(_on(date(2026, 11, 24), _money_raw("549000", "50 %")))
    assert nothing.startswith("Aucun besoin de financement au-delà des AP")
    # the CP of the year projected unspent are money at risk, said apart from the need
    assert pf.projects.loc["M", "money_at_risk"] == 0.0  # 1 000 000 paid of 1 000 000: none unspent
