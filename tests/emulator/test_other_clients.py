"""The emulator for clients other than Office365-REST-Python-Client (issue 15): query strings
encoded with `+`, JSON light chosen by the Accept header, properties never silently dropped,
`$select` errors, `$expand=RootFolder`. Raw HTTP as PnPjs sends it, and the Python client."""

from __future__ import annotations

import requests
from office365.sharepoint.lists.creation_information import ListCreationInformation

from tests.conftest import client

NOMETA = "application/json;odata=nometadata"
MINIMAL = "application/json;odata=minimalmetadata"


def _http(srv, method, path, accept="application/json;odata=verbose", **kw):
    headers = {"Accept": accept, "Authorization": f"Bearer {srv.tokens['manage']}", **kw.pop("headers", {})}
    return requests.request(method, srv.site_url("projets") + "/_api/" + path, headers=headers, timeout=10, **kw)


def _list_with_items(srv, n=3):
    site = srv.backend.ensure_site("projets")
    lst = site.create_list("Test liste PnP", 100)
    for i in range(n):
        lst.add_item({"Title": f"élément {i + 1}"})
    return lst


def test_plus_in_a_query_string_is_a_space(emulator):
    _list_with_items(emulator)
    base = "web/lists/GetByTitle('Test%20liste%20PnP')/items"
    r = _http(emulator, "GET", base + "?$orderby=Id+desc&$filter=Id+gt+1&$select=Id,Title")
    assert r.status_code == 200, r.text
    assert [x["Id"] for x in r.json()["d"]["results"]] == [3, 2]
    r = _http(emulator, "GET", "web/lists/GetByTitle('Test%20liste%20PnP')/fields?$filter=Hidden+eq+false")
    assert r.status_code == 200 and r.json()["d"]["results"]
    # the same inside a $batch
    body = (
        "--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {emulator.site_url('projets')}/_api/{base}?$orderby=Id+desc&$top=1 HTTP/1.1\r\n"
        "Accept: application/json;odata=nometadata\r\n\r\n\r\n--batch_x--\r\n"
    )
    r = _http(
        emulator, "POST", "$batch", data=body.encode(), headers={"Content-Type": "multipart/mixed; boundary=batch_x"}
    )
    assert r.status_code == 200 and '"Id":3' in r.text and "odata=nometadata" in r.text


def test_json_light_entities_collections_paging_and_errors(emulator):
    lst = _list_with_items(emulator, 3)
    path = "web/lists/GetByTitle('Test%20liste%20PnP')"
    light = _http(emulator, "GET", path, accept=NOMETA)
    assert light.headers["Content-Type"].startswith("application/json;odata=nometadata")
    body = light.json()
    assert "d" not in body and "__metadata" not in body and body["Title"] == "Test liste PnP"
    assert "RootFolder" not in body  # navigation links are left out, not deferred
    minimal = _http(emulator, "GET", path, accept=MINIMAL).json()
    assert minimal["odata.type"] == "SP.List" and minimal["odata.editLink"].startswith("Web/Lists(guid'")
    assert _http(emulator, "GET", path, accept="application/json").json()["odata.type"] == "SP.List"
    page = _http(emulator, "GET", path + "/items?$top=2&$select=Id", accept=NOMETA).json()
    assert [x["Id"] for x in page["value"]] == [1, 2] and "odata.nextLink" in page
    rest = requests.get(
        page["odata.nextLink"], headers={"Accept": NOMETA, "Authorization": f"Bearer {emulator.tokens['manage']}"}
    )
    assert [x["Id"] for x in rest.json()["value"]] == [3]
    item = _http(emulator, "GET", path + "/items(1)", accept=MINIMAL).json()
    verbose = _http(emulator, "GET", path + "/items(1)").json()["d"]["__metadata"]
    assert item["odata.etag"] == verbose["etag"] and item["odata.type"] == lst.entity_type
    err = _http(emulator, "GET", "web/lists/GetByTitle('Absente')", accept=NOMETA)
    assert err.status_code == 404 and "odata.error" in err.json() and "error" not in err.json()


def test_validate_update_list_item_returns_the_array_in_json_light(emulator):
    _list_with_items(emulator, 1)
    r = _http(
        emulator,
        "POST",
        "web/lists/GetByTitle('Test%20liste%20PnP')/items(1)/ValidateUpdateListItem",
        accept=NOMETA,
        json={"formValues": [{"FieldName": "Title", "FieldValue": "nouveau"}], "bNewDocumentUpdate": False},
    )
    assert r.status_code == 200, r.text
    value = r.json()["value"]
    assert isinstance(value, list) and value[0]["FieldName"] == "Title" and value[0]["HasException"] is False


def test_unknown_select_is_a_400_and_expand_root_folder(emulator):
    _list_with_items(emulator, 1)
    path = "web/lists/GetByTitle('Test%20liste%20PnP')"
    r = _http(emulator, "GET", path + "?$select=Title,Nope")
    assert r.status_code == 400 and "The property 'Nope' does not exist on type 'SP.List'" in r.text
    r = _http(emulator, "GET", path + "?$expand=RootFolder&$select=Title,RootFolder/ServerRelativeUrl,RootFolder")
    assert r.status_code == 200, r.text
    assert r.json()["d"]["RootFolder"]["ServerRelativeUrl"] == "/sites/projets/Lists/Test liste PnP"
    light = _http(emulator, "GET", path + "?$expand=RootFolder", accept=NOMETA).json()
    assert light["RootFolder"]["Name"] == "Test liste PnP"


def test_list_description_is_kept_on_create_and_merge(emulator):
    ctx = client(emulator)
    info = ListCreationInformation("Avec description", "Projets du mandat", 100)
    lst = ctx.web.lists.add(info).execute_query()
    assert lst.properties["Description"] == "Projets du mandat"
    lst.set_property("Description", "Projets 2026-2032").update().execute_query()
    again = ctx.web.lists.get_by_title("Avec description").get().execute_query()
    assert again.properties["Description"] == "Projets 2026-2032"
    r = _http(
        emulator,
        "POST",
        "web/lists/GetByTitle('Avec%20description')",
        json={"__metadata": {"type": "SP.List"}, "EnableFolderCreation": True},
        headers={"X-HTTP-Method": "MERGE", "Content-Type": "application/json;odata=verbose"},
    )
    assert r.status_code == 501 and "EnableFolderCreation" in r.text  # never looks saved while dropped


def test_recycle_an_item_and_a_file_then_restore(emulator):
    lst = _list_with_items(emulator, 2)
    path = "web/lists/GetByTitle('Test%20liste%20PnP')"
    r = _http(emulator, "POST", path + "/items(1)/recycle()", accept=NOMETA)
    assert r.status_code == 200, r.text
    bin_id = r.json()["value"]
    assert 1 not in lst.items
    entries = _http(emulator, "GET", "web/RecycleBin", accept=NOMETA).json()["value"]
    assert [(e["Id"], e["Title"], e["ItemType"]) for e in entries] == [(bin_id, "élément 1", 1)]
    assert _http(emulator, "POST", f"web/RecycleBin('{bin_id}')/restore()").status_code == 200
    assert lst.items[1].values["Title"] == "élément 1"
    assert _http(emulator, "GET", "web/RecycleBin", accept=NOMETA).json()["value"] == []
    # a file goes with its item, and comes back
    site = emulator.backend.ensure_site("projets")
    lib = site.create_list("Pièces", 101)
    site.add_file("Pièces", "", "note.txt", b"bonjour")
    r = _http(
        emulator,
        "POST",
        "web/GetFileByServerRelativePath(decodedurl='/sites/projets/Pi%C3%A8ces/note.txt')/recycle()",
        accept=NOMETA,
    )
    assert r.status_code == 200 and not lib.items
    assert (
        _http(
            emulator, "GET", "web/GetFileByServerRelativePath(decodedurl='/sites/projets/Pi%C3%A8ces/note.txt')"
        ).status_code
        == 404
    )
    _http(emulator, "POST", f"web/RecycleBin('{r.json()['value']}')/restore()")
    assert site.file("/sites/projets/Pièces/note.txt").content == b"bonjour" and len(lib.items) == 1


def test_field_values_as_text_in_the_site_locale(emulator):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Valeurs", 100)
    num = lst.add_field("Montant", "Number")
    when = lst.add_field("Échéance", "DateTime")
    lst.add_item({"Title": "a", num.internal_name: 1234.5, when.internal_name: "2026-11-24T23:00:00Z"})
    r = _http(emulator, "GET", "web/lists/GetByTitle('Valeurs')/items(1)/FieldValuesAsText", accept=NOMETA)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["Title"] == "a" and body[num.internal_name] == "1\u202f234,5"
    assert body["OData_" + when.internal_name] == "25/11/2026 00:00"  # Paris, not UTC; OData_ as on any entity


def test_render_list_data_as_stream_pages_a_plain_view(emulator):
    _list_with_items(emulator, 5)
    xml = (
        "<View><Query><Where><Gt><FieldRef Name='ID'/><Value Type='Counter'>1</Value></Gt></Where></Query>"
        "<ViewFields><FieldRef Name='Title'/></ViewFields><RowLimit>2</RowLimit></View>"
    )
    path = "web/lists/GetByTitle('Test%20liste%20PnP')/RenderListDataAsStream"
    first = _http(emulator, "POST", path, accept=NOMETA, json={"parameters": {"ViewXml": xml, "RenderOptions": 2}})
    assert first.status_code == 200, first.text
    data = first.json()
    assert [r["Title"] for r in data["Row"]] == ["élément 2", "élément 3"] and data["FirstRow"] == 1
    nxt = data["NextHref"].lstrip("?")
    second = _http(emulator, "POST", path, json={"parameters": {"ViewXml": xml, "Paging": nxt}}).json()
    assert [r["ID"] for r in second["Row"]] == ["4", "5"] and second["FirstRow"] == 3 and "NextHref" not in second
    r = _http(emulator, "POST", path, json={"parameters": {"RenderOptions": 64}})
    assert r.status_code == 501 and "RenderOptions=64" in r.text


def test_utc_to_local_time_and_back(emulator):
    base = "web/RegionalSettings/TimeZone"
    r = _http(emulator, "GET", base + "/utcToLocalTime(@date)?@date='2026-07-01T10:00:00Z'", accept=NOMETA)
    assert r.status_code == 200 and r.json()["value"] == "2026-07-01T12:00:00", r.text
    r = _http(emulator, "GET", base + "/localTimeToUTC(@date)?@date='2026-01-15T09:00:00'")
    assert r.json()["d"]["LocalTimeToUTC"] == "2026-01-15T08:00:00Z"


def test_standard_list_templates_and_entity_type_names(emulator):
    ctx = client(emulator)
    for template, field in (
        (103, "URL"),
        (104, "Expires"),
        (105, "FirstName"),
        (106, "EventDate"),
        (107, "DueDate"),
        (171, "Checkmark"),
    ):
        lst = ctx.web.lists.add(ListCreationInformation(f"Modèle {template}", None, template)).execute_query()
        assert lst.properties["BaseTemplate"] == template
        names = {f.properties["InternalName"] for f in lst.fields.get().execute_query()}
        assert field in names, (template, sorted(names))
    tasks = emulator.backend.ensure_site("projets").list_by_title("Modèle 107")
    assert tasks.fields["Status"].title == "État de la tâche" and "En cours" in tasks.fields["Status"].choices
    r = _http(
        emulator,
        "POST",
        "web/lists",
        json={"__metadata": {"type": "SP.List"}, "Title": "Sondage", "BaseTemplate": 102},
        headers={"Content-Type": "application/json;odata=verbose"},
    )
    assert r.status_code == 501 and "template 102" in r.text
    long = ctx.web.lists.add(ListCreationInformation("Test liste PnP de conformité", None, 100)).execute_query()
    assert (
        long.properties["ListItemEntityTypeFullName"]
        == "SP.Data.Test_x0020_liste_x0020_PnP_x0020_de_x0020_conformit_x00e9_ListItem"
    )
    long.add_item({"Title": "ajouté par le client Python"}).execute_query()  # the client uses that type name


def test_using_path_apis_for_files_folders_and_items(emulator):
    site = emulator.backend.ensure_site("projets")
    site.create_list("Pièces", 101)
    root = "web/GetFolderByServerRelativePath(decodedurl='/sites/projets/Pi%C3%A8ces')"
    # Folders/AddUsingPath and AddSubFolderUsingPath, names with a space, '#' and '+'
    r = _http(
        emulator,
        "POST",
        "web/Folders/AddUsingPath(decodedurl='%2Fsites%2Fprojets%2FPi%C3%A8ces%2F2026%20%23+1')",
        accept=NOMETA,
    )
    assert r.status_code == 200, r.text
    assert site.folder("/sites/projets/Pièces/2026 #+1") is not None
    r = _http(emulator, "POST", root + "/AddSubFolderUsingPath(DecodedUrl='Synthèse')", accept=NOMETA)
    assert r.status_code == 200, r.text
    assert site.folder("/sites/projets/Pièces/Synthèse") is not None
    # Files/AddUsingPath: a name with '%' and '#', overwrite refused unless asked
    add = root + "/Files/AddUsingPath(DecodedUrl='taux%2520%23final.txt',Overwrite={})"
    r = _http(emulator, "POST", add.format("false"), accept=NOMETA, data=b"v1")
    assert r.status_code == 200, r.text
    assert r.json()["ServerRelativeUrl"] == "/sites/projets/Pièces/taux%20#final.txt"
    assert _http(emulator, "POST", add.format("false"), data=b"v2").status_code == 400  # exists
    assert _http(emulator, "POST", add.format("true"), data=b"v2").status_code == 200
    assert site.file("/sites/projets/Pièces/taux%20#final.txt").content == b"v2"
    # AddValidateUpdateItemUsingPath: the new item's id last, nothing created when a value is refused
    _list_with_items(emulator, 0)
    path = "web/lists/GetByTitle('Test%20liste%20PnP')/AddValidateUpdateItemUsingPath()"
    ok = _http(
        emulator,
        "POST",
        path,
        accept=NOMETA,
        json={"formValues": [{"FieldName": "Title", "FieldValue": "créé par PnPjs"}], "bNewDocumentUpdate": False},
    )
    assert ok.status_code == 200, ok.text
    rows = ok.json()["value"]
    lst = site.list_by_title("Test liste PnP")
    assert rows[-1]["FieldName"] == "Id" and lst.items[int(rows[-1]["FieldValue"])].values["Title"] == "créé par PnPjs"
    bad = _http(emulator, "POST", path, accept=NOMETA, json={"formValues": [{"FieldName": "Nope", "FieldValue": "x"}]})
    assert len(lst.items) == 1 and (bad.status_code != 200 or any(v["HasException"] for v in bad.json()["value"]))
    lib = "web/lists/GetByTitle('Pi%C3%A8ces')/AddValidateUpdateItemUsingPath()"
    r = _http(emulator, "POST", lib, json={"formValues": []})
    assert r.status_code == 501 and "document library" in r.text


def test_select_of_an_unknown_property_is_a_400_on_every_entity(emulator):
    site = emulator.backend.ensure_site("projets")
    site.create_list("Pièces", 101)
    _list_with_items(emulator, 1)
    for path, type_ in (
        ("web/lists/GetByTitle('Test%20liste%20PnP')/fields", "SP.Field"),
        ("web/GetFolderByServerRelativeUrl('/sites/projets/Pi%C3%A8ces')", "SP.Folder"),
        ("web/lists/GetByTitle('Pi%C3%A8ces')/RootFolder", "SP.Folder"),
        ("web/RegionalSettings", "SP.RegionalSettings"),
        ("web/siteusers", "SP.User"),
    ):
        r = _http(emulator, "GET", path + "?$select=Nope")
        assert r.status_code == 400 and "The property 'Nope' does not exist" in r.text, (path, r.status_code)
    fields = _http(
        emulator, "GET", "web/lists/GetByTitle('Test%20liste%20PnP')/fields?$select=InternalName", accept=NOMETA
    ).json()["value"]
    assert fields and all(set(f) == {"InternalName"} for f in fields)
    folder = _http(
        emulator,
        "GET",
        "web/GetFolderByServerRelativeUrl('/sites/projets/Pi%C3%A8ces')?$select=ServerRelativeUrl",
        accept=NOMETA,
    ).json()
    assert folder == {"ServerRelativeUrl": "/sites/projets/Pièces"}


def test_restore_never_replaces_a_file_added_since_and_folders_are_not_recycled(emulator):
    site = emulator.backend.ensure_site("projets")
    lib = site.create_list("Pièces", 101)
    site.add_file("Pièces", "", "note.txt", b"ancienne")
    r = _http(
        emulator,
        "POST",
        "web/GetFileByServerRelativePath(decodedurl='/sites/projets/Pi%C3%A8ces/note.txt')/recycle()",
        accept=NOMETA,
    )
    bin_id = r.json()["value"]
    site.add_file("Pièces", "", "note.txt", b"nouvelle")
    r = _http(emulator, "POST", f"web/RecycleBin('{bin_id}')/restore()")
    assert r.status_code == 400 and "already exists" in r.text
    assert site.file("/sites/projets/Pièces/note.txt").content == b"nouvelle" and len(lib.items) == 1
    assert len(_http(emulator, "GET", "web/RecycleBin", accept=NOMETA).json()["value"]) == 1  # still in the bin
    r = _http(emulator, "POST", "web/Folders/AddUsingPath(decodedurl='/sites/projets/Pi%C3%A8ces/2026')", accept=NOMETA)
    folder_item = next(i for i in lib.items.values() if i.is_folder)
    r = _http(emulator, "POST", f"web/lists/GetByTitle('Pi%C3%A8ces')/items({folder_item.id})/recycle()")
    assert r.status_code == 501 and "folder" in r.text


def test_entity_type_name_of_lists_and_libraries(emulator):
    site = emulator.backend.ensure_site("projets")
    site.create_list("Pièces jointes", 101)
    _list_with_items(emulator, 0)
    lst = _http(emulator, "GET", "web/lists/GetByTitle('Test%20liste%20PnP')", accept=NOMETA).json()
    assert lst["EntityTypeName"] == "Test_x0020_liste_x0020_PnPList"
    assert lst["ListItemEntityTypeFullName"] == "SP.Data.Test_x0020_liste_x0020_PnPListItem"
    lib = _http(emulator, "GET", "web/lists/GetByTitle('Pi%C3%A8ces%20jointes')", accept=NOMETA).json()
    assert lib["ListItemEntityTypeFullName"] == "SP.Data." + lib["EntityTypeName"] + "Item"
    assert not lib["EntityTypeName"].endswith("Item")
