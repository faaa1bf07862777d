"""Decisions followed (items of « Décisions » and projects' lines, one consolidated table) and
« Évolutions »: every change a person typed between two editions, nothing the calendar alone
brought — by hand on small portfolios, and by generated sequences of edits."""

from __future__ import annotations

import copy
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector import evolutions
from connector.consolidate import consolidate
from connector.normalize import normalize
from connector.raw import RawData
from connector.reports import synthesis
from connector.rules import RulesConfig

AS_OF = date(2026, 12, 6)


def _raw(**over) -> RawData:
    lists = {
        "projects": [
            {"_id": 1, "code": "P-1", "title": "École", "ap_voted": "100 000", "phase": "Travaux",
             "manual_weather": "Soleil", "forecast_end": "30/06/2027",
             "decisions": "Valider l'APD.\nAutoriser la consultation", "decision_deadline": "2026-12-14T23:00:00Z"},
            {"_id": 2, "code": "P-2", "title": "Gymnase", "ap_voted": "50 000", "phase": "Études"},
        ],
        "milestones": [
            {"_id": 1, "project": 1, "title": "OS travaux", "baseline": "2026-12-10T23:00:00Z"},
            {"_id": 2, "project": 1, "title": "Réception", "baseline": "2027-06-10T22:00:00Z"},
        ],
        "subsidies": [{"_id": 1, "project": 1, "funder": "Région", "requested": 10.0}],
        "risks": [{"_id": 1, "project": 1, "title": "Amiante", "probability": 2, "impact": 3, "status": "Ouvert"}],
        "contracts": [{"_id": 1, "project": 1, "number": "M-1", "kind": "Travaux", "initial_amount": 1000.0}],
        "amendments": [],
        "decisions": [
            # the same words as the project's first line (a full stop apart): one decision, the item's
            {"_id": 5, "project": 1, "title": "Valider l’APD", "due": "2026-12-01T23:00:00Z", "status": "Attendue"},
            {"_id": 6, "project": 1, "title": "Choisir le titulaire", "status": "Prise", "meeting": 3,
             "decided_on": "2026-11-09T23:00:00Z", "outcome": "Lot 1 attribué."},
            {"_id": 7, "project": 2, "title": "Valider le programme", "status": "Reportée",
             "due": "2027-01-19T23:00:00Z", "decided_on": "2026-11-09T23:00:00Z"},
            {"_id": 8, "project": 2, "title": "Acheter le terrain", "status": "Mauvais mot"},
        ],
    }  # fmt: skip
    for k, v in over.items():
        lists[k] = v
    return RawData(lists=lists, titles={}, columns={})


def _pf(raw: RawData | None = None, as_of: date = AS_OF):
    frames, found = normalize(raw or _raw())
    return consolidate(frames, as_of=as_of, rules=RulesConfig(), findings=found)


def test_items_and_lines_make_one_table_of_decisions():
    pf = _pf()
    d = pf.decisions.set_index("key")
    # « Valider l’APD » typed on both sides is the item (its own deadline, passed: overdue)
    assert len(d[d["project_code"] == "P-1"]) == 3
    assert d.loc["item:5", "overdue"] and d.loc["item:5", "due"] == date(2026, 12, 2)
    line = d.loc["texte:autoriser la consultation"]
    assert line["status"] == "Attendue" and line["due"] == date(2026, 12, 15) and not line["overdue"]
    assert d.loc["item:6", "meeting"] == "item:3" and not d.loc["item:6", "open"]
    assert d.loc["item:7", "open"] and d.loc["item:7", "status"] == "Reportée"
    # an unknown status is a finding, and the decision stays expected
    assert d.loc["item:8", "status"] == "Attendue"
    assert any(f.item_id == 8 and f.value == "Mauvais mot" for f in pf.findings)


def test_overdue_at_just_under_and_over_the_deadline():
    for as_of, late in ((date(2026, 12, 1), False), (date(2026, 12, 2), False), (date(2026, 12, 3), True)):
        d = _pf(as_of=as_of).decisions.set_index("key")
        assert bool(d.loc["item:5", "overdue"]) is late, as_of


def test_synthesis_lists_open_decisions_and_the_releve():
    pf = _pf()
    open_ = synthesis.decisions(pf)
    assert [x["decision"] for x in open_] == [
        "Valider l’APD",
        "Autoriser la consultation",
        "Valider le programme (reportée)",
        "Acheter le terrain",
    ]
    assert open_[0]["deadline"] == "02/12/2026 (dépassée)"
    releve = synthesis.decided_since(pf, date(2026, 11, 1))
    assert [(r["decision"], r["status"]) for r in releve] == [
        ("Choisir le titulaire", "prise"),
        ("Valider le programme", "reportée"),
    ]
    assert synthesis.decided_since(pf, date(2026, 11, 10)) == []  # decided on the 10th: before or on


def test_nothing_changed_nothing_listed_even_a_month_later():
    before = evolutions.facts(_pf(), "P-1")
    later = _pf(as_of=AS_OF + timedelta(days=31))
    after = evolutions.facts(later, "P-1")
    found = evolutions.changes(before, after, since=AS_OF, as_of=later.as_of)
    # the milestone of 11 December passed unreached: the calendar's, never a person's change
    assert [(c.kind, c.by) for c in found if c.by != evolutions.COPIL] == [("jalon non tenu", evolutions.CALENDAR)]


def _edit(raw: RawData, kind: str) -> str:
    """Apply one person's edit to the raw lists; the kind « Évolutions » must list."""
    L = raw.lists
    p1 = L["projects"][0]
    if kind == "manual_weather":
        p1["manual_weather"] = "Orage"
        return "météo du chef de projet"
    if kind == "phase":
        p1["phase"] = "Réception"
        return "phase"
    if kind == "forecast_end":
        p1["forecast_end"] = "30/09/2027"
        return "fin prévisionnelle"
    if kind == "ap":
        p1["ap_voted"] = "120 000"
        return "AP"
    if kind == "reached":
        L["milestones"][1]["actual"] = "2026-12-01T23:00:00Z"
        return "jalon atteint"
    if kind == "moved":
        L["milestones"][0]["forecast"] = "2027-02-10T23:00:00Z"
        return "jalon déplacé"
    if kind == "notified":
        L["subsidies"][0]["notified"] = 8.0
        return "subvention notifiée"
    if kind == "received":
        L["subsidies"][0]["received"] = 4.0
        return "subvention encaissée"
    if kind == "risk_closed":
        L["risks"][0]["status"] = "Clos"
        return "risque clos"
    if kind == "risk_opened":
        L["risks"].append(
            {"_id": 9, "project": 1, "title": "Recours", "probability": 1, "impact": 4, "status": "Ouvert"}
        )
        return "risque ouvert"
    if kind == "decision_added":
        L["decisions"].append({"_id": 20, "project": 1, "title": "Signer la convention", "status": "Attendue"})
        return "décision ajoutée"
    if kind == "decision_taken":
        L["decisions"][0].update(status="Prise", decided_on="2026-12-05T23:00:00Z")
        return "décision prise"
    if kind == "amendment":
        L["amendments"].append({"_id": 1, "contract": 1, "number": 1, "amount": 40.0})
        return "avenant"
    raise ValueError(kind)


EDITS = ["manual_weather", "phase", "forecast_end", "ap", "reached", "moved", "notified", "received",
         "risk_closed", "risk_opened", "decision_added", "decision_taken", "amendment"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDITS), unique=True, max_size=6), st.integers(min_value=0, max_value=3))
def test_every_edit_is_listed_once_and_nothing_else(edits, days_later):
    """Any set of person's edits between two editions: « Évolutions » lists each (by its kind), and
    nothing else a person would have done; the computed météo may follow (copil's), and a date that
    passed is the calendar's."""
    raw = _raw()
    before = evolutions.facts(_pf(raw), "P-1")
    raw = copy.deepcopy(raw)
    wanted = sorted(_edit(raw, e) for e in edits)
    as_of = AS_OF + timedelta(days=days_later)
    after = evolutions.facts(_pf(raw, as_of), "P-1")
    found = evolutions.changes(before, after, since=AS_OF, as_of=as_of)
    assert sorted(c.kind for c in found if c.by == evolutions.PERSON) == wanted
    assert all(c.text for c in found)


def test_the_wording_of_changes():
    raw = _raw()
    before = evolutions.facts(_pf(raw), "P-1")
    for e in ("manual_weather", "forecast_end", "ap", "notified", "decision_taken", "amendment"):
        _edit(raw, e)
    texts = [c.text for c in evolutions.changes(before, evolutions.facts(_pf(raw), "P-1"), since=AS_OF, as_of=AS_OF)]
    assert "Météo du chef de projet : Soleil → Orage" in texts
    assert "Fin prévisionnelle : 30/06/2027 → 30/09/2027" in texts
    assert "AP révisée : 100\u202f000\u00a0€ → 120\u202f000\u00a0€" in texts
    assert "Subvention Région notifiée : 8\u00a0€" in texts
    assert "Décision prise le 06/12/2026 : Valider l’APD" in texts
    assert "Avenant n°1 au marché M-1 : 40\u00a0€ HT" in texts
