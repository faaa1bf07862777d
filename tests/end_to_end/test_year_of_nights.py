"""A reduced year (`make year` runs 365 nights): 44 nights of the sample from 24 November with
scripted staff edits, monthly portfolio COPILs (1 December, 5 January) and the project COPILs of
two projects every four weeks (10 December, 5 January) — across the turn of the year. See
tests/support/year.py for the script and what is checked."""

from __future__ import annotations

import pytest

from tests.support.year import replay

NIGHTS = 44  # 24/11/2026 → 06/01/2027: two portfolio and two project editions, the turn of the year


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    return replay(NIGHTS, workdir=tmp_path_factory.mktemp("year"), log=lambda *a: None)


def test_a_month_and_a_half_of_nights_holds(year):
    assert year.problems == []
    assert year.edits >= 10  # the script did edit: the checks below compared something
    # 2 portfolio COPILs + 2 × 2 project COPILs frozen
    assert year.editions == 6, year
    assert year.evolutions_missed == 0 and year.evolutions_extra == 0
    assert year.republished_without_change == 0
    assert year.frozen_changed == 0
    assert year.weather_disagreements == 0
    assert year.new_year_weather_moves == 0
    assert year.stray_files == 0
    # 40 living files, the synthesis, and the frozen editions' files (docx, and PDF when installed)
    assert year.files >= 41 + 2 + 4
