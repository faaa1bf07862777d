"""The sample collectivité: deterministic, realistic, scalable, with the documented bad values."""
from emulator.sample import BAD_VALUES, REFERENCE_PROJECTS, generate


def test_same_seed_same_data_other_seed_other_data():
    a, b = generate(40), generate(40)
    assert a.lists == b.lists and a.users == b.users
    assert generate(40, seed=7).lists["projects"][10] != a.lists["projects"][10]


def test_reference_projects_and_bad_values_are_where_documented():
    s = generate(40)
    codes = [p["code"] for p in s.lists["projects"][:3]]
    assert codes == list(REFERENCE_PROJECTS)
    for key, idx, col, value in BAD_VALUES:
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
