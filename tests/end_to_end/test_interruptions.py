"""A run stopped by SIGTERM (systemctl stop) or killed by SIGKILL never blocks the next one:
SIGTERM ends it cleanly (interrupted, lock released), a lock left by a dead process of this
host is taken over with a warning, and the next run completes every write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from connector.state import State
from tests.support.sync_helpers import OWNED_TITLES, seeded

ROOT = Path(__file__).resolve().parents[2]


def _config(emulator, tmp_path) -> Path:
    p = tmp_path / "copil.toml"
    p.write_text(
        f"""[sharepoint]
site_url = "{emulator.site_url("projets")}"
auth = "bearer"
token_env = "COPIL_KILL_TOKEN"
batch_size = 5
[state]
url = "sqlite:///{(tmp_path / "state.db").as_posix()}"
[reports]
enabled = false
""",
        encoding="utf-8",
    )
    return p


def _start(cfg: Path, emulator) -> subprocess.Popen:
    env = {**os.environ, "COPIL_KILL_TOKEN": emulator.tokens["write"]}
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sync", "--config", str(cfg)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_writes(emulator, proc, n=2, timeout=60):
    """Until `n` write batches (of 5 items) went through."""
    t0 = time.monotonic()
    while emulator.stats()["by_route"].get("batch:op:validate.POST", 0) < 5 * n:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)


def _written(site) -> int:
    lst = site.list_by_title("Projets")
    owned = [f.internal_name for f in lst.fields.values() if f.title == "Météo calculée"][0]
    return sum(1 for it in lst.items.values() if it.values.get(owned))


def _run_again(cfg, emulator):
    proc = _start(cfg, emulator)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def test_sigterm_ends_the_run_cleanly_and_the_next_one_completes(emulator, tmp_path):
    site = seeded(emulator, 40)
    cfg = _config(emulator, tmp_path)
    emulator.admin("POST", "faults", json={"latency_ms": 60})
    proc = _start(cfg, emulator)
    _wait_for_writes(emulator, proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 143, out
    assert "interrompue" in out and "Traceback" not in out
    runs = State(f"sqlite:///{(tmp_path / 'state.db').as_posix()}").runs(5)
    assert runs[0]["status"] == "interrupted"
    assert 0 < _written(site) < 40
    emulator.admin("DELETE", "faults")
    code, out = _run_again(cfg, emulator)
    assert code == 0, out
    assert _written(site) == 40


def test_sigkill_leaves_a_lock_the_next_run_takes_over(emulator, tmp_path):
    site = seeded(emulator, 40)
    cfg = _config(emulator, tmp_path)
    before = {i: {k: v for k, v in it.values.items()} for i, it in site.list_by_title("Projets").items.items()}
    emulator.admin("POST", "faults", json={"latency_ms": 60})
    proc = _start(cfg, emulator)
    _wait_for_writes(emulator, proc)
    proc.kill()
    proc.communicate(timeout=30)
    emulator.admin("DELETE", "faults")
    code, out = _run_again(cfg, emulator)
    assert code == 0, out
    assert "verrou d'une synchronisation arrêtée brutalement repris" in out
    runs = State(f"sqlite:///{(tmp_path / 'state.db').as_posix()}").runs(5)
    assert [r["status"] for r in runs[:2]] == ["ok", "abandoned"]
    assert _written(site) == 40
    lst = site.list_by_title("Projets")
    staff = {f.internal_name for f in lst.fields.values() if f.title not in OWNED_TITLES}
    for i, it in lst.items.items():  # no staff value touched by the killed run or the next
        assert {k: v for k, v in it.values.items() if k in staff} == {k: v for k, v in before[i].items() if k in staff}
