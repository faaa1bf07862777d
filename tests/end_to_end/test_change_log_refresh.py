"""Minutes, not nights: after a full read, a run reads SharePoint's change log and only the items
it names. An edit made during the day is written back by one refresh; an unchanged refresh
costs the same three requests at any size; copil's own writes trigger nothing; a deleted
project leaves the portfolio; a token too old, the weekly reconciliation and a changed column
each bring a full read back, with the reason said; a refresh and a night never run at once;
and whatever the sequence of edits, the incremental runs leave SharePoint and the kept rows
exactly as a full read would."""

from __future__ import annotations

import json
import logging
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from connector import writeback
from connector.pipeline import build_portfolio, run_sync
from connector.sources import token_time
from connector.state import State, sources_t
from emulator.server import start
from jobs.lock import RunLock, make_engine
from jobs.nightly import RunInProgress, run_once
from tests.support.sync_helpers import AS_OF, config, seeded

DAY = AS_OF + timedelta(days=1)


@pytest.fixture
def world(tmp_path):
    srv = start()
    try:
        site = seeded(srv, projects=10)
        yield srv, site, config(srv, tmp_path)
    finally:
        srv.stop()


def _run(srv, cfg, **kw):
    srv.faults.reset_counters()
    summary = run_sync(cfg, **kw)
    return summary, srv.stats()["requests"]


def _field(site, title: str, column: str):
    lst = site.list_by_title(title)
    return lst, lst.field_by_title(column)


def _owned(site, item_id: int, column: str):
    lst, f = _field(site, "Projets", column)
    return lst.get_item(item_id).values.get(f.internal_name)


def _meta(cfg) -> dict:
    return State(cfg.state.url).sources.load(["meta"])["meta"]


def _set_meta(cfg, meta: dict) -> None:
    state = State(cfg.state.url)
    with state.engine.begin() as c:
        c.execute(
            update(sources_t).where(sources_t.c.name == "meta").values(data=zlib.compress(json.dumps(meta).encode()))
        )


def test_an_edit_during_the_day_is_written_back_by_one_refresh_and_copils_own_writes_trigger_nothing(world):
    srv, site, cfg = world
    night, _ = _run(srv, cfg, as_of=AS_OF)
    assert night.read["mode"] == "full" and "première lecture" in night.read["reason"]
    assert night.written == 10

    # right after the night: the log holds copil's own system updates, and nothing else
    quiet, requests = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert quiet.read["mode"] == "incremental" and quiet.read["unchanged"]
    assert quiet.read["ignored_own"] >= 10  # its 10 writes, recognised and not read again
    assert requests <= 3 and quiet.written == 0 and quiet.read_items == 0
    routes = srv.stats()["by_route"]
    assert "items.GET" not in routes and "lists.GET" not in routes

    # 10 a.m.: a project manager moves a forecast end by two years
    lst, end = _field(site, "Projets", "Fin prévisionnelle")
    item = next(i for i in lst.items.values() if i.values.get("Title"))
    before = _owned(site, item.id, "Glissement (jours)")
    lst.update_item(item, {end.internal_name: "31/12/2031"}, 7)
    edited, requests = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert edited.read["mode"] == "incremental" and edited.read["reread"] == {"Projets": 1}
    assert requests <= 6 and edited.read_items == 1
    assert edited.written >= 1
    after = _owned(site, item.id, "Glissement (jours)")
    assert after != before and after > (before or 0)

    # the refresh's own write is not read again either
    again, requests = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert again.read["unchanged"] and requests <= 3 and again.written == 0


def test_an_unchanged_refresh_costs_the_same_requests_at_10_and_at_200_projects(tmp_path):
    costs = {}
    for n in (10, 200):
        srv = start()
        try:
            seeded(srv, projects=n)
            cfg = config(srv, tmp_path / str(n))
            (tmp_path / str(n)).mkdir(exist_ok=True)
            _run(srv, cfg, as_of=AS_OF)
            _run(srv, cfg, as_of=AS_OF, refresh=True)  # reads past copil's own writes
            summary, costs[n] = _run(srv, cfg, as_of=AS_OF, refresh=True)
            assert summary.read["unchanged"] and summary.exit_code == 0
        finally:
            srv.stop()
    assert costs[10] == costs[200] <= 3


def test_an_unchanged_night_with_reports_costs_at_most_five_requests(tmp_path):
    srv = start()
    try:
        seeded(srv, projects=10)
        cfg = config(srv, tmp_path, reports={"enabled": True})
        first, _ = _run(srv, cfg, as_of=AS_OF)
        assert first.reports_uploaded == 11
        _run(srv, cfg, as_of=DAY)  # the night after: reads past the first night's writes
        quiet, requests = _run(srv, cfg, as_of=DAY)
        assert quiet.reports_uploaded == 0 and quiet.written == 0 and quiet.exit_code == 0
        assert requests <= 5
    finally:
        srv.stop()


def test_a_deleted_project_disappears_from_the_portfolio(world):
    srv, site, cfg = world
    first, _ = _run(srv, cfg, as_of=AS_OF)
    lst = site.list_by_title("Projets")
    gone = max(lst.items)
    lst.delete_item(lst.get_item(gone), recycle=True)
    summary, _ = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert summary.read["deleted"] == {"Projets": 1}
    assert summary.projects == first.projects - 1
    kept = State(cfg.state.url).sources.load(["list:projects"])["list:projects"]
    assert gone not in [r["_id"] for r in kept] and len(kept) == len(lst.items)


@pytest.mark.parametrize(
    "change, reason",
    [
        ("old_token", "vieux de 50 jours"),
        ("reconciliation", "rapprochement"),
        ("column_added", "une colonne de « Projets » a changé"),
        ("column_renamed", "listes, colonnes ou configuration modifiées"),
    ],
)
def test_each_reason_for_a_full_read_brings_one_back_and_says_why(world, caplog, change, reason):
    srv, site, cfg = world
    _run(srv, cfg, as_of=AS_OF)
    meta = _meta(cfg)
    if change == "old_token":
        old = datetime.now(timezone.utc) - timedelta(days=50)
        ticks = (old - datetime(1, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 10
        for t in meta["tokens"].values():
            parts = t["token"].split(";")
            t["token"] = ";".join(parts[:3] + [str(ticks)] + parts[4:])
        assert abs((datetime.now(timezone.utc) - token_time(t["token"])).days - 50) <= 1
        _set_meta(cfg, meta)
    elif change == "reconciliation":
        meta["full_read_at"] = (datetime.now(timezone.utc) - timedelta(days=7, minutes=1)).isoformat()
        _set_meta(cfg, meta)
    elif change == "column_added":
        site.list_by_title("Projets").add_field("Notes libres", "Note")
    else:  # an optional column renamed: the site no longer has what the rows were read with
        lst, f = _field(site, "Projets", "Programme")
        f.title = "Programme pluriannuel"
        site.log_change("field", 2, lst.id, field_id=f.id)
    with caplog.at_level(logging.INFO, logger="copil.sources"):
        summary, _ = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert summary.read["mode"] == "full" and reason in summary.read["reason"]
    assert reason in caplog.text and summary.exit_code == 0
    # the full read starts a new token: the next refresh reads the log again
    follow, _ = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert follow.read["mode"] == "incremental"


def test_a_refresh_while_the_night_holds_the_lock_exits_6_and_never_runs_beside_it(world):
    srv, site, cfg = world
    run_once(cfg, show_progress=False, as_of=AS_OF)
    night = RunLock(make_engine(cfg.state.url), owner="autre-hote:1:nuit")
    assert night.acquire("copil:sync")
    try:
        srv.faults.reset_counters()
        with pytest.raises(RunInProgress) as e:
            run_once(cfg, show_progress=False, refresh=True)
        assert e.value.exit_code == 6 and "déjà en cours" in str(e.value)
        assert srv.stats()["requests"] == 0  # not one request beside the night
    finally:
        night.release("copil:sync", done=False)
    assert run_once(cfg, show_progress=False, refresh=True).exit_code == 0


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["end", "progress", "ap", "milestone", "delete", "add", "risk", "none"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    srv = start()
    site = seeded(srv, projects=12)
    cfg = config(srv, tmp_path_factory.mktemp("replay"))
    run_sync(cfg, as_of=AS_OF)
    yield srv, site, cfg
    srv.stop()


def _edit(site, what: str, n: int) -> None:
    projects = site.list_by_title("Projets")
    ids = sorted(projects.items)
    pid = ids[n % len(ids)]
    if what == "end":
        f = projects.field_by_title("Fin prévisionnelle")
        projects.update_item(
            projects.get_item(pid), {f.internal_name: f"{1 + n % 28:02d}/{1 + n % 12:02d}/20{27 + n % 5}"}, 7
        )
    elif what == "progress":
        f = projects.field_by_title("Avancement physique")
        projects.update_item(projects.get_item(pid), {f.internal_name: (n % 101) / 100}, 7)
    elif what == "ap":
        f = projects.field_by_title("AP votée")
        projects.update_item(projects.get_item(pid), {f.internal_name: float(100_000 + n * 997)}, 7)
    elif what == "milestone":
        ms = site.list_by_title("Jalons")
        mid = sorted(ms.items)[n % len(ms.items)]
        f = (
            ms.field_by_title("Date prévisionnelle")
            if ms.field_by_title("Date prévisionnelle", missing_ok=True)
            else None
        )
        if f is not None:
            ms.update_item(ms.get_item(mid), {f.internal_name: f"{1 + n % 28:02d}/06/2027"}, 7)
    elif what == "delete" and len(ids) > 4:
        projects.delete_item(projects.get_item(pid), recycle=n % 2 == 0)
    elif what == "add":
        code = projects.field_by_title("Code opération")
        projects.add_item({"Title": f"Projet ajouté {n}", code.internal_name: f"ADD-{n:05d}"}, 7)
    elif what == "risk":
        risks = site.list_by_title("Risques")
        if risks.items:
            risks.delete_item(risks.get_item(sorted(risks.items)[n % len(risks.items)]))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(edits=EDITS, night=st.booleans())
def test_incremental_runs_leave_sharepoint_and_the_kept_rows_as_a_full_read_would(replayed, edits, night):
    srv, site, cfg = replayed
    for what, n in edits:
        _edit(site, what, n)
    summary = run_sync(cfg, as_of=AS_OF, refresh=not night)
    assert summary.exit_code in (0, 5) and summary.read["mode"] == "incremental"
    # a full read of the same site: nothing left to write, and the same rows
    portfolio, raw, _resolved, _site = build_portfolio(cfg, as_of=AS_OF)
    changes, _ = writeback.plan(portfolio, raw)
    assert [c.code for c in changes] == []
    kept = State(cfg.state.url).sources.load()
    for key, rows in raw.lists.items():
        mine = kept[f"list:{key}"]
        assert [r["_id"] for r in mine] == [r["_id"] for r in rows], key
        diff = {
            (r["_id"], k, str(r.get(k)), str(m.get(k))) for r, m in zip(rows, mine) for k in r if r.get(k) != m.get(k)
        }
        assert diff == set(), key


def test_the_kept_rows_are_in_the_state_database_not_beside_it(world):
    srv, site, cfg = world
    _run(srv, cfg, as_of=AS_OF)
    state = State(cfg.state.url)
    with state.engine.connect() as c:
        names = {r[0] for r in c.execute(select(sources_t.c.name)).all()}
    assert {"meta", "list:projects", "list:milestones"} <= names


def test_after_many_writes_the_run_reads_past_its_own_so_the_next_asks_one_page(world, monkeypatch):
    """The first night writes every project (twice with the links): at 10,000 projects, 20,000
    changes of its own, 20 pages for the next run to wade through. Past `CATCH_UP_AT` writes in
    a list, the run moves that list's token past them itself; a person's edit made during the
    run stops it there, and the next run reads that edit."""
    from connector import sources

    srv, site, cfg = world
    monkeypatch.setattr(sources, "CATCH_UP_AT", 5)
    lst, end = _field(site, "Projets", "Fin prévisionnelle")
    first, _ = _run(srv, cfg, as_of=AS_OF)
    assert first.written == 10
    kept = token_time(_meta(cfg)["tokens"]["projects"]["token"])
    assert kept is not None
    number = int(_meta(cfg)["tokens"]["projects"]["token"].split(";")[4])
    assert number == site.changelog.last_number or all(
        c.list_id != lst.id for c in site.changelog.since(number)
    )  # nothing of the projects' list left behind the token
    quiet, requests = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert quiet.read["unchanged"] and quiet.read["ignored_own"] == 0 and requests <= 3

    # 200 days later most computed columns move; a person's edit lands just before the writes:
    # the token stops before it, and the next run reads that edit and skips the night's writes
    def edit_before_the_writes(method, path):
        seen["read"] = seen.get("read") or "/items" in path
        if path.endswith("$batch") and seen["read"] and not seen.get("done"):
            seen["done"] = True
            other = lst.get_item(5)
            lst.update_item(other, {end.internal_name: "31/12/2032"}, other.editor_id)

    seen: dict = {}
    lst.update_item(lst.get_item(1), {end.internal_name: "30/06/2030"}, lst.get_item(1).editor_id)
    srv.faults.hooks.append(edit_before_the_writes)
    try:
        second, _ = _run(srv, cfg, as_of=AS_OF + timedelta(days=200))
    finally:
        srv.faults.hooks.remove(edit_before_the_writes)
    assert seen.get("done") and second.written >= 5, second.written
    third, _ = _run(srv, cfg, as_of=AS_OF + timedelta(days=200), refresh=True)
    assert third.read["reread"] == {"Projets": 1}  # item 5, edited while the night was writing
    assert third.read["ignored_own"] >= 5  # the night's own writes after it: recognised, not read


def test_a_new_finance_export_and_a_new_document_are_read_again_by_a_refresh(world):
    """Libraries are followed too: a file added, replaced or removed in the finance export's
    library or the documents' makes the refresh list that library again (one request) and read
    the newest export, as a full read would."""
    import io

    from openpyxl import load_workbook

    from connector.portfolio import Document

    srv, site, cfg = world
    _run(srv, cfg, as_of=AS_OF)
    fin_lib = next(lst for lst in site.lists.values() if lst.title.startswith("Exports"))
    (old,) = [f for f in site.files.values() if f.list_id == fin_lib.id]
    wb = load_workbook(io.BytesIO(old.content))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows())
    header = next(i for i, r in enumerate(rows) if any(c.value == "Code opération" for c in r))
    col = next(c.column - 1 for c in rows[header] if str(c.value or "").lower().startswith("mandat"))
    rows[header + 1][col].value = (rows[header + 1][col].value or 0) + 123_456.0
    out = io.BytesIO()
    wb.save(out)
    site.add_file(fin_lib.title, "", "Export_AP_CP_2026-11-30.xlsx", out.getvalue())
    docs = site.list_by_title("Documents projets") if site.list_by_title("Documents projets", missing_ok=True) else None
    if docs is not None:
        code = docs.field_by_title("Code opération").internal_name
        site.add_file(docs.title, "PPI-2024-001", "Compte rendu.docx", b"PK\x03\x04 cr", {code: "PPI-2024-001"})
    summary, _ = _run(srv, cfg, as_of=AS_OF, refresh=True)
    assert summary.read["mode"] == "incremental" and summary.read["reread"].get(fin_lib.title) == 1
    portfolio, raw, _resolved, _site = build_portfolio(cfg, as_of=AS_OF)
    assert raw.finance_source["file"] == "Export_AP_CP_2026-11-30.xlsx"
    assert writeback.plan(portfolio, raw)[0] == []
    kept = State(cfg.state.url).sources.load()
    assert kept["finance"]["rows"] == raw.finance_rows and kept["finance"]["source"] == raw.finance_source
    assert [Document(**d) for d in kept["documents"]] == raw.documents
    if docs is not None:
        assert any(d.name == "Compte rendu.docx" for d in raw.documents)
