"""In the list itself (issue 14): column formatting and views made by `init-site --upgrade` on a
site that already has data and a view a person made, the link to each project's latest report,
and the emulator's views and CAML as SharePoint answers them. All through the real client."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from docx import Document
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.types.collections import StringCollection
from office365.sharepoint.views.create_information import ViewCreationInformation

from connector import list_formats
from connector.pipeline import run_sync
from connector.provision import init_site
from connector.rules import RulesConfig
from connector.sharepoint import SharePointSite
from tests.conftest import client
from tests.support.formatting_eval import render, visible_text, walk
from tests.support.sync_helpers import AS_OF, config, item_state, seeded

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "support" / "column-formatting.schema.json").read_text(encoding="utf-8")
)
FORMATTED = {
    "Météo calculée",
    "Météo chef de projet",
    "Glissement (jours)",
    "Taux d'exécution CP",
    "Taux d'engagement AP",
    "Consommation AP",
    "Alertes",
}
VIEWS = {"Projets en alerte", "Par direction", "Par territoire", "Mes projets", "Données à corriger"}


def _person_view(srv, internal_title: str = "Title") -> dict:
    """A view a person made in the browser: their own title, query and columns."""
    ctx = client(srv, "manage")
    q = f'<OrderBy><FieldRef Name="{internal_title}" Ascending="FALSE" /></OrderBy>'
    ctx.web.lists.get_by_title("Projets").views.add(
        ViewCreationInformation(
            Title="Vue de Martine", Query=q, ViewFields=StringCollection(["LinkTitle"]), RowLimit=50
        )
    ).execute_query()
    return {"query": q, "fields": ["LinkTitle"], "row_limit": 50}


@pytest.fixture
def upgraded(emulator, tmp_path):
    """A site provisioned before issue 14 (no link column, no index on the météo, no formats,
    no views), synced once so it holds data, with a view and a manager's-météo format a person
    made; then `init-site --upgrade` with the manage right."""
    site = seeded(emulator, 12)
    lst = site.list_by_title("Projets")
    for f in list(lst.fields.values()):
        if f.title == "Dernier rapport COPIL":
            lst.fields.pop(f.internal_name)
        if f.title == "Météo calculée":
            f.indexed = False
        if f.title == "Météo chef de projet":
            f.custom_formatter = json.dumps({"elmType": "div", "txtContent": "@currentField"})
    cfg = config(emulator, tmp_path)
    summary = run_sync(cfg, as_of=AS_OF)
    assert summary.exit_code == 0 and summary.written == 12
    person = _person_view(emulator)
    before = item_state(site)
    versions = {i: it.hidden_version for i, it in lst.items.items()}
    manage = config(emulator, tmp_path, role="manage")
    lines = init_site(SharePointSite.from_config(manage), manage, upgrade=True)
    return emulator, site, lst, cfg, person, before, versions, lines


def test_upgrade_formats_views_and_touches_no_item(upgraded):
    srv, site, lst, cfg, person, before, versions, lines = upgraded
    by_title = {f.title: f for f in lst.fields.values()}
    # the new column and the index, no item changed (not even its hidden version)
    assert by_title["Dernier rapport COPIL"].kind == "URL"
    assert by_title["Météo calculée"].indexed
    assert item_state(site) == before
    assert {i: it.hidden_version for i, it in lst.items.items()} == versions
    # every copil column formatted, valid against the documented schema; the manager's météo
    # keeps the format a person made
    for title in FORMATTED - {"Météo chef de projet"}:
        fmt = json.loads(by_title[title].custom_formatter)
        jsonschema.validate(fmt, SCHEMA)
        assert list_formats.is_ours(by_title[title].custom_formatter)
    assert json.loads(by_title["Météo chef de projet"].custom_formatter) == {
        "elmType": "div",
        "txtContent": "@currentField",
    }
    assert any("Météo chef de projet" in line and "laissée" in line for line in lines)
    # the five views with their queries; the person's view untouched
    views = {v.title: v for v in lst.views.values()}
    assert VIEWS <= set(views)
    name = {f.title: f.internal_name for f in lst.fields.values()}
    alert = ET.fromstring(f"<Q>{views['Projets en alerte'].query}</Q>")
    assert {e.text for e in alert.iter("Value")} == {"Orage", "Nuageux"}
    assert {e.get("Name") for e in alert.find("Where").iter("FieldRef")} == {name["Météo calculée"]}
    assert alert.find("OrderBy/FieldRef").attrib == {"Name": name["Glissement (jours)"], "Ascending": "FALSE"}
    assert (
        ET.fromstring(f"<Q>{views['Par direction'].query}</Q>").find("GroupBy/FieldRef").get("Name")
        == name["Direction pilote"]
    )
    assert (
        ET.fromstring(f"<Q>{views['Par territoire'].query}</Q>").find("GroupBy/FieldRef").get("Name")
        == name["Territoire"]
    )
    mine = ET.fromstring(f"<Q>{views['Mes projets'].query}</Q>").find("Where/Eq")
    assert mine.find("FieldRef").attrib == {"Name": name["Chef de projet"], "LookupId": "TRUE"}
    assert mine.find("Value/UserID") is not None
    fix = ET.fromstring(f"<Q>{views['Données à corriger'].query}</Q>").find("Where/IsNotNull/FieldRef")
    assert fix.get("Name") == name["Qualité des données"]
    assert name["Dernier rapport COPIL"] in views["Projets en alerte"].fields
    martine = views["Vue de Martine"]
    assert (martine.query, martine.fields, martine.row_limit) == (
        person["query"],
        person["fields"],
        person["row_limit"],
    )


def test_upgrade_twice_changes_nothing_and_rules_drive_the_formats(upgraded, tmp_path):
    srv, site, lst, cfg, person, before, versions, lines = upgraded
    manage = config(srv, tmp_path, role="manage")
    sp = SharePointSite.from_config(manage)
    srv.faults.reset_counters()
    again = init_site(sp, manage, upgrade=True)
    assert not [line for line in again if "créée" in line or "mise à jour" in line or "appliquée" in line], again
    assert not [r for r in srv.stats()["by_route"] if r.endswith(("MERGE", "op:viewadd.POST"))]
    # thresholds changed in [rules]: the slippage format follows on the next upgrade
    stricter = config(srv, tmp_path, role="manage", rules={"slippage_storm_days": 60, "slippage_cloudy_days": 15})
    changed = init_site(SharePointSite.from_config(stricter), stricter, upgrade=True)
    assert any("Glissement (jours)" in line and "mise à jour" in line for line in changed)
    fmt = json.loads(lst.field_by_title("Glissement (jours)").custom_formatter)
    assert _colour(fmt, 60) == "#B71C1C" and _colour(fmt, 59) == "#B35C00" and _colour(fmt, 15) == "#B35C00"
    assert _colour(fmt, 14) == ""
    # without --upgrade, a format to bring up to date is only announced
    back = config(srv, tmp_path, role="manage")
    plain = init_site(SharePointSite.from_config(back), back)
    assert any("Glissement (jours)" in line and "--upgrade" in line for line in plain)
    assert json.loads(lst.field_by_title("Glissement (jours)").custom_formatter) == fmt


def _colour(fmt: dict, value) -> str:
    return render(fmt, value)["style"]["color"]


@pytest.mark.parametrize(
    "value,shown,colour",
    [
        (None, "", ""),
        (0, "0 j", ""),
        (29, "+29 j", ""),
        (30, "+30 j", "#B35C00"),
        (89, "+89 j", "#B35C00"),
        (90, "+90 j", "#B71C1C"),
        (-12, "-12 j", ""),
    ],
)
def test_slippage_format_at_the_exact_thresholds(value, shown, colour):
    """The rule is « ≥ seuil »: 30 days is Nuageux's orange, 90 Orage's red, as in the reports."""
    fmt = json.loads(list_formats.formats(RulesConfig())["slippage_days"])
    tree = render(fmt, "" if value is None else float(value))
    assert visible_text(tree) == shown
    assert tree["style"]["color"] == colour
    assert any(
        t["attributes"].get("iconName") == "Warning" and t["style"]["display"] == "inline" for t in walk(tree)
    ) == (colour == "#B71C1C")


@pytest.mark.parametrize(
    "value,shown,red",
    [
        (0.0, "0 %", False),
        (0.456, "46 %", False),
        (1.0, "100 %", False),
        (1.0004, "100 %", False),
        (1.0006, "100 %", True),
        (1.4, "140 %", True),
    ],
)
def test_ap_consumption_bar_turns_red_above_the_rule_at_printed_precision(value, shown, red):
    fmt = json.loads(list_formats.formats(RulesConfig())["ap_consumption"])
    tree = render(fmt, value)
    assert visible_text(tree) == shown
    bar = tree["children"][0]["children"][0]
    assert bar["style"]["width"] == ("100%" if value >= 1 else f"{value * 100:g}%" if value else "0%")
    assert (bar["style"]["background-color"] == "#B71C1C") == red


@pytest.mark.parametrize(
    "word,icon,colour",
    [
        ("Soleil", "Sunny", "#1B7A3A"),
        ("Nuageux", "CloudWeather", "#B35C00"),
        ("Orage", "Thunderstorms", "#B71C1C"),
        ("Indéterminé", "Unknown", "#5F6368"),
    ],
)
def test_weather_pill_has_icon_colour_and_the_word(word, icon, colour):
    fmt = json.loads(list_formats.formats(RulesConfig())["computed_weather"])
    tree = render(fmt, word)
    pill = tree["children"][0]
    assert pill["style"]["background-color"] == colour and pill["style"]["color"] == "#FFFFFF"
    assert "transparent" in pill["style"]["border"]  # drawn by high-contrast themes
    assert visible_text(tree) == word
    assert pill["children"][0]["attributes"]["iconName"] == icon
    assert visible_text(render(fmt, "")) == ""


def test_alerts_show_a_count_with_the_text_on_hover():
    fmt = json.loads(list_formats.formats(RulesConfig())["alerts"])
    two = "AP dépassée\nSubvention DETR : échéance proche"
    assert visible_text(render(fmt, two)) == "2 alertes"
    assert render(fmt, two)["children"][0]["attributes"]["title"] == two
    assert visible_text(render(fmt, "AP dépassée")) == "1 alerte"
    assert visible_text(render(fmt, "")) == ""


def test_items_by_view_as_sharepoint_answers_them(upgraded):
    """What staff see in each view: the emulator evaluates the CAML, [Me] is the caller."""
    srv, site, lst, *_ = upgraded
    name = {f.title: f.internal_name for f in lst.fields.values()}
    ctx = client(srv, "read")
    views = ctx.web.lists.get_by_title("Projets").views

    def titles(view: str) -> list[str]:
        return [i.properties["Title"] for i in views.get_by_title(view).get_items().execute_query()]

    items = list(lst.items.values())
    alert = sorted(
        (it for it in items if it.values.get(name["Météo calculée"]) in ("Orage", "Nuageux")),
        key=lambda it: -(it.values.get(name["Glissement (jours)"]) or float("-inf")),
    )
    assert titles("Projets en alerte") == [it.values["Title"] for it in alert] and alert
    fix = [it.values["Title"] for it in items if it.values.get(name["Qualité des données"])]
    assert sorted(titles("Données à corriger")) == sorted(fix) and fix
    assert len(fix) < len(items)  # an item without findings has an empty column, not « Aucune anomalie »
    # [Me]: the reader's account manages one project
    me = site.ensure_user(srv.auth.grants[srv.tokens["read"]].login)
    items[3].values[name["Chef de projet"]] = me.id
    assert titles("Mes projets") == [items[3].values["Title"]]
    by_direction = titles("Par direction")
    directions = [
        next(it for it in items if it.values["Title"] == t).values.get(name["Direction pilote"]) for t in by_direction
    ]
    assert directions == sorted(directions, key=lambda d: (d is not None, d or ""))  # grouped


def test_emulator_views_refuse_what_sharepoint_refuses(emulator, sp):
    site = emulator.backend.ensure_site("projets")
    site.create_list("Projets")
    views = sp.web.lists.get_by_title("Projets").views
    with pytest.raises(ClientRequestException) as e:
        views.get_by_title("Nulle part").get().execute_query()
    assert e.value.response.status_code == 404 and "view is invalid" in e.value.response.text
    with pytest.raises(ClientRequestException) as e:  # malformed CAML refused at creation
        views.add(ViewCreationInformation(Title="X", Query="<Where><Eq>")).execute_query()
    assert e.value.response.status_code == 400
    with pytest.raises(ClientRequestException) as e:  # an element the emulator does not evaluate: 501 naming it
        views.add(ViewCreationInformation(Title="X", Query="<Where><DateRangesOverlap /></Where>")).execute_query()
    assert e.value.response.status_code == 501 and "DateRangesOverlap" in e.value.response.text
    with pytest.raises(ClientRequestException) as e:
        views.add(ViewCreationInformation(Title="X", ViewFields=StringCollection(["Nope"]))).execute_query()
    assert e.value.response.status_code == 400
    default = [v for v in views.get().execute_query() if v.properties["DefaultView"]]
    assert [v.properties["Title"] for v in default] == ["Tous les éléments"]
    with pytest.raises(ClientRequestException):
        default[0].delete_object().execute_query()


def test_caml_comparisons_at_the_boundary(emulator, sp):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Projets")
    n = lst.add_field("Glissement", "Number").internal_name
    for i, v in enumerate((29.0, 30.0, 31.0, None)):
        lst.add_item({"Title": f"P{i}", n: v})

    def titles(where: str) -> list[str]:
        from office365.sharepoint.listitems.caml.query import CamlQuery

        q = CamlQuery()
        q.ViewXml = f"<View><Query><Where>{where}</Where></Query></View>"
        return [i.properties["Title"] for i in sp.web.lists.get_by_title("Projets").get_items(q).execute_query()]

    assert titles(f'<Geq><FieldRef Name="{n}" /><Value Type="Number">30</Value></Geq>') == ["P1", "P2"]
    assert titles(f'<Gt><FieldRef Name="{n}" /><Value Type="Number">30</Value></Gt>') == ["P2"]
    assert titles(f'<Lt><FieldRef Name="{n}" /><Value Type="Number">30</Value></Lt>') == ["P0"]
    assert titles(f'<IsNull><FieldRef Name="{n}" /></IsNull>') == ["P3"]
    assert titles('<Eq><FieldRef Name="Title" /><Value Type="Text">p2</Value></Eq>') == ["P2"]  # case-insensitive


def test_each_project_links_to_its_latest_report_and_a_second_run_does_not_rewrite_it(emulator, tmp_path):
    site = seeded(emulator, 6)
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    first = run_sync(cfg, as_of=AS_OF)
    assert first.exit_code == 0 and first.links_written == 6
    lst = site.list_by_title("Projets")
    link = lst.field_by_title("Dernier rapport COPIL").internal_name
    code = lst.field_by_title("Code opération").internal_name
    host = emulator.site_url("projets").split("/sites/")[0]
    for it in lst.items.values():
        value = it.values[link]
        assert value["Description"] == f"Fiche projet {it.values[code]}"
        path = value["Url"][len(host) :]
        from urllib.parse import unquote

        f = site.files[unquote(path).lower()]  # the link leads to the published file
        assert f.name == f"Fiche projet {it.values[code]}.docx"
        doc = Document(io.BytesIO(f.content))  # and the report links back to the item
        targets = [r.target_ref for r in doc.part.rels.values() if r.reltype.endswith("/hyperlink")]
        assert any(t.endswith(f"DispForm.aspx?ID={it.id}") for t in targets), targets
    versions = {i: it.hidden_version for i, it in lst.items.items()}
    emulator.faults.reset_counters()
    second = run_sync(cfg, as_of=AS_OF)
    assert second.exit_code == 0 and second.links_written == 0
    assert {i: it.hidden_version for i, it in lst.items.items()} == versions
    assert "batch:op:validate.POST" not in emulator.stats()["by_route"]


def test_the_last_frozen_edition_is_the_link_of_the_projects_it_covers(emulator, tmp_path):
    """The avenue de la Gare's project COPIL of 8 December is frozen that night: its item's
    « Dernier rapport COPIL » is that dossier; « Fiche projet » stays the living file; the other
    projects, covered by no frozen edition yet, link to their living files."""
    from datetime import date
    from urllib.parse import unquote

    site = seeded(emulator, 6)
    cfg = config(emulator, tmp_path, reports={"enabled": True})
    night = run_sync(cfg, as_of=date(2026, 12, 8))
    assert night.exit_code == 0 and night.dossiers_frozen == ["COPIL avenue de la Gare du 08/12/2026"]
    lst = site.list_by_title("Projets")
    col = {t: lst.field_by_title(t).internal_name for t in ("Dernier rapport COPIL", "Fiche projet", "Code opération")}
    host = emulator.site_url("projets").split("/sites/")[0]
    for it in lst.items.values():
        code = it.values[col["Code opération"]]
        last, living = it.values[col["Dernier rapport COPIL"]], it.values[col["Fiche projet"]]
        assert living["Description"] == f"Fiche projet {code}"
        assert site.files[unquote(living["Url"][len(host) :]).lower()].name == f"Fiche projet {code}.docx"
        if code == "PPI-2024-002":
            assert last["Description"] == "COPIL avenue de la Gare du 08/12/2026"
            f = site.files[unquote(last["Url"][len(host) :]).lower()]
            assert "/Comités/2026-12-08 COPIL avenue de la Gare/" in f.url and "PPI-2024-002" in f.name
        else:
            assert last == living
    again = run_sync(cfg, as_of=date(2026, 12, 9))
    assert again.links_written == 0


def test_a_site_without_the_link_column_still_runs_and_says_how_to_add_it(emulator, tmp_path, caplog):
    site = seeded(emulator, 4)
    lst = site.list_by_title("Projets")
    lst.fields.pop(lst.field_by_title("Dernier rapport COPIL").internal_name)
    lst.fields.pop(lst.field_by_title("Fiche projet").internal_name)
    summary = run_sync(config(emulator, tmp_path, reports={"enabled": True}), as_of=AS_OF)
    assert summary.exit_code == 0 and summary.reports_uploaded == 5 and summary.links_written == 0
    assert "copil init-site --upgrade" in caplog.text


def test_upgrade_on_a_site_named_otherwise_in_another_zone(emulator, tmp_path):
    """« Opérations PPI », columns renamed with apostrophes, Nouméa, en-US: formats and views
    land on the site's own internal names; a run then fills the views."""
    from sample.collectivite import Layout, generate, seed_site

    layout = Layout(
        titles={"projects": "Opérations PPI"},
        timezone_id=86,
        locale_id=1033,
        columns={
            ("projects", "computed_weather"): "Météo d'après copil",
            ("projects", "slippage_days"): "Retard (j)",
            ("projects", "data_quality"): "Saisies à revoir",
        },
    )
    site = emulator.backend.ensure_site("projets")
    site.set_regional(timezone_id=layout.timezone_id, locale_id=layout.locale_id)
    seed_site(site, generate(8), layout)
    cfg = config(emulator, tmp_path, **layout.config())
    assert run_sync(cfg, as_of=AS_OF).exit_code == 0
    manage = config(emulator, tmp_path, role="manage", **layout.config())
    init_site(SharePointSite.from_config(manage), manage, upgrade=True)
    lst = site.list_by_title("Opérations PPI")
    name = {f.title: f.internal_name for f in lst.fields.values()}
    assert list_formats.is_ours(lst.field_by_title("Météo d'après copil").custom_formatter)
    views = {v.title: v for v in lst.views.values()}
    assert views["All Items"].default  # the default view in the site's language (en-US)
    alert = ET.fromstring(f"<Q>{views['Projets en alerte'].query}</Q>")
    assert {e.get("Name") for e in alert.iter("FieldRef")} == {name["Météo d'après copil"], name["Retard (j)"]}
    items = (
        client(emulator, "read")
        .web.lists.get_by_title("Opérations PPI")
        .views.get_by_title("Données à corriger")
        .get_items()
        .execute_query()
    )
    assert sorted(i.properties["Title"] for i in items) == sorted(
        it.values["Title"] for it in lst.items.values() if it.values.get(name["Saisies à revoir"])
    )
