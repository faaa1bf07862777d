"""Scheduler: cron firing, one execution per firing across two daemons, clean stop."""

from __future__ import annotations

import sqlite3
import threading
import time

from jobs.lock import RunLock, make_engine
from jobs.scheduler import Daemon


def record_execution(db: str, sleep_s: float = 0.0) -> None:
    """The scheduled job in tests: one row per execution, with a wall-clock time."""
    if sleep_s:
        time.sleep(sleep_s)
    con = sqlite3.connect(db, timeout=30)
    with con:
        con.execute("CREATE TABLE IF NOT EXISTS runs (at REAL)")
        con.execute("INSERT INTO runs VALUES (?)", (time.time(),))
    con.close()


def _count(db: str) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _slots(state: str) -> list[tuple]:
    con = sqlite3.connect(state, timeout=30)
    try:
        return con.execute("SELECT name, owner, done FROM copil_run_locks").fetchall()
    finally:
        con.close()


def test_lock_is_won_once_per_slot(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    a, b = RunLock(engine, owner="a"), RunLock(engine, owner="b")
    assert a.acquire("nightly@2026-11-24T02:00")
    assert not b.acquire("nightly@2026-11-24T02:00")
    a.release("nightly@2026-11-24T02:00")
    # finished slots never run again, even after expiry
    assert not b.acquire("nightly@2026-11-24T02:00", now=time.time() + 10 * 86400)
    assert b.acquire("nightly@2026-11-25T02:00")


def test_crashed_owner_claim_is_taken_over_after_expiry(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    a = RunLock(engine, owner="a", ttl_s=60)
    b = RunLock(engine, owner="b", ttl_s=60)
    assert a.acquire("slot", now=1000.0)  # a never releases: it crashed
    assert not b.acquire("slot", now=1030.0)
    assert b.acquire("slot", now=1061.0)
    assert b.holder("slot")["owner"] == "b"


def claim_race(url: str, slot: str = "same-slot", n: int = 6) -> list[bool]:
    """n owners claim the same slot at once on the state database at `url`."""
    make_engine(url)
    wins = []
    barrier = threading.Barrier(n)

    def claim(i):
        lock = RunLock(make_engine(url), owner=f"o{i}")
        barrier.wait()
        wins.append(lock.acquire(slot))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return wins


def test_concurrent_claims_have_one_winner(tmp_path):
    assert sorted(claim_race(f"sqlite:///{tmp_path / 'state.db'}")) == [False] * 5 + [True]


def test_two_daemons_on_same_state_run_each_firing_once(tmp_path):
    state = tmp_path / "state.db"
    counter = str(tmp_path / "counter.db")
    url = f"sqlite:///{state}"
    common = dict(
        state_url=url,
        cron="*/2 * * * * *",
        timezone="Europe/Paris",
        misfire_grace_seconds=5,
        func_ref="tests.end_to_end.test_scheduler:record_execution",
        kwargs={"db": counter},
        blocking=False,
    )
    d1, d2 = Daemon(**common), Daemon(**common)
    d1.start()
    d2.start()
    try:
        deadline = time.time() + 12
        while time.time() < deadline and len({s[0] for s in _slots(state)}) < 3:
            time.sleep(0.2)
    finally:
        d1.stop()
        d2.stop()
    slots = _slots(state)
    assert len(slots) >= 2, slots
    assert all(done for _, _, done in slots)
    # exactly one execution per claimed firing, however the two daemons raced
    assert _count(counter) == len(slots)


def test_stop_waits_for_running_job(tmp_path):
    counter = str(tmp_path / "counter.db")
    d = Daemon(
        state_url=f"sqlite:///{tmp_path / 'state.db'}",
        cron="* * * * * *",
        timezone="UTC",
        misfire_grace_seconds=5,
        func_ref="tests.end_to_end.test_scheduler:record_execution",
        kwargs={"db": counter, "sleep_s": 1.5},
        blocking=False,
    )
    d.start()
    deadline = time.time() + 5
    while time.time() < deadline and not d.scheduler._executors["default"]._instances:
        time.sleep(0.05)
    assert d.scheduler._executors["default"]._instances, "job did not start"
    started = time.time()
    d.stop()  # what the SIGTERM handler calls
    assert time.time() - started >= 0.5  # waited for the run in progress
    assert _count(counter) == 1
    assert not d.scheduler.running


DAEMON_SCRIPT = """
import sys
from jobs.scheduler import Daemon
d = Daemon(state_url=sys.argv[1], cron="* * * * * *", timezone="UTC",
           misfire_grace_seconds=5, func_ref="tests.end_to_end.test_scheduler:record_execution",
           kwargs={"db": sys.argv[2], "sleep_s": 2.0}, blocking=True)
d.install_signal_handlers()
print("started", flush=True)
d.start()
print("stopped", flush=True)
"""


def test_sigterm_stops_blocking_daemon_after_current_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    counter = str(tmp_path / "counter.db")
    state = tmp_path / "state.db"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", DAEMON_SCRIPT, f"sqlite:///{state}", counter],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 15
        while time.time() < deadline and not _slots_if_any(state):
            time.sleep(0.1)  # wait until a run has claimed its slot (job is sleeping)
        assert _slots_if_any(state), proc.stderr.read() if proc.poll() is not None else "no run"
        proc.send_signal(signal.SIGTERM)
        out, errs = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, errs
    assert "stopped" in out
    # the run in progress when SIGTERM arrived completed; nothing started afterwards
    slots = _slots(state)
    assert _count(counter) == len(slots) >= 1
    assert all(done for _, _, done in slots)


def _slots_if_any(state) -> list:
    try:
        return _slots(state)
    except sqlite3.OperationalError:
        return []


def _another_job_fires(tmp_path, job_id: str, **job) -> tuple[str, dict]:
    """A daemon whose night is not due during the test, with `job` firing every 2 s into its own
    record; returns the state's path and the daemon's arguments without that job."""
    state = tmp_path / "state.db"
    nights, other = str(tmp_path / "nights.db"), str(tmp_path / f"{job_id}.db")
    common = dict(
        state_url=f"sqlite:///{state}",
        cron="0 2 1 1 *",  # the night: not during this test
        timezone="Europe/Paris",
        misfire_grace_seconds=5,
        func_ref="tests.end_to_end.test_scheduler:record_execution",
        kwargs={"db": nights},
        blocking=False,
    )
    d = Daemon(**common, **job)
    d.scheduler.modify_job(job_id, kwargs={**d.scheduler.get_job(job_id).kwargs, "kwargs": {"db": other}})
    d.start()
    try:
        deadline = time.time() + 10
        while time.time() < deadline and _count(other) < 2:
            time.sleep(0.2)
    finally:
        d.stop()
    assert _count(other) >= 2 and _count(nights) == 0
    return str(state), common


def test_the_daytime_refresh_fires_on_its_own_cron_in_its_own_slots_and_goes_with_its_line(tmp_path):
    """`[schedule] refresh`: a second job beside the night, its firings claimed under their own
    name (a refresh and the night at the same minute are two slots, never one), run on the
    daemon's one executor thread; a configuration without it removes the job kept in the store."""
    from jobs.scheduler import REFRESH_ID

    state, common = _another_job_fires(
        tmp_path,
        REFRESH_ID,
        refresh_cron="*/2 * * * * *",
        refresh_func_ref="tests.end_to_end.test_scheduler:record_execution",
    )
    assert all(name.startswith("copil-refresh@") for name, _, _ in _slots(state))
    again = Daemon(**common)  # the refresh line removed from the configuration
    assert again.scheduler.get_job(REFRESH_ID) is None
    again.start()
    try:
        assert again.scheduler.get_job(REFRESH_ID) is None
    finally:
        again.stop()


def test_the_digests_fire_on_their_day_in_their_own_slots_and_go_with_the_setting(tmp_path):
    """`[notify] digest`: a third job, claimed under its own name; gone when notify is disabled."""
    from jobs.scheduler import NOTIFY_ID

    state, common = _another_job_fires(
        tmp_path,
        NOTIFY_ID,
        notify_cron="*/2 * * * * *",
        notify_func_ref="tests.end_to_end.test_scheduler:record_execution",
    )
    assert all(name.startswith("copil-notify@") for name, _, _ in _slots(state))
    assert "récapitulatifs « 0 8 * * 1 »" in Daemon(**common, notify_cron="0 8 * * 1")._cron_text()
    assert Daemon(**common).scheduler.get_job(NOTIFY_ID) is None
