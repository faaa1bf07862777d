"""The reference of every variable a report template may use, generated from the context
builders themselves (run `python -m connector.reports.variables > docs/template-variables.md`)."""

from __future__ import annotations

import copy
from datetime import date
from functools import lru_cache

from connector.model import Phase, Weather

# Made at render time rather than in the context: pictures, and rich text (`{{r name }}`).
# The filters and tests a template may use: the ones that only shape what is shown. Left out on
# purpose: `attr` (attributes are the documented fields, written `x.field`), `format`, `center`,
# `indent`, `wordwrap`, `batch`, `slice` with widths or fills (10⁹ of them is a gigabyte),
# `safe` (it would let a value from SharePoint write Word XML), `xmlattr`, `urlize`, `tojson`.
ALLOWED_FILTERS = {
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "int",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "wordcount",
}
ALLOWED_TESTS = {
    "defined",
    "undefined",
    "none",
    "number",
    "string",
    "even",
    "odd",
    "divisibleby",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "equalto",
    "in",
    "true",
    "false",
    "boolean",
    "integer",
    "float",
    "iterable",
    "sequence",
    "mapping",
    "lower",
    "upper",
    "sameas",
}
PROJECT_IMAGES = ("chart_timeline", "chart_budget")
PROJECT_RICH = ("weather_badge", "project_link")
PORTFOLIO_IMAGES = ("chart_weather", "chart_execution")

DESCRIPTIONS = {
    "collectivite": "Nom de la collectivité",
    "copil_date": "Date du COPIL, en toutes lettres",
    "year": "Exercice budgétaire en cours",
    "project": "Fiche du projet",
    "weather": "Météo et tendance",
    "figures": "Chiffres clés",
    "milestones": "Jalons (liste)",
    "budget": "Lignes AP/CP par exercice (liste)",
    "subsidies": "Subventions (liste)",
    "contracts": "Marchés et avenants (liste)",
    "risks": "Risques (liste)",
    "risk_matrix": "Matrice de criticité, impact 4 à 1 × probabilité 1 à 4 (liste de lignes)",
    "findings": "Anomalies de saisie du projet (liste)",
    "documents": "Derniers documents du projet (liste)",
    "counts": "Nombre de projets par météo",
    "totals": "Totaux du portefeuille",
    "by_direction": "Répartition par direction (liste)",
    "by_territory": "Répartition par territoire (liste)",
    "by_policy": "Répartition par politique publique (liste)",
    "alerts": "Projets en alerte (liste)",
    "movers": "Plus fortes évolutions depuis le dernier COPIL (liste)",
    "findings_count": "Nombre d'anomalies",
    "chart_timeline": "Graphique des jalons (graphique Word natif, modifiable dans Word)",
    "chart_budget": "Graphique CP prévus / engagés / mandatés (graphique Word natif, modifiable dans Word)",
    "chart_weather": "Graphique de répartition par météo (graphique Word natif, modifiable dans Word)",
    "chart_execution": "Graphique d'exécution par direction (graphique Word natif, modifiable dans Word)",
    "weather_badge": "Météo calculée en grand, colorée (texte enrichi : `{{r weather_badge }}`)",
    "project_link": "Lien vers la fiche du projet dans la liste SharePoint (texte enrichi : `{{r project_link }}`)",
    "closed": "Opérations closes : solde de l'AP (liste)",
    "finance_source": "Origine des montants engagés et mandatés",
    "previous_date": "Date du précédent COPIL (« aucun » au premier)",
    "since": "« depuis le COPIL du … » (ou « depuis le dernier COPIL »)",
    "movers_note": "Phrase à afficher quand la liste des évolutions est vide (premier COPIL, aucun changement)",
    "budget_total": "Totaux du tableau AP/CP du projet, AP votée et écart entre CP prévus et AP",
    "subsidies_total": "Totaux des subventions du projet, dont le reste à percevoir",
    "previous_decisions": "Relevé : chaque décision attendue au précédent COPIL ou prise depuis, avec ce qu'elle est "
    "devenue (liste de textes)",
    "decided": "Relevé des décisions prises, reportées ou abandonnées depuis le précédent COPIL (liste)",
    "decided_note": "Phrase à afficher quand aucune décision n'a été enregistrée depuis le précédent COPIL",
    "evolutions": "Par projet, toutes les modifications saisies depuis le précédent COPIL (liste)",
    "evolutions_note": "Phrase à afficher quand aucune modification n'a été saisie (ou premier COPIL)",
    "previous_decisions_note": "Phrase à afficher quand il n'y a pas de décision précédente à suivre",
    "edition": "L'édition du document : `header` (en-tête de chaque page), `line` (sous le titre : « Situation au … », "
    "« COPIL PPI du … – projet de dossier, version du … », « COPIL PPI du … »), `kind` (living, draft, frozen), "
    "`meeting` (la réunion, vide pour une fiche)",
    "closing": "Clôture de l'exercice précédent, du 1er janvier à [rules] closing_view_until ou jusqu'à un export "
    "portant des mandats de l'année (vide sinon) : `heading`, `rows` (projet : `label`/`value` ; synthèse : par "
    "opération `cp`, `paid`, `execution`, `unpaid`, `rar`, `revote`), `total`, `summary` (page 1), `basis` (date et "
    "source des chiffres)",
    "page1": "Page 1 : décisions à prendre, projets les plus exposés, changements, messages financiers",
    "decisions": "Toutes les décisions attendues, la plus proche échéance d'abord (liste)",
    "ppi": "AP/CP pluriannuel du PPI : synthèse et tableau par exercice",
    "funders": "Subventions par financeur (liste)",
    "funders_total": "Total des subventions, tous financeurs",
    "subsidy_calendar": "Échéances DETR/DSIL des opérations en cours, à venir et dépassées (liste)",
    "territories": "Fiches par territoire : projets, prochains jalons, démarrages de travaux (liste)",
    "directions": "Fiches par direction, mêmes champs que les territoires (liste)",
    "urban": "Politique de la ville : projets en QPV, part de l'investissement",
    "agenda": "Agenda des élus : jalons, délibérations et décisions des trois prochains mois (liste)",
    "findings_by_manager": "Anomalies de saisie par chef de projet, avec le lien vers l'élément (liste ; "
    "`{{r f.link }}` pour le lien)",
}


@lru_cache(maxsize=1)
def _sample_contexts() -> tuple[dict, dict]:
    """Contexts built from a tiny synthetic portfolio through the real pipeline functions."""
    from connector.consolidate import (
        consolidate,  # lazy: the reference builds a sample context through the pipeline; render imports this module for the names only
    )
    from connector.normalize import normalize  # lazy: (same)
    from connector.raw import RawData  # lazy: (same)
    from connector.reports.context import portfolio_context, project_context  # lazy: (same)
    from connector.rules import RulesConfig  # lazy: (same)

    raw = RawData(
        lists={
            "projects": [
                {
                    "_id": 1,
                    "_url": "http://x/DispForm.aspx?ID=1",
                    "code": "PPI-1",
                    "title": "Exemple",
                    "ap_voted": "100 000",
                    "start": "2023-01-01T00:00:00Z",
                    "baseline_end": "2026-12-31T23:00:00Z",
                    "forecast_end": "31/01/2027",
                    "progress": "50 %",
                    "decisions": "Valider l'APD",
                    "ap_deliberation": "31/02/2025",
                    "manager": "C. Martin",
                    "elected": "Mme Dubois, adjointe",
                    "territory": "Nord",
                    "direction": "Bâtiments",
                    "decision_deadline": "2026-12-10T23:00:00Z",
                    "decision_followup": "Programme validé.",
                    "objective": "Rénover l'école.",
                    "programme": "Plan écoles",
                    "qpv": "QPV Nord",
                    "urban_policy": "NPNRU",
                },
                {
                    "_id": 2,
                    "_url": "",
                    "code": "PPI-2",
                    "title": "Close",
                    "ap_voted": "10 000",
                    "phase": str(Phase.CLOS),
                    "progress": "100 %",
                    "territory": "Nord",
                },
            ],
            "milestones": [
                {
                    "_id": 1,
                    "project": 1,
                    "title": "APD",
                    "baseline": "2026-05-31T22:00:00Z",
                    "actual": "2026-11-02T23:00:00Z",
                },
                {
                    "_id": 2,
                    "project": 1,
                    "title": "Ordre de service",
                    "phase": "OS travaux",
                    "baseline": "2027-01-14T23:00:00Z",
                },
                {
                    "_id": 3,
                    "project": 2,
                    "title": "DGD",
                    "phase": "DGD",
                    "baseline": "2026-01-14T23:00:00Z",
                    "actual": "2026-01-14T23:00:00Z",
                },
            ],
            "budget": [{"_id": 1, "project": 1, "year": 2026.0, "cp_planned": 50000.0, "engaged": 1.0, "paid": 1.0}],
            "subsidies": [
                {"_id": 1, "project": 1, "funder": "État - DETR", "notified": 1.0, "notified_on": "01/01/2026"},
                {"_id": 2, "project": 2, "funder": "Région", "notified": 5.0, "received": 1.0},
            ],
            "contracts": [{"_id": 1, "project": 1, "number": "M-1", "kind": "Travaux", "initial_amount": 10.0}],
            "amendments": [{"_id": 1, "contract": 1, "amount": 1.0}],
            "risks": [
                {
                    "_id": 1,
                    "project": 1,
                    "title": "R",
                    "probability": 2.0,
                    "impact": 2.0,
                    "owner": "Service",
                    "due": "2026-12-31T23:00:00Z",
                }
            ],
            "decisions": [
                {"_id": 1, "project": 1, "title": "Valider le DCE", "due": "2026-11-02T23:00:00Z"},
                {
                    "_id": 2,
                    "project": 1,
                    "title": "Valider l'APS",
                    "status": "Prise",
                    "decided_on": "2026-11-02T23:00:00Z",
                    "outcome": "APS validé.",
                },
            ],
        },
        titles={},
        columns={},
    )
    from connector.portfolio import Document  # lazy: (same)

    frames, found = normalize(raw)
    pf = consolidate(
        frames,
        as_of=date(2026, 11, 24),
        rules=RulesConfig(),
        findings=found,
        documents=[Document("CR.pdf", "http://x/CR.pdf", date(2026, 10, 1), "PPI-1")],
    )
    before = {"PPI-1": {"weather": str(Weather.SOLEIL), "slippage_days": 0, "decisions": "Valider l'APS", "alerts": []}}
    from connector.evolutions import facts  # lazy: (same)

    earlier = facts(pf, "PPI-1")
    earlier.update(manual_weather="", decisions={"item:2": ["Valider l'APS", "Attendue", None, None]}, risks={})
    before["PPI-1"]["_facts"] = earlier
    last = date(2026, 10, 27)
    proj = project_context(
        pf, "PPI-1", collectivite="X", copil_date=date(2026, 11, 24), previous=before["PPI-1"], previous_date=last
    )
    port = portfolio_context(pf, collectivite="X", copil_date=date(2026, 11, 24), previous=before, previous_date=last)
    # the closing of the previous year shows in January only: the same portfolio a night of January
    january = date(2027, 1, 7)
    jan = consolidate(frames, as_of=january, rules=RulesConfig(), findings=found)
    proj["closing"] = project_context(jan, "PPI-1", collectivite="X", copil_date=january, previous=None)["closing"]
    port["closing"] = portfolio_context(jan, collectivite="X", copil_date=january, previous=None)["closing"]
    lists = [
        port[k]
        for k in (
            "movers",
            "decided",
            "evolutions",
            "closed",
            "alerts",
            "decisions",
            "funders",
            "subsidy_calendar",
            "territories",
            "directions",
            "agenda",
            "findings_by_manager",
        )
    ]
    lists += [port["page1"][k] for k in ("decisions", "exposed", "changes", "money")] + [port["urban"]["projects"]]
    lists += [
        port["territories"][0]["projects"],
        port["territories"][0]["works"],
        port["ppi"]["years"],
        port["findings_by_manager"][0]["findings"],
    ]
    lists += [proj["closing"]["rows"], port["closing"]["rows"]]
    lists += [proj[k] for k in ("previous_decisions", "budget", "subsidies", "risks")] + [proj["weather"]["forecasts"]]
    assert all(lists), "every list documented needs one example"
    return proj, port


def sample_contexts() -> tuple[dict, dict]:
    """The documented sample values (project, portfolio), a fresh copy each time: a template
    is tried on them before its first report."""
    proj, port = _sample_contexts()
    return copy.deepcopy(proj), copy.deepcopy(port)


def known_variables(kind: str) -> list[str]:
    proj, port = _sample_contexts()
    if kind == "project":
        return list(proj) + list(PROJECT_IMAGES) + list(PROJECT_RICH)
    return list(port) + list(PORTFOLIO_IMAGES)


def known_attributes(kind: str) -> set[str]:
    """Every field name reachable under the documented variables (for template validation)."""
    proj, port = _sample_contexts()
    out: set[str] = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                out.add(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(proj if kind == "project" else port)
    return out


def _fields(value, prefix: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _fields(v, f"{prefix}.{k}", out)
    elif isinstance(value, list):
        if value and isinstance(value[0], dict):
            out.append(f"`{prefix}` : liste ; chaque élément `x` a :")
            for k, v in value[0].items():
                _fields(v, f"x.{k}", out)
        else:
            out.append(f"`{prefix}` : liste de textes")
    else:
        out.append(f"`{prefix}`")


def reference() -> str:
    proj, port = _sample_contexts()
    lines = [
        "# Variables des modèles de rapport",
        "",
        "Généré par `python -m connector.reports.variables` à partir du code qui construit les contextes :",
        "un modèle qui utilise une autre variable est refusé au démarrage, avec son nom.",
        "Tous les textes sont déjà mis en forme à la française (montants, dates, pourcentages).",
        "",
        "Un modèle est un document, pas un programme : `{% if %}`, `{% for %}`, `{% set %}`, les champs",
        "ci-dessous, et ces filtres seulement : " + ", ".join(f"`{f}`" for f in sorted(ALLOWED_FILTERS)) + ".",
        "Les filtres qui lisent un champ (`map`, `selectattr`, `sort`…) ne lisent que les champs documentés",
        "(`map(attribute='title')`). `include`, `extends`, `import`, `macro`, les appels de fonction et les",
        "calculs démesurés (puissances, répétitions de texte, rendu de plus de 20 s) sont refusés.",
        "",
    ]
    for title, ctx, images, rich in (
        ("Rapport COPIL d'un projet (`rapport_copil.docx`)", proj, PROJECT_IMAGES, PROJECT_RICH),
        ("Synthèse du portefeuille (`synthese_portefeuille.docx`)", port, PORTFOLIO_IMAGES, ()),
    ):
        lines += [f"## {title}", ""]
        for key, value in ctx.items():
            lines.append(f"### `{key}` — {DESCRIPTIONS.get(key, '') or _more_description(key)}")
            out: list[str] = []
            _fields(value, key, out)
            lines += [f"- {o}" for o in out] + [""]
        for img in images:
            lines += [
                f"### `{img}` — {DESCRIPTIONS.get(img, '')}",
                f"- `{{{{ {img} }}}}` seul dans un paragraphe ; sans données, la phrase qui le dit (« Aucun jalon saisi. »)",
                "",
            ]
        for name in rich:
            lines += [f"### `{name}` — {DESCRIPTIONS.get(name, '')}", f"- `{{{{r {name} }}}}`", ""]
    return "\n".join(lines)


def _more_description(key: str) -> str:
    if key.endswith("_more"):
        return (
            f"« … et N autres », quand la liste `{key[: -len('_more')]}` est coupée à "
            "`[reports] synthesis_max_rows` lignes ; vide sinon"
        )
    return ""


if __name__ == "__main__":
    print(reference())
