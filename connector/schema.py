"""The default SharePoint schema copil expects, by display name.

Single source of truth for three consumers: the sample collectivité
(`sample.collectivite`), `copil init-site` (`connector.provision`) and the
configuration defaults (`connector.config`). A collectivité whose lists are
named differently overrides titles and column display names in its TOML; the
logical keys below never change.

Field kinds are SharePoint's `TypeAsString` values. `Text` amount/date columns
are deliberate: many project offices imported their lists from Excel, so staff
type free text there (`"12 000,50 €"`, `"env. 3M"`, `31/02/2025`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connector import model

# SharePoint's choices are plain strings: the model's words, in the model's order.
PHASES = tuple(str(p) for p in model.PHASES)
WEATHERS = tuple(str(w) for w in model.MANUAL_WEATHERS)
COMPUTED_WEATHERS = tuple(str(w) for w in model.COMPUTED_WEATHERS)
RISK_STATUSES = tuple(str(s) for s in model.RISK_STATUSES)
MEETING_STATUSES = tuple(str(s) for s in model.vocabulary.MEETING_STATUSES)
SCOPES = tuple(str(s) for s in model.vocabulary.SCOPES)
DECISION_STATUSES = tuple(str(s) for s in model.vocabulary.DECISION_STATUSES)


@dataclass(frozen=True)
class Column:
    key: str  # logical key used by the code
    display: str  # default display name in SharePoint
    kind: str  # SharePoint TypeAsString
    choices: tuple[str, ...] = ()
    lookup_list: str | None = None  # logical list key the lookup points to
    indexed: bool = False
    owned: bool = False  # written by copil; never typed by staff
    optional: bool = False  # added after sites were provisioned: a run without it warns


@dataclass(frozen=True)
class ListSpec:
    key: str
    title: str
    template: int  # 100 generic list, 101 document library
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


DIRECTIONS = (
    "Direction des bâtiments",
    "Direction de la voirie et des réseaux",
    "Direction de l'éducation",
    "Direction des sports et de la jeunesse",
    "Direction de la culture",
    "Direction de l'aménagement urbain",
    "Direction du numérique",
)
TERRITORIES = ("Centre-ville", "Quartier Nord", "Quartier Sud", "Les Hauts", "Bord de Loire", "Toute la commune")
POLICIES = (
    "Éducation et petite enfance",
    "Mobilités",
    "Transition écologique",
    "Sport et vie associative",
    "Culture et patrimoine",
    "Cadre de vie",
    "Modernisation de l'administration",
)
MOP_PHASES = ("ESQ", "APS", "APD", "PRO", "ACT", "Notification", "OS travaux", "VISA", "DET", "AOR", "Réception", "DGD")
FUNDERS = (
    "État - DETR",
    "État - DSIL",
    "État - Fonds vert",
    "Région",
    "Département",
    "Europe - FEDER",
    "ADEME",
    "CAF",
    "ANRU",
)
CONTRACT_KINDS = ("Travaux", "Services", "Fournitures")
URBAN_POLICIES = ("Contrat de ville", "NPNRU")  # NPNRU operations are part of the contrat de ville too

_P = "projects"

PROJECTS = ListSpec(
    "projects",
    "Projets",
    100,
    (
        Column("code", "Code opération", "Text", indexed=True),
        Column("title", "Title", "Text"),
        Column("direction", "Direction pilote", "Choice", DIRECTIONS),
        Column("territory", "Territoire", "Choice", TERRITORIES),
        Column("policy", "Politique publique", "Choice", POLICIES),
        Column("manager", "Chef de projet", "User"),
        Column("elected", "Élu référent", "Text"),
        Column("owner", "Maîtrise d'ouvrage", "Choice", ("Directe", "Déléguée")),
        Column("phase", "Phase", "Choice", PHASES),
        Column("start", "Date de début", "DateTime"),
        Column("baseline_end", "Fin prévue initiale", "DateTime"),
        Column("forecast_end", "Fin prévisionnelle", "Text"),
        Column("progress", "Avancement physique", "Text"),
        Column("ap_voted", "AP votée", "Text"),
        Column("ap_deliberation", "Date de délibération AP", "DateTime"),
        Column("manual_weather", "Météo chef de projet", "Choice", WEATHERS),
        Column("comment", "Commentaire", "Note"),
        Column("decisions", "Décisions attendues", "Note"),
        # Added after the first sites were provisioned: a run without them warns and goes on.
        Column("decision_deadline", "Échéance des décisions", "DateTime", optional=True),
        Column("decision_followup", "Suivi des décisions", "Note", optional=True),
        Column("objective", "Objectif", "Note", optional=True),
        Column("programme", "Programme", "Text", optional=True),
        Column("qpv", "Quartier prioritaire (QPV)", "Text", optional=True),
        Column("urban_policy", "Politique de la ville", "Choice", URBAN_POLICIES, optional=True),
        # Written by copil only.
        Column("computed_weather", "Météo calculée", "Choice", COMPUTED_WEATHERS, indexed=True, owned=True),
        Column("weather_reasons", "Motifs de la météo", "Note", owned=True),
        Column("slippage_days", "Glissement (jours)", "Number", indexed=True, owned=True),
        Column("cp_execution_rate", "Taux d'exécution CP", "Number", owned=True),
        Column("commitment_rate", "Taux d'engagement AP", "Number", owned=True),
        Column("ap_consumption", "Consommation AP", "Number", owned=True),
        Column("next_milestone", "Prochain jalon", "Text", owned=True),
        Column("alerts", "Alertes", "Note", owned=True),
        Column("data_quality", "Qualité des données", "Note", owned=True),
        Column("last_sync", "Dernière synchro copil", "DateTime", owned=True),
        Column("report_link", "Dernier rapport COPIL", "URL", owned=True, optional=True),
        Column("living_link", "Fiche projet", "URL", owned=True, optional=True),
    ),
)

MILESTONES = ListSpec(
    "milestones",
    "Jalons",
    100,
    (
        Column("title", "Title", "Text"),
        Column("project", "Projet", "Lookup", lookup_list=_P, indexed=True),
        Column("phase", "Phase MOP", "Choice", MOP_PHASES),
        Column("baseline", "Date prévue initiale", "DateTime"),
        Column("forecast", "Date prévisionnelle", "DateTime"),
        Column("actual", "Date réelle", "DateTime"),
    ),
)

BUDGET = ListSpec(
    "budget",
    "Budget AP-CP",
    100,
    (
        Column("title", "Title", "Text"),
        Column("project", "Projet", "Lookup", lookup_list=_P, indexed=True),
        Column("year", "Exercice", "Number"),
        Column("cp_planned", "CP prévus", "Currency"),
        Column("engaged", "Engagé", "Currency"),
        Column("paid", "Mandaté", "Currency"),
    ),
)

SUBSIDIES = ListSpec(
    "subsidies",
    "Subventions",
    100,
    (
        Column("title", "Title", "Text"),
        Column("project", "Projet", "Lookup", lookup_list=_P, indexed=True),
        Column("funder", "Financeur", "Choice", FUNDERS),
        Column("requested", "Montant sollicité", "Currency"),
        Column("notified", "Montant notifié", "Currency"),
        Column("received", "Montant encaissé", "Currency"),
        Column("notified_on", "Date de notification", "Text"),
    ),
)

CONTRACTS = ListSpec(
    "contracts",
    "Marchés",
    100,
    (
        Column("title", "Title", "Text"),
        Column("project", "Projet", "Lookup", lookup_list=_P, indexed=True),
        Column("number", "Numéro de marché", "Text"),
        Column("kind", "Type de marché", "Choice", CONTRACT_KINDS),
        Column("holder", "Titulaire", "Text"),
        Column("initial_amount", "Montant initial HT", "Currency"),
        Column("notified_on", "Date de notification", "DateTime"),
    ),
)

AMENDMENTS = ListSpec(
    "amendments",
    "Avenants",
    100,
    (
        Column("title", "Title", "Text"),
        Column("contract", "Marché", "Lookup", lookup_list="contracts", indexed=True),
        Column("number", "Numéro d'avenant", "Number"),
        Column("amount", "Montant HT", "Currency"),
        Column("signed_on", "Date de signature", "DateTime"),
    ),
)

RISKS = ListSpec(
    "risks",
    "Risques",
    100,
    (
        Column("title", "Title", "Text"),
        Column("project", "Projet", "Lookup", lookup_list=_P, indexed=True),
        Column("probability", "Probabilité", "Number"),
        Column("impact", "Impact", "Number"),
        Column("status", "Statut", "Choice", RISK_STATUSES),
        Column("mitigation", "Mesures", "Note"),
        Column("owner", "Responsable", "Text", optional=True),
        Column("due", "Échéance", "DateTime", optional=True),
    ),
)

# The committees and their meetings: copil drafts and freezes each meeting's dossier and writes
# back only its own two columns (the link to the dossier, where the dossier stands).
MEETINGS = ListSpec(
    "meetings",
    "Comités de pilotage",
    100,
    (
        Column("title", "Title", "Text"),
        Column("date", "Date de la réunion", "DateTime", indexed=True),
        Column("instance", "Instance", "Choice", model.vocabulary.MEETING_INSTANCES),
        Column("scope", "Périmètre", "Choice", SCOPES),
        Column("projects", "Projets concernés", "Note"),  # operation codes, one per line or « ; »
        Column("scope_value", "Territoire, direction ou politique", "Text"),
        Column("status", "Statut", "Choice", MEETING_STATUSES),
        Column("notes", "Notes", "Note"),
        Column("dossier", "Dossier", "URL", owned=True),
        Column("edition_state", "État du dossier", "Text", owned=True),
    ),
)

# The decisions asked of the committees, one item each: staff record after a meeting what became of
# them (taken, postponed, abandoned), by which meeting and when. Projects' « Décisions attendues »
# lines stay read (expected decisions without an item) for sites that keep them there.
DECISIONS = ListSpec(
    "decisions",
    "Décisions",
    100,
    (
        Column("title", "Title", "Text"),
        Column("project", "Projet", "Lookup", lookup_list=_P, indexed=True),
        Column("due", "Échéance", "DateTime"),
        Column("status", "Statut", "Choice", DECISION_STATUSES),
        Column("meeting", "Comité", "Lookup", lookup_list="meetings"),
        Column("decided_on", "Date de la décision", "DateTime"),
        Column("outcome", "Relevé de décision", "Note"),
    ),
)

# Document libraries.
FINANCE_LIBRARY = ListSpec("finance_exports", "Exports finances", 101)
DOCUMENTS_LIBRARY = ListSpec(
    "documents", "Documents projets", 101, (Column("code", "Code opération", "Text", indexed=True),)
)
REPORTS_LIBRARY = ListSpec(
    "reports",
    "Rapports COPIL",
    101,
    (
        Column("project_code", "Code opération", "Text", indexed=True),
        Column("copil_date", "Date du COPIL", "DateTime"),
        Column("weather", "Météo", "Text"),
        Column("report_kind", "Type de rapport", "Choice", ("Rapport COPIL", "Synthèse portefeuille")),
    ),
)

LISTS: tuple[ListSpec, ...] = (
    PROJECTS,
    MILESTONES,
    BUDGET,
    SUBSIDIES,
    CONTRACTS,
    AMENDMENTS,
    RISKS,
    MEETINGS,
    DECISIONS,
    FINANCE_LIBRARY,
    DOCUMENTS_LIBRARY,
    REPORTS_LIBRARY,
)
BY_KEY = {spec.key: spec for spec in LISTS}

# Columns of the finance software's export (xlsx or csv), by header text.
FINANCE_EXPORT_COLUMNS = {
    "code": "Code opération",
    "year": "Exercice",
    "ap_affected": "AP affectée",
    "engaged": "Engagé",
    "paid": "Mandaté",
}
