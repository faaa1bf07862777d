"""Every wait is bounded (issue 25): a SharePoint that accepts connections and never answers, one
that stops answering in the middle of a night, an item that refuses every write, a night that
reaches its deadline, SIGTERM while the reports render. Each ends by itself with its exit code,
its run recorded and its lock released."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import jobs.cli as cli
from connector.errors import RunTimedOut
from connector.state import State
from jobs.lock import RunLock, make_engine
from jobs.nightly import run_once
from tests.support.sync_helpers import AS_OF, config, seeded

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@contextlib.contextmanager
def silent_server():
    """A socket that accepts every connection and never answers (a stuck proxy, a hung front
    end); yields (url, accepted connections)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            held.append(conn)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}/sites/projets", held
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        srv.close()


def _silent_config(tmp_path: Path, url: str) -> Path:
    p = tmp_path / "silent.toml"
    p.write_text(
        f'[sharepoint]\nsite_url = "{url}"\nauth = "bearer"\ntoken_env = "COPIL_TEST_TOKEN"\n'
        f'timeout_seconds = 1\n[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n'
        "[reports]\nenabled = false\n",
        encoding="utf-8",
    )
    return p


@pytest.mark.parametrize("command", ["check", "sync"])
def test_a_server_that_never_answers_is_one_wait_then_exit_4_in_french(tmp_path, monkeypatch, command):
    """At most two requests without an answer, no retry: with the default 120 s timeout that is
    four minutes at worst, not the twenty of retries 1 to 7 (the probe of the issue)."""
    monkeypatch.setenv("COPIL_TEST_TOKEN", "x")
    with silent_server() as (url, accepted):
        res = runner.invoke(cli.app, [command, "--config", str(_silent_config(tmp_path, url))])
        connections = len(accepted)
    out = res.output + (res.stderr or "")
    assert res.exit_code == 4, out
    assert "SharePoint ne répond" in out and "HTTPS_PROXY" in out, out
    assert "Traceback" not in out and "ReadTimeout" not in out, out
    assert connections <= 2, connections  # `[run] silent_after`: at most two waits, never retries


def test_a_server_that_falls_silent_mid_run_stops_the_night_with_exit_4(emulator, tmp_path):
    """SharePoint answers the reading, then hangs on every write: two requests without an answer
    and the run stops (recorded, lock released), not one wait per batch all night."""
    seeded(emulator, 12)
    waits: list[str] = []
    read = {"done": False}

    def hang(method, path):
        read["done"] = read["done"] or path.endswith("/$value")  # the export, the last thing read
        if read["done"] and "$batch" in path:  # from then on, every write hangs
            waits.append(path)
            time.sleep(1.6)

    cfg = config(emulator, tmp_path, sharepoint={"timeout_seconds": 0.5, "batch_size": 2})
    emulator.faults.hooks.append(hang)
    try:
        with pytest.raises(RunTimedOut) as stopped:
            run_once(cfg, as_of=AS_OF, show_progress=False)
    finally:
        emulator.faults.hooks.clear()
    assert "SharePoint ne répond plus : 2 requêtes d'affilée sans réponse en 0,5 s" in str(stopped.value)
    assert stopped.value.exit_code == 4
    assert len(waits) == 2, waits  # the first batch and its one retry: never the next batches
    (run,) = State(cfg.state.url).last_runs(1)
    assert run["status"] == "timed_out" and run["exit_code"] == 4
    assert RunLock(make_engine(cfg.state.url)).acquire("copil:sync"), "the lock was released"


def test_a_night_that_reaches_its_deadline_stops_cleanly_and_says_where(emulator, tmp_path):
    seeded(emulator, 12)
    emulator.admin("POST", "faults", json={"latency_ms": 150})
    cfg = config(emulator, tmp_path, run={"deadline_minutes": 0.02})  # 1.2 s
    with pytest.raises(RunTimedOut) as stopped:
        run_once(cfg, as_of=AS_OF, show_progress=False)
    assert "durée maximale de la synchronisation atteinte (1 s) pendant : " in str(stopped.value)
    assert "deadline_minutes" in (stopped.value.hint or "")
    (run,) = State(cfg.state.url).last_runs(1)
    assert run["status"] == "timed_out" and run["exit_code"] == 4
    emulator.admin("DELETE", "faults")
    summary = run_once(config(emulator, tmp_path), as_of=AS_OF, show_progress=False)
    assert summary.exit_code == 0 and summary.written == 12  # the next night takes the lock and does it all


def test_an_item_that_refuses_every_write_with_500_is_dead_lettered_without_nested_retries(emulator, tmp_path):
    """The client's own $batch retries (5 from 5 s) inside copil's (7) made this item cost nine
    minutes; copil's policy alone tries it three times."""
    seeded(emulator, 3)
    emulator.admin(
        "POST", "faults", json={"error_paths": [{"pattern": r"getItemById\(2\)/ValidateUpdateListItem", "status": 500}]}
    )
    emulator.faults.reset_counters()
    summary = run_once(config(emulator, tmp_path), as_of=AS_OF, show_progress=False)
    assert summary.exit_code == 5 and summary.failed == 1
    assert [d["item_id"] for d in summary.dead_letters] == [2], summary.dead_letters
    assert emulator.faults.errors == 3, emulator.faults.errors  # item 2 tried three times in all


def test_throttled_operations_inside_a_batch_wait_for_the_server_and_all_land(emulator, tmp_path):
    """Copil's policy, not the client's, now handles a 429 inside a $batch: it waits the
    Retry-After and writes the items it was refused."""
    seeded(emulator, 6)
    emulator.admin("POST", "faults", json={"throttle": {"every_n": 4, "retry_after": 1}})
    summary = run_once(config(emulator, tmp_path), as_of=AS_OF, show_progress=False)
    assert summary.exit_code == 0 and summary.written == 6 and summary.failed == 0


def _sync_process(cfg_path: Path, token: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sync", "--config", str(cfg_path)],
        cwd=ROOT,
        env={**os.environ, "COPIL_SIGTERM_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_sigterm_while_reports_render_in_workers_stops_with_143(emulator, tmp_path):
    """The probe: the run went on 9.7 s, published 40 reports and exited 5. Now the workers are
    ended, no report is counted as published without its metadata, and the next night publishes
    the rest."""
    site = seeded(emulator, 60)
    cfg = tmp_path / "copil.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{emulator.site_url("projets")}"\nauth = "bearer"\n'
        f'token_env = "COPIL_SIGTERM_TOKEN"\n[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n'
        "[reports]\nenabled = true\nworkers = 2\n",
        encoding="utf-8",
    )
    emulator.admin("POST", "faults", json={"latency_ms": 30})
    proc = _sync_process(cfg, emulator.tokens["write"])
    t0 = time.monotonic()
    while not any("fiche projet" in k for k in site.files):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() - t0 < 240
        time.sleep(0.05)
    children = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    out, _ = proc.communicate(timeout=60)
    took = time.monotonic() - stopped
    assert proc.returncode == 143, out
    assert took < 10, took
    assert "interrompue" in out and "Traceback" not in out, out
    assert children, "the reports were rendered in worker processes"
    time.sleep(0.5)
    assert not [p for p in children if _alive(p)], "a rendering worker outlived the run"
    state = State(f"sqlite:///{(tmp_path / 's.db').as_posix()}")
    (run,) = state.last_runs(1)
    assert run["status"] == "interrupted" and run["exit_code"] == 143
    published = state.report_hashes.all_published()
    files = [k for k in site.files if "fiche projet" in k]
    assert len(published) < 60 and len(files) < 60, (len(published), len(files))
    emulator.admin("DELETE", "faults")
    again = _sync_process(cfg, emulator.tokens["write"])
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0, out
    assert len([k for k in site.files if "fiche projet" in k]) == 60


def _children(pid: int) -> list[int]:
    """Every descendant (the workers are children of the fork server, itself a child)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        found += kids
        frontier += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- `check` = the run, and « say what wins » -------------------------------------------------
def test_an_export_column_the_newest_export_lacks_fails_check_and_the_run_with_5(emulator, tmp_path):
    """The probe: `paid = "Payé"` against an export whose column reads « Mandaté » passed check
    (0) and the run silently took the lists' payments instead."""
    from connector.check import run_checks
    from connector.pipeline import run_sync

    seeded(emulator, 8)
    cfg = config(
        emulator,
        tmp_path,
        finance_export={
            "columns": {
                "code": "Code opération",
                "year": "Exercice",
                "engaged": "Engagé",
                "paid": "Payé",
                "ap_affected": "AP affectée",
            }
        },
    )
    steps = list(run_checks(cfg))
    bad = [s for s in steps if not s.ok]
    assert [s.exit_code for s in bad] == [5], [s.message for s in steps]
    assert "« Payé » (clé `finance_export.columns.paid`)" in bad[0].message
    assert "en-têtes proches" in bad[0].message and "Export_AP_CP_2026-11-23.xlsx" in bad[0].message
    summary = run_sync(cfg, as_of=AS_OF)
    assert summary.exit_code == 5 and summary.source_errors == [bad[0].message]
    good = list(run_checks(config(emulator, tmp_path)))
    assert all(s.ok for s in good) and any("toutes les colonnes configurées" in s.message for s in good)


def test_a_budget_amount_the_export_overrides_is_a_finding_with_both_values_and_the_date(emulator, tmp_path):
    from connector.pipeline import run_sync
    from tests.support.sync_helpers import owned

    site = seeded(emulator, 8)
    budget = site.list_by_title("Budget AP-CP")
    paid = budget.field_by_title("Mandaté").internal_name
    year = budget.field_by_title("Exercice").internal_name
    item = next(i for i in budget.items.values() if str(i.values.get(year)).startswith("2026") and i.values.get(paid))
    item.values[paid] = 4321.0  # a person's edit the export contradicts
    summary = run_sync(config(emulator, tmp_path), as_of=AS_OF)
    said = [f for f in summary.findings if f.list_title == "Budget AP-CP" and f.item_id == item.id]
    assert len(said) == 1, [f.message for f in summary.findings]
    f = said[0]
    assert (
        f.column == "Mandaté"
        and "remplacé par l'export financier « Export_AP_CP_2026-11-23.xlsx » du 23/11/2026" in f.message
    )
    assert "4 321 €" in f.message.replace("\u202f", " ").replace("\xa0", " ")
    assert f.project_code and "Mandaté" in owned(site, _project_item(site, f.project_code))["Qualité des données"]


def _project_item(site, code: str) -> int:
    lst = site.list_by_title("Projets")
    field = lst.field_by_title("Code opération").internal_name
    return next(i for i, it in lst.items.items() if it.values.get(field) == code)


def test_a_duplicated_code_is_named_as_a_duplicate_by_report_and_on_amendments(emulator, tmp_path):
    from connector.errors import SchemaError
    from connector.pipeline import reports_only, run_sync

    site = seeded(emulator, 5)
    lst = site.list_by_title("Projets")
    code = lst.field_by_title("Code opération").internal_name
    lst.items[3].values[code] = "PPI-2024-001"  # the code of item 1 typed again
    summary = run_sync(config(emulator, tmp_path), as_of=AS_OF)
    amendments = [f for f in summary.findings if f.list_title == "Avenants"]
    assert amendments and all("d'un projet dont le code opération est en double" in f.message for f in amendments)
    with pytest.raises(SchemaError) as e:
        reports_only(
            config(emulator, tmp_path, reports={"enabled": True}), only=["PPI-2024-001"], out_dir=tmp_path / "o"
        )
    assert "« PPI-2024-001 » en double dans la liste des projets (éléments 1 et 3)" in str(e.value)


def test_the_daemon_s_sigterm_stops_the_run_in_its_thread(emulator, tmp_path):
    """`copil schedule` runs the night in a thread, where signals cannot be received: its
    SIGTERM handler asks the run to stop, and the run stops at its next request."""
    from connector import deadline
    from jobs.nightly import scheduled_run

    seeded(emulator, 20)
    emulator.admin("POST", "faults", json={"latency_ms": 40})
    cfg = tmp_path / "copil.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{emulator.site_url("projets")}"\nauth = "bearer"\n'
        f'token_env = "COPIL_DAEMON_TOKEN"\nbatch_size = 2\n[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n'
        "[reports]\nenabled = false\n",
        encoding="utf-8",
    )
    os.environ["COPIL_DAEMON_TOKEN"] = emulator.tokens["write"]
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(scheduled_run(str(cfg))))
    t.start()
    t0 = time.monotonic()
    while emulator.stats()["by_route"].get("batch:op:validate.POST", 0) < 4:
        assert time.monotonic() - t0 < 60 and t.is_alive()
        time.sleep(0.02)
    deadline.ask_stop("SIGTERM")
    t.join(10)
    assert not t.is_alive() and result == [143], result
    (run,) = State(f"sqlite:///{(tmp_path / 's.db').as_posix()}").last_runs(1)
    assert run["status"] == "interrupted" and run["written"] is not None and run["written"] < 20
