"""Whether a report is rendered is decided from a hash of what it is made of, without building its
context: an unchanged night builds no context and renders nothing; an edit to one project builds
and renders that project's file and the synthesis, nothing else; a living file whose inputs did
not move is looked at again only once its refresh delay has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connector.pipeline import run_sync
from connector.reports import publish
from emulator.server import start
from tests.support.sync_helpers import AS_OF, config, seeded


@pytest.fixture
def counted(monkeypatch):
    """How many report contexts each night builds (the costly part of deciding)."""
    built: dict[str, list] = {"project": [], "portfolio": []}
    project_context, portfolio_context = publish.project_context, publish.portfolio_context

    def project(portfolio, code, **kw):
        built["project"].append(code)
        return project_context(portfolio, code, **kw)

    def synthesis(portfolio, **kw):
        built["portfolio"].append(1)
        return portfolio_context(portfolio, **kw)

    monkeypatch.setattr(publish, "project_context", project)
    monkeypatch.setattr(publish, "portfolio_context", synthesis)
    return built


@pytest.fixture
def site_and_config(tmp_path):
    srv = start()
    try:
        site = seeded(srv)
        yield srv, site, config(srv, tmp_path, reports={"enabled": True})
    finally:
        srv.stop()


def test_an_unchanged_night_builds_no_context_and_a_change_renders_that_project_and_the_synthesis(
    site_and_config, counted
):
    srv, site, cfg = site_and_config
    first = run_sync(cfg, as_of=AS_OF)
    assert first.exit_code == 0 and first.reports_uploaded == 41
    assert len(counted["project"]) == 40 and len(counted["portfolio"]) == 1

    counted["project"].clear(), counted["portfolio"].clear()
    quiet = run_sync(cfg, as_of=AS_OF + timedelta(days=1))
    assert quiet.exit_code == 0
    assert quiet.reports_uploaded == 0
    assert counted == {"project": [], "portfolio": []}  # decided from the inputs alone

    # a project manager raises the AP of one running project: its key figures and the
    # portfolio's totals move, nothing else
    lst = site.list_by_title("Projets")
    name = {f.title: f.internal_name for f in lst.fields.values()}
    item = next(i for i in lst.items.values() if i.values.get(name["Code opération"]) == "PPI-2024-001")
    assert item.values[name["AP votée"]] == "1 000 000 €"  # typed as text by the sample
    lst.update_item(item, {name["AP votée"]: "1 100 000 €"}, editor=1)
    edited = run_sync(cfg, as_of=AS_OF + timedelta(days=2))
    assert edited.exit_code == 0
    assert counted["project"] == ["PPI-2024-001"] and counted["portfolio"] == [1]
    assert edited.reports_uploaded == 2
    assert sorted(f.rsplit("/", 1)[-1] for f in edited.report_files if f.endswith(".docx")) == [
        "Fiche projet PPI-2024-001.docx",
        "Synthèse du portefeuille.docx",
    ]


def test_the_calendar_check_comes_only_after_the_refresh_delay(site_and_config, counted):
    """Inputs unchanged: no context before `living_refresh_days`; then each report is looked at
    again (rendered only if the calendar moved what it shows), and not again the next night."""
    srv, site, cfg = site_and_config
    assert run_sync(cfg, as_of=AS_OF).exit_code == 0
    built_per_night = []
    for n in range(1, 16):
        counted["project"].clear()
        night = run_sync(cfg, as_of=AS_OF + timedelta(days=n))
        assert night.exit_code == 0
        assert set(night.report_reasons) <= {"actualisation du calendrier", "données modifiées"}
        built_per_night.append(len(counted["project"]))
    seen = " ".join(map(str, built_per_night))
    # nights 1 to 6: nothing is looked at (an input judged, a milestone turning late, may build one)
    assert sum(built_per_night[:6]) <= 3, seen
    # night 7: the week has passed for the 40 reports published together
    assert built_per_night[6] >= 37, seen
    # then each is looked at again a week later or a few days more, not all on the same night;
    # in between only the projects whose judged inputs moved (a milestone turning late…)
    assert sum(built_per_night[7:13]) <= 8, seen
    assert max(built_per_night[7:]) < 30 and sum(built_per_night[13:]) >= 1, seen
