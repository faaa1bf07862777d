"""A deterministic sample collectivité: a fictional commune with its project portfolio, for the
demo, the tests and the benchmarks. Same arguments, same data, up to 10,000 projects.

Generated projects are drawn from operation types (`sample.operations`: école, gymnase,
voirie, réseaux d'eau, piste cyclable, médiathèque, rénovation énergétique, NPNRU, patrimoine,
numérique), each with its direction, policy, élu, funders, milestone sequence, risks with their
measures and decisions that fit the phase; phase, progress, dates, CP, contracts and decisions
are derived from one schedule, so they agree. The deliberate bad values are in `BAD_VALUES`,
each with what the run must say about it.

Reference projects (indexes 0-2), chosen so their indicators can be checked by hand on
2026-11-24 (see `REFERENCE_PROJECTS` and tests/test_sync.py):

| code | AP | CP 2026 / mandaté 2026 | avancement | fin initiale -> prévisionnelle | expected |
|---|---|---|---|---|---|
| PPI-2024-001 | 1 000 000 | 400 000 / 240 000 (60 %) | 60 % | 30/06/2027 -> 30/06/2027 | Soleil |
| PPI-2024-002 | 2 500 000 | 1 500 000 / 1 425 000 from the finance export (95 %), list says 1 300 000 | 40 % | 31/10/2026 -> 28/02/2027 (120 days) | Orage |
| PPI-2024-003 | 4 200 000 | 300 000 / 0 | 5 % | (none) -> 31/12/2028 | Indéterminé |
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from connector import schema
from connector.model import Phase as P
from connector.model import RiskStatus as R
from connector.model import Weather as W
from sample import operations as ops

COLLECTIVITE = "Ville de Belcourt-sur-Loire"
DOMAIN = "belcourt-sur-loire.fr"
PARIS = ZoneInfo("Europe/Paris")
AS_OF = date(2026, 11, 24)

FIRST = ["Claire", "Julien", "Sophie", "Karim", "Nathalie", "Thomas", "Amandine", "Olivier", "Fatou", "Yann"]
LAST = ["Martin", "Bernard", "Lefèvre", "Haddad", "Moreau", "Girard", "Nguyen", "Roux", "Diallo", "Le Goff"]
WORKS_HOLDERS = [
    "SAS Bâtiments de Loire",
    "Eiffage Route Centre-Ouest",
    "SARL Menuiseries Berthier",
    "Colas Centre-Ouest",
    "SPIE Citynetworks",
    "Entreprise Durand et Fils",
]
SERVICE_HOLDERS = [
    "Atelier d'architecture Lemaire",
    "BET Fluides Ingénierie",
    "Ingérop Conseil",
    "Groupement Arcadis - Setec",
]
SUPPLY_HOLDERS = ["Berger-Levrault", "Axians Communication & Cloud", "Inetum"]
HOLDERS = {"Travaux": WORKS_HOLDERS, "Services": SERVICE_HOLDERS, "Fournitures": SUPPLY_HOLDERS}
GENERIC_RISKS = (
    ("Hausse du prix des matériaux", "Clause de révision des prix vérifiée, provision pour aléas"),
    ("Défaillance d'une entreprise", "Suivi financier mensuel des titulaires"),
)

# Values typed by staff, kept on purpose: (list key, record index, logical column, value, what the
# run must say about it — a fragment of the finding's message). One place for all of them.
BAD_VALUES = [
    ("projects", 3, "ap_voted", "env. 3M", "montant approximatif « env. 3M » retenu pour 3\u202f000\u202f000\u00a0€"),
    ("projects", 4, "ap_voted", "à définir", "montant non renseigné : « à définir »"),
    ("projects", 5, "forecast_end", "31/02/2025", "date inexistante : « 31/02/2025 »"),
    ("projects", 6, "progress", "120 %", "pourcentage hors limites (0 à 100 %) : « 120 % »"),
    ("projects", 7, "progress", "moitié", "pourcentage illisible : « moitié »"),
    ("subsidies", "first of project 8", "notified_on", "le 3 mars", "date illisible : « le 3 mars »"),
    ("milestones", "first of project 9", "project", None, "élément rattaché à aucun projet : ignoré"),
]


@dataclass
class Sample:
    lists: dict[str, list[dict]] = field(default_factory=dict)
    users: list[dict] = field(default_factory=list)
    finance_export: bytes = b""
    finance_file_name: str = "Export_AP_CP_2026-11-23.xlsx"
    documents: list[tuple[str, str, bytes]] = field(default_factory=list)


def sp_date(d: date | None, tz=PARIS) -> str | None:
    """A date-only value as SharePoint stores it: the site's local midnight, in UTC."""
    if d is None:
        return None
    local = datetime.combine(d, time(0, 0), tzinfo=tz)
    return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def eur(v: float) -> str:
    return f"{v:,.0f}".replace(",", "\u00a0") + " €"


def _ms(title, phase, baseline, forecast=None, actual=None):
    return {"title": title, "phase": phase, "baseline": baseline, "forecast": forecast or baseline, "actual": actual}


# Hand-chosen inputs of the reference projects.
REFERENCE_PROJECTS = {
    "PPI-2024-001": {
        "title": "Rénovation de l'école Jules Ferry",
        "direction": schema.DIRECTIONS[2],
        "territory": "Centre-ville",
        "policy": schema.POLICIES[0],
        "phase": str(P.TRAVAUX),
        "owner": "Directe",
        "ap_voted": "1 000 000 €",
        "start": date(2024, 9, 1),
        "baseline_end": date(2027, 6, 30),
        "forecast_end": "30/06/2027",
        "progress": "60 %",
        "manual_weather": str(W.SOLEIL),
        "elu": "education",
        "decisions": "Valider l'avenant n°2 du lot gros œuvre.",
        "extra": {
            "decision_deadline": date(2026, 12, 15),
            "objective": ops.OBJECTIVES["ecole"],
            "programme": ops.PROGRAMMES["ecole"],
            "decision_followup": "Avenant n°1 validé au COPIL précédent ; notifié au titulaire le 05/11/2026.",
        },
        "comment": "Chantier conforme au planning, réunion de chantier chaque mardi.",
        "budget": [
            (2024, 100_000, 100_000, 100_000),
            (2025, 300_000, 300_000, 290_000),
            (2026, 400_000, 350_000, 240_000),
            (2027, 200_000, 0, 0),
        ],
        "finance": {2024: (100_000, 100_000), 2025: (300_000, 290_000), 2026: (350_000, 240_000)},
        "subsidies": [("État - DSIL", 350_000, 300_000, 150_000, "15/03/2024")],
        "contracts": [("2024-M-031", "Travaux", "SAS Bâtiments de Loire", 800_000, [20_000])],
        "risks": [
            (
                "Retard de livraison des menuiseries",
                2,
                2,
                str(R.OPEN),
                "Planning de repli validé en réunion de chantier",
                "Maître d'œuvre",
                date(2027, 1, 15),
            )
        ],
        "milestones": [
            _ms("APD validé", "APD", date(2024, 2, 15), actual=date(2024, 2, 20)),
            _ms("Ordre de service travaux", "OS travaux", date(2024, 9, 1), actual=date(2024, 9, 1)),
            _ms("Achèvement du gros œuvre", "DET", date(2027, 1, 15)),
            _ms("Réception des travaux", "Réception", date(2027, 6, 30)),
        ],
        "expected": {
            "weather": W.SOLEIL,
            "slippage_days": 0,
            "cp_execution_rate": 0.6,
            "commitment_rate": 0.75,
            "ap_consumption": 0.63,
            "next_milestone": "Achèvement du gros œuvre – 15/01/2027",
        },
    },
    "PPI-2024-002": {
        "title": "Requalification de l'avenue de la Gare",
        "direction": schema.DIRECTIONS[1],
        "territory": "Quartier Sud",
        "policy": schema.POLICIES[1],
        "phase": str(P.TRAVAUX),
        "owner": "Directe",
        "ap_voted": "2 500 000 €",
        "start": date(2025, 1, 15),
        "baseline_end": date(2026, 10, 31),
        "forecast_end": "28/02/2027",
        "progress": "40 %",
        "manual_weather": str(W.SOLEIL),
        "elu": "travaux",
        "decisions": "Valider le plan de financement actualisé.\nAutoriser la révision de l'AP.",
        "extra": {
            "decision_deadline": date(2026, 12, 8),
            "objective": ops.OBJECTIVES["voirie"],
            "programme": ops.PROGRAMMES["voirie"],
        },
        "comment": "Le titulaire signale des tensions d'approvisionnement sur les enrobés.",
        "budget": [(2025, 1_000_000, 900_000, 800_000), (2026, 1_500_000, 1_500_000, 1_300_000)],
        "finance": {2025: (900_000, 800_000), 2026: (1_500_000, 1_425_000)},
        "subsidies": [
            ("État - DETR", 600_000, 500_000, 250_000, "12/03/2024"),
            ("Région", 400_000, 400_000, 0, "2024-06-20"),
        ],
        "contracts": [("2025-M-014", "Travaux", "Colas Centre-Ouest", 1_000_000, [60_000, 110_000])],
        "risks": [
            (
                "Recours contre l'arrêté de circulation",
                3,
                4,
                str(R.OPEN),
                "Veille juridique et dialogue avec les commerçants",
                "Service juridique",
                date(2026, 11, 10),
            ),
            (
                "Défaillance d'une entreprise",
                3,
                3,
                str(R.OPEN),
                "Suivi financier mensuel des titulaires",
                "Direction des finances",
                date(2026, 12, 31),
            ),
        ],
        "milestones": [
            _ms("Ordre de service travaux", "OS travaux", date(2025, 1, 15), actual=date(2025, 1, 20)),
            _ms("Mise en service de l'éclairage", "DET", date(2026, 9, 15)),
            _ms("Réception des travaux", "Réception", date(2026, 10, 31), forecast=date(2027, 2, 28)),
        ],
        "expected": {
            "weather": W.ORAGE,
            "slippage_days": 120,
            "cp_execution_rate": 0.95,
            "commitment_rate": 0.96,
            "ap_consumption": 0.89,
            "next_milestone": "Réception des travaux – 28/02/2027",
        },
    },
    "PPI-2024-003": {
        "title": "Construction d'un gymnase aux Hauts",
        "direction": schema.DIRECTIONS[3],
        "territory": "Les Hauts",
        "policy": schema.POLICIES[3],
        "phase": str(P.ETUDES),
        "owner": "Déléguée",
        "ap_voted": "4 200 000 €",
        "start": date(2026, 3, 1),
        "baseline_end": None,
        "forecast_end": "31/12/2028",
        "progress": "5 %",
        "manual_weather": str(W.NUAGEUX),
        "elu": "sports",
        "decisions": "Valider l'esquisse et l'enveloppe financière de l'APS.",
        "extra": {
            "decision_deadline": date(2027, 1, 19),
            "objective": ops.OBJECTIVES["gymnase"],
            "programme": ops.PROGRAMMES["gymnase"],
            "qpv": ops.QPV["Les Hauts"],
            "urban_policy": "Contrat de ville",
        },
        "comment": "Études de sol complémentaires en cours.",
        "budget": [(2026, 300_000, 120_000, 0), (2027, 1_900_000, 0, 0), (2028, 2_000_000, 0, 0)],
        "finance": {2026: (120_000, 0)},
        "subsidies": [("Département", 800_000, 0, 0, None)],
        "contracts": [("2026-M-002", "Services", "Atelier d'architecture Lemaire", 380_000, [])],
        "risks": [
            (
                "Fouilles archéologiques préventives",
                2,
                3,
                str(R.OPEN),
                "Diagnostic anticipé et échanges réguliers avec la DRAC",
                "Chef de projet",
                date(2027, 3, 31),
            )
        ],
        "milestones": [
            _ms("Esquisse validée", "ESQ", date(2026, 6, 30), actual=date(2026, 7, 10)),
            _ms("APS validé", "APS", date(2027, 1, 31)),
        ],
        "expected": {
            "weather": W.INDETERMINE,
            "slippage_days": None,
            "cp_execution_rate": 0.0,
            "commitment_rate": 120_000 / 4_200_000,
            "ap_consumption": 0.0,
            "next_milestone": "APS validé – 31/01/2027",
        },
    },
}


def _users(rng: random.Random) -> list[dict]:
    out = []
    for i in range(8):
        first, last = FIRST[i], LAST[i]
        mail = f"{first.lower()}.{last.lower().replace(' ', '').replace('è', 'e')}@{DOMAIN}"
        out.append({"login": f"i:0#.f|membership|{mail}", "title": f"{first} {last}", "email": mail})
    return out


def generate(projects: int = 40, seed: int = 2026, as_of: date = AS_OF) -> Sample:
    rng = random.Random(seed)
    sample = Sample(users=_users(rng))
    L: dict[str, list] = {
        k: [] for k in ("projects", "milestones", "budget", "subsidies", "contracts", "amendments", "risks")
    }
    finance_rows = []
    refs = list(REFERENCE_PROJECTS.items())
    for i in range(projects):
        if i < len(refs):
            code, ref = refs[i]
            _reference(L, finance_rows, i, code, ref, sample.users)
        else:
            _random_project(L, finance_rows, rng, i, as_of, sample.users)
    _apply_bad_values(L)
    _grant_before_the_works(L, as_of)
    L["meetings"] = _meetings(L)
    L["decisions"] = _decisions(L)
    sample.lists = L
    sample.finance_export = _xlsx(finance_rows, as_of)
    sample.finance_file_name = f"Export_AP_CP_{(as_of - timedelta(days=1)).isoformat()}.xlsx"
    for p in L["projects"][: min(projects, 60)]:
        code = p["code"]
        sample.documents.append(
            (code, f"Compte rendu COPIL {code} 2026-10-12.pdf", f"%PDF-1.4\n% compte rendu {code}\n".encode())
        )
        sample.documents.append((code, "Planning général.xlsx", b"PK\x03\x04 planning"))
    return sample


def _meetings(L: dict) -> list[dict]:
    """The committees' calendar of the sample: a portfolio COPIL held on 10 November (more than a
    week before copil's first night: no dossier made up for it), the project COPIL of the avenue de la Gare on 8 December (its
    draft from 28 November, frozen on the day), the January PPI COPIL and a territory committee."""
    codes = [p["code"] for p in L["projects"]]
    out = [
        {"_id": 1, "title": "COPIL PPI", "date": date(2026, 11, 10), "instance": "COPIL PPI",
         "scope": "Portefeuille", "status": "Tenu"},
        {"_id": 3, "title": "COPIL PPI", "date": date(2027, 1, 12), "instance": "COPIL PPI",
         "scope": "Portefeuille", "status": "Prévu"},
        {"_id": 4, "title": "Comité de territoire Centre-ville", "date": date(2027, 1, 19),
         "instance": "Comité de territoire", "scope": "Territoire", "scope_value": "Centre-ville",
         "status": "Prévu"},
    ]  # fmt: skip
    if "PPI-2024-002" in codes:
        out.insert(
            1,
            {"_id": 2, "title": "COPIL avenue de la Gare", "date": date(2026, 12, 8), "instance": "COPIL de projet",
             "scope": "Projets", "projects": "PPI-2024-002", "status": "Prévu"},
        )  # fmt: skip
    return [{k: v for k, v in m.items() if k != "_id"} for m in out]


def _decisions(L: dict) -> list[dict]:
    """The « Décisions » list of the sample: the reference projects' decisions as items (the
    projects' « Décisions attendues » repeat them; the other projects keep theirs there only), and
    one taken at the 10 November COPIL PPI (the meetings' items are numbered in `_meetings`' order)."""
    index = {p["code"]: n for n, p in enumerate(L["projects"], start=1)}
    out = []
    if "PPI-2024-001" in index:
        out += [
            {"title": "Valider l'avenant n°1 du lot gros œuvre", "project": index["PPI-2024-001"],
             "due": date(2026, 11, 10), "status": "Prise", "meeting": 1, "decided_on": date(2026, 11, 10),
             "outcome": "Avenant n°1 validé (+4,2 % du marché) ; notifié au titulaire le 05/11/2026."},
            {"title": "Valider l'avenant n°2 du lot gros œuvre", "project": index["PPI-2024-001"],
             "due": date(2026, 12, 15), "status": "Attendue"},
        ]  # fmt: skip
    if "PPI-2024-002" in index:
        out += [
            {"title": "Valider le plan de financement actualisé", "project": index["PPI-2024-002"],
             "due": date(2026, 12, 8), "status": "Attendue"},
            {"title": "Autoriser la révision de l'AP", "project": index["PPI-2024-002"],
             "due": date(2026, 12, 8), "status": "Attendue"},
        ]  # fmt: skip
    if "PPI-2024-003" in index:
        out.append(
            {"title": "Valider l'esquisse et l'enveloppe financière de l'APS", "project": index["PPI-2024-003"],
             "due": date(2027, 1, 19), "status": "Attendue"}
        )  # fmt: skip
    return out


def _keep(d: date | None) -> date | None:
    """Dates stay dates in the sample; `seed_site` stores them in the site's time zone."""
    return d


def _project_record(
    i,
    code,
    title,
    direction,
    territory,
    policy,
    manager,
    elected,
    owner,
    phase,
    start,
    baseline_end,
    forecast_end,
    progress,
    ap_voted,
    manual,
    comment,
    decisions,
):
    return {
        "code": code,
        "title": title,
        "direction": direction,
        "territory": territory,
        "policy": policy,
        "manager": manager,
        "elected": elected,
        "owner": owner,
        "phase": phase,
        "start": _keep(start),
        "baseline_end": _keep(baseline_end),
        "forecast_end": forecast_end,
        "progress": progress,
        "ap_voted": ap_voted,
        "ap_deliberation": _keep(date(start.year - 1, 12, 14)) if start else None,
        "manual_weather": manual,
        "comment": comment,
        "decisions": decisions,
    }


def _reference(L, finance_rows, i, code, ref, users):
    L["projects"].append(
        _project_record(
            i,
            code,
            ref["title"],
            ref["direction"],
            ref["territory"],
            ref["policy"],
            users[i % len(users)],
            ops.ELUS[ref["elu"]],
            ref["owner"],
            ref["phase"],
            ref["start"],
            ref["baseline_end"],
            ref["forecast_end"],
            ref["progress"],
            ref["ap_voted"],
            ref["manual_weather"],
            ref["comment"],
            ref["decisions"],
        )
    )
    parent = len(L["projects"])
    for m in ref["milestones"]:
        L["milestones"].append(
            {
                "title": m["title"],
                "project": parent,
                "phase": m["phase"],
                "baseline": _keep(m["baseline"]),
                "forecast": _keep(m["forecast"]),
                "actual": _keep(m["actual"]),
            }
        )
    for year, cp, eng, paid in ref["budget"]:
        L["budget"].append(
            {
                "title": f"CP {year}",
                "project": parent,
                "year": float(year),
                "cp_planned": float(cp),
                "engaged": float(eng),
                "paid": float(paid),
            }
        )
    ap = float(ref["ap_voted"].replace("\u00a0", "").replace(" ", "").replace("€", ""))
    for year, (eng, paid) in ref["finance"].items():
        finance_rows.append((code, year, ap, eng, paid))
    for funder, req, notif, recv, on in ref["subsidies"]:
        L["subsidies"].append(
            {
                "title": f"{funder} - {ref['title']}"[:255],
                "project": parent,
                "funder": funder,
                "requested": float(req),
                "notified": float(notif),
                "received": float(recv),
                "notified_on": on,
            }
        )
    for number, kind, holder, initial, amendments in ref["contracts"]:
        L["contracts"].append(
            {
                "title": f"Marché {number}",
                "project": parent,
                "number": number,
                "kind": kind,
                "holder": holder,
                "initial_amount": float(initial),
                "notified_on": _keep(ref["start"] - timedelta(days=30)),
            }
        )
        cidx = len(L["contracts"])
        for n, amount in enumerate(amendments, start=1):
            L["amendments"].append(
                {
                    "title": f"Avenant n°{n} - {number}",
                    "contract": cidx,
                    "number": float(n),
                    "amount": float(amount),
                    "signed_on": _keep(date(2026, 2 + n, 10)),
                }
            )
    L["projects"][-1].update(ref["extra"])
    for title, prob, impact, status, measure, owner, due in ref["risks"]:
        L["risks"].append(
            {
                "title": title,
                "project": parent,
                "probability": float(prob),
                "impact": float(impact),
                "status": status,
                "mitigation": measure,
                "owner": owner,
                "due": _keep(due),
            }
        )


_WHEEL = [t for t in ops.TYPES for _ in range(t.weight)]  # types drawn in proportion to their weight
_PLACES = {
    t.key: [
        (prefix, c, terr)
        for prefix, cs in t.titles
        for c, terr in cs
        if ops.title(prefix, c) not in {ref["title"] for ref in REFERENCE_PROJECTS.values()}
    ]
    for t in ops.TYPES
}


def _titles(i: int) -> tuple[ops.OperationType, str, str]:
    """The (i)th operation: its type (weighted, deterministic), title and territory. Titles repeat
    only after every place of a type has been used, then as later tranches."""
    size = len(_WHEEL)
    kind = _WHEEL[(i * 7) % size]
    places = _PLACES[kind.key]
    # earlier projects of this type: whole turns of the wheel, then the part of the last one
    turns, rest = divmod(i, size)
    n = turns * kind.weight + sum(1 for j in range(rest) if _WHEEL[(j * 7) % size] is kind)
    prefix, complement, territory = places[n % len(places)]
    title = ops.title(prefix, complement)
    if n >= len(places):
        title += f" (tranche {n // len(places) + 1})"
    return kind, title, territory


def _milestone_fractions(seq) -> list[float]:
    """Where each milestone falls in the schedule: design up to 45 %, works order at 50 %, the
    last (réception, mise en production) at the end, the others between."""
    k = next(j for j, (_, ph) in enumerate(seq) if ph in ("OS travaux", "Notification"))
    n = len(seq)
    return [0.45 * (j + 1) / k if j < k else (0.5 if j == k else 0.5 + 0.5 * (j - k) / (n - 1 - k)) for j in range(n)]


# Generated projects whose figures a bad value must meet: the AP typed « env. 3M » belongs to an
# operation of 6.4 M€ already mostly paid, so the guessed AP is overrun (and said so).
# Two more show forward-looking alerts on a clean project: a school renovation of four years
# whose DSIL completion deadline falls before its forecast end, and a media library whose CP
# schedule stops short of its AP.
FIXED = {
    3: {"health": "soleil", "start": date(2023, 2, 1), "ap": 6_400_000.0},
    14: {"health": "nuageux", "start": date(2023, 1, 1), "months": 48, "funder": "État - DSIL"},
    9: {"cp_short": 0.3},
}


def _random_project(L, finance_rows, rng: random.Random, i, as_of, users):
    fixed = FIXED.get(i, {})
    health = rng.choices(["soleil", "nuageux", "orage"], weights=[50, 35, 15])[0]
    health = fixed.get("health", health)
    kind, title, territory = _titles(i)
    year0 = rng.choice([2022, 2023, 2024, 2024, 2025, 2025, 2026])
    start = date(year0, rng.randint(1, 12), 1)
    start = fixed.get("start", start)
    year0 = start.year
    code = f"PPI-{year0}-{i + 1:03d}"
    if start > as_of:
        start = date(2026, rng.randint(1, 10), 1)
    months = rng.randint(*kind.months)
    months = fixed.get("months", months)
    baseline_end = start + timedelta(days=30 * months)
    slip = {"soleil": rng.randint(0, 20), "nuageux": rng.randint(35, 80), "orage": rng.randint(95, 260)}[health]
    forecast_end = baseline_end + timedelta(days=slip)
    ap = fixed.get("ap", rng.randint(kind.ap[0] // 10, kind.ap[1] // 10) * 10_000.0)
    elapsed = min(max((as_of - start).days / max((forecast_end - start).days, 1), 0.0), 1.0)
    phase = str(ops.phase_for(elapsed, (as_of - forecast_end).days / 30))
    progress = ops.progress_for(phase, elapsed)
    style = rng.random()
    ap_text = (
        eur(ap) if style < 0.6 else (f"{ap:.0f}" if style < 0.8 else f"{ap:,.2f}".replace(",", " ").replace(".", ","))
    )
    fe_text = fr(forecast_end) if rng.random() < 0.85 else forecast_end.isoformat()
    pg_text = f"{progress} %" if rng.random() < 0.7 else str(progress)
    manual = str(
        {"soleil": W.SOLEIL, "nuageux": rng.choice([W.SOLEIL, W.NUAGEUX]), "orage": rng.choice([W.NUAGEUX, W.ORAGE])}[
            health
        ]
    )
    decision = rng.choice(ops.DECISIONS[phase]) if rng.random() < 0.6 else ""
    L["projects"].append(
        _project_record(
            i,
            code,
            title,
            kind.direction,
            territory,
            kind.policy,
            users[i % len(users)],
            ops.ELUS[kind.elu],
            rng.choice(["Directe", "Directe", "Déléguée"]),
            phase,
            start,
            baseline_end,
            fe_text,
            pg_text,
            ap_text,
            manual,
            rng.choice(ops.COMMENTS[phase]),
            decision,
        )
    )
    parent = len(L["projects"])

    years = list(range(start.year, forecast_end.year + 1))
    shares = [rng.uniform(0.5, 1.5) for _ in years]
    total = sum(shares)
    cps = [round(ap * s / total, -2) for s in shares]
    cps[-1] = ap - sum(cps[:-1])  # the CP of all years add up to the AP
    if "cp_short" in fixed:  # ...except where the schedule was left unfinished
        cps[-1] = round(cps[-1] * (1 - fixed["cp_short"]), -2)
    gap = {"soleil": 0.0, "nuageux": 0.3, "orage": 0.6}[health]
    for y, cp in zip(years, cps):
        if y < as_of.year:
            eng, paid = cp, round(cp * rng.uniform(0.9, 1.0), -2)
        elif y == as_of.year:
            rate = min(max(progress / 100 + rng.choice([-1, 1]) * gap + rng.uniform(-0.05, 0.05), 0.0), 1.0)
            paid = round(cp * rate, -2)
            eng = max(paid, round(cp * rng.uniform(0.7, 1.0), -2))
        else:
            eng = paid = 0.0
        L["budget"].append(
            {
                "title": f"CP {y}",
                "project": parent,
                "year": float(y),
                "cp_planned": float(cp),
                "engaged": float(eng),
                "paid": float(paid),
            }
        )
        if y <= as_of.year:
            finance_rows.append((code, y, ap, eng, paid))

    span = (baseline_end - start).days
    overdue_left = {"soleil": 0, "nuageux": 1, "orage": rng.randint(1, 3)}[health]
    works_order = start
    for k, ((label, mop), frac) in enumerate(zip(kind.milestones, _milestone_fractions(kind.milestones))):
        base = start + timedelta(days=int(span * frac))
        fc = base + timedelta(days=int(slip * frac))
        actual = None
        if fc < as_of:
            if overdue_left and k >= 2 and phase not in (P.RECEPTION, P.CLOS):
                overdue_left -= 1
            else:
                actual = fc
        if mop in ("OS travaux", "Notification"):
            works_order = fc
        L["milestones"].append(
            {
                "title": label,
                "project": parent,
                "phase": mop,
                "baseline": _keep(base),
                "forecast": _keep(fc),
                "actual": _keep(actual),
            }
        )
    if phase == P.CLOS:  # the final account closes the operation, after the réception
        dgd = forecast_end + timedelta(days=90)
        L["milestones"].append(
            {
                "title": "Décompte général définitif",
                "project": parent,
                "phase": "DGD",
                "baseline": _keep(baseline_end + timedelta(days=90)),
                "forecast": _keep(dgd),
                "actual": _keep(dgd if dgd < as_of else None),
            }
        )

    funders = rng.sample(kind.funders, k=min(len(kind.funders), rng.randint(1, 2)))
    if "funder" in fixed:  # the same number of draws: the projects after this one stay as they were
        funders = [fixed["funder"]] + [f for f in funders if f != fixed["funder"]][: len(funders) - 1]
    for funder in funders:
        req = round(ap * rng.uniform(0.1, 0.4), -3)
        notif = round(req * rng.uniform(0.7, 1.0), -3)
        if health == "nuageux" and len(funders) == 1 and rng.random() < 0.3:
            notif = round(ap * 0.85, -3)  # heavily subsidised: self-funding below 20 %
            req = max(req, notif)  # a funder never notifies more than it was asked for
        on = start - timedelta(days=rng.randint(60, 400))
        L["subsidies"].append(
            {
                "title": f"{funder} - {title}"[:255],
                "project": parent,
                "funder": funder,
                "requested": req,
                "notified": notif,
                "received": round(notif * elapsed * 0.8, -3),
                "notified_on": fr(on) if rng.random() < 0.8 else on.isoformat(),
            }
        )

    # the project management contract from the start; works (or supplies) once the order is given
    contracts = [("Services" if "Services" in kind.contract_kinds else kind.contract_kinds[0], start)]
    if phase in (P.TRAVAUX, P.RECEPTION, P.CLOS):
        works = [k for k in kind.contract_kinds if k != "Services"] or ["Services"]
        contracts += [(rng.choice(works), works_order) for _ in range(rng.randint(1, 2))]
    for c, (ckind, when) in enumerate(contracts):
        number = f"{when.year}-M-{(i * 3 + c) % 1000:03d}"
        initial = round(
            ap * (rng.uniform(0.08, 0.12) if c == 0 and ckind == "Services" else rng.uniform(0.2, 0.45)), -3
        )
        L["contracts"].append(
            {
                "title": f"Marché {number} - {ckind.lower()}",
                "project": parent,
                "number": number,
                "kind": ckind,
                "holder": rng.choice(HOLDERS[ckind]),
                "initial_amount": initial,
                "notified_on": _keep(when - timedelta(days=rng.randint(10, 60))),
            }
        )
        cidx = len(L["contracts"])
        limit = 0.15 if ckind == "Travaux" else 0.10
        target = rng.uniform(0.0, limit * 0.8) if health != "orage" else rng.uniform(limit * 1.05, limit * 1.6)
        n = rng.randint(0, 3) if health != "orage" else rng.randint(1, 3)
        for a in range(1, n + 1):
            signed = min(when + timedelta(days=60 * a), as_of - timedelta(days=7 * (n - a + 1)))
            L["amendments"].append(
                {
                    "title": f"Avenant n°{a} - {number}",
                    "contract": cidx,
                    "number": float(a),
                    "amount": round(initial * target / n, -2),
                    "signed_on": _keep(signed),
                }
            )

    done = phase in (P.RECEPTION, P.CLOS)
    first_risk = len(L["risks"])
    for risk, measure in rng.sample(kind.risks + GENERIC_RISKS, k=rng.randint(2, 3)):
        prob = rng.randint(1, 4) if health == "orage" else rng.randint(1, 2)
        impact = rng.randint(1, 4) if health == "orage" else rng.randint(1, 3)
        status = str(rng.choice([R.CLOSED, R.CONTROLLED]) if done else rng.choice([R.OPEN, R.OPEN, R.CONTROLLED]))
        L["risks"].append(
            {
                "title": risk,
                "project": parent,
                "probability": float(prob),
                "impact": float(impact),
                "status": status,
                "mitigation": measure,
            }
        )
    _extras(
        L["projects"][parent - 1],
        L["risks"][first_risk:],
        kind,
        phase,
        territory,
        decision,
        as_of,
        random.Random(f"extras-{i}"),
    )


def _extras(p, risks, kind, phase, territory, decision, as_of, rng: random.Random) -> None:
    """Columns added after the first tranche, drawn from their own generator so the rest of
    the sample stays what it was: identity, QPV, decision deadline and follow-up, risk owners."""
    p["objective"], p["programme"] = ops.OBJECTIVES[kind.key], ops.PROGRAMMES[kind.key]
    if territory in ops.QPV:
        p["qpv"] = ops.QPV[territory]
        p["urban_policy"] = "NPNRU" if kind.key == "npnru" else "Contrat de ville"
    if decision:
        p["decision_deadline"] = as_of + timedelta(days=rng.randint(7, 80))
    if rng.random() < 0.5:
        p["decision_followup"] = rng.choice(ops.FOLLOWUPS[phase])
    for r in risks:
        r["owner"] = rng.choice(ops.RISK_OWNERS)
        r["due"] = _keep(
            as_of + timedelta(days=rng.randint(-30, 120))
            if r["status"] == R.OPEN
            else as_of - timedelta(days=rng.randint(30, 300))
        )


def _grant_before_the_works(L, as_of: date) -> None:
    """A case every PPI director knows: a DETR/DSIL notified early, studies that slipped, and a
    works order planned after the grant's 2-year start deadline. The first operation still in
    études with such a grant and a planned works order gets a notification date 2 years and
    2 months before that order (no draw from the generator: the rest of the sample is unchanged),
    so the start deadline falls 2 months before the planned start and an extension is to ask."""
    for sub in L["subsidies"]:
        p = L["projects"][sub["project"] - 1]
        if p["phase"] != P.ETUDES or not any(g in sub["funder"] for g in ("DETR", "DSIL")):
            continue
        orders = [
            m
            for m in L["milestones"]
            if m["project"] == sub["project"]
            and m.get("phase") == "OS travaux"
            and not m.get("actual")
            and (m.get("forecast") or m.get("baseline"))
        ]
        if not orders:
            continue
        planned = orders[0].get("forecast") or orders[0]["baseline"]
        notified = _minus_months(planned, 26)
        if notified + timedelta(days=365 * 2) <= as_of:  # it would have lapsed already: not this case
            continue
        sub["notified_on"] = notified.strftime("%d/%m/%Y")
        return


def _minus_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    return date(y, m + 1, min(d.day, 28))


def _apply_bad_values(L):
    for key, idx, col, value, _ in BAD_VALUES:
        if isinstance(idx, str):  # "first of project N": the first child of the (N+1)th project
            parent = int(idx.rsplit(" ", 1)[1]) + 1
            rows = [r for r in L[key] if r.get("project") == parent]
            if rows:
                rows[0][col] = value
        elif idx < len(L[key]):
            L[key][idx][col] = value


def _xlsx(rows, as_of: date) -> bytes:
    from openpyxl import Workbook  # lazy: openpyxl: only when the finance export is written

    wb = Workbook()
    ws = wb.active
    ws.title = "Export"
    ws.append([f"Export budgétaire - {COLLECTIVITE}"])
    ws.append([f"Situation au {fr(as_of - timedelta(days=1))} - AP/CP par opération"])
    ws.append([])
    ws.append(list(schema.FINANCE_EXPORT_COLUMNS.values()))
    for code, year, ap, eng, paid in rows:
        ws.append([code, year, ap, eng, paid])
    stamp = datetime(2026, 11, 23, 6, 0, 0)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = "Logiciel financier"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- seeding the emulator ----------------------------------------------------------
@dataclass
class Layout:
    """How a site names copil's lists and columns, and its regional settings. The defaults are
    copil's schema on a Paris fr-FR site; tests generate others (renamed lists and columns,
    children linked by code, other zones and locales)."""

    titles: dict[str, str] = field(default_factory=dict)  # list key -> title
    columns: dict[tuple, str] = field(default_factory=dict)  # (list key, logical) -> display
    created_as: dict[tuple, str] = field(default_factory=dict)  # display at creation, renamed after
    link_by_code: dict[str, str] = field(default_factory=dict)  # child list key -> code column
    timezone_id: int = 3
    locale_id: int = 1036
    currency: str = "EUR"  # XPF: amounts typed in F CFP

    def title(self, key: str) -> str:
        return self.titles.get(key, schema.BY_KEY[key].title)

    def column(self, key: str, logical: str) -> str:
        return self.columns.get((key, logical), schema.BY_KEY[key].column(logical).display)

    def config(self) -> dict:
        """The TOML sections ([lists], [finance_export], [reports]) that describe this site."""
        lists: dict = {}
        for spec in schema.LISTS:
            if spec.key in ("finance_exports", "reports"):
                continue
            entry: dict = {}
            if spec.key in self.titles:
                entry["title"] = self.titles[spec.key]
            cols = {c.key: self.columns[(spec.key, c.key)] for c in spec.columns if (spec.key, c.key) in self.columns}
            if spec.key in self.link_by_code:
                entry["link"] = "code"
                cols["project_code"] = self.link_by_code[spec.key]
            if cols:
                entry["columns"] = cols
            if entry:
                lists[spec.key] = entry
        out: dict = {
            "lists": lists,
            "finance_export": {"library": self.title("finance_exports")},
            "reports": {"library": self.title("reports")},
        }
        rep = {
            c.key: self.columns[("reports", c.key)]
            for c in schema.REPORTS_LIBRARY.columns
            if ("reports", c.key) in self.columns
        }
        if rep:
            out["reports"]["columns"] = rep
        return out


DEFAULT_LAYOUT = Layout()


def seed_site(site, sample: Sample, layout: Layout = DEFAULT_LAYOUT) -> None:
    """Create every list and library of the schema on an emulator site, named as `layout` says,
    and fill them; date-only values are stored as the site's local midnight in UTC."""
    site.set_regional(timezone_id=layout.timezone_id, locale_id=layout.locale_id)
    tz = site.tz
    users = {u["login"]: site.ensure_user(u["login"], u["title"], u["email"]) for u in sample.users}
    created = {}
    codes = [p["code"] for p in sample.lists.get("projects", [])]
    for spec in schema.LISTS:
        lst = site.create_list(layout.title(spec.key), spec.template)
        created[spec.key] = lst
        internal = {}
        for c in spec.columns:
            if c.key == "title":
                internal[c.key] = "Title"
                lst.fields["Title"].title = layout.column(spec.key, "title").strip()  # "Intitulé" on many sites
                continue
            display = layout.column(spec.key, c.key)
            if c.key == "project" and spec.key in layout.link_by_code:
                f = lst.add_field(layout.link_by_code[spec.key], "Text", indexed=True)
                internal["project_code"] = f.internal_name
                continue
            lookup = created[c.lookup_list].id if c.lookup_list else None
            f = lst.add_field(
                layout.created_as.get((spec.key, c.key), display),
                c.kind,
                choices=c.choices,
                lookup_list_id=lookup,
                indexed=c.indexed,
            )
            f.title = display.strip()  # a rename keeps the internal name, as in SharePoint
            internal[c.key] = f.internal_name
        if spec.template == 101:
            continue
        for rec in sample.lists.get(spec.key, []):
            values = {}
            for k, v in rec.items():
                if k == "manager":
                    v = users[v["login"]].id if v else None
                elif k == "project" and "project_code" in internal:
                    k, v = "project_code", (codes[v - 1] if v else None)
                elif isinstance(v, date):
                    v = sp_date(v, tz)
                elif isinstance(v, str) and layout.currency == "XPF":
                    v = v.replace("€", "F CFP")
                if v is not None:
                    values[internal[k]] = v
            lst.add_item(values, author=next(iter(users.values())).id)
    site.add_file(created["finance_exports"].title, "", sample.finance_file_name, sample.finance_export)
    code_field = created["documents"].field_by_title(layout.column("documents", "code").strip()).internal_name
    for code, name, content in sample.documents:
        site.add_file(created["documents"].title, code, name, content, {code_field: code})


def seed(backend, site_name: str = "projets", projects: int = 40, seed: int = 2026, layout: Layout = DEFAULT_LAYOUT):
    site = backend.ensure_site(site_name)
    seed_site(site, generate(projects, seed), layout)
    return site
