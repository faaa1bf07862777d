"""Reports a DGS decides from (issue 12): the forward-looking rules at their exact thresholds,
then the synthesis' and the project report's new sections checked on the sample against
figures computed here by hand from the generated lists (not from copil's output)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from docx import Document

from connector.consolidate import grant_deadlines
from connector.model import is_running
from connector.parse import parse_amount, parse_date
from connector.pipeline import build_portfolio, run_sync, snapshot
from connector.reports.render import render_portfolio, render_project
from connector.rules import AP_SHORTFALL, CP_MISSING, CP_PLAN_GAP, CP_UNSPENT, SUBSIDY_DEADLINE, RulesConfig, forecasts
from emulator.server import start
from sample.collectivite import FIXED, generate
from tests.support.sync_helpers import AS_OF, config, seeded

TEMPLATES = __import__("pathlib").Path(__file__).resolve().parents[2] / "docx_templates"
NB = "\u202f"


def eur(v: float) -> str:
    return f"{v:,.0f}".replace(",", NB) + "\u00a0€"


def _row(**kw) -> dict:
    base = {
        "phase": "Travaux",
        "ap_voted": 1_000_000.0,
        "progress": 0.5,
        "paid_total": 400_000.0,
        "cp_year": None,
        "paid_year": None,
        "forecast_end": date(2026, 12, 31),
        "execution_start": date(2024, 1, 1),  # the works' first legal commitment
        "planned_works_start": None,
    }
    return {**base, **kw}


def kinds(row, as_of=AS_OF, rules=None, budget=(), subsidies=()):
    """The forecasts of a hand-made row, its facts derived as consolidation derives them."""
    rules = rules or RulesConfig()
    row = {
        "code": "X",
        **row,
        "running": is_running(row.get("phase")),
        "started": row.get("execution_start") is not None and row["execution_start"] <= as_of,
    }
    grants = grant_deadlines(row, list(subsidies), as_of=as_of, warning_days=rules.subsidy_deadline_warning_days)
    return {
        k: (msg, amt) for k, msg, amt, *_ in forecasts(row, as_of=as_of, rules=rules, budget=budget, deadlines=grants)
    }


# --- the rules, exactly at their thresholds ----------------------------------------------
@pytest.mark.parametrize("paid,alert", [(550_000.0, False), (550_500.0, True)])
def test_ap_shortfall_at_the_margin(paid, alert):
    """50 % done for 550 000 € paid: 1 100 000 € at completion, exactly AP + 10 %: not yet."""
    got = kinds(_row(paid_total=paid))
    assert (AP_SHORTFALL in got) is alert
    if alert:
        msg, amount = got[AP_SHORTFALL]
        assert amount == 101_000 and f"environ {eur(1_101_000)} à l'achèvement" in msg
        assert f"manque estimé : {eur(101_000)}" in msg


@pytest.mark.parametrize("progress,judged", [(0.199, False), (0.2, True), (1.0, False)])
def test_ap_projection_needs_enough_progress(progress, judged):
    assert (AP_SHORTFALL in kinds(_row(progress=progress, paid_total=900_000.0))) is judged


@pytest.mark.parametrize("paid,alert", [(750_000.0, True), (751_000.0, False)])
def test_cp_unspent_at_the_share(paid, alert):
    """On 31 December the pace is what was paid: 25,0 % left is an alert (« at least »)."""
    got = kinds(_row(cp_year=1_000_000.0, paid_year=paid), as_of=date(2026, 12, 31))
    assert (CP_UNSPENT in got) is alert
    if alert:
        assert got[CP_UNSPENT][1] == 250_000 and "au 31/12/2026" in got[CP_UNSPENT][0]


def test_cp_unspent_by_hand_mid_year_and_not_before_the_month():
    # 1 July: 182 days of 365; 300 000 € paid -> 601 648 € at the year's pace, 398 352 € left
    got = kinds(_row(cp_year=1_000_000.0, paid_year=300_000.0), as_of=date(2026, 7, 1))
    assert got[CP_UNSPENT][1] == 398_000
    assert CP_UNSPENT not in kinds(_row(cp_year=1_000_000.0, paid_year=0.0), as_of=date(2026, 6, 30))
    assert CP_UNSPENT in kinds(
        _row(cp_year=1_000_000.0, paid_year=0.0), as_of=date(2026, 6, 30), rules=RulesConfig(cp_projection_from_month=6)
    )


def test_cp_unspent_projected_at_the_date_of_the_figures():
    """Payments from an export dated 30/09 (273 days of 365) read on 24/11: the pace is the
    export's. 500 000 € paid on 1 000 000 € of CP: 668 498 € at the year's end at that pace,
    331 502 € left — not 443 598 € as if the 500 000 € were paid by 24/11."""
    row = _row(cp_year=1_000_000.0, paid_year=500_000.0, paid_year_as_of=date(2026, 9, 30))
    msg, left = kinds(row)[CP_UNSPENT]
    assert (
        left == 332_000
        and "500\u202f000\u00a0€ mandatés sur 1\u202f000\u202f000\u00a0€ au 30/09/2026 (export financier)" in msg
    )
    msg, left = kinds({**row, "paid_year_as_of": None})[CP_UNSPENT]
    assert left == 444_000 and "au 24/11/2026 ;" in msg


@pytest.mark.parametrize(
    "total,alert,word",
    [
        (1_010_000.0, False, ""),
        (1_011_000.0, True, "supérieurs"),
        (990_000.0, False, ""),
        (989_000.0, True, "inférieurs"),
    ],
)
def test_cp_plan_against_the_ap(total, alert, word):
    budget = [{"year": 2026, "cp_planned": 600_000.0}, {"year": 2027, "cp_planned": total - 600_000.0}]
    got = kinds(_row(forecast_end=date(2027, 6, 30)), budget=budget)
    assert (CP_PLAN_GAP in got) is alert
    if alert:
        assert word in got[CP_PLAN_GAP][0] and "2026–2027" in got[CP_PLAN_GAP][0]
        assert got[CP_PLAN_GAP][1] == pytest.approx(abs(total - 1_000_000))


def test_no_cp_in_the_year_the_works_end():
    budget = [{"year": 2025, "cp_planned": 500_000.0}, {"year": 2026, "cp_planned": 500_000.0}]
    got = kinds(_row(forecast_end=date(2027, 2, 28)), budget=budget)
    assert got[CP_MISSING] == (
        "Aucun CP prévu en 2027 alors que la fin prévisionnelle est le 28/02/2027 : "
        f"{eur(600_000)} restent à mandater sur l'AP ; inscrire les CP correspondants.",
        600_000,
    )
    assert CP_MISSING not in kinds(
        _row(forecast_end=date(2027, 2, 28)), budget=budget + [{"year": 2027, "cp_planned": 1.0}]
    )
    assert CP_MISSING not in kinds(_row(forecast_end=date(2027, 2, 28), paid_total=1_000_000.0), budget=budget)
    assert CP_MISSING not in kinds(_row(forecast_end=date(2026, 12, 31)), budget=budget)


@pytest.mark.parametrize(
    "end,expected",
    [
        (date(2027, 1, 1), None),  # on the day: in time
        (date(2027, 1, 2), "demander la prorogation de 2 ans (jusqu'au 01/01/2029)"),
        (date(2029, 1, 1), "demander la prorogation de 2 ans (jusqu'au 01/01/2029)"),
        (date(2029, 1, 2), "même prorogée (01/01/2029)"),
    ],
)
def test_completion_deadline_before_the_forecast_end(end, expected):
    sub = {
        "funder": "État - DSIL",
        "notified": 400_000.0,
        "received": 30_000.0,
        "start_deadline": date(2024, 6, 1),
        "completion_deadline": date(2027, 1, 1),
    }
    got = kinds(_row(forecast_end=end), subsidies=[sub])
    if expected is None:
        assert SUBSIDY_DEADLINE not in got
    else:
        msg, amount = got[SUBSIDY_DEADLINE]
        assert expected in msg and amount == 370_000 and f"{eur(370_000)} restant à percevoir" in msg


def test_start_deadline_before_the_planned_start_and_lapsed_deadlines_left_to_the_storm_rule():
    sub = {
        "funder": "État - DETR",
        "notified": 100_000.0,
        "received": None,
        "start_deadline": date(2027, 3, 1),
        "completion_deadline": date(2031, 3, 1),
    }
    planned = {"execution_start": None, "planned_works_start": date(2027, 4, 1)}  # works not started
    got = kinds(_row(**planned, forecast_end=date(2028, 6, 30)), subsidies=[sub])
    assert "prorogation d'un an (jusqu'au 01/03/2028)" in got[SUBSIDY_DEADLINE][0]
    lapsed = {**sub, "start_deadline": date(2026, 1, 1)}
    assert SUBSIDY_DEADLINE not in kinds(_row(**planned), subsidies=[lapsed])
    assert kinds(_row(phase="Clos", **planned), subsidies=[sub]) == {}


# --- the sample, through the emulator -------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    return generate(40)


@pytest.fixture(scope="module")
def reports(tmp_path_factory, sample):
    srv = start()
    try:
        seeded(srv)
        pf, *_ = build_portfolio(config(srv, tmp_path_factory.mktemp("d")), as_of=AS_OF)
    finally:
        srv.stop()
    previous = snapshot(pf)
    previous["PPI-2024-002"] = {
        **previous["PPI-2024-002"],
        "weather": "Nuageux",
        "alerts": [],
        "decisions": "Valider le DCE.\nAutoriser la consultation.",
    }
    # what the previous COPIL expected: a project's line since gone, an item still expected
    facts = previous["PPI-2024-002"]["_facts"]
    item = next(k for k, v in facts["decisions"].items() if v[0].startswith("Valider le plan"))
    previous["PPI-2024-002"]["_facts"] = {
        **facts,
        "decisions": {
            "texte:valider le dce": ["Valider le DCE", "Attendue", None, None],
            item: facts["decisions"][item],
        },
    }
    last = date(2026, 10, 27)
    syn = render_portfolio(
        pf,
        template_path=TEMPLATES / "synthese_portefeuille.docx",
        collectivite="Belcourt",
        copil_date=AS_OF,
        previous=previous,
        previous_date=last,
    )
    proj = {
        code: render_project(
            pf,
            code,
            template_path=TEMPLATES / "rapport_copil.docx",
            collectivite="Belcourt",
            copil_date=AS_OF,
            previous=previous.get(code),
            previous_date=last,
        )
        for code in ("PPI-2024-002", "PPI-2024-003")
    }
    return pf, Document(io.BytesIO(syn)), {k: Document(io.BytesIO(v)) for k, v in proj.items()}


def _tables(doc, first: str, second: str | None = None):
    return [
        [[c.text for c in r.cells] for r in t.rows]
        for t in doc.tables
        if t.rows[0].cells[0].text == first and (second is None or t.rows[0].cells[1].text == second)
    ]


def _paras(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def _idx(sample, code):
    return next(i for i, p in enumerate(sample.lists["projects"]) if p["code"] == code)


def _children(sample, key, code):
    parent = _idx(sample, code) + 1
    return [r for r in sample.lists[key] if r.get("project") == parent]


def test_sample_shows_every_forward_alert(reports, sample):
    pf, *_ = reports
    got = {f["kind"] for fs in pf.projects["forecasts"] for f in fs}
    assert got >= {AP_SHORTFALL, CP_UNSPENT, CP_PLAN_GAP, CP_MISSING, SUBSIDY_DEADLINE}
    # the media library whose last CP was cut by 30 % (FIXED[9]): AP minus the CP typed
    code = sample.lists["projects"][9]["code"]
    ap = parse_amount(sample.lists["projects"][9]["ap_voted"])[0]
    cps = sum(b["cp_planned"] for b in _children(sample, "budget", code))
    msg = next(f for f in pf.projects.loc[code, "forecasts"] if f["kind"] == CP_PLAN_GAP)["message"]
    assert FIXED[9]["cp_short"] and f"{eur(ap - cps)} à inscrire dans l'échéancier des CP" in msg
    # the school renovation (FIXED[14]): studies from 2023, works started by a contract notified
    # on 21/12/2024, so its DSIL completion deadline (21/12/2028) is after its forecast end:
    # no deadline alert and no « caduque » (the studies are not a start)
    code = sample.lists["projects"][14]["code"]
    assert not [f for f in pf.projects.loc[code, "forecasts"] if f["kind"] == SUBSIDY_DEADLINE]
    assert not [r for r in pf.projects.loc[code, "weather_reasons"] if "caduque" in r]
    # the operation still in études whose DSIL was notified early: start required 2 years after the
    # notification, before the works order planned (sample._grant_before_the_works)
    idx, sub = next(
        (s["project"] - 1, s)
        for s in sample.lists["subsidies"]
        if sample.lists["projects"][s["project"] - 1]["phase"] == "Études" and "DSIL" in s["funder"]
    )
    code = sample.lists["projects"][idx]["code"]
    order = next(m for m in sample.lists["milestones"] if m["project"] == idx + 1 and m["phase"] == "OS travaux")
    on = parse_date(sub["notified_on"])[0]
    deadline = on.replace(year=on.year + 2)
    msg = next(f for f in pf.projects.loc[code, "forecasts"] if f["kind"] == SUBSIDY_DEADLINE)["message"]
    assert (
        f"Subvention État - DSIL : démarrage exigé avant le {deadline:%d/%m/%Y}, démarrage prévu le "
        f"{order['forecast']:%d/%m/%Y} ; {eur(sub['notified'] - (sub['received'] or 0))} restant à percevoir "
        f"menacés : demander la prorogation d'un an (jusqu'au {deadline.replace(year=deadline.year + 1):%d/%m/%Y})"
    ) in msg


def test_page_one_of_the_synthesis(reports, sample):
    pf, syn, _ = reports
    paras = _paras(syn)
    assert paras.index("Décisions à prendre") < paras.index("Météo du portefeuille")
    heading = next(p for p in syn.paragraphs if p.text == "Météo du portefeuille")
    assert heading.paragraph_format.page_break_before  # page 1 is the summary, alone
    # decisions: soonest deadline first, from the lists
    typed = [
        (p["decision_deadline"], p["code"])
        for p in sample.lists["projects"]
        if p.get("decisions") and p.get("decision_deadline")
    ]
    first = min(typed)
    decisions = _tables(syn, "Échéance", "Projet")[0]
    assert decisions[1][0] == first[0].strftime("%d/%m/%Y") and decisions[1][1].startswith(first[1])
    assert len(decisions) == 1 + 6
    # most exposed: the avenue de la Gare, 2 225 000 € paid for 40 %: 5 563 000 € at completion,
    # 3 063 000 € missing (the 275 000 € with no CP in 2027 are a calendar to fix, not money lost)
    exposed = _tables(syn, "Projet", "Météo")[0]
    # a need above the AP (2 500 000 €) is said to be a projection; no money at risk on it
    assert exposed[0][3:5] == ["Besoin de financement estimé", "Montants à risque"]
    assert exposed[1][0].startswith("PPI-2024-002") and exposed[1][3] == eur(3_063_000) + " (projection)"
    assert exposed[1][4] == "–"  # the 275 000 € without CP are inside the AP
    assert "AP probablement insuffisante" in exposed[1][5]
    # what changed, dated
    since = paras.index("Depuis le COPIL du 27 octobre 2026")
    assert (
        "1 projet en dégradation : PPI-2024-002 (Nuageux → Orage)." in paras[since : paras.index("Messages financiers")]
    )
    # money: subsidies notified not yet received, summed from the lists
    to_receive = sum(
        max(s["notified"] - s["received"], 0)
        for s in sample.lists["subsidies"]
        if isinstance(s["notified"], float) and isinstance(s["received"], float)
    )
    money = "\n".join(paras[paras.index("Messages financiers") :])
    assert f"Subventions notifiées à encaisser : {eur(to_receive)}" in money
    assert "subvention DETR/DSIL arrive à échéance avant la date prévue du démarrage ou de la fin" in money


def test_ppi_table_funders_and_calendar(reports, sample):
    pf, syn, _ = reports
    years = _tables(syn, "Exercice", "Opérations")[0]
    cp_2026 = sum(b["cp_planned"] for b in sample.lists["budget"] if b["year"] == 2026.0)
    row = next(r for r in years if r[0] == "2026")
    assert row[2] == eur(cp_2026)
    assert next(r for r in years if r[0] == "2027")[4] == "–"  # nothing paid in a year not begun
    funders = _tables(syn, "Financeur", "Opérations")[0]
    dsil = [s for s in sample.lists["subsidies"] if s["funder"] == "État - DSIL"]
    row = next(r for r in funders if r[0] == "État - DSIL")
    assert row[3] == eur(sum(s["notified"] for s in dsil)) and row[4] == eur(sum(s["received"] for s in dsil))
    assert funders[-1][0] == "Total"
    calendar = _tables(syn, "Échéance", "Financeur")[0]
    expected = _grant_deadlines_by_hand(sample, pf)
    assert [(r[0], r[2], r[3].split(" – ")[0]) for r in calendar[1:]] == [
        (f"{d:%d/%m/%Y}", what, code) for d, what, code, *_ in expected
    ]
    # the school whose studies began in 2023 and whose first works contract was notified on
    # 21/12/2024 (works order 23/01/2025): its DSIL completion deadline runs from that start of
    # execution (21/12/2028), not from the studies (it said 01/01/2027 and « caduque »)
    school = sample.lists["projects"][14]["code"]
    row = next(r for r in calendar[1:] if r[3].startswith(school))
    assert row[0] == "21/12/2028" and row[5] == "à tenir"


def _add_years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return d.replace(year=d.year + n, day=28)


def _grant_deadlines_by_hand(sample, pf) -> list[tuple]:
    """Every DETR/DSIL deadline of a running operation shown in the calendar, computed from the
    generated lists: the start of execution is the first works contract notified or works order
    given; start deadline = notification + 2 years (while the works have not started); completion
    = start of execution (or, not started yet, the start deadline) + 4 years; passed ones too."""
    projects = sample.lists["projects"]
    out = []
    for sub in sample.lists["subsidies"]:
        on = parse_date(sub.get("notified_on"))[0]
        p = projects[sub["project"] - 1]
        if not any(g in sub["funder"] for g in ("DETR", "DSIL")) or on is None or p["phase"] == "Clos":
            continue
        if p["code"] not in pf.projects.index:
            continue
        starts = [
            c["notified_on"]
            for c in sample.lists["contracts"]
            if c["project"] == sub["project"] and c["kind"] == "Travaux" and c.get("notified_on")
        ]
        starts += [
            m["actual"]
            for m in sample.lists["milestones"]
            if m["project"] == sub["project"] and m.get("phase") in ("OS travaux", "Notification") and m["actual"]
        ]
        started = min((d for d in starts if d <= AS_OF), default=None)
        start_deadline = _add_years(on, 2)
        checks = [] if started else [(start_deadline, "démarrage")]
        checks.append((_add_years(started or start_deadline, 4), "achèvement"))
        out += [(d, what, p["code"]) for d, what in checks]
    return sorted(out, key=lambda x: (x[0], x[2]))


def test_closed_operations_qpv_territories_agenda_and_findings(reports, sample):
    pf, syn, _ = reports
    closed = _tables(syn, "Code", "Opération")[0]
    head = closed[0]
    assert head[5] == "Subventions à solder" and head[6] == "DGD"
    row = closed[1]
    subs = _children(sample, "subsidies", row[0])
    to_claim = sum(max(s["notified"] - s["received"], 0) for s in subs if isinstance(s["received"], float))
    dgd = next(m for m in _children(sample, "milestones", row[0]) if m["phase"] == "DGD")
    assert row[5] == (eur(to_claim) if to_claim else "–")
    assert row[6] == (f"signé le {dgd['actual']:%d/%m/%Y}" if dgd["actual"] else f"prévu le {dgd['forecast']:%d/%m/%Y}")
    # politique de la ville: the gymnase aux Hauts, and the share of the AP
    qpv = _tables(syn, "Code", "Projet")
    urban = next(t for t in qpv if t[0][2] == "Quartier prioritaire")
    assert [
        "PPI-2024-003",
        "Construction d’un gymnase aux Hauts",
        "QPV Les Hauts – Les Tilleuls",
        "Contrat de ville",
    ] == urban[[r[0] for r in urban].index("PPI-2024-003")][:4]
    # the share is of the running operations' AP: a closed operation's AP is history (counted apart)
    running = [p for p in sample.lists["projects"] if p["phase"] != "Clos" and p["code"] in pf.projects.index]
    inside = [p for p in running if p.get("qpv")]
    closed_inside = [p for p in sample.lists["projects"] if p["phase"] == "Clos" and p.get("qpv")]
    aps = {p["code"]: pf.projects.loc[p["code"], "ap_voted"] for p in running}
    share = sum(aps[p["code"]] for p in inside if aps[p["code"]] == aps[p["code"]]) / sum(
        v for v in aps.values() if v == v
    )
    summary = next(p for p in _paras(syn) if "en quartier prioritaire" in p)
    assert f"soit {round(share * 100)}{NB}% de l’investissement des opérations en cours" in summary
    assert summary.startswith(f"{len(inside)} projets en cours")
    assert (f"{len(closed_inside)} opération" in summary) is bool(closed_inside)
    # the territory sheet of Les Hauts lists the gymnase with its QPV mark and next milestone
    sheets = [t for t in _tables(syn, "Code", "Projet") if len(t[0]) > 4 and t[0][4] == "QPV"]
    row = next(r for t in sheets for r in t if r[0] == "PPI-2024-003")
    assert row[4] == "QPV" and row[5] == "APS validé (31/01/2027)"
    agenda = _tables(syn, "Date", "Événement")[0]
    assert [
        "31/01/2027",
        "APS validé",
        "PPI-2024-003 – Construction d’un gymnase aux Hauts",
        "M. Hugo Vasseur, adjoint aux sports",
        "Les Hauts",
    ] in agenda
    horizon = AS_OF + timedelta(days=92)
    # the next three months, and overdue next milestones said with their lateness
    assert all(
        AS_OF <= date(int(r[0][6:]), int(r[0][3:5]), int(r[0][:2])) <= horizon or "(en retard)" in r[1]
        for r in agenda[1:]
    )
    # findings by project manager, each with a link to the item
    bad = next(p for p in sample.lists["projects"] if p["progress"] == "120 %")
    heading = next(p.text for p in syn.paragraphs if p.text.startswith(bad["manager"]["title"] + " – "))
    assert "anomalie" in heading
    xml = syn.part.rels
    assert any("DispForm.aspx?ID=" in r.target_ref for r in xml.values() if r.is_external)


def test_page_one_of_a_project_report(reports):
    _, _, proj = reports
    doc = proj["PPI-2024-002"]
    paras = _paras(doc)
    assert (
        paras.index("L’essentiel")
        < paras.index("Décisions attendues")
        < paras.index("Motifs de la météo")
        < paras.index("À anticiper")
        < paras.index("Identité du projet")
    )
    assert next(p for p in doc.paragraphs if p.text == "Identité du projet").paragraph_format.page_break_before
    assert "livraison repoussée de 4 mois (31/10/2026 → 28/02/2027)" in paras
    ahead = paras[paras.index("À anticiper") + 1 : paras.index("Alertes")]
    assert any("AP probablement insuffisante" in p and "environ 5\u202f563\u202f000\u00a0€" in p for p in ahead)
    assert any(p.startswith("Aucun CP prévu en 2027") for p in ahead)
    # each decision with its deadline (an item of « Décisions » and a project's line are one)
    asked = paras.index("Décisions attendues")
    assert paras[asked + 1 : asked + 3] == [
        "Autoriser la révision de l’AP (échéance : 08/12/2026)",
        "Valider le plan de financement actualisé (échéance : 08/12/2026)",
    ]
    # the previous COPIL's decisions and what became of them
    prev = paras.index("Relevé des décisions du précédent COPIL")
    assert paras[prev + 1 : prev + 3] == [
        "Valider le DCE : retirée de la liste des décisions",
        "Valider le plan de financement actualisé : toujours attendue, échéance 08/12/2026",
    ]
    subs = _tables(doc, "Financeur")[0]
    assert subs[0][4] == "Reste à percevoir" and subs[-1][:5] == [
        "Total",
        eur(1_000_000),
        eur(900_000),
        eur(250_000),
        eur(650_000),
    ]
    risks = _tables(doc, "Risque")[0]
    assert risks[1][3:5] == ["Service juridique", "10/11/2026 (dépassée)"]


def test_identity_and_qpv_in_the_project_report(reports):
    _, _, proj = reports
    kv = {r.cells[0].text: r.cells[1].text for t in proj["PPI-2024-003"].tables if len(t.columns) == 2 for r in t.rows}
    assert kv["Quartier prioritaire"] == "QPV Les Hauts – Les Tilleuls (Contrat de ville)"
    assert kv["Programme"] == "Plan équipements sportifs 2022-2028" and kv["Délibération de l’AP"] == "14/12/2025"
    assert kv["Objectif"].startswith("Offrir aux collèges")


def test_a_site_from_before_the_new_columns_runs_and_upgrade_adds_them(emulator, tmp_path, caplog):
    from connector.provision import init_site
    from connector.sharepoint import SharePointSite

    site = seeded(emulator, 4)
    lst = site.list_by_title("Projets")
    for title in ("Quartier prioritaire (QPV)", "Politique de la ville", "Échéance des décisions"):
        lst.fields.pop(lst.field_by_title(title).internal_name)
    summary = run_sync(config(emulator, tmp_path), as_of=AS_OF)
    assert summary.exit_code == 0 and summary.written == 4
    assert "« Quartier prioritaire (QPV) » absente" in caplog.text and "copil init-site --upgrade" in caplog.text
    manage = config(emulator, tmp_path, role="manage")
    init_site(SharePointSite.from_config(manage), manage, upgrade=True)
    assert lst.field_by_title("Quartier prioritaire (QPV)").kind == "Text"
    assert lst.field_by_title("Politique de la ville").choices == ("Contrat de ville", "NPNRU")


@pytest.mark.pdf
@pytest.mark.skipif(
    not (__import__("shutil").which("soffice") and __import__("shutil").which("pdftotext")),
    reason="LibreOffice or poppler-utils absent (make render-tools installs them)",
)
def test_page_one_holds_the_whole_summary_when_printed(reports, tmp_path):
    """Read from the PDF: the synthesis' page 1 ends with its last money message (with a
    previous COPIL, so the changes are there too) and a project's page 1 with its changes."""
    import re

    from jobs.render import page_texts, to_pdf

    pf, syn, proj = reports
    paths = []
    for name, doc in (("syn", syn), ("proj", proj["PPI-2024-002"])):
        doc.save(tmp_path / f"{name}.docx")
        paths.append(tmp_path / f"{name}.docx")
    syn_pdf, proj_pdf = to_pdf(paths, tmp_path / "pdf")
    flat = lambda s: re.sub(r"\s+", " ", s.replace("\u202f", " ").replace("\u00a0", " "))  # noqa: E731
    pages = [flat(p) for p in page_texts(syn_pdf)]
    assert "Messages financiers" in pages[0] and "demander les prorogations" in pages[0], pages[0][-400:]
    assert "Météo du portefeuille" in pages[1][:200]
    pages = [flat(p) for p in page_texts(proj_pdf)]
    assert "Évolutions depuis le COPIL du 27 octobre 2026" in pages[0] and "Identité du projet" in pages[1][:200]


def _kv(doc) -> dict:
    return {r.cells[0].text: r.cells[1].text for t in doc.tables if len(t.columns) == 2 for r in t.rows}


def test_ppi_summary_is_on_running_operations_and_closed_balances_apart(reports):
    pf, syn, _ = reports
    pr = pf.projects
    running = pr[(pr["phase"] != "Clos") & pr["ap_voted"].notna()]
    balances = running["ap_voted"] - running["paid_total"].fillna(0)
    remaining = balances[balances > 0].sum()
    kv = _kv(syn)
    assert kv["AP votées (opérations en cours)"] == eur(running["ap_voted"].sum())
    assert kv["Reste à mandater sur les AP"].startswith(eur(remaining))
    # closed operations: the AP left is to cancel, never counted as left to pay
    closed = pr[(pr["phase"] == "Clos") & pr["ap_voted"].notna()]
    left = closed["ap_voted"] - closed["paid_total"].fillna(0)
    # counted on the operations that have a balance (the issue saw « sur 18 » for 17)
    assert kv["Soldes d’AP à annuler (opérations closes)"] == (
        f"{eur(left[left > 0].sum())} sur {int((left > 0).sum())} opérations closes"
    )
    assert (left > 0).sum() < len(closed)  # the sample has a closed operation paid in full or beyond
    cp_year = pr[pr["phase"] != "Clos"]["cp_year"].sum()
    ratio = round(remaining / cp_year, 1)
    assert kv["Ratio de couverture (reste à mandater / CP 2026)"] == f"{ratio:.1f}".replace(".", ",") + (
        " ans" if ratio >= 2 else " an"
    )
    # a closed operation with a balance: the amount to cancel, by hand
    table = _tables(syn, "Code", "Opération")[0]
    row = next(r for r in table[1:] if r[4].endswith("à annuler"))
    p = pr.loc[row[0]]
    assert row[4] == f"{eur(p['ap_voted'] - p['paid_total'])} à annuler"


def test_weather_counts_leave_closed_operations_out(reports):
    pf, syn, _ = reports
    pr = pf.projects
    running = pr[pr["phase"] != "Clos"]
    line = next(p.text for p in syn.paragraphs if p.text.startswith("40 projets suivis"))
    n = running["weather"].value_counts()
    assert line == (
        f"40 projets suivis : {len(running)} en cours ({n.get('Orage', 0)} en orage, "
        f"{n.get('Nuageux', 0)} nuageux, {n.get('Soleil', 0)} au soleil, {n.get('Indéterminé', 0)} à "
        f"météo indéterminée) et {len(pr) - len(running)} opérations closes, suivies pour leur solde."
    )
    # a closed operation with a météo of its own (its « env. 3M » AP is overrun, but the export's AP
    # affectée of 6 400 000 € covers what was paid: an AP to confirm), not counted among the running
    assert (pr.loc["PPI-2023-004", "phase"], pr.loc["PPI-2023-004", "weather"]) == ("Clos", "Nuageux")
    reason = pr.loc["PPI-2023-004", "weather_reasons"][0]
    assert (
        "d'après la saisie « env. 3M »" in reason and "AP affectée de l'export financier (6\u202f400\u202f000" in reason
    )


def test_an_alert_with_new_figures_is_not_a_new_alert(reports):
    from connector.reports.synthesis import changes

    pf, *_ = reports
    previous = snapshot(pf)
    # a month earlier the same alerts carried other dates and amounts
    for code, snap in previous.items():
        snap["alerts"] = [a.replace("2026", "2025").replace("0", "7") for a in snap.get("alerts") or []]
    assert not any(c.startswith("Nouvelles alertes") for c in changes(pf, previous, date(2026, 10, 27)))
    # one alert that was not there: that project, and only it
    code = next(c for c, s in previous.items() if s["alerts"])
    previous[code]["alerts"] = previous[code]["alerts"][1:]
    assert f"Nouvelles alertes sur 1 projet : {code}." in changes(pf, previous, date(2026, 10, 27))


def test_project_page_one_wording(reports):
    _, _, proj = reports
    kv = _kv(proj["PPI-2024-002"])
    # one bracket, not « (export financier) (95 %) »
    assert kv["CP 2026 / mandatés"] == f"{eur(1_500_000)} / {eur(1_425_000)} (95{NB}%, export financier)"
    from connector.reports.context import _decisions_heading

    assert _decisions_heading({"decisions": None, "decision_deadline": None}) == "Décisions attendues"
    assert (
        _decisions_heading({"decisions": "Valider l’APD.", "decision_deadline": None})
        == "Décisions attendues (échéance non précisée)"
    )
    assert (
        _decisions_heading({"decisions": "Valider l’APD.", "decision_deadline": date(2026, 12, 8)})
        == "Décisions attendues (échéance : 08/12/2026)"
    )


def test_budget_total_execution_counts_the_years_begun_only(reports, sample):
    pf, _, _ = reports
    code = next(
        c
        for c in pf.projects.index
        if any(b["year"] > pf.year for b in pf.project_records(c, pf.budget))
        and any(b["year"] <= pf.year and b["cp_planned"] for b in pf.project_records(c, pf.budget))
    )
    rows = pf.project_records(code, pf.budget)
    begun = sum(b["cp_planned"] for b in rows if b["year"] <= pf.year)
    paid = sum(b["paid"] for b in rows if b["paid"] == b["paid"])
    from connector.reports.context import project_context

    ctx = project_context(pf, code, collectivite="B", copil_date=AS_OF, previous=None)
    assert ctx["budget_total"]["execution"] == f"{round(paid / begun * 100)}{NB}%"


def test_an_overdue_works_order_is_next_counts_in_works_starts_and_the_agenda(emulator, tmp_path):
    """PPI-2026-009's works order was due on 04/12/2026 (forecast; 28/11 initially) and is not
    given: on 6 December it is the project's next milestone with its lateness — in the list, the
    project report, its territory sheet (works starting) and the élus' agenda — not the reception
    of the works in June 2027."""
    from connector.reports.context import portfolio_context, project_context
    from connector.writeback import owned_values

    seeded(emulator)
    pf, *_ = build_portfolio(config(emulator, tmp_path), as_of=date(2026, 12, 6))
    p = pf.projects.loc["PPI-2026-009"]
    assert (p["next_milestone_label"], p["next_milestone_late_days"]) == ("Ordre de service travaux", 2)
    late = "en retard depuis le 04/12/2026"
    assert (
        owned_values(p.to_dict(), {}, datetime(2026, 12, 6))["next_milestone"] == f"Ordre de service travaux – {late}"
    )
    proj = project_context(pf, "PPI-2026-009", collectivite="X", copil_date=date(2026, 12, 6), previous=None)
    assert proj["figures"]["next_milestone"] == f"Ordre de service travaux ({late})"
    ctx = portfolio_context(pf, collectivite="X", copil_date=date(2026, 12, 6), previous={}, previous_date=None)
    sud = next(s for s in ctx["territories"] if s["name"] == p["territory"])
    row = next(r for r in sud["projects"] if r["code"] == "PPI-2026-009")
    assert row["next"] == f"Ordre de service travaux ({late})"
    assert any("PPI-2026-009" in w and late in w for w in sud["works"]) and sud["works_note"] == ""
    agenda = [a for a in ctx["agenda"] if a["code"] == "PPI-2026-009"]
    assert {"date": "04/12/2026", "event": "Ordre de service travaux (en retard)"}.items() <= agenda[0].items()
    # on the day of the forecast date it is simply ahead, with no lateness
    pf, *_ = build_portfolio(config(emulator, tmp_path), as_of=date(2026, 12, 4))
    assert pf.projects.loc["PPI-2026-009", "next_milestone_late_days"] == 0
