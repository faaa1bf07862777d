"""Issue 29: many collectivités, one service — real PostgreSQL (pgserver), procrastinate, real
worker processes (`copil operator worker`), the emulator serving one site per collectivité.
Expectations come from the emulator (values, requests per site and minute) and from a
single-site run of the same data, not from the operator's own record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.pipeline import run_sync
from emulator.faults import FaultConfig
from sample.collectivite import seed
from tests.support import postgres
from tests.support.sync_helpers import OWNED_TITLES, config

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = 3
SKIP_COLUMNS = {"Dernière synchro copil"}  # the time of the write


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    srv = postgres.start_server(tmp_path_factory, "procrastinate")
    yield srv
    srv.cleanup()


def _reference(emulator, tmp_path) -> dict:
    """copil's columns after a single-site run of the same sample: what every tenant must hold."""
    reference = seed(emulator.backend, "reference", projects=PROJECTS)
    run_sync(config(emulator, tmp_path, sharepoint={"site_url": emulator.site_url("reference")}))
    return owned_values(reference)


def _tenant(folder: Path, name: str, site_url: str, **extra) -> None:
    lines = [
        f'[sharepoint]\nsite_url = "{site_url}"\nauth = "bearer"\ntoken_env = "COPIL_OPERATOR_TEST_TOKEN"\n',
        "[reports]\nenabled = false\n" if "reports" not in extra else extra.pop("reports"),
        f'[schedule]\ncron = "* * * * *"\ntimezone = "{extra.pop("tz", "Europe/Paris")}"\n',
        f"[tenant]\nrequests_per_minute = {extra.pop('rpm', 300)}\n",
    ]
    (folder / f"{name}.toml").write_text("".join(lines), encoding="utf-8")


def _cli(env, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", "operator", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _worker(env, log: Path, *args) -> subprocess.Popen:
    """A worker process whose log goes to a file (a pipe nobody reads fills up and blocks it)."""
    p = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "operator", "worker", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w", encoding="utf-8"),  # noqa: SIM115 - closed with the process
    )
    p.log = log  # type: ignore[attr-defined]
    return p


def _said(p) -> str:
    return p.log.read_text(encoding="utf-8")[-6000:]


def _queue(url: str) -> list:
    from sqlalchemy import text

    from jobs.operator import database

    with database.engine(url).connect() as c:
        jobs = c.execute(text("SELECT lock, status, attempts FROM procrastinate_jobs ORDER BY id")).all()
        runs = c.execute(text("SELECT tenant, status, exit_code, started_at, ended_at FROM copil_operator.runs")).all()
        waits = c.execute(
            text(
                "SELECT state, wait_event_type, wait_event, left(query, 200) FROM pg_stat_activity WHERE state <> 'idle'"
            )
        ).all()
    return [tuple(j) for j in jobs if j[1] != "succeeded"] + [tuple(r) for r in runs if r[1] == "running"] + waits


def owned_values(site) -> dict:
    """Per operation code, copil's columns as the emulator holds them (the write's time aside)."""
    lst = site.list_by_title("Projets")
    by_title = {f.title: f.internal_name for f in lst.fields.values()}
    return {
        it.values[by_title["Code opération"]]: {
            t: it.values.get(by_title[t]) for t in OWNED_TITLES - SKIP_COLUMNS if t in by_title
        }
        for it in lst.items.values()
    }


def _env(emulator, url: str, **more) -> dict:
    return {
        **os.environ,
        "COPIL_OPERATOR_DATABASE": url,
        "COPIL_OPERATOR_TEST_TOKEN": emulator.tokens["write"],
        "COPIL_OPERATOR_RETRY_WAIT": "1",
        "PYTHONPATH": str(ROOT),
        **more,
    }


def test_fifty_collectivites_on_two_workers(emulator, pg, tmp_path):
    from jobs.operator import database

    url = postgres.database(pg, "copil_fifty")
    expected = _reference(emulator, tmp_path)
    folder = tmp_path / "collectivites"
    folder.mkdir()
    bad_templates = tmp_path / "modeles-casses"
    bad_templates.mkdir()
    for name in ("rapport_copil.docx", "synthese_portefeuille.docx"):
        (bad_templates / name).write_bytes(b"ceci n'est pas un document Word")
    sites = {}
    for i in range(50):
        name = f"t{i:02d}"
        sites[name] = seed(emulator.backend, name, projects=PROJECTS)
        extra: dict = {"tz": "Pacific/Noumea" if i % 2 else "Europe/Paris"}
        if name == "t07":  # its site does not answer: SharePoint's 404 for a site that is not there
            _tenant(folder, name, emulator.site_url("absent"), **extra)
            continue
        if name == "t09":
            extra["reports"] = f'[reports]\nenabled = true\ntemplates_dir = "{bad_templates.as_posix()}"\n'
        if name == "t11":
            extra["rpm"] = 10  # its first night needs more: it waits for the next minute
        _tenant(folder, name, emulator.site_url(name), **extra)
    (folder / "casse.toml").write_text("[sharepoint\n", encoding="utf-8")  # told, never stops the others
    emulator.faults.configure(FaultConfig(throttle_paths=[r"/sites/t05/"], retry_after=1))
    env = _env(emulator, url)

    res = _cli(env, "schedule", "--tenants", str(folder), "--once")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("mise en file") == 50 and "casse.toml" in res.stderr
    again = _cli(env, "schedule", "--tenants", str(folder), "--once")  # the same minute: nothing twice
    assert "mise en file" not in again.stdout
    # a second run of t13 asked by hand while the first waits: the tenant's lock keeps them apart
    from jobs.operator.queue import TASK, make_app

    app = make_app(url)
    with app.open():
        app.tasks[TASK].configure(lock="t13").defer(tenant="t13", path=str(folder / "t13.toml"), slot="à la main")

    t0 = time.monotonic()
    workers = [_worker(env, tmp_path / f"travailleur-{n}.log", "--drain") for n in range(2)]
    for w in workers:
        try:
            w.wait(timeout=300)
        except subprocess.TimeoutExpired:
            for x in workers:
                x.send_signal(signal.SIGUSR1)  # faulthandler: every thread's stack on stderr
            time.sleep(1)
            for x in workers:
                x.kill()
            said = "\n---\n".join(f"{x.returncode}: {_said(x)}" for x in workers)
            pytest.fail(f"the workers did not drain the queue: {_queue(url)}\n{said}")
        assert w.returncode == 0, _said(w)
    wall = time.monotonic() - t0

    with database.engine(url).connect() as c:
        rows = [dict(r) for r in c.execute(select(database.runs).order_by(database.runs.c.id)).mappings()]
    by_tenant: dict[str, list] = {}
    for r in rows:
        by_tenant.setdefault(r["tenant"], []).append(r)
    assert set(by_tenant) == set(sites)
    # no tenant ever had two runs at once
    for tenant, rs in by_tenant.items():
        spans = sorted((r["started_at"], r["ended_at"]) for r in rs)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end <= start, tenant
    assert len(by_tenant["t13"]) == 2 and all(r["exit_code"] == 0 for r in by_tenant["t13"])
    # the unreachable site: tried three times, then failed with its code; the others ran
    assert [r["exit_code"] for r in by_tenant["t07"]] == [4, 4, 4]
    assert by_tenant["t09"][-1]["exit_code"] == 5  # its templates refused: lists updated, no reports
    healthy = [t for t in sites if t not in ("t07",)]
    for tenant in healthy:
        assert by_tenant[tenant][-1]["exit_code"] in (0, 5), (tenant, by_tenant[tenant][-1])
        assert owned_values(sites[tenant]) == expected, tenant
    # each tenant's own run was not slowed by the others' throttling, failures or budget
    for tenant in healthy:
        if tenant not in ("t11", "t05"):
            assert by_tenant[tenant][-1]["duration_s"] < 30, (tenant, by_tenant[tenant][-1]["duration_s"])
    assert by_tenant["t11"][-1]["duration_s"] >= 1  # it waited for its budget
    # the budget, counted by the emulator per site and minute of the wall clock
    per_minute: dict[str, int] = {}
    for key, n in emulator.faults.stats()["by_site_minute"].items():
        site, _ = key.rsplit("@", 1)
        per_minute[site] = max(per_minute.get(site, 0), n)
    assert per_minute["t11"] <= 10, per_minute["t11"]
    assert max(per_minute[t] for t in healthy) <= 300
    assert emulator.faults.stats()["throttled"] > 0

    # one view of the service
    res = _cli(env, "status", "--tenants", str(folder), "--json")
    assert res.returncode == 2  # the unreachable site failed three times in a row (and a file does not load)
    import json

    status = {r["tenant"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert status["t07"]["failures_in_a_row"] == 3 and status["t07"]["last_exit_code"] == 4
    assert status["t00"]["last_exit_code"] == 0 and status["t00"]["failures_in_a_row"] == 0
    assert status["t00"]["last_requests"] > 0 and status["t01"]["timezone"] == "Pacific/Noumea"
    nxt = datetime.fromisoformat(status["t01"]["next_run"])
    assert nxt > datetime.now(timezone.utc) and nxt.utcoffset().total_seconds() == 11 * 3600
    print(f"50 tenants on 2 workers: {wall:.0f} s")


def test_a_worker_killed_mid_run_is_taken_over_without_a_second_value(emulator, pg, tmp_path):
    from jobs.operator import database

    url = postgres.database(pg, "copil_kill")
    expected = _reference(emulator, tmp_path)
    folder = tmp_path / "collectivites"
    folder.mkdir()
    site = seed(emulator.backend, "lente", projects=PROJECTS)
    _tenant(folder, "lente", emulator.site_url("lente"))
    seen: list[dict] = []
    writing = threading.Event()

    def slow(method, path):
        """Every request of « lente » is noted with what its items hold. Its write — the $batch after
        the lists were read — waits 4 s before SharePoint applies it: the worker is killed in
        between, so the writes land after their worker died (the worst moment)."""
        if "/sites/lente/" in path:
            seen.append(owned_values(site))
            if method == "POST" and path.endswith("$batch") and len(seen) >= 10 and not writing.is_set():
                writing.set()
                time.sleep(4)

    emulator.faults.hooks.append(slow)
    env = _env(emulator, url)
    assert _cli(env, "schedule", "--tenants", str(folder), "--once").returncode == 0
    first = _worker(env, tmp_path / "premier.log", "--stalled-after", "3")
    assert writing.wait(timeout=120), "the run did not reach its writes"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    second = _worker(env, tmp_path / "second.log", "--drain", "--stalled-after", "3")
    second.wait(timeout=300)
    assert second.returncode == 0, _said(second)
    with database.engine(url).connect() as c:
        rows = [dict(r) for r in c.execute(select(database.runs).order_by(database.runs.c.id)).mappings()]
    assert [r["status"] for r in rows][0] == "abandoned" and rows[-1]["exit_code"] == 0, rows
    assert rows[-1]["worker"] != rows[0]["worker"]  # taken over by the other worker
    assert owned_values(site) == expected
    # every copil column of every item went from empty to its value once, never to another value
    for code in expected:
        for column in expected[code]:
            values = [state[code][column] for state in seen + [owned_values(site)]]
            distinct = [v for i, v in enumerate(values) if v not in (None, "") and v not in values[:i]]
            assert len(distinct) <= 1, (code, column, distinct)


def test_the_operator_commands_say_what_is_wrong_in_french(tmp_path):
    from typer.testing import CliRunner

    import jobs.cli as cli
    from jobs.operator.registry import load

    runner = CliRunner()
    res = runner.invoke(cli.app, ["operator", "status", "--tenants", str(tmp_path / "absent"), "--database", "x"])
    assert res.exit_code == 2 and "dossier des collectivités introuvable" in res.output
    folder = tmp_path / "collectivites"
    folder.mkdir()
    res = runner.invoke(cli.app, ["operator", "status", "--tenants", str(folder), "--database", "sqlite:///etat.db"])
    assert res.exit_code == 2 and "la base de l'opérateur doit être PostgreSQL" in res.output
    res = runner.invoke(cli.app, ["operator", "worker"], env={"COPIL_OPERATOR_DATABASE": ""})
    assert res.exit_code == 2 and "--database" in res.output
    # ids from file names: accents folded; two files with one id told, the first kept
    for name in ("Mairie de Saint-Étienne.toml", "mairie-de-saint-etienne.toml"):
        (folder / name).write_text('[sharepoint]\nsite_url = "https://x.sharepoint.com/sites/a"\nauth = "bearer"\n')
    (folder / "sans-section.toml").write_text('[tenant]\nid = "Pas Bon"\n')
    tenants, problems = load(folder)
    assert [t.id for t in tenants] == ["mairie-de-saint-etienne"]
    assert any("déjà pris" in p for p in problems) and any("sans-section.toml" in p for p in problems)
