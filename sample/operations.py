"""Operation types of the sample collectivité: what a project of each kind carries — its
direction, public policy and élu's delegation, its funders, its sequence of milestones, risks
with the measures that fit them, and the decisions each phase asks for. The generator draws a
type, then builds everything from it, so a cycle lane never sits under the education
department and a closed operation never asks to launch its tender."""

from __future__ import annotations

from dataclasses import dataclass

from connector import schema
from connector.model import Phase

D = dict(zip(("batiments", "voirie", "education", "sports", "culture", "amenagement", "numerique"), schema.DIRECTIONS))
P = dict(zip(("education", "mobilites", "transition", "sport", "culture", "cadre", "modernisation"), schema.POLICIES))

# The municipal council: one élu per delegation.
ELUS = {
    "travaux": "Mme Claire Dubois, adjointe aux travaux et à la voirie",
    "education": "M. Paul Renaud, adjoint à l'éducation",
    "mobilites": "Mme Inès Carpentier, adjointe aux mobilités",
    "sports": "M. Hugo Vasseur, adjoint aux sports",
    "culture": "Mme Léa Perrin, adjointe à la culture et au patrimoine",
    "urbanisme": "M. Marc Lambert, adjoint à l'urbanisme et à la politique de la ville",
    "transition": "Mme Sarah Benali, adjointe à la transition écologique",
    "numerique": "M. Éric Fontaine, conseiller municipal délégué au numérique",
}

BUILDING = (
    ("Programme validé", "ESQ"),
    ("APS validé", "APS"),
    ("APD validé", "APD"),
    ("PRO validé", "PRO"),
    ("Attribution des marchés", "ACT"),
    ("Ordre de service travaux", "OS travaux"),
    ("Réception des travaux", "Réception"),
)
NETWORK = (
    ("Études préliminaires validées", "APS"),
    ("Projet validé", "PRO"),
    ("Attribution des marchés", "ACT"),
    ("Ordre de service travaux", "OS travaux"),
    ("Réception des travaux", "Réception"),
)
DIGITAL = (
    ("Expression des besoins validée", "PRO"),
    ("Attribution du marché", "ACT"),
    ("Notification du marché", "Notification"),
    ("Recette de la solution", "VISA"),
    ("Mise en production", "Réception"),
)

# What each phase of a project asks the steering committee to decide.
DECISIONS = {
    Phase.ETUDES: [
        "Valider l'APD et l'estimation prévisionnelle des travaux.",
        "Arbitrer entre les variantes A et B de l'avant-projet.",
        "Valider le programme actualisé et l'enveloppe financière.",
    ],
    Phase.CONSULTATION: [
        "Autoriser le lancement de la consultation.",
        "Valider le choix des attributaires proposé par la commission d'appel d'offres.",
        "Autoriser la signature des marchés de travaux.",
    ],
    Phase.TRAVAUX: [
        "Valider l'avenant n°2 du lot gros œuvre.",
        "Valider le plan de financement actualisé.",
        "Arbitrer sur les travaux supplémentaires demandés par l'exploitant.",
    ],
    Phase.RECEPTION: ["Prononcer la réception avec réserves.", "Valider le calendrier de levée des réserves."],
    Phase.CLOS: ["Clôturer l'AP et annuler le solde non consommé.", "Solliciter le solde des subventions notifiées."],
}
COMMENTS = {
    Phase.ETUDES: ["Études de sol complémentaires en cours.", "Concertation avec les usagers prévue en janvier."],
    Phase.CONSULTATION: [
        "Dossier de consultation en cours de relecture par la commande publique.",
        "Analyse des offres en cours, CAO prévue le mois prochain.",
    ],
    Phase.TRAVAUX: [
        "Chantier conforme au planning, réunion de chantier chaque mardi.",
        "Le titulaire du lot 3 signale des tensions d'approvisionnement.",
    ],
    Phase.RECEPTION: ["Opérations préalables à la réception réalisées, réserves en cours de levée."],
    Phase.CLOS: ["Décompte général définitif signé, solde des subventions à percevoir."],
}


# What each kind of operation is for, and the PPI programme it belongs to.
OBJECTIVES = {
    "ecole": "Mettre le bâtiment aux normes d'accessibilité et réduire de 40 % sa consommation d'énergie.",
    "gymnase": "Offrir aux collèges et aux clubs une salle homologuée pour les compétitions régionales.",
    "voirie": "Partager l'espace public entre piétons, cycles et voitures et renouveler les réseaux.",
    "eau": "Réduire les fuites du réseau sous 15 % du volume distribué.",
    "velo": "Relier le quartier au centre-ville par un itinéraire cyclable continu et sécurisé.",
    "mediatheque": "Doubler les surfaces de lecture publique et ouvrir le dimanche.",
    "energie": "Réduire de 40 % la consommation d'énergie du bâtiment (décret tertiaire).",
    "npnru": "Désenclaver le quartier, diversifier l'habitat et rénover les espaces publics.",
    "patrimoine": "Mettre hors d'eau et restaurer l'édifice protégé au titre des monuments historiques.",
    "numerique": "Proposer les démarches en ligne et réduire les délais de traitement.",
}
PROGRAMMES = {
    "ecole": "Plan écoles 2021-2027",
    "gymnase": "Plan équipements sportifs 2022-2028",
    "voirie": "Programme voirie 2022-2028",
    "eau": "Schéma directeur d'eau potable",
    "velo": "Plan vélo 2023-2030",
    "mediatheque": "Programme lecture publique",
    "energie": "Plan de sobriété du patrimoine",
    "npnru": "NPNRU – convention 2020-2030",
    "patrimoine": "Plan patrimoine 2023-2029",
    "numerique": "Schéma directeur du numérique",
}
# The quartiers prioritaires of the sample town (politique de la ville).
QPV = {"Quartier Nord": "QPV Nord – Cité des Prés", "Les Hauts": "QPV Les Hauts – Les Tilleuls"}
# How the previous COPIL's decisions were followed up, by phase.
FOLLOWUPS = {
    Phase.ETUDES: [
        "Programme validé au COPIL précédent ; consultation de maîtrise d'œuvre lancée.",
        "Variante B retenue au COPIL précédent ; étude de sol commandée.",
    ],
    Phase.CONSULTATION: [
        "Lancement de la consultation autorisé au COPIL précédent ; avis publié.",
        "Enveloppe confirmée au COPIL précédent ; DCE en relecture.",
    ],
    Phase.TRAVAUX: [
        "Avenant n°1 validé au COPIL précédent ; notifié au titulaire.",
        "Plan de financement validé au COPIL précédent ; demande de subvention complémentaire déposée.",
    ],
    Phase.RECEPTION: ["Calendrier de réception validé au COPIL précédent ; opérations préalables réalisées."],
    Phase.CLOS: ["Solde des subventions demandé aux financeurs."],
}
RISK_OWNERS = (
    "Chef de projet",
    "Maître d'œuvre",
    "Service de la commande publique",
    "Direction des finances",
    "Service juridique",
    "Entreprise titulaire",
)


@dataclass(frozen=True)
class OperationType:
    key: str
    direction: str
    policy: str
    elu: str
    titles: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (prefix, ((complement, territory), ...))
    funders: tuple[str, ...]
    milestones: tuple[tuple[str, str], ...]
    risks: tuple[tuple[str, str], ...]  # (risk, fitting measure)
    ap: tuple[int, int]  # AP range, in k€
    months: tuple[int, int]  # duration range
    contract_kinds: tuple[str, ...] = ("Travaux", "Services")
    weight: int = 10


TYPES = (
    OperationType(
        "ecole",
        D["education"],
        P["education"],
        "education",
        (
            (
                "Rénovation de l'école",
                (
                    ("Jules Ferry", "Centre-ville"),
                    ("Jean Jaurès", "Quartier Nord"),
                    ("Louise Michel", "Quartier Sud"),
                    ("Victor Hugo", "Les Hauts"),
                ),
            ),
            ("Extension du groupe scolaire", (("Marie Curie", "Quartier Nord"), ("des Prés", "Bord de Loire"))),
        ),
        ("État - DSIL", "État - DETR", "Département", "CAF"),
        BUILDING,
        (
            ("Découverte d'amiante", "Diagnostic amiante avant travaux complété, désamiantage chiffré"),
            ("Travaux en site occupé", "Phasage des travaux pendant les vacances scolaires"),
            ("Retard de livraison des menuiseries", "Planning de repli validé en réunion de chantier"),
        ),
        (400, 4_000),
        (18, 36),
        weight=14,
    ),
    OperationType(
        "gymnase",
        D["sports"],
        P["sport"],
        "sports",
        (
            ("Construction d'un gymnase", (("aux Hauts", "Les Hauts"), ("au Quartier Nord", "Quartier Nord"))),
            ("Rénovation du gymnase", (("Pierre de Coubertin", "Quartier Sud"), ("Suzanne Lenglen", "Centre-ville"))),
        ),
        ("État - DETR", "Région", "Département"),
        BUILDING,
        (
            ("Hausse du prix des matériaux", "Clause de révision des prix vérifiée, provision pour aléas"),
            ("Défaillance d'une entreprise", "Suivi financier mensuel des titulaires"),
            ("Fermeture prolongée pour les clubs", "Créneaux de repli négociés avec les communes voisines"),
        ),
        (1_500, 6_000),
        (20, 40),
    ),
    OperationType(
        "voirie",
        D["voirie"],
        P["cadre"],
        "travaux",
        (
            (
                "Requalification",
                (
                    ("l'avenue de la Gare", "Quartier Sud"),
                    ("la rue Nationale", "Centre-ville"),
                    ("la place du Marché", "Centre-ville"),
                    ("le boulevard Carnot", "Quartier Nord"),
                    ("les quais de Loire", "Bord de Loire"),
                ),
            ),
        ),
        ("État - DETR", "Département", "Région"),
        NETWORK,
        (
            ("Réseaux non repérés", "Investigations complémentaires et détection des réseaux commandées"),
            ("Gêne aux commerces", "Plan de circulation et information des riverains chaque semaine"),
            ("Intempéries prolongées", "Jours d'intempéries prévus au marché, planning recalé"),
        ),
        (300, 3_500),
        (12, 30),
        contract_kinds=("Travaux",),
        weight=14,
    ),
    OperationType(
        "eau",
        D["voirie"],
        P["transition"],
        "travaux",
        (
            (
                "Renouvellement des réseaux d'eau potable",
                (
                    ("le secteur Nord", "Quartier Nord"),
                    ("le secteur Sud", "Quartier Sud"),
                    ("le hameau de la Gravière", "Bord de Loire"),
                ),
            ),
        ),
        ("Département", "État - DETR"),
        NETWORK,
        (
            ("Casse de canalisations anciennes", "Stock de pièces et astreinte de l'exploitant renforcée"),
            ("Coupures d'eau pour les abonnés", "Information des abonnés 48 h avant chaque coupure"),
        ),
        (300, 2_500),
        (12, 24),
        contract_kinds=("Travaux",),
    ),
    OperationType(
        "velo",
        D["amenagement"],
        P["mobilites"],
        "mobilites",
        (
            (
                "Aménagement d'une piste cyclable",
                (
                    ("le quai de Loire", "Bord de Loire"),
                    ("la route de Tours", "Quartier Sud"),
                    ("le boulevard Carnot", "Quartier Nord"),
                ),
            ),
        ),
        ("État - Fonds vert", "Région", "Département"),
        NETWORK,
        (
            ("Opposition des riverains au stationnement supprimé", "Concertation et places de report créées"),
            ("Intempéries prolongées", "Jours d'intempéries prévus au marché, planning recalé"),
        ),
        (200, 1_800),
        (12, 24),
        contract_kinds=("Travaux",),
    ),
    OperationType(
        "mediatheque",
        D["culture"],
        P["culture"],
        "culture",
        (("Extension de la médiathèque", (("Aimé Césaire", "Centre-ville"), ("des Hauts", "Les Hauts"))),),
        ("État - DSIL", "Région", "Département"),
        BUILDING,
        (
            ("Fouilles archéologiques préventives", "Diagnostic anticipé et échanges réguliers avec la DRAC"),
            ("Déménagement des collections", "Prestataire spécialisé retenu, calendrier validé"),
        ),
        (1_000, 5_000),
        (24, 40),
        weight=6,
    ),
    OperationType(
        "energie",
        D["batiments"],
        P["transition"],
        "transition",
        (
            (
                "Rénovation énergétique",
                (
                    ("l'hôtel de ville", "Centre-ville"),
                    ("le centre technique municipal", "Bord de Loire"),
                    ("la crèche Les Lutins", "Quartier Sud"),
                    ("les écoles du Quartier Nord", "Quartier Nord"),
                ),
            ),
        ),
        ("État - Fonds vert", "État - DSIL", "ADEME", "Europe - FEDER"),
        BUILDING,
        (
            ("Gains énergétiques inférieurs aux objectifs", "Mesure et vérification par un tiers pendant 2 ans"),
            ("Découverte d'amiante", "Diagnostic amiante avant travaux complété, désamiantage chiffré"),
        ),
        (200, 2_500),
        (12, 30),
        weight=12,
    ),
    OperationType(
        "npnru",
        D["amenagement"],
        P["cadre"],
        "urbanisme",
        (
            ("Renouvellement urbain", (("le quartier des Hauts", "Les Hauts"), ("le quartier Nord", "Quartier Nord"))),
            ("Réaménagement des espaces publics", (("la cité des Prés", "Quartier Nord"),)),
        ),
        ("ANRU", "Région", "Europe - FEDER"),
        NETWORK,
        (
            ("Relogement des ménages plus long que prévu", "Cellule relogement renforcée avec les bailleurs"),
            ("Recours contre le permis d'aménager", "Veille juridique et dialogue avec le conseil citoyen"),
        ),
        (2_000, 8_000),
        (30, 48),
        weight=6,
    ),
    OperationType(
        "patrimoine",
        D["batiments"],
        P["culture"],
        "culture",
        (("Restauration de l'église", (("Saint-Martin", "Centre-ville"), ("Notre-Dame", "Bord de Loire"))),),
        ("État - DSIL", "Région", "Département"),
        BUILDING,
        (
            ("Découverte de décors peints", "Études complémentaires avec l'architecte des bâtiments de France"),
            ("Fouilles archéologiques préventives", "Diagnostic anticipé et échanges réguliers avec la DRAC"),
        ),
        (500, 3_000),
        (18, 36),
        weight=5,
    ),
    OperationType(
        "numerique",
        D["numerique"],
        P["modernisation"],
        "numerique",
        (
            (
                "Dématérialisation",
                (("les actes d'urbanisme", "Toute la commune"), ("la relation usagers", "Toute la commune")),
            ),
            (
                "Déploiement de la vidéoprotection",
                (("le centre-ville", "Centre-ville"), ("les quartiers Nord et Sud", "Toute la commune")),
            ),
        ),
        ("État - DSIL", "Europe - FEDER", "Région"),
        DIGITAL,
        (
            ("Reprise des données plus longue que prévu", "Lot de reprise isolé et recette dédiée"),
            ("Adhésion des agents", "Plan de formation et référents dans chaque service"),
        ),
        (100, 900),
        (10, 24),
        contract_kinds=("Services", "Fournitures"),
        weight=6,
    ),
)

_ARTICLES = (("le ", "du "), ("les ", "des "), ("la ", "de la "), ("l'", "de l'"))


def of(complement: str) -> str:
    """« de » before a complement, with French contractions: le quai → du quai, les → des."""
    for article, contracted in _ARTICLES:
        if complement.startswith(article):
            return contracted + complement[len(article) :]
    return complement


def title(prefix: str, complement: str) -> str:
    """`Requalification` + `le quai de Loire` → « Requalification du quai de Loire »; `sur` for
    where a cycle lane goes; a proper name follows as it is (« école Jules Ferry »)."""
    if prefix.startswith("Aménagement d'une piste cyclable"):
        return f"{prefix} sur {complement}"
    if complement[:1].isupper() or complement.startswith(("aux ", "au ", "des ", "du ")):
        return f"{prefix} {complement}"
    return f"{prefix} {of(complement)}"


def phase_for(elapsed: float, months_after_end: float) -> Phase:
    """The MOP phase a project is in, from the share of its schedule elapsed."""
    if elapsed >= 1:
        return Phase.RECEPTION if months_after_end < 6 else Phase.CLOS
    if elapsed >= 0.5:
        return Phase.TRAVAUX
    return Phase.CONSULTATION if elapsed >= 0.35 else Phase.ETUDES


def progress_for(phase: str, elapsed: float) -> int:
    """Physical progress that fits the phase, in steps of 5 %."""
    if phase in (Phase.RECEPTION, Phase.CLOS):
        return 100
    if phase == Phase.TRAVAUX:
        return int(round((25 + (elapsed - 0.5) / 0.5 * 70) / 5) * 5)
    return 15 if phase == "Consultation" else int(round(elapsed / 0.35 * 10 / 5) * 5)
