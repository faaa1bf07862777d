"""Editions of a report: the living file a project office opens any day, and a meeting's dossier,
first a draft refreshed while it is prepared, then frozen on the meeting day (or as soon as a
person validates it) and never rewritten.

What each edition says at the top of its pages, and what identifies it in the input hash (a
draft and a frozen dossier of the same meeting are two editions; a living file is one edition
whatever the night)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from connector.reports.formatting import long_date

LIVING, DRAFT, FROZEN = "living", "draft", "frozen"


@dataclass(frozen=True)
class Meeting:
    """A committee meeting (an item of « Comités de pilotage », or one the cadence plans)."""

    key: str  # "item:12" for a list item, "cadence:2027-01-05" for a planned one
    title: str  # « COPIL PPI »
    on: date
    instance: str
    scope: str = "Portefeuille"  # Portefeuille | Projets | Territoire | Direction | Politique publique
    scope_value: str = ""  # the territory, direction or policy of a restricted scope
    projects: tuple[str, ...] = ()  # operation codes, for a « Projets » scope
    status: str = "Prévu"
    item_id: int | None = None
    url: str = ""  # the item's form, for links

    @property
    def folder_name(self) -> str:
        return f"{self.on.isoformat()} {self.title}"

    @property
    def label(self) -> str:
        return f"{self.title} du {long_date(self.on)}"


@dataclass(frozen=True)
class Edition:
    kind: str  # LIVING | DRAFT | FROZEN
    on: date  # the night it is made (a draft's version date)
    meeting: Meeting | None = None
    extra: dict = field(default_factory=dict, compare=False)

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
        if self.kind == DRAFT:
            return {
                "kind": DRAFT,
                "header": f"Projet de dossier – version du {on} – {subject}",
                "line": f"{m.label} – projet de dossier, version du {on}",
                "meeting": m.label,
            }
        return {"kind": FROZEN, "header": f"{subject} – {m.label}", "line": m.label, "meeting": m.label}


def living(on: date) -> Edition:
    return Edition(LIVING, on)
