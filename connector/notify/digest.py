"""What each project manager is told this week, built from the portfolio and from what their last
digest said. Pure: no SharePoint, no state, no sending.

A digest lists, for each of the manager's projects that has something to say:
- its new alerts (not in the last digest) and a météo that moved since then;
- the data to fix (the findings on its items), each with the link to the item's form;
- the milestones and decisions due before the next meeting of a committee that covers it
  (within `horizon_days` when no meeting is ahead);
- and, for the whole digest, the dossier drafts to review before those meetings.
It has nothing to say when all of these are empty; and it says nothing new when the situation
(`fingerprint`) is the one the last digest described: then it is not sent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from connector.formatting import fr_date
from connector.model import is_missing
from connector.model.records import Meeting
from connector.portfolio import Portfolio
from connector.reports.editions import scope_codes


@dataclass
class Line:
    text: str  # French, one sentence
    link: str = ""  # absolute URL, when there is somewhere to go
    key: str = ""  # what the line is about, without what the calendar alone moves (the fingerprint's)
    label: str = "ouvrir l'élément"  # the link's own words (a link reads alone in a screen reader's list)


@dataclass
class ProjectNews:
    code: str
    title: str
    weather: str
    form: str  # the project item's form
    living: str = ""  # its living file (« Fiche projet »), when published
    meeting: str = ""  # « COPIL PPI du 12/01/2027 », the next meeting covering it ("" when none)
    weather_moved: str = ""  # « Nuageux → Orage » since the last digest
    new_alerts: list[str] = field(default_factory=list)
    fixes: list[Line] = field(default_factory=list)
    due: list[Line] = field(default_factory=list)

    @property
    def says_something(self) -> bool:
        return bool(self.weather_moved or self.new_alerts or self.fixes or self.due)


@dataclass
class Digest:
    email: str
    name: str
    week: str  # ISO week of the collectivité, « 2026-W50 »
    as_of: date
    projects: list[ProjectNews] = field(default_factory=list)  # those with something to say
    drafts: list[Line] = field(default_factory=list)  # dossier drafts to review
    # what the digest was made from, kept with it: the next digest's « new » is measured from it
    seen: dict = field(default_factory=dict)  # code -> {"alerts": [...], "weather": "..."}
    fingerprint: str = ""

    @property
    def empty(self) -> bool:
        return not (self.projects or self.drafts)

    def counts(self) -> dict[str, int]:
        return {
            "alerts": sum(len(p.new_alerts) + bool(p.weather_moved) for p in self.projects),
            "fixes": sum(len(p.fixes) for p in self.projects),
            "due": sum(len(p.due) for p in self.projects),
            "drafts": len(self.drafts),
        }


def iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def _upcoming(meetings: list[Meeting], as_of: date) -> list[Meeting]:
    return sorted((m for m in meetings if m.on >= as_of), key=lambda m: (m.on, m.key))


def _meeting_for(code: str, upcoming: list[Meeting], covered: dict[str, set | None]) -> Meeting | None:
    for m in upcoming:
        codes = covered[m.key]
        if codes is None or code in codes:
            return m
    return None


def _due_milestones(portfolio: Portfolio, code: str, until: date, as_of: date) -> list[Line]:
    out = []
    for r in portfolio.project_records(code, portfolio.milestones):
        if not is_missing(r.get("actual")):
            continue
        when = r.get("forecast") if not is_missing(r.get("forecast")) else r.get("baseline")
        if when is None or is_missing(when) or when > until:
            continue
        late = (as_of - when).days
        text = f"Jalon « {r.get('title') or 'sans titre'} » prévu le {fr_date(when)}"
        text += f", en retard de {late} jour{'s' if late > 1 else ''} (date réelle à saisir)" if late > 0 else ""
        out.append(Line(text, key=f"jalon:{r.get('id')}:{when}"))
    return out


def _due_decisions(portfolio: Portfolio, code: str, until: date) -> list[Line]:
    out = []
    for r in portfolio.project_records(code, portfolio.decisions):
        if not r.get("open"):
            continue
        due = r.get("due")
        if due is not None and not is_missing(due) and due > until:
            continue
        when = f", échéance le {fr_date(due)}" if not is_missing(due) else ""
        late = " (échéance dépassée)" if r.get("overdue") else ""
        text = f"Décision attendue : {r.get('title') or 'sans titre'}{when}{late}"
        out.append(Line(text, r.get("url") or "", key=f"décision:{r.get('key')}:{due}", label="ouvrir la décision"))
    return out


def build(
    portfolio: Portfolio,
    meetings: list[Meeting],
    *,
    as_of: date,
    horizon_days: int,
    living: dict[str, str],
    drafts: dict[str, str],
    last_seen: dict[str, dict],
    opt_out: set[str],
) -> tuple[list[Digest], list[str]]:
    """The week's digests, one per manager address, and the operation codes whose manager has no
    address (said by `copil notify`). `living`: code -> absolute URL of its living file;
    `drafts`: meeting key -> absolute URL of its draft dossier; `last_seen`: address -> `seen` of
    their last digest; `opt_out`: casefolded addresses that receive nothing."""
    projects = portfolio.projects
    if projects.empty:
        return [], []
    upcoming = _upcoming(meetings, as_of)
    covered: dict[str, set | None] = {}
    for m in upcoming:
        scoped = scope_codes(m, projects)
        covered[m.key] = None if scoped is None else set(scoped)
    findings: dict[str, list] = {}
    for f in portfolio.findings:
        if f.project_code:
            findings.setdefault(str(f.project_code), []).append(f)
    week = iso_week(as_of)
    by_address: dict[str, Digest] = {}
    no_address: list[str] = []
    for code in projects.index:
        p = portfolio.project(code)
        email = str(p.get("manager_email") or "")
        if not email:
            no_address.append(str(code))
            continue
        key = email.casefold()
        if key in opt_out:
            continue
        d = by_address.get(key)
        if d is None:
            name = "" if is_missing(p.get("manager")) else str(p.get("manager"))
            d = by_address[key] = Digest(email=email, name=name, week=week, as_of=as_of)
        before = (last_seen.get(key) or {}).get(str(code)) or {}
        alerts = [str(a) for a in p.get("alerts") or []]
        weather = "" if is_missing(p.get("weather")) else str(p.get("weather"))
        d.seen[str(code)] = {"alerts": alerts, "weather": weather}
        nxt = _meeting_for(str(code), upcoming, covered)
        until = nxt.on if nxt is not None else as_of + timedelta(days=horizon_days)
        news = ProjectNews(
            code=str(code),
            title="" if is_missing(p.get("title")) else str(p.get("title")),
            weather=weather,
            form=str(p.get("url") or ""),
            living=living.get(str(code), ""),
            meeting=f"{nxt.title} du {fr_date(nxt.on)}" if nxt is not None else "",
        )
        if before and before.get("weather") and before.get("weather") != weather:
            news.weather_moved = f"{before['weather']} → {weather}"
        known = set(before.get("alerts") or [])
        news.new_alerts = [a for a in alerts if a not in known]
        for f in findings.get(str(code), []):
            value = f" (valeur saisie : « {f.value} »)" if f.value not in ("", None) else ""
            news.fixes.append(Line(f"{f.list_title}, colonne « {f.column} »{value} : {f.message}", f.link or ""))
        if p.get("running", True):
            news.due = _due_milestones(portfolio, str(code), until, as_of) + _due_decisions(portfolio, str(code), until)
        if news.says_something:
            d.projects.append(news)
    for d in by_address.values():
        mine = set(d.seen)
        for m in upcoming:
            url = drafts.get(m.key)
            scope = covered[m.key]
            if url and (scope is None or scope & mine):
                text = f"Projet de dossier « {m.title} du {fr_date(m.on)} » à relire"
                d.drafts.append(Line(text, url, label="ouvrir le projet de dossier"))
        d.fingerprint = _fingerprint(d)
    return [by_address[k] for k in sorted(by_address)], no_address


def _fingerprint(d: Digest) -> str:
    """The situation the digest describes, not its wording of « new »: equal from one week to the
    next when nothing changed (then nothing is sent)."""
    state = {
        "seen": d.seen,
        "fixes": {p.code: [x.text for x in p.fixes] for p in d.projects},
        "due": {p.code: [x.key or x.text for x in p.due] for p in d.projects},
        "drafts": [x.text for x in d.drafts],
    }
    return hashlib.sha256(json.dumps(state, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]
