"""Emulator items through the real client: queries, paging, threshold, ETags, versions,
system updates, throttling and $batch."""

from __future__ import annotations

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.client_result import ClientResult
from office365.runtime.client_value_collection import ClientValueCollection
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.sharepoint.listitems.form_update_value import ListItemFormUpdateValue

from tests.conftest import client


def _seed(emulator, n=5):
    site = emulator.backend.ensure_site("projets")
    projets = site.create_list("Projets")
    code = projets.add_field("Code opération", "Text", indexed=True)
    budget = projets.add_field("AP votée", "Number")
    fin = projets.add_field("Fin prévue", "DateTime")
    chef = projets.add_field("Chef de projet", "User")
    jalons = site.create_list("Jalons")
    lk = jalons.add_field("Projet", "Lookup", lookup_list_id=projets.id, indexed=True)
    u = site.ensure_user("i:0#.f|membership|claire.martin@ville.fr", "Claire Martin", "claire.martin@ville.fr")
    for i in range(1, n + 1):
        projets.add_item(
            {
                "Title": f"Projet {i}",
                code.internal_name: f"PPI-2025-{i:03d}",
                budget.internal_name: 100000.0 * i,
                fin.internal_name: f"2026-0{i}-14T22:00:00Z" if i < 10 else None,
                chef.internal_name: u.id if i % 2 else None,
            }
        )
        jalons.add_item({"Title": f"APD {i}", lk.internal_name: i})
    return site, projets, jalons


def test_select_filter_orderby_expand(emulator):
    _seed(emulator)
    lst = client(emulator).web.lists.get_by_title("Projets")
    q = lst.items.select(["Id", "Title", "AP_x0020_vot_x00e9_e"]).filter(
        "AP_x0020_vot_x00e9_e ge 200000 and (startswith(Title,'Projet') or Title eq 'x')"
    )
    q.query_options.custom["$orderby"] = "AP_x0020_vot_x00e9_e desc"  # see test_client_order_by_bug
    got = q.get().execute_query()
    assert [i.properties["Title"] for i in got] == ["Projet 5", "Projet 4", "Projet 3", "Projet 2"]
    assert set(got[0].properties) >= {"Id", "Title", "AP_x0020_vot_x00e9_e"}
    assert "Code_x0020_op_x00e9_ration" not in got[0].properties
    got = (
        lst.items.filter(
            "Fin_x0020_pr_x00e9_vue lt datetime'2026-03-01T00:00:00Z' and "
            "substringof('2025-00',Code_x0020_op_x00e9_ration)"
        )
        .get()
        .execute_query()
    )
    assert [i.properties["Title"] for i in got] == ["Projet 1", "Projet 2"]
    got = lst.items.filter("Title ne 'Projet 1' and not (AP_x0020_vot_x00e9_e gt 300000)").get().execute_query()
    assert [i.id for i in got] == [2, 3]
    jal = (
        client(emulator)
        .web.lists.get_by_title("Jalons")
        .items.select(["Title", "Projet/Id", "Projet/Title"])
        .expand(["Projet"])
        .filter("Projet/Id eq 3")
        .get()
        .execute_query()
    )
    assert len(jal) == 1 and jal[0].properties["Projet"]["Title"] == "Projet 3"
    people = (
        lst.items.select(["Title", "Chef_x0020_de_x0020_projet/Title", "Chef_x0020_de_x0020_projetId"])
        .expand(["Chef_x0020_de_x0020_projet"])
        .filter("Id eq 1")
        .get()
        .execute_query()
    )
    assert people[0].properties["Chef_x0020_de_x0020_projet"]["Title"] == "Claire Martin"
    assert people[0].properties["Chef_x0020_de_x0020_projetId"] > 0


def test_client_order_by_bug_gets_sharepoint_400(emulator):
    """office365 3.3 `order_by()` sends `$order_by`, which SharePoint rejects; copil sets `$orderby`."""
    _seed(emulator, 2)
    lst = client(emulator).web.lists.get_by_title("Projets")
    with pytest.raises(ClientRequestException) as e:
        lst.items.order_by("Title").get().execute_query()
    assert e.value.response.status_code == 400
    assert "$order_by" in e.value.response.json()["error"]["message"]["value"]


def test_select_unknown_field_and_nested_without_expand_are_400(emulator):
    _seed(emulator)
    lst = client(emulator).web.lists.get_by_title("Jalons")
    with pytest.raises(ClientRequestException) as e:
        lst.items.select(["Nope"]).get().execute_query()
    assert e.value.response.status_code == 400
    with pytest.raises(ClientRequestException) as e:
        lst.items.select(["Projet/Title"]).get().execute_query()
    assert "expand" in e.value.response.json()["error"]["message"]["value"]


def test_items_carry_etag_created_modified_author_editor(emulator):
    _seed(emulator, 1)
    r = requests.get(
        emulator.site_url() + "/_api/web/lists/getbytitle('Projets')/items(1)",
        headers={"Authorization": "Bearer read-token", "Accept": "application/json;odata=verbose"},
    )
    d = r.json()["d"]
    assert d["__metadata"]["etag"] == '"1"'
    assert d["Id"] == d["ID"] == 1
    for k in ("Created", "Modified", "AuthorId", "EditorId"):
        assert d[k]


def test_paging_12000_items_with_next_and_get_all(emulator):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Gros")
    for i in range(12000):
        lst.add_item({"Title": f"L{i}"})
    ctx = client(emulator, "read")
    items = ctx.web.lists.get_by_title("Gros").items.select(["Id", "Title"]).top(5000).get_all().execute_query()
    ids = [i.id for i in items]
    assert len(ids) == 12000 and ids == sorted(set(ids))
    pages = [e for e in emulator.faults.entries() if e["route"] == "items.GET"]
    assert len(pages) == 3  # 5000 + 5000 + 2000, following __next


def test_list_view_threshold(emulator):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Gros")
    stat = lst.add_field("Statut", "Text")
    code = lst.add_field("Code", "Text", indexed=True)
    for i in range(5001):
        lst.add_item({"Title": f"L{i}", stat.internal_name: "ok", code.internal_name: f"C{i}"})
    ctx = client(emulator, "read")
    items = ctx.web.lists.get_by_title("Gros").items
    with pytest.raises(ClientRequestException) as e:
        items.filter("Statut eq 'ok'").top(10).get().execute_query()
    assert e.value.response.status_code == 500
    assert e.value.response.json()["error"]["code"].startswith("-2147024860")
    with pytest.raises(ClientRequestException) as e:
        q = ctx.web.lists.get_by_title("Gros").items.top(10)
        q.query_options.custom["$orderby"] = "Title"
        q.get().execute_query()
    assert e.value.response.status_code == 500
    fresh = lambda: ctx.web.lists.get_by_title("Gros").items  # noqa: E731 - options accumulate
    assert len(fresh().filter("Code eq 'C42'").get().execute_query()) == 1  # indexed column: allowed
    assert len(fresh().filter("Id gt 4990").top(100).get().execute_query()) == 11  # ID: allowed


def test_stale_etag_gets_412_and_star_overwrites(emulator):
    _seed(emulator, 1)
    ctx = client(emulator, "write")
    item = ctx.web.lists.get_by_title("Projets").get_item_by_id(1)
    item.set_property("Title", "v2").update().execute_query()  # client sends IF-MATCH: *
    stale = client(emulator, "write")
    it = stale.web.lists.get_by_title("Projets").get_item_by_id(1)
    it.set_property("Title", "v3").update()
    stale.before_execute(lambda r: r.set_header("IF-MATCH", '"1"'), once=False)
    with pytest.raises(ClientRequestException) as e:
        stale.execute_query()
    assert e.value.response.status_code == 412
    assert emulator.backend.site("projets").list_by_title("Projets").items[1].values["Title"] == "v2"


def _validate(ctx, item, form: dict, system: bool):
    rt = ClientResult(ctx, ClientValueCollection(ListItemFormUpdateValue))
    payload = {
        "formValues": [
            {"__metadata": {"type": "SP.ListItemFormUpdateValue"}, "FieldName": k, "FieldValue": v}
            for k, v in form.items()
        ],
        "bNewDocumentUpdate": system,
    }
    ctx.add_query(ServiceOperationQuery(item, "ValidateUpdateListItem", None, payload, None, rt))
    return rt


def test_versions_and_system_update_keeps_modified_editor(emulator):
    site, projets, _ = _seed(emulator, 1)
    item = projets.items[1]
    before_mod, before_ed = item.modified, item.editor_id
    ctx = client(emulator, "write")
    it = ctx.web.lists.get_by_title("Projets").get_item_by_id(1)
    res = _validate(ctx, it, {"AP_x0020_vot_x00e9_e": "1234,5", "Title": "Système"}, True)
    ctx.execute_query()
    assert not any(v.HasException for v in res.value)
    assert item.values["AP_x0020_vot_x00e9_e"] == 1234.5
    assert (item.modified, item.editor_id, item.ui_version) == (before_mod, before_ed, 1)
    versions = ctx.web.lists.get_by_title("Projets").get_item_by_id(1).versions.get().execute_query()
    assert len(versions) == 1
    # a user update bumps the version and Modified/Editor
    it.set_property("Title", "Utilisateur").update().execute_query()
    versions = ctx.web.lists.get_by_title("Projets").get_item_by_id(1).versions.get().execute_query()
    assert [v.properties["VersionLabel"] for v in versions] == ["2.0", "1.0"]
    assert item.editor_id != before_ed
    # the site is fr-FR: "0.5" is not a number there; nothing is written when a value fails
    res = _validate(ctx, it, {"AP_x0020_vot_x00e9_e": "0.5", "Title": "jamais"}, True)
    ctx.execute_query()
    bad = [v for v in res.value if v.HasException]
    assert len(bad) == 1 and bad[0].FieldName == "AP_x0020_vot_x00e9_e"
    assert item.values["Title"] == "Utilisateur"


def test_validate_update_with_editor_and_modified_form_values(emulator):
    site, projets, _ = _seed(emulator, 1)
    ctx = client(emulator, "write")
    it = ctx.web.lists.get_by_title("Projets").get_item_by_id(1)
    _validate(
        ctx,
        it,
        {
            "Title": "x",
            "Editor": '[{"Key":"i:0#.f|membership|claire.martin@ville.fr"}]',
            "Modified": "03/02/2026 10:15:30",
        },
        False,
    )
    ctx.execute_query()
    item = projets.items[1]
    assert site.user(item.editor_id).title == "Claire Martin"
    assert item.modified.isoformat() == "2026-02-03T09:15:30+00:00"  # Paris local time -> UTC


def test_429_retry_after_is_honoured_by_the_client(emulator):
    _seed(emulator, 2)
    emulator.admin("POST", "faults", json={"throttle": {"every_n": 2, "status": 429, "retry_after": 1}})
    ctx = client(emulator, "read")
    lst = ctx.web.lists.get_by_title("Projets").items.get()
    ctx.execute_query_with_incremental_retry(max_retry=5)
    assert len(lst) == 2
    log = emulator.admin("GET", "log").json()["entries"]
    throttled = [i for i, e in enumerate(log) if e["status"] == 429]
    assert throttled
    i = throttled[0]
    assert log[i + 1]["t"] - log[i]["t"] >= 0.95  # waited Retry-After before retrying
    assert emulator.admin("GET", "stats").json()["throttled"] >= 1


def test_batch_of_100_with_one_failure_is_not_transactional(emulator):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Projets")
    for i in range(120):
        lst.add_item({"Title": f"P{i}"})
    ctx = client(emulator, "write")
    splist = ctx.web.lists.get_by_title("Projets")
    for i in range(1, 101):
        _validate(ctx, splist.get_item_by_id(9999 if i == 50 else i), {"Title": f"new{i}"}, True)
    with ctx.collect_batch_failures() as failures:
        ctx.execute_batch()
    assert len(failures) == 1 and failures[0][1].response.status_code == 404
    assert sum(1 for it in lst.items.values() if it.values["Title"].startswith("new")) == 99
    stats = emulator.stats()
    assert stats["by_route"]["batch.POST"] == 1
    assert stats["by_route"]["batch:op:validate.POST"] == 99


def test_batch_over_100_operations_is_refused(emulator):
    body = (
        "".join(
            f"--b\nContent-Type: application/http\n\nGET {emulator.site_url()}/_api/web HTTP/1.1\n\n"
            for _ in range(101)
        )
        + "--b--\n"
    )
    r = requests.post(
        emulator.site_url() + "/_api/$batch",
        data=body.encode(),
        headers={"Authorization": "Bearer read-token", "Content-Type": "multipart/mixed; boundary=b"},
    )
    assert r.status_code == 400 and "100" in r.json()["error"]["message"]["value"]


def test_add_merge_delete_and_lookup_by_id(emulator):
    _seed(emulator, 2)
    ctx = client(emulator, "write")
    jal = ctx.web.lists.get_by_title("Jalons")
    new = jal.add_item({"Title": "AOR", "ProjetId": 2}).execute_query()
    assert new.properties["ProjetId"] == 2
    with pytest.raises(ClientRequestException) as e:
        jal.add_item({"Title": "x", "Inconnu": 1}).execute_query()
    assert "does not exist on type" in e.value.response.json()["error"]["message"]["value"]
    jal.get_item_by_id(new.id).delete_object().execute_query()
    assert new.id not in emulator.backend.site("projets").list_by_title("Jalons").items
