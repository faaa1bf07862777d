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
