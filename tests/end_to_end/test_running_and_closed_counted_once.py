"""Running and closed operations counted the same way everywhere in the synthesis: every météo
table (by direction, territory, policy, the territory and direction sheets) adds up, per météo,
to the running operations of page 1; closed operations are counted apart everywhere, including
the politique de la ville. Checked on the sample and on generated portfolios of other sizes and
seeds, against counts made here from the generated lists (not from copil's frames)."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.parse import parse_amount
from connector.pipeline import build_portfolio
from connector.reports.context import portfolio_context
from sample.collectivite import generate, seed
from tests.support.sync_helpers import AS_OF, config

WEATHER_KEYS = ("soleil", "nuageux", "orage", "indetermine")
LABELS = {"orage": "orage", "nuageux": "nuageux", "soleil": "soleil", "indetermine": "indéterminé"}


def _portfolio(emulator, tmp_path, projects: int, seed_number: int):
    name = f"p{uuid.uuid4().hex[:8]}"
    seed(emulator.backend, name, projects=projects, seed=seed_number)
    cfg = config(emulator, tmp_path)
    cfg.sharepoint.site_url = emulator.site_url(name)
    portfolio, *_ = build_portfolio(cfg, as_of=AS_OF)
    return portfolio, generate(projects, seed_number)


def _check(portfolio, sample) -> None:
    ctx = portfolio_context(portfolio, collectivite="X", copil_date=AS_OF, previous={}, previous_date=None)
    counts = ctx["counts"]
    # by hand, from the generated lists: an operation is closed when its phase says « Clos »
    consolidated = [p for p in sample.lists["projects"] if p["code"] in portfolio.projects.index]
    closed = [p for p in consolidated if p["phase"] == "Clos"]
    assert int(counts["closed"]) == len(closed)
    assert int(counts["running"]) == len(consolidated) - len(closed)
    assert sum(int(counts[k]) for k in WEATHER_KEYS) == int(counts["running"])
    for table in ("by_direction", "by_territory", "by_policy"):
        rows = ctx[table]
        for k in WEATHER_KEYS:
            assert sum(int(r[k]) for r in rows) == int(counts[k]), (table, k)
        assert sum(int(r["closed"]) for r in rows) == int(counts["closed"]), table
        assert sum(int(r["running"]) for r in rows) == int(counts["running"]), table
        for r in rows:
            assert int(r["running"]) == sum(int(r[k]) for k in WEATHER_KEYS)
            assert int(r["projects"]) == int(r["running"]) + int(r["closed"])
    # the sheets: « N projets en cours et M opérations closes ; … ; 2 orage, 1 nuageux »
    for sheets in ("territories", "directions"):
        total = {k: 0 for k in WEATHER_KEYS}
        n_closed = n_running = 0
        for sheet in ctx[sheets]:
            summary = sheet["summary"]
            n_running += int(re.match(r"(\d+) projets? en cours", summary).group(1))
            m = re.search(r"et (\d+) opérations? closes?", summary)
            n_closed += int(m.group(1)) if m else 0
            for k in WEATHER_KEYS:
                m = re.search(rf"(\d+) {LABELS[k]}\b", summary.split(" ; ")[-1])
                total[k] += int(m.group(1)) if m else 0
            assert len(sheet["projects"]) == int(re.match(r"(\d+)", summary).group(1))
        assert n_running == int(counts["running"]) and n_closed == int(counts["closed"]), sheets
        assert total == {k: int(counts[k]) for k in WEATHER_KEYS}, sheets
    # politique de la ville: running operations in a QPV, their share of the running AP
    running = [p for p in consolidated if p["phase"] != "Clos"]
    ap = {p["code"]: parse_amount(p["ap_voted"])[0] for p in running}
    in_qpv = [p for p in running if (p.get("qpv") or "").strip()]
    assert len(ctx["urban"]["projects"]) == len(in_qpv)
    if in_qpv:
        total_ap = sum(v for v in ap.values() if v is not None)
        share = sum(ap[p["code"]] or 0 for p in in_qpv) / total_ap
        # the AP copil reads may be estimated from sloppy input (« env. 3M »): same parser, same figure
        assert (
            f"soit {round(share * 100)}\u202f% de l’investissement des opérations en cours" in ctx["urban"]["summary"]
        )
    closed_in_qpv = [p for p in closed if (p.get("qpv") or "").strip()]
    assert (f"{len(closed_in_qpv)} opération" in ctx["urban"]["summary"]) is bool(closed_in_qpv)


def test_the_sample_synthesis_adds_up(emulator, tmp_path):
    portfolio, sample = _portfolio(emulator, tmp_path, 40, 2026)
    assert (~portfolio.projects["running"]).sum() > 0  # the sample has closed operations to count apart
    _check(portfolio, sample)


@pytest.mark.parametrize("projects,seed_number", [(90, 7), (25, 11)])
def test_generated_portfolios_add_up(emulator, tmp_path, projects, seed_number):
    portfolio, sample = _portfolio(emulator, tmp_path, projects, seed_number)
    _check(portfolio, sample)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(projects=st.integers(min_value=1, max_value=60), seed_number=st.integers(min_value=0, max_value=10_000))
def test_any_generated_portfolio_adds_up(emulator_module, tmp_path, projects, seed_number):
    portfolio, sample = _portfolio(emulator_module, tmp_path, projects, seed_number)
    _check(portfolio, sample)
