"""The state database and the scheduler's firing claims on a real PostgreSQL server (the
`pgserver` wheel, started by the tests; skipped with the reason where it cannot run)."""

from __future__ import annotations

import time

import pytest

from connector.pipeline import run_sync
from connector.state import State
from jobs.lock import make_engine
from jobs.scheduler import Daemon
from tests.support import postgres
from tests.support.sync_helpers import AS_OF, config, seeded


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    srv = postgres.start_server(tmp_path_factory)
    yield postgres.database(srv, "copil_test").replace("postgresql://", "postgresql+psycopg://")
    srv.cleanup()


def test_runs_snapshots_findings_dead_letters_and_report_files_on_postgres(emulator, tmp_path, pg_url):
    site = seeded(emulator, 5)
    cfg = config(emulator, tmp_path, state={"url": pg_url}, reports={"enabled": True})
    projects = site.list_by_title("Projets").id  # item 4 of the projects list, not of the report library
    pattern = projects + r"'\)/getItemById\(4\)/ValidateUpdateListItem"
    emulator.admin("POST", "faults", json={"error_paths": [{"pattern": pattern, "status": 409}]})
    first = run_sync(cfg, as_of=AS_OF)
    assert first.failed == 1 and first.reports_uploaded == 5
    emulator.admin("DELETE", "faults")
    second = run_sync(cfg, as_of=AS_OF)
    assert second.failed == 0 and second.written == 1 and second.reports_uploaded == 1
    st = State(pg_url)
    runs = st.runs(5)
    assert [r["status"] for r in runs[:2]] == ["ok", "partial"]
    assert [d["item_id"] for d in st.dead_letters(first.run_id)] == [4]
    assert st.previous_snapshots(before_run_id=second.run_id + 1)["PPI-2024-002"]["weather"] == "Orage"
    assert st.report_hashes.published("project:PPI-2024-001")[1] == AS_OF.isoformat()
    st.check_writable()


def test_concurrent_claims_have_one_winner_on_postgres(pg_url):
    from tests.end_to_end.test_scheduler import claim_race

    assert sorted(claim_race(pg_url, "pg-same-slot")) == [False] * 5 + [True]


def record(path: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{time.time()}\n")


def test_two_daemons_on_one_postgres_run_each_firing_once(tmp_path, pg_url):
    counter = tmp_path / "runs.txt"
    common = dict(
        state_url=pg_url,
        cron="*/2 * * * * *",
        timezone="Pacific/Noumea",
        misfire_grace_seconds=5,
        func_ref="tests.end_to_end.test_state_on_postgres:record",
        kwargs={"path": str(counter)},
        blocking=False,
    )
    d1, d2 = Daemon(**common), Daemon(**common)
    d1.start()
    d2.start()
    try:
        time.sleep(7)
    finally:
        d1.stop()
        d2.stop()
    from sqlalchemy import text

    with make_engine(pg_url).connect() as c:
        slots = c.execute(text("SELECT name, done FROM copil_run_locks WHERE name LIKE 'copil-nightly@%'")).all()
    assert len(slots) >= 2 and all(done for _, done in slots)
    assert len(counter.read_text().splitlines()) == len(slots)  # one execution per firing
