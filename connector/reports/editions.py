"""Editions of a report: the living file a project office opens any day, and a meeting's dossier,
first a draft refreshed while it is prepared, then frozen on the meeting day (or as soon as a
person validates it) and never rewritten.

What each edition says at the top of its pages, and what identifies it in the input hash (a
draft and a frozen dossier of the same meeting are two editions; a living file is one edition
whatever the night)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from connector.model.records import Meeting
from connector.model.vocabulary import MeetingStatus, Scope
from connector.reports.formatting import long_date

LIVING, DRAFT, FROZEN = "living", "draft", "frozen"


@dataclass(frozen=True)
class Edition:
    kind: str  # LIVING | DRAFT | FROZEN
    on: date  # the night it is made (a draft's version date)
    meeting: Meeting | None = None

    @property
    def key(self) -> str:
        """What identifies the edition in the input hash: the night is not part of a living file's
        identity (it is re-rendered for its inputs), it is of a draft's (« version du … »)."""
        if self.meeting is None:
            return LIVING
        return f"{self.kind}:{self.meeting.key}:{self.meeting.on.isoformat()}"

    def context(self, subject: str, kind_word: str = "") -> dict[str, str]:
        """`edition` in the templates: `header` (top of every page: `subject` and the edition),
        `line` (under the title). `kind_word`: what a living file is called (« Fiche projet »)."""
        on = long_date(self.on)
        if self.meeting is None:
            return {
                "kind": LIVING,
                "header": f"{subject} – situation au {on}",
                "line": f"{kind_word} – situation au {on}" if kind_word else f"Situation au {on}",
                "meeting": "",
            }
        m = self.meeting
        label = f"{m.title} du {long_date(m.on)}"
        if self.kind == DRAFT:
            return {
                "kind": DRAFT,
                "header": f"Projet de dossier – version du {on} – {subject}",
                "line": f"{label} – projet de dossier, version du {on}",
                "meeting": label,
            }
        return {"kind": FROZEN, "header": f"{subject} – {label}", "line": label, "meeting": label}


def living(on: date) -> Edition:
    return Edition(LIVING, on)


# Frozen editions are made on the meeting day or after; a meeting further back than this with no
# dossier gets none (copil does not make up the dossier of a meeting held before it was there).
FREEZE_GRACE_DAYS = 7


def planned(cadence: str, weekday: int, title: str, around: date) -> list[Meeting]:
    """The meetings the [copil] cadence plans around `around` (the one before and the next two):
    the first `weekday` of each month (« monthly ») or of each quarter (« quarterly »)."""
    if cadence == "none":
        return []
    step = 1 if cadence == "monthly" else 3
    first_month = ((around.month - 1) // step) * step + 1
    out = []
    for k in range(-2, 3):
        m = first_month - 1 + k * step
        year, month = around.year + m // 12, m % 12 + 1
        d = date(year, month, 1)
        d += timedelta(days=(weekday - d.weekday()) % 7)
        out.append(
            Meeting(key=f"cadence:{d.isoformat()}", title=title, on=d, instance="COPIL PPI", scope=str(Scope.PORTFOLIO))
        )
    return out


def due(meetings: list[Meeting], *, as_of: date, draft_days: int, frozen: set[str]) -> list[Edition]:
    """The editions to make tonight: a draft from `draft_days` before the meeting until the day
    before; a frozen edition on the day, or as soon as a person set the meeting « Validé », and
    at most FREEZE_GRACE_DAYS after it — once (`frozen`: meeting keys already frozen)."""
    out = []
    for m in sorted(meetings, key=lambda m: (m.on, m.key)):
        if m.key in frozen:
            continue
        validated = m.status in (MeetingStatus.VALIDATED, MeetingStatus.HELD)
        if (as_of >= m.on or validated) and as_of <= m.on + timedelta(days=FREEZE_GRACE_DAYS):
            if as_of >= m.on - timedelta(days=draft_days) or validated:
                out.append(Edition(FROZEN, as_of, m))
        elif m.on - timedelta(days=draft_days) <= as_of < m.on:
            out.append(Edition(DRAFT, as_of, m))
    return out


def previous_meeting(meetings: list[Meeting], *, before: date, committee: str | None = None) -> Meeting | None:
    """The last meeting before `before` (of one committee, or any portfolio meeting): what
    « depuis le précédent COPIL » is measured from."""
    past = [
        m for m in meetings if m.on < before and (m.committee == committee if committee else m.scope == Scope.PORTFOLIO)
    ]
    return max(past, key=lambda m: (m.on, m.key)) if past else None


def scope_codes(m: Meeting, projects) -> list[str] | None:
    """The operation codes a meeting covers (None: the whole portfolio). `projects`: the
    portfolio's projects frame."""
    if m.scope == Scope.PROJECTS:
        return [c for c in m.projects if c in projects.index]
    column = {Scope.TERRITORY: "territory", Scope.DIRECTION: "direction", Scope.POLICY: "policy"}.get(Scope(m.scope))
    if column is None:
        return None
    want = m.scope_value.strip().casefold()
    return [str(c) for c, v in projects[column].items() if isinstance(v, str) and v.strip().casefold() == want]
