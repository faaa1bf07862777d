"""The sample collectivité: deterministic, realistic, scalable, with the documented bad values."""

from sample.collectivite import BAD_VALUES, REFERENCE_PROJECTS, generate


def test_same_seed_same_data_other_seed_other_data():
    a, b = generate(40), generate(40)
    assert a.lists == b.lists and a.users == b.users
    assert generate(40, seed=7).lists["projects"][10] != a.lists["projects"][10]


def test_reference_projects_and_bad_values_are_where_documented():
    s = generate(40)
    codes = [p["code"] for p in s.lists["projects"][:3]]
    assert codes == list(REFERENCE_PROJECTS)
    for key, idx, col, value, _ in BAD_VALUES:
        if isinstance(idx, int):
            assert s.lists[key][idx][col] == value
        else:
            parent = int(idx.rsplit(" ", 1)[1]) + 1
            assert any(r.get(col) == value for r in s.lists[key] if r.get("project") in (parent, None))


def test_cp_of_all_years_add_up_to_the_ap():
    s = generate(40)
    for i, p in enumerate(s.lists["projects"][10:], start=11):
        ap = p["ap_voted"]
        if not isinstance(ap, str) or any(c.isalpha() for c in ap.replace("€", "")):
            continue
        value = float(ap.replace("\u00a0", "").replace(" ", "").replace("€", "").replace(",", "."))
        cps = sum(b["cp_planned"] for b in s.lists["budget"] if b["project"] == i)
        assert abs(cps - value) < 1, p["code"]


def test_scales_to_ten_thousand_projects():
    s = generate(10_000)
    assert len(s.lists["projects"]) == 10_000
    assert len({p["code"] for p in s.lists["projects"]}) == 10_000
    assert 50_000 < len(s.lists["milestones"]) < 70_000
    weathers = {p["manual_weather"] for p in s.lists["projects"]}
    assert weathers == {"Soleil", "Nuageux", "Orage"}


# -- coherence of the generated collectivité (issue 16), over 1,000 projects -----------------
import re  # noqa: E402
from datetime import date  # noqa: E402

import pytest  # noqa: E402

from sample import operations as ops  # noqa: E402
from sample.collectivite import AS_OF, FIXED  # noqa: E402

BAD_PROJECTS = {idx for key, idx, *_ in BAD_VALUES if key == "projects"}


@pytest.fixture(scope="module")
def thousand():
    s = generate(1000)
    children = {}
    for key in ("milestones", "budget", "subsidies", "contracts", "risks"):
        for r in s.lists[key]:
            children.setdefault((key, r.get("project")), []).append(r)
    return s, children


def _end(p) -> date:
    fe = p["forecast_end"]
    return date.fromisoformat(fe) if "-" in fe else date(*reversed([int(x) for x in fe.split("/")]))


def _progress(p) -> int:
    return int(str(p["progress"]).replace("%", "").strip())


def test_direction_policy_and_elu_belong_together(thousand):
    s, _ = thousand
    allowed = {(t.direction, t.policy, ops.ELUS[t.elu]) for t in ops.TYPES}
    allowed |= {(r["direction"], r["policy"], ops.ELUS[r["elu"]]) for r in REFERENCE_PROJECTS.values()}
    for p in s.lists["projects"]:
        assert (p["direction"], p["policy"], p["elected"]) in allowed, p["title"]
    cycle = [p for p in s.lists["projects"] if "piste cyclable" in p["title"]]
    assert cycle and all(p["policy"] == "Mobilités" and "mobilités" in p["elected"] for p in cycle)
    roads = [p for p in s.lists["projects"] if p["title"].startswith("Requalification")]
    assert roads and all("éducation" not in p["elected"] for p in roads)


def test_phase_progress_dates_and_decisions_agree(thousand):
    s, _ = thousand
    for i, p in enumerate(s.lists["projects"]):
        if i < 3 or i in BAD_PROJECTS:  # reference projects are hand-made; bad values are meant to be wrong
            continue
        phase, progress, end = p["phase"], _progress(p), _end(p)
        assert {
            "Études": progress <= 10,
            "Consultation": progress == 15,
            "Travaux": 25 <= progress <= 95,
            "Réception": progress == 100,
            "Clos": progress == 100,
        }[phase], (p["code"], phase, progress)
        assert (end < AS_OF) == (phase in ("Réception", "Clos")), (p["code"], phase, end)
        assert p["decisions"] in ops.DECISIONS[phase] + [""], (p["code"], phase, p["decisions"])
        assert p["comment"] in ops.COMMENTS[phase]
    decisions = [p["decisions"] for p in s.lists["projects"] if p["phase"] == "Clos"]
    assert "Autoriser le lancement de la consultation." not in decisions


def test_milestones_cp_contracts_and_risks_fit_the_project(thousand):
    s, children = thousand
    measures = {r: m for t in ops.TYPES for r, m in t.risks}
    from sample.collectivite import GENERIC_RISKS

    measures.update(dict(GENERIC_RISKS))
    for i, p in enumerate(s.lists["projects"], start=1):
        if i - 1 < 3 or i - 1 in BAD_PROJECTS:
            continue
        end = _end(p)
        ms = children.get(("milestones", i), [])
        last = [m for m in ms if m["phase"] in ("Réception",)]
        assert last and last[0]["forecast"] == end, p["code"]  # réception = forecast end
        for m in ms:
            assert m["phase"] == "DGD" or m["forecast"] <= end, (
                p["code"],
                m,
            )  # nothing after the réception but the DGD
            assert m["actual"] is None or m["actual"] <= AS_OF
        assert any(m["phase"] == "DGD" for m in ms) == (p["phase"] == "Clos")
        for b in children.get(("budget", i), []):
            assert b["paid"] == 0 or b["year"] <= end.year, (p["code"], b)  # no CP paid after the end
            assert b["paid"] <= b["engaged"] + 1 and (b["year"] <= AS_OF.year or b["paid"] == 0)
        kinds = [c["kind"] for c in children.get(("contracts", i), [])]
        # project management from the start; works (supplies for IT) only once the order is given
        assert (len(kinds) > 1) == (p["phase"] in ("Travaux", "Réception", "Clos")), (p["code"], p["phase"], kinds)
        assert all(c["notified_on"] <= AS_OF for c in children.get(("contracts", i), []))
        for r in children.get(("risks", i), []):
            assert measures[r["title"]] == r["mitigation"], r
            if p["phase"] in ("Réception", "Clos"):
                assert r["status"] != "Ouvert"


def test_french_titles_contract_their_articles(thousand):
    s, _ = thousand
    bad = re.compile(r"\b(de le|de les|à le|à les|de du|de des|de de)\b|\(opération")
    titles = [p["title"] for p in s.lists["projects"]]
    assert not [t for t in titles if bad.search(t)]
    assert "Requalification du boulevard Carnot" in titles and "Requalification des quais de Loire" in titles
    assert "Aménagement d'une piste cyclable sur le quai de Loire" in titles
    assert len(set(titles)) == len(titles)  # later operations on the same place are tranches


def test_the_fixed_project_overruns_its_guessed_ap():
    s = generate(40)
    p = s.lists["projects"][3]
    assert p["ap_voted"] == "env. 3M" and 3 in FIXED
    from tests.support.sync_helpers import overrun

    assert overrun(p["code"]) > 0


def test_every_bad_value_produces_what_it_must(emulator, tmp_path):
    """The deliberate bad values, listed in one place, each reported as documented."""
    from connector.pipeline import run_sync
    from tests.support.sync_helpers import config, seeded

    seeded(emulator, 12)
    summary = run_sync(config(emulator, tmp_path), as_of=AS_OF, dry_run=True)
    messages = [f"{f.value} | {f.message}" for f in summary.findings]
    for key, idx, col, value, expected in BAD_VALUES:
        assert any(expected in m for m in messages), (key, idx, col, value, messages)


def test_no_funder_notifies_more_than_it_was_asked(thousand):
    subs = [
        s
        for s in thousand[0].lists["subsidies"]
        if isinstance(s["requested"], float) and isinstance(s["notified"], float)
    ]
    assert subs and all(s["notified"] <= s["requested"] for s in subs)
