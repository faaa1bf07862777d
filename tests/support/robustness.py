"""The robustness suite: injected faults, kill points and hostile input, against the emulator,
checked for lost data. `make robustness` runs it at full size; `tests/end_to_end/test_faults_kills_and_hostile_input.py` runs a
reduced count in `make test`.

"Data lost" counts any change not written at the end of a run that completed, any staff value
or `Modified`/`Editor` changed, any report missing or duplicated, any hostile value that neither
became a finding nor rendered, any run that crashed instead of reporting.

    python -m tests.support.robustness [--faults 2000] [--kills 200] [--seed 7] [--parallel 2]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from connector import schema

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 24)
OWNED = {c.display for c in schema.PROJECTS.columns if c.owned}


# A run, a stop or a template check longer than this is a hang (every wait of copil is bounded
# far below: 1 s read timeouts here, 3 tries for an item answering 500, 10 s for SIGTERM).
HANG_SECONDS = {"run": 180.0, "sigterm": 10.0, "template": 30.0}


@dataclass
class Tally:
    faults: int = 0
    kills: int = 0
    bad_inputs: int = 0
    hangs: int = 0
    lost: int = 0
    odd_exits: int = 0  # a SIGTERM answered otherwise than 143 (nothing lost: checked apart)
    notes: list[str] = field(default_factory=list)

    def loss(self, what: str) -> None:
        self.lost += 1
        self.notes.append(what)

    def hang(self, what: str) -> None:
        self.hangs += 1
        self.notes.append(f"hang: {what}")

    def add(self, other: "Tally") -> None:
        self.faults += other.faults
        self.kills += other.kills
        self.bad_inputs += other.bad_inputs
        self.hangs += other.hangs
        self.lost += other.lost
        self.odd_exits += other.odd_exits
        self.notes += other.notes

    def line(self) -> str:
        return (
            f"faults injected: {self.faults}, kill points: {self.kills}, bad inputs: {self.bad_inputs}, "
            f"hangs: {self.hangs}, data lost: {self.lost}"
            + (f" (SIGTERM answered otherwise than 143: {self.odd_exits})" if self.odd_exits else "")
        )


def _timed_sync(cfg, tally: Tally, what: str, **kw):
    """run_sync, watched: a run that does not end within HANG_SECONDS is counted as a hang."""
    from connector.pipeline import run_sync

    t0 = time.monotonic()
    try:
        return run_sync(cfg, **kw)
    finally:
        took = time.monotonic() - t0
        if took > HANG_SECONDS["run"]:
            tally.hang(f"{what}: a run took {took:.0f} s")


# -- helpers ------------------------------------------------------------------------
def _config_dict(srv, site: str, state: Path, token_env: str, **over) -> dict:
    data = {
        "collectivite": {"name": "Commune de test"},
        "sharepoint": {
            "site_url": srv.site_url(site),
            "auth": "bearer",
            "token_env": token_env,
            "batch_size": 5,
            "max_retries": 10,
            "retry_backoff_seconds": 0.05,
            "timeout_seconds": 2,
        },
        "run": {"silent_after": 3},
        "state": {"url": f"sqlite:///{state.as_posix()}"},
        "reports": {"enabled": True},
    }
    for k, v in over.items():
        data[k] = {**data.get(k, {}), **v}
    return data


def _toml(data: dict) -> str:
    import json

    out = []
    for section, values in data.items():
        out.append(f"[{section}]")
        out += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    return "\n".join(out) + "\n"


def _staff(site) -> dict:
    """Everything a person typed, plus Modified/Editor and the version history, per item."""
    lst = site.list_by_title("Projets")
    owned = {f.internal_name for f in lst.fields.values() if f.title in OWNED}
    return {
        i: ({k: v for k, v in it.values.items() if k not in owned}, it.modified, it.editor_id, len(it.versions))
        for i, it in lst.items.items()
    }


def _owned(site) -> dict:
    lst = site.list_by_title("Projets")
    names = {
        f.internal_name: f.title
        for f in lst.fields.values()
        if f.title
        in OWNED - {"Dernière synchro copil", "Dernier rapport COPIL", "Fiche projet"}  # links: the host differs
    }
    code = lst.field_by_title("Code opération").internal_name
    return {it.values.get(code): {t: it.values.get(n) for n, t in names.items()} for it in lst.items.values()}


def _reports(site, day: str) -> dict[str, int]:
    """Living files per folder (the synthesis included): exactly one each, whatever the night
    (`day` is kept for the callers: a living file carries no date in its name)."""
    lib = site.list_by_title("Rapports COPIL")
    out: dict[str, int] = {}
    for f in site.files.values():
        if f.list_id == lib.id and f.name.endswith(".docx") and "/comités/" not in f.url.lower():
            folder = f.url.rsplit("/", 2)[-2]
            out[folder] = out.get(folder, 0) + 1
    return out


def _mutate(rng: random.Random, sites, n: int) -> None:
    """The same edits a project manager would make, on the site under test and the reference."""
    from sample.collectivite import fr

    first = sites[0].list_by_title("Projets")
    ids = sorted(first.items)
    fields = {f.title: f.internal_name for f in first.fields.values()}
    edits = []
    for _ in range(n):
        item = rng.choice(ids)
        kind = rng.choice(["forecast_end", "progress", "ap_voted"])
        if kind == "forecast_end":
            value = fr(date(2027, rng.randint(1, 12), rng.randint(1, 28)))
            edits.append((item, fields["Fin prévisionnelle"], value))
        elif kind == "progress":
            edits.append((item, fields["Avancement physique"], f"{rng.randint(0, 20) * 5} %"))
        else:
            edits.append((item, fields["AP votée"], f"{rng.randint(20, 800) * 10_000} €"))
    for site in sites:
        lst = site.list_by_title("Projets")
        for item, name, value in edits:  # a person's edit, in the change log as SharePoint keeps it
            lst.update_item(lst.items[item], {name: value}, lst.items[item].editor_id)


def _person_edit(rng: random.Random, site, ref):
    """A date typed by a person: on the reference now, on the site under test at its first
    write $batch (so after copil read it). Returns the callable that applies it once."""
    lst = site.list_by_title("Projets")
    item = rng.choice(sorted(lst.items))
    name = lst.field_by_title("Fin prévisionnelle").internal_name
    value = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2028"
    person = site.ensure_user("i:0#.f|membership|personne@exemple.fr")
    rlst = ref.list_by_title("Projets")
    rlst.update_item(rlst.items[item], {name: value}, ref.ensure_user("i:0#.f|membership|personne@exemple.fr").id)
    done = []

    def apply() -> bool:
        if done:
            return False
        done.append(True)
        lst.update_item(lst.items[item], {name: value}, person.id)
        return True

    return apply


# -- faults -------------------------------------------------------------------------
def run_faults(target: int, seed: int, tally: Tally, work: Path, projects: int = 40, waits: bool = True) -> None:
    """`waits`: some storms ask for 1 s waits (Retry-After, RateLimit-Reset), as SharePoint does;
    without it they ask for none (quick runs)."""
    from connector.config import from_dict
    from connector.errors import RunStopped
    from connector.pipeline import run_sync
    from emulator.server import start
    from sample.collectivite import seed as seed_site

    rng = random.Random(seed)
    srv = start()
    try:
        site = seed_site(srv.backend, "projets", projects)
        ref = seed_site(srv.backend, "reference", projects)
        os.environ["COPIL_ROBUST_TOKEN"] = srv.tokens["write"]
        cfg = from_dict(_config_dict(srv, "projets", work / "faults.db", "COPIL_ROBUST_TOKEN"))
        ref_cfg = from_dict(_config_dict(srv, "reference", work / "faults-ref.db", "COPIL_ROBUST_TOKEN"))
        rounds = 0
        while tally.faults < target and rounds < 400:
            rounds += 1
            _mutate(rng, [site, ref], rng.randint(1, 4))
            edit = _person_edit(rng, site, ref) if rng.random() < 0.5 else None
            run_sync(ref_cfg, as_of=AS_OF)
            expected = {"staff": _staff(site)}
            if rng.random() < 0.08:  # the server goes away mid-run and comes back
                count = {"n": 0, "at": rng.randint(3, 15)}

                def restart(method, path, count=count):
                    count["n"] += 1
                    if count["n"] == count["at"] and path.startswith("/sites/projets/"):
                        srv.restart(0.3)
                        tally.faults += 1

                srv.faults.hooks.append(restart)
            if rng.random() < 0.15:  # a front end that hangs on one request (no answer before the timeout)
                silent = {"n": 0, "at": rng.randint(2, 25)}

                def hang(method, path, silent=silent):
                    silent["n"] += 1
                    if silent["n"] == silent["at"] and path.startswith("/sites/projets/"):
                        tally.faults += 1
                        time.sleep(2.3)  # beyond the 2 s read timeout: copil retries on a new request

                srv.faults.hooks.append(hang)
            if edit:  # a person edits an item while copil is writing: a 412 to resolve

                def hook(method, path, edit=edit, expected=expected, seen={"read": False}):
                    # the first $batch after the reads is a write (the one before holds the metadata)
                    seen["read"] = seen["read"] or "/items" in path
                    if path.startswith("/sites/projets/") and path.endswith("$batch") and seen["read"] and edit():
                        expected["staff"] = _staff(site)
                        tally.faults += 1

                srv.faults.hooks.append(hook)
            srv.admin("POST", "stats/reset")
            srv.admin(
                "POST",
                "faults",
                json={
                    "throttle": {
                        "every_n": rng.randint(2, 6),
                        "status": rng.choice([429, 503]),
                        "retry_after": rng.choice([0] * 7 + [int(waits)]),
                        "ratelimit_reset": rng.choice([0] * 7 + [int(waits)]),
                    },
                    "drop_every_n": rng.choice([0, 5, 7, 11]),
                    "error_rate": rng.choice([0.1, 0.15, 0.2]),
                    "seed": rng.randint(1, 10**6),
                },
            )
            try:
                summary = _timed_sync(cfg, tally, f"round {rounds}", as_of=AS_OF)
                completed = summary.exit_code == 0
            except (Exception, RunStopped) as e:  # a storm longer than the retries: exit 4, the next run catches up
                completed = False
                tally.notes.append(f"round {rounds}: {type(e).__name__} (run ended, next one catches up)")
            tally.faults += srv.admin("GET", "stats").json()["injected"]
            srv.admin("DELETE", "faults")
            srv.faults.hooks.clear()
            if edit:
                # the person's edit came after copil read the list: unless copil wrote that item
                # (412, re-read), it is taken into account by the next run, as the next night
                if edit():
                    expected["staff"] = _staff(site)
                completed = False
            expected_staff = expected["staff"]
            if not completed:
                summary = run_sync(cfg, as_of=AS_OF)
                if summary.exit_code != 0:
                    tally.loss(f"round {rounds}: the run after the storm still failed ({summary.exit_code})")
            if _owned(site) != _owned(ref):
                bad = [c for c, v in _owned(site).items() if v != _owned(ref).get(c)]
                tally.loss(f"round {rounds}: indicators differ from the fault-free run for {bad[:5]}")
            now_staff = _staff(site)
            if now_staff != expected_staff:
                changed = [
                    (i, expected_staff.get(i, (None,) * 4)[1:], v[1:])
                    for i, v in now_staff.items()
                    if v != expected_staff.get(i)
                ]
                tally.loss(f"round {rounds}: a staff value, Modified or Editor changed: {changed[:3]}")
            counts = _reports(site, AS_OF.isoformat())
            if len(counts) != projects + 1 or any(n != 1 for n in counts.values()):
                tally.loss(f"round {rounds}: reports missing or duplicated ({len(counts)} folders)")
    finally:
        srv.stop()


# -- kill points --------------------------------------------------------------------
def run_kills(count: int, seed: int, tally: Tally, work: Path) -> None:
    from connector.config import from_dict
    from connector.pipeline import run_sync, today
    from connector.state import State
    from emulator.server import start
    from sample.collectivite import seed as seed_site

    rng = random.Random(seed)
    srv = start()
    try:
        site = seed_site(srv.backend, "projets", 12)
        ref = seed_site(srv.backend, "reference", 12)
        env = {**os.environ, "COPIL_KILL_TOKEN": srv.tokens["write"]}
        os.environ["COPIL_KILL_TOKEN"] = srv.tokens["write"]
        cfg_path = work / "kill.toml"
        cfg_path.write_text(_toml(_config_dict(srv, "projets", work / "kill.db", "COPIL_KILL_TOKEN")), encoding="utf-8")
        ref_cfg = from_dict(_config_dict(srv, "reference", work / "kill-ref.db", "COPIL_KILL_TOKEN"))
        staff_before = _staff(site)
        srv.admin("POST", "faults", json={"latency_ms": 8})
        uploading, started = threading.Event(), threading.Event()

        def uploads(method, path):
            if path.startswith("/sites/projets/"):
                started.set()
            if "/files/add" in path.lower():
                uploading.set()

        srv.faults.hooks.append(uploads)
        attempts = 0
        while tally.kills < count and attempts < count * 3:
            attempts += 1
            _mutate(rng, [site, ref], rng.randint(0, 2))
            staff_before = _staff(site)
            uploading.clear()
            started.clear()
            proc = subprocess.Popen(
                [sys.executable, "-m", "jobs.cli", "sync", "--config", str(cfg_path)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            term = rng.random() < 0.5
            if term and rng.random() < 0.6:
                # SIGTERM while the reports render and upload (systemctl stop in the middle of them)
                uploading.wait(30)
                time.sleep(rng.uniform(0, 0.6))
            elif term:
                # SIGTERM at a random point of the run itself (before its first request, Python is
                # still importing: the signal's default action ends it, nothing begun)
                started.wait(30)
                time.sleep(rng.uniform(0, 2.0))
            else:
                time.sleep(rng.uniform(0.3, 3.0))  # imports, reads, write-back, uploads, state commit
            if proc.poll() is None:
                if term:
                    proc.send_signal(signal.SIGTERM)
                    t0 = time.monotonic()
                    try:
                        code = proc.wait(timeout=HANG_SECONDS["sigterm"])
                    except subprocess.TimeoutExpired:
                        tally.hang("a run went on more than 10 s after SIGTERM")
                        proc.kill()
                        code = proc.wait(timeout=60)
                    if code not in (143, 0, 5) and time.monotonic() - t0 < HANG_SECONDS["sigterm"]:
                        # said, and counted apart: whether anything was lost is what the checks
                        # after the kills (staff values, indicators, reports, state) decide
                        tally.odd_exits += 1
                        tally.notes.append(f"SIGTERM: the run exited {code}, not 143")
                else:
                    proc.send_signal(signal.SIGKILL)
                tally.kills += 1
            proc.wait(timeout=60)
            if _staff(site) != staff_before:
                tally.loss("a stopped run changed a staff value, Modified or Editor")
        srv.faults.hooks.remove(uploads)
        srv.admin("DELETE", "faults")
        final = subprocess.run(
            [sys.executable, "-m", "jobs.cli", "sync", "--config", str(cfg_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if final.returncode != 0:
            tally.loss(
                f"the run after the kills did not start or finish by itself ({final.returncode}): "
                f"{final.stdout[-300:]}{final.stderr[-300:]}"
            )
        tz = "Europe/Paris"
        run_sync(ref_cfg, as_of=today(tz))
        if _owned(site) != _owned(ref):
            tally.loss("after the kills, indicators differ from an uninterrupted run")
        day = today(tz).isoformat()
        counts = _reports(site, day)
        if len(counts) != 13 or any(n != 1 for n in counts.values()):
            tally.loss(f"after the kills: reports missing or duplicated ({counts})")
        state, ref_state = State(f"sqlite:///{(work / 'kill.db').as_posix()}"), State(ref_cfg.state.url)
        if [r["status"] for r in state.runs(1000) if r["status"] in ("running",)]:
            tally.loss("a run is still marked running after the kills")
        if state.previous_snapshots() != ref_state.previous_snapshots():
            tally.loss("the state database's last snapshot differs from an uninterrupted run's")
    finally:
        srv.stop()


# -- hostile input ------------------------------------------------------------------
CONTROL = "".join(chr(c) for c in range(1, 32) if c not in (9, 10, 13))
AMOUNTS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e308",
    "-500000",
    "-1",
    "12,34,56",
    "env.",
    "€",
    "3 M€ HT TTC",
    "douze mille",
    "0x1F",
    "1/2",
    "--5",
    "5-",
    "12 000 000 000 000",
    "☃",
    "NULL",
    "None",
    "#VALEUR!",
    "#N/A",
    "=SOMME(A1:A3)",
    "12.345.678,9,1",
    "300 MF",
    "1 200 XPF",
    "∞",
    "١٢٣",
    "1 000 000 $",
    "environ un million",
    "12 000,50 € TTC",
    "0,5 Md€",
    "1,2,3",
]
DATES = [
    "31/02/2025",
    "01/01/1900",
    "2200-01-01",
    "32/13/2026",
    "hier",
    "2026-13-45",
    "00/00/0000",
    "12/2026",
    "Q3 2026",
    "∞",
    "1er avril",
    "le 3 mars",
    "31 juin 2026",
    "29/02/2025",
    "NaN",
    "9999-12-31",
    "1/1/1",
    "2026-02-30T00:00:00Z",
    "demain matin",
    "<b>12/12/2026</b>",
]
PERCENTS = [
    "120 %",
    "-5 %",
    "moitié",
    "NaN",
    "Infinity",
    "50 %%",
    "5O %",
    "1e308",
    "½",
    "-0,5",
    "101",
    "200%",
    "deux tiers",
    "≈ 40 %",
    "40 % environ",
    "%",
]
CHOICES = ["Tempête", "soleil radieux", "Orage;#Soleil", "☀", "n/a", "<script>alert(1)</script>", "Clôturé"]
TEXTS = [
    "x" * 10_000,
    CONTROL + "texte",
    "مشروع الطريق",
    "🚲" * 100,
    "<div><b>gras</b><br>ligne</div>",
    "{{ project.title }}{% for x in y %}",
    "<w:p>XML</w:p>",
    "A" * 300 + " mot",
    "\u202eRTL override",
    "'; DROP TABLE copil_runs; --",
    "../../etc/passwd",
    "CON",
    "Ligne1\r\nLigne2",
    "\u0000nul",
    "{{ ''.__class__.__mro__ }}",
    "%s%s%n",
    "\ufeffBOM",
]
CHILD_AMOUNTS = ["-1e308", "NaN", "abc", "1 2 3", "12€€", "-20 000"]


def _corpus() -> list[tuple[str, str, object, bool]]:
    """(list, logical column, value, must become a finding)."""
    out = []
    out += [("projects", "ap_voted", v, True) for v in AMOUNTS if v not in ("12 000,50 € TTC", "0,5 Md€")]
    out += [("projects", "ap_voted", v, False) for v in ("12 000,50 € TTC", "0,5 Md€")]
    out += [("projects", "forecast_end", v, True) for v in DATES]
    out += [("subsidies", "notified_on", v, True) for v in DATES[:12]]
    out += [("projects", "progress", v, True) for v in PERCENTS]
    out += [("projects", "manual_weather", v, True) for v in CHOICES]
    out += [("risks", "status", v, True) for v in CHOICES[:4]]
    out += [("contracts", "kind", v, True) for v in CHOICES[:3]]
    out += [("projects", "title", v[:255], False) for v in TEXTS]
    out += [("projects", "comment", v, False) for v in TEXTS]
    out += [("projects", "decisions", v, False) for v in TEXTS[:6]]
    out += [("budget", "paid", v, True) for v in CHILD_AMOUNTS[:5]]
    out += [("amendments", "amount", v, v not in ("-20 000",)) for v in CHILD_AMOUNTS]
    out += [("milestones", "project", v, True) for v in (9999, 0, -1)]
    out += [("risks", "probability", v, True) for v in (0.0, 5.0, -1.0, 1e308)]
    out += [("budget", "year", v, True) for v in (1850.0, 2500.0, -2026.0)]
    out += [("projects", "start", "1900-01-01T00:00:00Z", True), ("projects", "start", "2200-06-30T22:00:00Z", True)]
    out += [("projects", "code", v, True) for v in ("", "   ")]
    return out


# Templates a person with edit rights on the template library could drop there: code, loading
# other templates, reading Python's internals, and computations that would hang the night.
TEMPLATE_BOMBS = [
    "{{ 9**99999999 }}",
    "{{ 10 ** 10 ** 10 }}",
    "{% set x = 2 %}{{ x ** 100000 }}",
    "{{ 'x' * 999999999 }}",
    "{{ [1] * 999999999 }}",
    "{% set n = 999999999 %}{{ 'ab' * n }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%s' % project.code }}",
    "{% set many = milestones * 50 %}{% for a in many %}{% for b in many %}{% for c in many %}"
    "{% for d in many %}{% for e in many %}{% for f in many %}x{% endfor %}{% endfor %}{% endfor %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% include 'x' %}",
    "{% include project.code %}",
    "{% extends 'base.docx' %}",
    "{% import 'macros' as m %}",
    "{% from 'macros' import m %}",
    "{% macro m() %}{{ m() }}{% endmacro %}",
    "{% call lipsum() %}x{% endcall %}",
    "{{ lipsum(999999) }}",
    "{{ range(999999999)|list }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
    "{{ project.code|attr('__class__') }}",
    "{{ project.code|attr('upper') }}",
    "{{ project|attr('__dict__') }}",
    "{{ milestones|map('attr', '__class__')|list }}",
    "{{ milestones|map(attribute='__class__')|list }}",
    "{{ milestones|selectattr('__class__')|list }}",
    "{{ milestones|select('callable')|list }}",
    "{{ milestones|sort(attribute='__class__')|list }}",
    "{{ milestones|groupby('__class__')|list }}",
    "{{ project.code|format(1) }}",
    "{{ project.code|center(999999999) }}",
    "{{ project.code|indent(999999999) }}",
    "{{ project.code|wordwrap(1) }}",
    "{{ project.code|safe }}",
    "{{ project.code|tojson }}",
    "{{ milestones|batch(999999999, 'x')|list }}",
    "{{ milestones|slice(999999999)|list }}",
    "{{ project.code.__class__.__mro__ }}",
    "{{ project['__class__'] }}",
    "{{ project.title.upper() }}",
    "{{ self }}",
    "{{ config }}",
    "{{ request }}",
    "{% if project.code is callable %}x{% endif %}",
    "{{ undefined_variable_from_nowhere }}",
]


def run_template_bombs(tally: Tally, work: Path, bombs: list[str] | None = None) -> None:
    """Each hostile template refused by name and in bounded time (check and run alike); one of
    them planted in the template library stops the reports only."""
    from docx import Document

    from connector.errors import ConfigError
    from connector.reports.render import validate_template

    base = ROOT / "docx_templates" / "rapport_copil.docx"
    for i, text in enumerate(TEMPLATE_BOMBS if bombs is None else bombs):
        doc = Document(str(base))
        doc.add_paragraph(text)
        path = work / f"bombe-{i}" / "rapport_copil.docx"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc.save(str(path))
        t0 = time.monotonic()
        try:
            validate_template(path, "project")
            tally.loss(f"template accepted: {text[:60]!r}")
        except ConfigError:
            pass
        except Exception as e:  # refused, but not as a template error a person can read
            tally.loss(f"template {text[:40]!r}: {type(e).__name__} instead of a refusal")
        took = time.monotonic() - t0
        if took > HANG_SECONDS["template"]:
            tally.hang(f"template {text[:40]!r} took {took:.0f} s to refuse")
        tally.bad_inputs += 1
    _bomb_in_the_library(tally, work)


def _bomb_in_the_library(tally: Tally, work: Path) -> None:
    from docx import Document

    from connector.config import from_dict
    from emulator.server import start
    from sample.collectivite import seed as seed_site

    srv = start()
    try:
        site = seed_site(srv.backend, "projets", 6)
        site.create_list("Modèles COPIL", 101)
        doc = Document(str(ROOT / "docx_templates" / "rapport_copil.docx"))
        doc.add_paragraph("{{ 9**99999999 }}")
        path = work / "bombe-bibliotheque.docx"
        doc.save(str(path))
        site.add_file("Modèles COPIL", "", "rapport_copil.docx", path.read_bytes())
        os.environ["COPIL_BOMB_TOKEN"] = srv.tokens["write"]
        cfg = from_dict(
            _config_dict(
                srv, "projets", work / "bomb.db", "COPIL_BOMB_TOKEN", reports={"template_library": "Modèles COPIL"}
            )
        )
        summary = _timed_sync(cfg, tally, "bomb in the template library", as_of=AS_OF)
        tally.bad_inputs += 1
        if summary.exit_code != 5 or summary.written != 6:
            tally.loss(f"a bomb in the template library: exit {summary.exit_code}, {summary.written} written")
        if _reports(site, AS_OF.isoformat()):
            tally.loss("a report was published with a refused template")
    finally:
        srv.stop()


def run_bad_inputs(limit: int | None, tally: Tally, work: Path) -> None:
    from connector import schema
    from connector.config import from_dict
    from connector.errors import CopilError
    from connector.pipeline import run_sync
    from emulator.server import start
    from sample.collectivite import REFERENCE_PROJECTS
    from sample.collectivite import seed as seed_site

    corpus = _corpus()[:limit] if limit else _corpus()
    srv = start()
    try:
        n_projects = len(corpus) + 10
        site = seed_site(srv.backend, "projets", n_projects)
        os.environ["COPIL_BAD_TOKEN"] = srv.tokens["write"]
        placed, used = [], set()
        for i, (key, logical, value, must_find) in enumerate(corpus):
            item = _place(site, key, logical, value, project_index=10 + i, used=used)
            if item is None:
                tally.loss(f"could not place {key}.{logical} = {value!r}")
                continue
            placed.append((key, logical, value, must_find, item))
        cfg = from_dict(
            _config_dict(srv, "projets", work / "bad.db", "COPIL_BAD_TOKEN", finance_export={"enabled": True})
        )
        try:
            summary = run_sync(cfg, as_of=AS_OF)
        except CopilError as e:
            tally.loss(f"the run stopped on hostile input: {e}")
            return
        by_place = {(f.list_title, f.item_id, f.column) for f in summary.findings}
        for key, logical, value, must_find, item in placed:
            tally.bad_inputs += 1
            column = schema.BY_KEY[key].column(logical).display
            title = schema.BY_KEY[key].title
            if must_find and (title, item, column) not in by_place:
                tally.loss(f"no finding for {title} #{item} {column} = {str(value)[:40]!r}")
        if summary.report_errors:
            tally.loss(f"reports failed: {summary.report_errors[:3]}")
        if summary.failed:
            tally.loss(f"{summary.failed} write(s) dead-lettered on hostile input")
        for idx, (code, ref) in enumerate(REFERENCE_PROJECTS.items()):
            got = _owned(site)[code]
            if got["Météo calculée"] != ref["expected"]["weather"]:
                tally.loss(f"{code}: another project's bad value changed its météo")
        written = [c for c, v in _owned(site).items() if c and not v["Météo calculée"]]
        if written:
            tally.loss(f"projects left without indicators: {written[:5]}")
        tally.bad_inputs += _broken_structures(srv, site, work, tally)
    finally:
        srv.stop()


def _place(site, key: str, logical: str, value, project_index: int, used: set) -> int | None:
    """Put `value` in the item of project `project_index`, or in a child item of a project of
    the sample's random part not used yet, as SharePoint would hand it over; returns its id."""
    from connector import schema

    spec = schema.BY_KEY[key]
    lst = site.list_by_title(spec.title)
    internal = lst.field_by_title(spec.column(logical).display).internal_name
    if key == "projects":
        item = lst.items.get(project_index + 1)
    else:
        # children of projects 4..9 (after the reference projects, before the hostile ones)
        link = "Marché" if key == "amendments" else "Projet"
        owners = set(range(5, 120))  # projects whose own code and title are sound
        if key == "amendments":
            contracts = site.list_by_title("Marchés")
            proj = contracts.field_by_title("Projet").internal_name
            owners = {i for i, it in contracts.items.items() if it.values.get(proj) in owners}
        ref = lst.field_by_title(link).internal_name
        item = next(
            (it for it in lst.items.values() if it.values.get(ref) in owners and (key, it.id) not in used), None
        )
    if item is None:
        return None
    used.add((key, item.id))
    item.values[internal] = value
    return item.id


def _broken_structures(srv, site, work: Path, tally: Tally) -> int:
    """A finance export that is corrupt, empty, or lacks columns; a renamed column; a deleted
    list: each a finding or a clear configuration error, never a crash."""
    from connector.config import from_dict
    from connector.pipeline import run_sync

    cases = 0
    for name, content in (
        ("Export_corrompu.xlsx", b"PK\x03\x04 pas un classeur"),
        ("Export_vide.xlsx", b""),
        ("Export_colonnes.csv", "Code opération;Exercice\r\nPPI-2024-001;2026\r\n".encode("cp1252")),
    ):
        site.add_file("Exports finances", "", name, content)
        pattern = "*" + name[-5:] if name.endswith(".xlsx") else "*.csv"
        lib = site.list_by_title("Exports finances")
        for f in site.files.values():  # the case under test is the most recent export
            if f.list_id == lib.id and f.name != name:
                f.modified = f.modified.replace(year=2020)
        cfg = from_dict(
            _config_dict(
                srv,
                "projets",
                work / "bad.db",
                "COPIL_BAD_TOKEN",
                finance_export={"file_pattern": pattern},
                reports={"enabled": False},
            )
        )
        summary = run_sync(cfg, as_of=AS_OF)
        cases += 1
        if not any(f.list_title in ("Exports finances", name) or name in f.list_title for f in summary.findings):
            tally.loss(f"finance export {name}: no finding")
    lst = site.list_by_title("Risques")
    status = lst.field_by_title("Statut")
    status.title = "État du risque"  # renamed: the same column, found by its internal name
    cases += 1
    summary = run_sync(
        from_dict(
            _config_dict(
                srv,
                "projets",
                work / "bad.db",
                "COPIL_BAD_TOKEN",
                lists={"risks": {"title": "Risques"}},
                reports={"enabled": False},
            )
        ),
        as_of=AS_OF,
    )
    if summary.exit_code not in (0, 5) or summary.failed:
        tally.loss("renamed column: the run did not complete")
    del lst.fields[status.internal_name]  # deleted: a configuration error naming it
    cases += 1
    _expect_schema_error(srv, work, tally, {"risks": {"title": "Risques"}}, "Statut", "deleted column")
    site.delete_list(site.list_by_title("Avenants"))
    cases += 1
    _expect_schema_error(
        srv,
        work,
        tally,
        {"amendments": {"title": "Avenants"}},
        "Avenants",
        "deleted list declared in the configuration",
    )
    return cases


def _expect_schema_error(srv, work, tally, lists: dict, name: str, what: str) -> None:
    """A run that must stop on a configuration error naming `name`."""
    from connector.config import from_dict
    from connector.errors import SchemaError
    from connector.pipeline import run_sync

    try:
        run_sync(from_dict(_config_dict(srv, "projets", work / "bad.db", "COPIL_BAD_TOKEN", lists=lists)), as_of=AS_OF)
        tally.loss(f"{what}: the run went on")
    except SchemaError as e:
        if name not in str(e):
            tally.loss(f"{what}: the error does not name it ({e})")


def _part(kind: str, amount: int, seed: int, work: str) -> Tally:
    """One share of the faults or the kill points, in its own process with its own emulator:
    two storms run side by side (most of a storm is spent waiting for the server)."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    tally = Tally()
    Path(work).mkdir(parents=True, exist_ok=True)
    if kind == "faults":
        run_faults(amount, seed, tally, Path(work))
    else:
        run_kills(amount, seed, tally, Path(work))
    return tally


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faults", type=int, default=2000)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--bad-inputs", type=int, default=0, help="0: the whole corpus")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--parallel", type=int, default=2, help="storms run side by side (processes)")
    args = ap.parse_args(argv)
    import logging
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    logging.basicConfig(level=logging.ERROR)
    tally = Tally()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="copil-robustness-") as tmp:
        work = Path(tmp)
        run_bad_inputs(args.bad_inputs or None, tally, work)
        run_template_bombs(tally, work)
        print(
            f"hostile input: {tally.bad_inputs} values, structures and templates ({time.monotonic() - t0:.0f} s)",
            flush=True,
        )
        n = max(1, args.parallel)
        with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn")) as pool:
            for kind, total in (("faults", args.faults), ("kills", args.kills)):
                shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
                futures = [
                    pool.submit(_part, kind, share, args.seed + 101 * i, str(work / f"{kind}-{i}"))
                    for i, share in enumerate(shares)
                ]
                for f in futures:
                    tally.add(f.result())
                done = tally.faults if kind == "faults" else tally.kills
                print(f"{kind}: {done} ({time.monotonic() - t0:.0f} s)", flush=True)
    for note in tally.notes:
        print("  -", note)
    print(f"{tally.line()} ({time.monotonic() - t0:.0f} s)")
    return 1 if (tally.lost or tally.hangs) else 0


if __name__ == "__main__":
    sys.exit(main())
