"""A year of nights on the 40-project sample: scripted staff edits, a calendar of monthly portfolio
COPILs and project COPILs, one run a night — and what a project office would check afterwards.

The edits are deterministic (seeded) and documented here: every few days a person edits one
project that nobody edited since the last portfolio COPIL, with a kind of edit never used on that
project before (so two edits of one window never undo or hide each other): the manager's météo,
the phase, the forecast end, the AP, a milestone reached or moved, a subsidy notified or received,
a risk closed or opened, a decision asked or taken, an amendment signed. Nobody edits on 31
December or 1 January (what changes then is the change of year's alone). A meeting is set « Tenu »
by a person the day after it.

Asserted by `tests/end_to_end/test_year_of_nights.py` (a reduced run) and printed by `make year`
(365 nights):
- the library holds the living files plus the files of frozen editions, nothing else;
- a frozen edition never changes after its night;
- each frozen edition's « Évolutions » lists exactly the edits made since that committee's
  previous edition (portfolio: the table of the synthesis; a project COPIL: its report);
- no file version repeats the previous one's visible text (republished without change);
- the météo of every project is the same in every table of a synthesis;
- the night of 1 January moves no météo.

    python -m tests.support.year [--nights 365] [--json bench/results/year.json]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

START = date(2026, 11, 24)  # the sample's day
PROJECT_COPIL_CODES = ("PPI-2024-001", "PPI-2024-002")
KINDS = {
    # kind: what « Évolutions » says of it (a fragment of the sentence)
    "manual_weather": "Météo du chef de projet",
    "phase": "Phase :",
    "forecast_end": "Fin prévisionnelle",
    "ap": "AP ",
    "reached": "Jalon atteint",
    "moved": "Jalon déplacé",
    "notified": "notifiée",
    "received": "encaissés",
    "risk_closed": "Risque clos",
    "risk_opened": "Risque ouvert",
    "decision_added": "Décision demandée",
    "decision_taken": "Décision prise",
    "amendment": "Avenant",
}


def first_tuesday(year: int, month: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(1 - d.weekday()) % 7)


def portfolio_copils(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while True:
        d = first_tuesday(y, m)
        if d > end:
            return out
        if d >= start:
            out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def every(first: date, days: int, end: date) -> list[date]:
    out, d = [], first
    while d <= end:
        out.append(d)
        d += timedelta(days=days)
    return out


def project_copils(start: date, end: date) -> list[date]:
    """Every four weeks from 10 December (the first one has nothing to compare with)."""
    return every(date(start.year, 12, 10), 26, end)


@dataclass
class Edit:
    on: date
    code: str
    kind: str


@dataclass
class Figures:
    nights: int = 0
    editions: int = 0
    files: int = 0
    republished_without_change: int = 0
    evolutions_missed: int = 0
    evolutions_extra: int = 0
    frozen_changed: int = 0
    weather_disagreements: int = 0
    new_year_weather_moves: int = 0
    stray_files: int = 0
    edits: int = 0
    slowest_night: str = ""
    slowest_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    total_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"nights: {self.nights}, editions: {self.editions}, files: {self.files}, "
            f"republished without change: {self.republished_without_change}, "
            f"evolutions missed: {self.evolutions_missed}"
        )


class Staff:
    """The people who edit the lists, through the emulator's model as SharePoint keeps it (a new
    version, Modified and Editor theirs)."""

    def __init__(self, site, rng: random.Random):
        from sample.collectivite import sp_date

        self.site, self.rng, self.sp_date = site, rng, sp_date
        self.editor = max(site.users)  # a person of the sample, not the system account

    def lst(self, title):
        return self.site.list_by_title(title)

    def col(self, lst, title) -> str:
        if title == "Title":
            return "Title"
        return lst.field_by_title(title).internal_name

    def project(self, code):
        lst = self.lst("Projets")
        c = self.col(lst, "Code opération")
        return lst, next(i for i in lst.items.values() if i.values.get(c) == code)

    def children(self, title, code):
        plst, p = self.project(code)
        lst = self.lst(title)
        link = self.col(lst, "Projet")
        return lst, [i for i in lst.items.values() if i.values.get(link) == p.id], p.id

    def set(self, lst, item, values: dict) -> None:
        lst.update_item(item, {self.col(lst, k): v for k, v in values.items()}, self.editor)

    def add(self, lst, values: dict) -> None:
        lst.add_item({self.col(lst, k): v for k, v in values.items()}, self.editor)

    def apply(self, e: Edit, meeting_id: int | None) -> bool:
        """Make the edit; False when the project has nothing to make it on (no open risk, …)."""
        from connector.parse import parse_amount

        d = e.on
        plst, p = self.project(e.code)
        v = lambda t: p.values.get(self.col(plst, t))  # noqa: E731
        if e.kind == "manual_weather":
            now = v("Météo chef de projet")
            self.set(plst, p, {"Météo chef de projet": next(w for w in ("Orage", "Nuageux", "Soleil") if w != now)})
        elif e.kind == "phase":
            order = ["Opportunité", "Faisabilité", "Programmation", "Études", "Consultation", "Travaux", "Réception"]
            now = v("Phase")
            if now not in order:
                return False
            self.set(
                plst,
                p,
                {"Phase": order[min(order.index(now) + 1, len(order) - 1)] if now != "Réception" else "Travaux"},
            )
        elif e.kind == "forecast_end":
            self.set(
                plst,
                p,
                {"Fin prévisionnelle": (d + timedelta(days=400 + self.rng.randint(0, 200))).strftime("%d/%m/%Y")},
            )
        elif e.kind == "ap":
            ap, _ = parse_amount(v("AP votée"))
            if ap is None:
                return False
            self.set(plst, p, {"AP votée": f"{int(ap * 1.08):,}".replace(",", " ")})
        elif e.kind in ("reached", "moved"):
            lst, items, _ = self.children("Jalons", e.code)
            open_ = [i for i in items if not i.values.get(self.col(lst, "Date réelle"))]
            if len(open_) < 2:  # reached takes the first, moved the last: never the same milestone
                return False
            if e.kind == "reached":
                self.set(lst, open_[0], {"Date réelle": self.sp_date(d)})
            else:
                self.set(lst, open_[-1], {"Date prévisionnelle": self.sp_date(d + timedelta(days=60))})
        elif e.kind in ("notified", "received"):
            lst, items, _ = self.children("Subventions", e.code)
            if not items:
                return False
            s = items[0]
            if e.kind == "notified":
                now = (
                    s.values.get(self.col(lst, "Montant notifié"))
                    or s.values.get(self.col(lst, "Montant sollicité"))
                    or 0
                )
                self.set(lst, s, {"Montant notifié": float(now) + 5000.0})
            else:
                now = s.values.get(self.col(lst, "Montant encaissé")) or 0
                self.set(lst, s, {"Montant encaissé": float(now) + 10000.0})
        elif e.kind == "risk_closed":
            lst, items, _ = self.children("Risques", e.code)
            st = self.col(lst, "Statut")
            open_ = [i for i in items if i.values.get(st) in (None, "", "Ouvert")]
            if not open_:
                return False
            self.set(lst, open_[0], {"Statut": "Clos"})
        elif e.kind == "risk_opened":
            lst, _, pid = self.children("Risques", e.code)
            self.add(
                lst,
                {
                    "Title": f"Risque relevé le {d:%d/%m/%Y}",
                    "Projet": pid,
                    "Probabilité": 2,
                    "Impact": 3,
                    "Statut": "Ouvert",
                },
            )
        elif e.kind == "decision_added":
            lst, _, pid = self.children("Décisions", e.code)
            self.add(
                lst,
                {
                    "Title": f"Décision demandée le {d:%d/%m/%Y}",
                    "Projet": pid,
                    "Échéance": self.sp_date(d + timedelta(days=45)),
                    "Statut": "Attendue",
                },
            )
        elif e.kind == "decision_taken":
            lst, items, _ = self.children("Décisions", e.code)
            st = self.col(lst, "Statut")
            open_ = [
                i for i in items if i.values.get(st) == "Attendue" and i.values.get("Title", "").startswith("Suivi")
            ]
            if not open_ or meeting_id is None:
                return False
            values = {"Statut": "Prise", "Date de la décision": self.sp_date(d), "Relevé de décision": "Validé."}
            self.set(lst, open_[0], {**values, "Comité": meeting_id})
        elif e.kind == "amendment":
            clst, contracts, _ = self.children("Marchés", e.code)
            if not contracts:
                return False
            lst = self.lst("Avenants")
            self.add(
                lst,
                {
                    "Title": f"Avenant du {d:%d/%m/%Y}",
                    "Marché": contracts[0].id,
                    "Numéro d'avenant": 9,
                    "Montant HT": 1500.0,
                },
            )
        else:
            raise ValueError(e.kind)
        return True


def _calendar(site, staff: Staff, start: date, end: date, dense: bool) -> dict[date, list]:
    """The committees' calendar of the replay (the sample's meetings replaced): monthly portfolio
    COPILs and the project COPILs of two projects. Returns day -> meeting items."""
    lst = staff.lst("Comités de pilotage")
    for item in list(lst.items.values()):
        lst.delete_item(item)
    out: dict[date, list] = {}
    for d in every(start, 7, end) if dense else portfolio_copils(start, end):
        staff.add(lst, {"Title": "COPIL PPI", "Date de la réunion": staff.sp_date(d), "Instance": "COPIL PPI",
                        "Périmètre": "Portefeuille", "Statut": "Prévu"})  # fmt: skip
        out.setdefault(d, []).append(max(lst.items))
    for d in every(start + timedelta(days=1), 13, end) if dense else project_copils(start, end):
        for code in PROJECT_COPIL_CODES:
            staff.add(lst, {"Title": f"COPIL {code}", "Date de la réunion": staff.sp_date(d),
                            "Instance": "COPIL de projet", "Périmètre": "Projets", "Projets concernés": code,
                            "Statut": "Prévu"})  # fmt: skip
            out.setdefault(d, []).append(max(lst.items))
    # one decision to follow per project, asked before the year starts (« Suivi … »)
    dlst = staff.lst("Décisions")
    plst = staff.lst("Projets")
    for item in plst.items.values():
        staff.add(dlst, {"Title": "Suivi du plan de financement", "Projet": item.id, "Statut": "Attendue",
                         "Échéance": staff.sp_date(start + timedelta(days=120))})  # fmt: skip
    return out


def _script(
    codes: list[str], start: date, nights: int, rng: random.Random, windows: list[date], gap=(2, 4)
) -> dict[date, Edit]:
    """One edit every two to four days, never on 31 December nor 1 January; per window (between
    two portfolio COPILs) a project is edited once; per project a kind is used once."""
    used: dict[str, set[str]] = {c: set() for c in codes}
    out: dict[date, Edit] = {}
    d = start + timedelta(days=2)
    edited: set[str] = set()
    w = 0
    while d < start + timedelta(days=nights):
        while w < len(windows) and d > windows[w]:
            w, edited = w + 1, set()
        if (d.month, d.day) not in ((12, 31), (1, 1)):
            free = [c for c in codes if c not in edited and len(used[c]) < len(KINDS)]
            if free:
                code = rng.choice(free)
                kind = rng.choice([k for k in KINDS if k not in used[code]])
                used[code].add(kind)
                edited.add(code)
                out[d] = Edit(d, code, kind)
        d += timedelta(days=rng.randint(*gap))
    return out


def docx_text(content: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    for s in doc.sections:
        parts += [p.text for p in s.header.paragraphs]
    text = "\n".join(parts)
    # the edition's own date (« situation au … », « version du … ») is not a change a reader sees
    return re.sub(r"(situation au|version du) \d{1,2}(er)? \w+ \d{4}", r"\1 …", text)


def _tables(content: bytes, first_header: str) -> list[list[list[str]]]:
    from docx import Document

    doc = Document(io.BytesIO(content))
    return [
        [[c.text for c in r.cells] for r in t.rows]
        for t in doc.tables
        if t.rows and t.rows[0].cells and t.rows[0].cells[0].text == first_header
    ]


def _evolution_rows(content: bytes) -> dict[str, str]:
    for t in _tables(content, "Code"):
        if t[0][-1] == "Modifications":
            return {r[0]: r[2] for r in t[1:]}
    return {}


def _project_changes(content: bytes) -> str:
    from docx import Document

    paras = [p.text for p in Document(io.BytesIO(content)).paragraphs]
    start = next((i for i, p in enumerate(paras) if p.startswith("Évolutions depuis")), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(paras)) if paras[i] == "Identité du projet"), len(paras))
    return "\n".join(paras[start + 1 : end])


def replay(
    nights: int = 365,
    *,
    start_on: date = START,
    seed: int = 2026,
    workdir: Path | None = None,
    refresh_days: int | None = None,
    dense: bool = False,
    log=print,
) -> Figures:
    """`dense`: the calendar of a reduced run (a portfolio COPIL every week from the first night,
    the project COPILs every 13 days from the second, drafts 3 days ahead, no PDF) and an edit
    every day, so a fortnight holds several editions and windows."""
    from connector.pipeline import run_sync
    from connector.state import State
    from emulator.server import start
    from tests.support.sync_helpers import config, seeded

    fig = Figures(nights=nights)
    end = start_on + timedelta(days=nights - 1)
    srv = start()
    t_all = time.monotonic()
    try:
        site = seeded(srv)
        work = workdir or Path(tempfile.mkdtemp(prefix="copil-year-"))
        copil = {"living_refresh_days": refresh_days} if refresh_days else {}
        if dense:  # weekly meetings: drafts three days ahead; PDFs are tested elsewhere
            copil.update(draft_days_before=3, pdf=False)
        cfg = config(srv, work, reports={"enabled": True}, copil=copil)
        rng = random.Random(seed)
        staff = Staff(site, rng)
        meetings_on = _calendar(site, staff, start_on, end, dense)
        windows = every(start_on, 7, end) if dense else portfolio_copils(start_on, end)
        codes = sorted(
            i.values.get(staff.col(staff.lst("Projets"), "Code opération")) for i in staff.lst("Projets").items.values()
        )
        script = _script(codes, start_on, nights, rng, windows, gap=(1, 1) if dense else (2, 4))
        done: list[Edit] = []
        frozen: dict[str, tuple[str, str, int]] = {}  # file url -> (meeting key, sha of its content, versions)
        weather_col = staff.col(staff.lst("Projets"), "Météo calculée")
        last_meeting: int | None = None
        weathers_before: dict = {}
        for n in range(nights):
            night = start_on + timedelta(days=n)
            # the day: a meeting held yesterday is set « Tenu »; the scripted edit
            for item_id in meetings_on.get(night - timedelta(days=1), []):
                lst = staff.lst("Comités de pilotage")
                staff.set(lst, lst.items[item_id], {"Statut": "Tenu"})
                last_meeting = item_id
            e = script.get(night)
            if e is not None and staff.apply(e, last_meeting):
                done.append(e)
            if (night.month, night.day) == (1, 1):
                weathers_before = {i: it.values.get(weather_col) for i, it in staff.lst("Projets").items.items()}
            t0 = time.monotonic()
            s = run_sync(cfg, as_of=night)
            took = time.monotonic() - t0
            if took > fig.slowest_seconds:
                fig.slowest_seconds, fig.slowest_night = round(took, 2), night.isoformat()
            if s.exit_code != 0 or s.report_errors:
                fig.problems.append(f"{night}: exit {s.exit_code} {s.report_errors[:2]}")
            if (night.month, night.day) == (1, 1):
                after = {i: it.values.get(weather_col) for i, it in staff.lst("Projets").items.items()}
                fig.new_year_weather_moves = sum(1 for i in after if after[i] != weathers_before.get(i))
            _check_frozen(site, cfg, night, frozen, fig, done, log)
            if n % 30 == 0:
                log(f"  nuit {n + 1}/{nights} ({night:%d/%m/%Y}) : {took:.1f} s, {len(done)} modifications")
        fig.edits = len(done)
        lib = site.list_by_title("Rapports COPIL")
        files = [f for f in site.files.values() if f.list_id == lib.id]
        fig.files = len(files)
        # the reports; the portfolio's workbook (Portefeuille copil.xlsx) beside them is not one
        living = [f for f in files if "/comités/" not in f.url.lower() and f.name.lower().endswith(".docx")]
        fig.stray_files = sum(1 for f in files if "/comités/" in f.url.lower() and f.url not in frozen)
        if len(living) != len(codes) + 1:
            fig.problems.append(f"{len(living)} living files for {len(codes)} projects")
        for f in files:
            if f.url in frozen and (
                hashlib.sha256(f.content).hexdigest() != frozen[f.url][1] or len(f.versions) != frozen[f.url][2]
            ):
                fig.frozen_changed += 1
            texts = [v["content"] for v in f.versions] + [f.content]
            if f.url.endswith(".docx"):
                seen = [docx_text(c) for c in texts]
                fig.republished_without_change += sum(1 for a, b in zip(seen, seen[1:]) if a == b)
        st = State(cfg.state.url)
        fig.editions = sum(1 for v in st.editions().values() if v["kind"] == "frozen")
    finally:
        srv.stop()
    fig.total_seconds = round(time.monotonic() - t_all, 1)
    fig.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return fig


def _check_frozen(site, cfg, night: date, frozen: dict, fig: Figures, done: list[Edit], log) -> None:
    """The editions frozen tonight: remember their files, and compare their « Évolutions » with
    the edits made since that committee's previous edition."""
    from connector.state import State

    st = State(cfg.state.url)
    eds = st.editions()
    tonight = {k: v for k, v in eds.items() if v["kind"] == "frozen" and v["meeting_on"] == night.isoformat()}
    lib = site.list_by_title("Rapports COPIL")
    for key, ed in tonight.items():
        folder = f"/comités/{night.isoformat()} {ed['title']}".lower()
        files = [f for f in site.files.values() if f.list_id == lib.id and folder + "/" in f.url.lower()]
        for f in files:
            frozen.setdefault(f.url, (key, hashlib.sha256(f.content).hexdigest(), len(f.versions)))
        previous = [
            v
            for v in eds.values()
            if v["kind"] == "frozen" and v["title"] == ed["title"] and v["meeting_on"] < ed["meeting_on"]
        ]
        if not previous:
            continue  # a committee's first edition: nothing to compare with
        since = date.fromisoformat(max(v["meeting_on"] for v in previous))
        window = [e for e in done if since < e.on <= night]
        docx = [f for f in files if f.url.endswith(".docx")]
        if ed["title"] == "COPIL PPI":
            syn = next((f for f in docx if "Synthèse" in f.name), None)
            rows = _evolution_rows(syn.content) if syn else {}
            for e in window:
                if KINDS[e.kind] not in rows.get(e.code, ""):
                    fig.evolutions_missed += 1
                    log(f"    manqué : {night} {e.code} {e.kind} → {rows.get(e.code, '')!r}")
            fig.evolutions_extra += sum(1 for c in rows if c not in {e.code for e in window})
            if syn:
                fig.weather_disagreements += _disagreements(syn.content)
        else:
            code = ed["title"].removeprefix("COPIL ")
            rep = next((f for f in docx if code in f.name), None)
            changes = _project_changes(rep.content) if rep else ""
            for e in window:
                if e.code == code and KINDS[e.kind] not in changes:
                    fig.evolutions_missed += 1
                    log(f"    manqué : {night} {e.code} {e.kind} → {changes!r}")


def _disagreements(content: bytes) -> int:
    """A project's météo in the alerts table against the « after » of the movers' table."""
    alerts = {
        r[0]: r[3]
        for t in _tables(content, "Code")
        if t[0][:4] == ["Code", "Projet", "Direction", "Météo"]
        for r in t[1:]
    }
    movers = {r[0]: r[4] for t in _tables(content, "Code") if t[0][:3] == ["Code", "Projet", "Tendance"] for r in t[1:]}
    return sum(1 for c, w in movers.items() if c in alerts and alerts[c] != w)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nights", type=int, default=365)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    fig = replay(args.nights)
    data = {k: v for k, v in fig.__dict__.items()}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    for p in fig.problems[:20]:
        print("problème :", p)
    print(
        f"modifications : {fig.edits} ; nuit la plus lente : {fig.slowest_night} ({fig.slowest_seconds} s) ; "
        f"mémoire max : {fig.peak_rss_mb} Mo ; durée totale : {fig.total_seconds} s ; figées modifiées : "
        f"{fig.frozen_changed} ; évolutions en trop : {fig.evolutions_extra} ; météo discordante : "
        f"{fig.weather_disagreements} ; météo changée le 1er janvier : {fig.new_year_weather_moves} ; "
        f"fichiers hors éditions : {fig.stray_files}"
    )
    print(fig.line())
    ok = not fig.problems and fig.republished_without_change == 0 and fig.evolutions_missed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
