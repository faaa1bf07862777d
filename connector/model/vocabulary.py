"""The words of the domain as types: météo, phase, milestone and risk statuses, State grants.

Their French values are what SharePoint holds (choice columns) and what readers see; each type
carries what the code needs to know about a word (rank, label, colour, running or not), so no
other module spells these words or decides these facts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Weather(StrEnum):
    """The météo of a project. `Indéterminé` is copil's own: data missing to judge."""

    SOLEIL = "Soleil"
    NUAGEUX = "Nuageux"
    ORAGE = "Orage"
    INDETERMINE = "Indéterminé"

    @classmethod
    def of(cls, value: Any) -> Weather | None:
        """The météo a value names, None when it names none (empty, typed otherwise)."""
        try:
            return cls(value)
        except ValueError:
            return None

    @property
    def judged(self) -> bool:
        """Soleil, Nuageux or Orage: a judgement on figures, comparable with another."""
        return self is not Weather.INDETERMINE

    @property
    def severity(self) -> int:
        """What a reader looks at first: Orage, Nuageux, Indéterminé (data to fix), Soleil.
        Among judged météos it is also the order of « better » and « worse »."""
        return _SEVERITY[self]

    @property
    def key(self) -> str:
        """Plain-ASCII name for table columns and template variables: `soleil`, `indetermine`."""
        return self.name.lower()

    @property
    def label(self) -> str:
        """The word printed: the same as in the list and the command line (one spelling, «
        Indéterminé », a category beside « Soleil » and « Nuageux »)."""
        return self.value

    @property
    def color(self) -> str:
        """Strong colour (hex with #) carrying white bold text: contrast ≥ 4.5:1."""
        return _COLORS[self]

    @property
    def tint(self) -> str:
        """Light background under black text."""
        return _TINTS[self]


_SEVERITY = {Weather.SOLEIL: 0, Weather.INDETERMINE: 1, Weather.NUAGEUX: 2, Weather.ORAGE: 3}
# Traffic lights as readers expect them, in the reports and in the list's column formatting:
# green / orange / red, grey when unknown. The word is always printed beside the colour.
_COLORS = {
    Weather.SOLEIL: "#1B7A3A",
    Weather.NUAGEUX: "#B35C00",
    Weather.ORAGE: "#B71C1C",
    Weather.INDETERMINE: "#5F6368",
}
_TINTS = {
    Weather.SOLEIL: "#D9F0DF",
    Weather.NUAGEUX: "#FCE5C8",
    Weather.ORAGE: "#F6D4D4",
    Weather.INDETERMINE: "#E6E6E6",
}

MANUAL_WEATHERS = (Weather.SOLEIL, Weather.NUAGEUX, Weather.ORAGE)  # what a project manager may choose
COMPUTED_WEATHERS = tuple(Weather)  # what copil writes


def worse(after: Weather | None, before: Weather | None) -> bool | None:
    """True if the météo got worse, False if better, None if not comparable or unchanged."""
    if after is None or before is None or not after.judged or not before.judged or after is before:
        return None
    return after.severity > before.severity


class Phase(StrEnum):
    """The phase of an operation, in order. Only `Clos` ends it: a closed operation is followed
    for its AP balance and subsidies to claim, never for delays or risks."""

    OPPORTUNITE = "Opportunité"
    FAISABILITE = "Faisabilité"
    PROGRAMMATION = "Programmation"
    ETUDES = "Études"
    CONSULTATION = "Consultation"
    TRAVAUX = "Travaux"
    RECEPTION = "Réception"
    CLOS = "Clos"

    @classmethod
    def of(cls, value: Any) -> Phase | None:
        """The phase a value names, None when it names none (empty, typed otherwise)."""
        try:
            return cls(value)
        except ValueError:
            return None

    @property
    def running(self) -> bool:
        return self is not Phase.CLOS

    @property
    def before_works(self) -> bool:
        """Opportunité to consultation: physical progress is the studies', spending is small;
        comparing them with works figures says nothing."""
        return self in (Phase.OPPORTUNITE, Phase.FAISABILITE, Phase.PROGRAMMATION, Phase.ETUDES, Phase.CONSULTATION)


PHASES = tuple(Phase)


def is_running(phase: Any) -> bool:
    """Whether an operation in this phase is still running. A phase nobody typed, or typed
    outside the list, is running: copil keeps watching what it cannot place."""
    return bool(phase != Phase.CLOS)


class MilestoneStatus(StrEnum):
    REACHED = "Atteint"
    LATE = "En retard"
    AHEAD = "À venir"


# The MOP milestones that start the works (a works order; the notification of an IT contract):
# until one is reached, the operation has not started its works.
WORKS_START_PHASES = ("OS travaux", "Notification")


class RiskStatus(StrEnum):
    OPEN = "Ouvert"
    CONTROLLED = "Maîtrisé"
    CLOSED = "Clos"

    @classmethod
    def is_open(cls, status: Any) -> bool:
        """A risk without a status is open: nobody said it was dealt with."""
        return not status or bool(status == cls.OPEN)


RISK_STATUSES = tuple(RiskStatus)

# State grants with start and completion deadlines (DETR, DSIL): the grant lapses if works have
# not started within 2 years of notification or the operation is not complete 4 years after its
# start (décret 2016-1072 et 2018-514); one and two years of extension can be asked for.
STATE_GRANTS = ("DETR", "DSIL")
GRANT_START_YEARS, GRANT_COMPLETION_YEARS = 2, 4
EXTENSION_YEARS = {"start": 1, "completion": 2}


def is_state_grant(funder: Any) -> bool:
    return isinstance(funder, str) and any(g in funder for g in STATE_GRANTS)


# Committees: what meets, over what, and where its dossier stands (« Comités de pilotage » list).
class MeetingStatus(StrEnum):
    PLANNED = "Prévu"
    PREPARING = "Dossier en préparation"
    VALIDATED = "Validé"  # a person validated the dossier: copil freezes it, even before the day
    HELD = "Tenu"


MEETING_STATUSES = tuple(MeetingStatus)
MEETING_INSTANCES = (
    "COPIL de projet",
    "COPIL PPI",
    "Comité de territoire",
    "Comité politique de la ville",
    "Bureau municipal",
)


class Scope(StrEnum):
    PORTFOLIO = "Portefeuille"
    PROJECTS = "Projets"
    TERRITORY = "Territoire"
    DIRECTION = "Direction"
    POLICY = "Politique publique"


SCOPES = tuple(Scope)


class DecisionStatus(StrEnum):
    """What became of a decision asked of a committee (« Décisions » list). A postponed decision
    is still expected: at the meeting it was postponed to."""

    EXPECTED = "Attendue"
    TAKEN = "Prise"
    POSTPONED = "Reportée"
    ABANDONED = "Abandonnée"

    @classmethod
    def of(cls, value: Any) -> DecisionStatus:
        """A status nobody typed (or typed otherwise) is « Attendue »: the decision was asked."""
        try:
            return cls(value)
        except ValueError:
            return cls.EXPECTED

    @property
    def open(self) -> bool:
        return self in (DecisionStatus.EXPECTED, DecisionStatus.POSTPONED)

    @property
    def outcome(self) -> str:
        """The word of a relevé de décisions: « prise », « reportée »."""
        return {
            DecisionStatus.EXPECTED: "toujours attendue",
            DecisionStatus.TAKEN: "prise",
            DecisionStatus.POSTPONED: "reportée",
            DecisionStatus.ABANDONED: "abandonnée",
        }[self]


DECISION_STATUSES = tuple(DecisionStatus)
