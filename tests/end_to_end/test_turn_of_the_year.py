"""The same portfolio on 6 December and on 7 January, nothing edited: the calendar alone moves no
météo. The January météo of an operation changes only for a fact dated between the two runs (a
milestone that passed its date unreached, a deadline that passed), never because the new year's
CP are not paid yet (the issue saw running operations in Orage go from 5 to 11 for that)."""

from __future__ import annotations

from datetime import date

import pytest

from connector.pipeline import build_portfolio
from tests.support.sync_helpers import config, seeded

DECEMBER, JANUARY = date(2026, 12, 6), date(2027, 1, 7)
DATED = ("jalon dépassé", "jalons dépassés", "caduque", "requis avant le")  # reasons a date passing explains


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from emulator.server import start

    srv = start()
    try:
        seeded(srv)
        tmp = tmp_path_factory.mktemp("year")
        dec, *_ = build_portfolio(config(srv, tmp), as_of=DECEMBER)
        jan, *_ = build_portfolio(config(srv, tmp), as_of=JANUARY)
    finally:
        srv.stop()
    return dec, jan


def test_no_weather_moves_with_the_calendar_alone(runs):
    dec, jan = runs
    moved = []
    for code in dec.projects.index:
        a, b = dec.projects.loc[code], jan.projects.loc[code]
        if a["weather"] == b["weather"]:
            continue
        new = [r for r in b["weather_reasons"] if r not in a["weather_reasons"]]
        moved.append(code)
        assert new and all(any(w in r for w in DATED) for r in new), (code, a["weather"], b["weather"], new)
    assert len(moved) <= 3, moved  # a few milestones pass their date in a month, not a third of the portfolio
    running = lambda pf: pf.projects[pf.projects["running"]]  # noqa: E731
    storms = [int((running(pf)["weather"] == "Orage").sum()) for pf in (dec, jan)]
    assert storms[1] == storms[0], storms


def test_january_reasons_never_judge_the_new_year_s_cp(runs):
    _, jan = runs
    texts = [r for rs in jan.projects["weather_reasons"] for r in rs] + [a for al in jan.projects["alerts"] for a in al]
    assert not [t for t in texts if "CP 2027" in t and "mandatés" in t], "the year's CP judged in January"
    # the year's CP are projected from July only (cp_projection_from_month): nothing on 7 January
    assert not [f for fs in jan.projects["forecasts"] for f in fs if f["kind"] == "cp_non_consommes"]


def test_in_january_the_november_export_is_said_to_be_old(runs):
    """The sample's export is dated 23/11/2026: 13 days old on 6 December, 45 on 7 January — a
    finding then, and the figures it feeds say so."""
    from connector.reports.context import finance_note, project_context

    dec, jan = runs
    assert dec.finance_source["age_days"] == 13 and not dec.finance_source["stale"]
    assert jan.finance_source["age_days"] == 45 and jan.finance_source["stale"]
    assert not [f for f in dec.findings if "export financier du" in f.message]
    assert [f for f in jan.findings if "vieux de 45 jours" in f.message]
    # a fresh export is dated, not aged: its note reads the same every night until it is stale
    assert "« Export_AP_CP_2026-11-23.xlsx » du 23/11/2026 ;" in finance_note(dec)
    assert "vieux de 45 jours, plus de 30" in finance_note(jan)
    # a figure taken from the export, in a project report: PPI-2024-002's 2026 payments
    ctx = project_context(jan, "PPI-2024-002", collectivite="X", copil_date=JANUARY, previous=None)
    sources = {row["year"]: row["source"] for row in ctx["budget"]}
    assert sources["2026"] == "export financier du 23/11/2026 (ancien)"


def test_page_one_says_january_is_too_early_to_project_the_year_s_cp(runs):
    from connector.reports.synthesis import money_messages

    dec, jan = runs
    assert money_messages(dec)[0].startswith("CP 2026 : environ ")
    assert money_messages(jan)[0] == (
        "CP 2027 : trop tôt dans l’exercice pour projeter les crédits non consommés au 31 décembre "
        "(projection à partir de juillet)."
    )
