"""A reduced run of the robustness suite (`make robustness` runs it at full size): faults,
kill points and hostile input end with no data lost."""

from __future__ import annotations

from tests.support.robustness import Tally, run_bad_inputs, run_faults, run_kills, run_template_bombs


def test_faults_lose_nothing(tmp_path):
    tally = Tally()
    run_faults(40, seed=11, tally=tally, work=tmp_path, projects=10, waits=False)
    assert tally.faults >= 40 and tally.lost == 0 and tally.hangs == 0, tally.notes


def test_kill_points_lose_nothing(tmp_path):
    tally = Tally()
    run_kills(4, seed=5, tally=tally, work=tmp_path)
    assert tally.lost == 0 and tally.hangs == 0, tally.notes


def test_template_bombs_are_refused_in_bounded_time(tmp_path):
    """A third of the corpus (`make robustness` takes all of it, the loop bomb included, which
    waits for its time limit), then one bomb planted in the template library."""
    from tests.support.robustness import TEMPLATE_BOMBS

    tally = Tally()
    some = [b for i, b in enumerate(TEMPLATE_BOMBS) if i % 3 == 0 and "many" not in b]
    run_template_bombs(tally, tmp_path, some)
    assert tally.bad_inputs == len(some) + 1 and tally.lost == 0 and tally.hangs == 0, tally.notes


def test_hostile_input_loses_nothing(tmp_path):
    tally = Tally()
    run_bad_inputs(45, tally, tmp_path)
    assert tally.bad_inputs >= 45 and tally.lost == 0, tally.notes
