"""A reduced year (`make year` runs 365 nights): 16 nights of the sample from 22 December 2026
with scripted staff edits, a portfolio COPIL every week (22 and 29 December, 5 January) and the
project COPILs of two projects every 13 days (23 December, 5 January) — across the turn of the
year. See tests/support/year.py for the script and what is checked."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.year import replay

NIGHTS = 16  # 22/12/2026 → 06/01/2027


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    return replay(
        NIGHTS,
        start_on=date(2026, 12, 22),
        dense=True,
        workdir=tmp_path_factory.mktemp("year"),
        log=lambda *a: None,
    )


def test_a_fortnight_across_the_turn_of_the_year_holds(year):
    assert year.problems == []
    assert year.edits >= 8  # the script did edit: the checks below compared something
    # 3 portfolio COPILs + 2 × 2 project COPILs frozen
    assert year.editions == 7, year
    assert year.evolutions_missed == 0 and year.evolutions_extra == 0
    assert year.republished_without_change == 0
    assert year.frozen_changed == 0
    assert year.weather_disagreements == 0
    assert year.new_year_weather_moves == 0
    assert year.stray_files == 0
    # 40 living files, the synthesis, and the frozen editions' files (docx, and PDF when installed)
    assert year.files >= 41 + 3 + 4
