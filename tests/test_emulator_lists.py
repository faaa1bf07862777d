"""Emulator through the real client: auth, lists, fields and internal names, errors."""
from __future__ import annotations

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.lists.creation_information import ListCreationInformation

from tests.conftest import client


def _http(srv, method, path, token="manage-token", **kw):
    headers = {"Accept": "application/json;odata=verbose", **kw.pop("headers", {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, srv.site_url("projets") + path, headers=headers, timeout=10, **kw)


def test_unauthenticated_and_unknown_token_get_401(emulator):
    r = _http(emulator, "GET", "/_api/web", token=None)
    assert r.status_code == 401
    assert "UnauthorizedAccessException" in r.json()["error"]["code"]
    assert _http(emulator, "GET", "/_api/web", token="nope").status_code == 401
    with pytest.raises(ClientRequestException):
        ctx = client(emulator)
        ctx.authentication_context.with_access_token(
            lambda: {"access_token": "nope", "token_type": "Bearer"})
        ctx.web.get().execute_query()


def test_roles_read_cannot_write_and_write_cannot_create_lists(emulator):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Projets")
    lst.add_item({"Title": "A"})
    reader = client(emulator, "read")
    items = reader.web.lists.get_by_title("Projets").items.get().execute_query()
    assert [i.properties["Title"] for i in items] == ["A"]
    with pytest.raises(ClientRequestException) as e:
        reader.web.lists.get_by_title("Projets").add_item({"Title": "B"}).execute_query()
    assert e.value.response.status_code == 403
    writer = client(emulator, "write")
    writer.web.lists.get_by_title("Projets").add_item({"Title": "B"}).execute_query()
    assert len(lst.items) == 2
    with pytest.raises(ClientRequestException) as e:
        writer.web.lists.add(ListCreationInformation("Autre", None, 100)).execute_query()
    assert e.value.response.status_code == 403
    with pytest.raises(ClientRequestException) as e:
        writer.web.lists.get_by_title("Projets").fields.add_text_field("X").execute_query()
    assert e.value.response.status_code == 403


def test_token_bound_to_one_site(emulator):
    from emulator import auth
    emulator.auth.grants["only-b"] = auth.Grant("only-b", "manage", "b")
    assert _http(emulator, "GET", "/_api/web", token="only-b").status_code == 403
    r = requests.get(emulator.site_url("b") + "/_api/web",
                     headers={"Authorization": "Bearer only-b", "Accept": "application/json;odata=verbose"})
    assert r.status_code == 200 and r.json()["d"]["Title"] == "b"


def test_create_list_fields_internal_names_and_rename(sp, emulator):
    lst = sp.web.lists.add(ListCreationInformation("Projets", None, 100)).execute_query()
    assert lst.properties["ListItemEntityTypeFullName"] == "SP.Data.ProjetsListItem"
    f = lst.fields.add_text_field("Date de fin prévisionnelle du projet").execute_query()
    # spaces and accents encoded, cut to 32 characters
    assert f.internal_name == "Date_x0020_de_x0020_fin_x0020_pr"
    assert len(f.internal_name) == 32
    elu = lst.fields.add_text_field("Élu référent").execute_query()
    assert elu.internal_name == "_x00c9_lu_x0020_r_x00e9_f_x00e9_"
    assert elu.properties["EntityPropertyName"] == "OData__x00c9_lu_x0020_r_x00e9_f_x00e9_"
    ch = lst.fields.add_choice_field("Phase", ["Études", "Travaux"]).execute_query()
    assert ch.properties["Choices"] == ["Études", "Travaux"] or list(ch.properties["Choices"]) == ["Études", "Travaux"]
    for kind in ("add_number", "add_datetime", "add_url_field", "add_note"):
        getattr(lst.fields, kind)(f"Champ {kind}").execute_query()
    lst.fields.add_user_field("Chef de projet").execute_query()
    lst.fields.add_lookup_field("Projet parent", lst, "Title").execute_query()
    sp.web.lists.get_by_title("Projets").fields.add(
        __import__("office365.sharepoint.fields.type", fromlist=["FieldType"]).FieldType.Boolean,
        Title="Actif").execute_query()
    # rename keeps the internal name
    fld = lst.fields.get_by_internal_name_or_title("Date_x0020_de_x0020_fin_x0020_pr")
    fld.set_property("Title", "Fin prévue").update().execute_query()
    again = lst.fields.get_by_title("Fin prévue").get().execute_query()
    assert again.internal_name == "Date_x0020_de_x0020_fin_x0020_pr"
    kinds = {x.properties["Title"]: x.properties["TypeAsString"] for x in lst.fields.get().execute_query()}
    assert kinds["Chef de projet"] == "User" and kinds["Projet parent"] == "Lookup"
    assert kinds["Champ add_url_field"] == "URL" and kinds["Actif"] == "Boolean"


def test_lists_by_title_and_guid_and_delete(sp, emulator):
    lst = sp.web.lists.add(ListCreationInformation("Rapports COPIL", None, 101)).execute_query()
    assert lst.properties["BaseTemplate"] == 101
    by_id = sp.web.lists.get_by_id(lst.id).get().execute_query()
    assert by_id.properties["Title"] == "Rapports COPIL"
    r = _http(emulator, "GET", f"/_api/web/lists(guid'{lst.id}')")
    assert r.json()["d"]["Title"] == "Rapports COPIL"
    sp.web.lists.get_by_title("Rapports COPIL").delete_object().execute_query()
    with pytest.raises(ClientRequestException) as e:
        sp.web.lists.get_by_title("Rapports COPIL").get().execute_query()
    assert e.value.response.status_code == 404
    assert "does not exist" in e.value.response.json()["error"]["message"]["value"]


def test_unsupported_path_answers_501_naming_it(emulator):
    emulator.backend.ensure_site("projets").create_list("X")
    r = _http(emulator, "GET", "/_api/web/lists/getbytitle('X')/views")
    assert r.status_code == 501
    body = r.json()["error"]
    assert "NotImplementedException" in body["code"]
    assert "views" in body["message"]["value"]
    assert _http(emulator, "GET", "/_api/search/query").status_code == 501


def test_contextinfo_and_timezone(emulator):
    r = _http(emulator, "POST", "/_api/contextinfo")
    assert r.json()["d"]["GetContextWebInformation"]["FormDigestValue"]
    tz = _http(emulator, "GET", "/_api/web/RegionalSettings/TimeZone").json()["d"]
    assert tz["Information"]["Bias"] == -60


def test_state_survives_restart(tmp_path):
    from emulator.server import start
    srv = start(data_dir=str(tmp_path))
    ctx = client(srv)
    lst = ctx.web.lists.add(ListCreationInformation("Projets", None, 100)).execute_query()
    lst.add_item({"Title": "persisté"}).execute_query()
    srv.stop()
    srv2 = start(data_dir=str(tmp_path))
    try:
        items = client(srv2).web.lists.get_by_title("Projets").items.get().execute_query()
        assert [i.properties["Title"] for i in items] == ["persisté"]
    finally:
        srv2.stop()
