"""Emulator document libraries through the real client: folders, files, versions,
chunked upload, metadata, SharePoint's name and path rules."""

from __future__ import annotations

import os

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.lists.creation_information import ListCreationInformation

from tests.conftest import client


@pytest.fixture
def lib(emulator):
    site = emulator.backend.ensure_site("projets")
    lst = site.create_list("Rapports COPIL", 101)
    lst.add_field("Code opération", "Text", indexed=True)
    return lst


def test_folders_nested_create_and_list(emulator, lib):
    ctx = client(emulator, "write")
    root = ctx.web.lists.get_by_title("Rapports COPIL").root_folder
    root.folders.add("2026").execute_query()
    ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL/2026").folders.add(
        "PPI-2025-001"
    ).execute_query()
    sub = ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL/2026").folders.get().execute_query()
    assert [f.properties["Name"] for f in sub] == ["PPI-2025-001"]
    top = ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL").get().execute_query()
    assert top.properties["ItemCount"] == 1


def test_upload_overwrite_versions_download_and_metadata(emulator, lib):
    ctx = client(emulator, "write")
    folder = ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL")
    f = folder.upload_file("rapport é.docx", b"v1").execute_query()
    assert f.properties["ServerRelativeUrl"] == "/sites/projets/Rapports COPIL/rapport é.docx"
    folder.upload_file("rapport é.docx", b"version 2").execute_query()
    got = ctx.web.get_file_by_server_relative_url("/sites/projets/Rapports COPIL/rapport é.docx")
    data = got.get_content().execute_query()
    assert data.value == b"version 2"
    versions = got.versions.get().execute_query()
    assert [v.properties["VersionLabel"] for v in versions] == ["1.0"]
    item = got.listItemAllFields
    item.set_property("Code_x0020_op_x00e9_ration", "PPI-2025-001").update().execute_query()
    fields = got.listItemAllFields.get().execute_query()
    assert fields.properties["Code_x0020_op_x00e9_ration"] == "PPI-2025-001"
    items = ctx.web.lists.get_by_title("Rapports COPIL").items.select(["FileLeafRef", "FileRef"]).get().execute_query()
    assert [i.properties["FileLeafRef"] for i in items] == ["rapport é.docx"]


def test_chunked_upload_of_25_mb(emulator, lib, tmp_path):
    ctx = client(emulator, "write")
    content = os.urandom(25 * 1024 * 1024)
    path = tmp_path / "gros.bin"
    path.write_bytes(content)
    folder = ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL")
    folder.files.create_upload_session(str(path), chunk_size=10 * 1024 * 1024).execute_query()
    routes = emulator.stats()["by_route"]
    assert routes.get("op:startupload.POST") == 1 and routes.get("op:finishupload.POST") == 1
    assert routes.get("op:continueupload.POST") == 1
    stored = emulator.backend.site("projets").file("/sites/projets/Rapports COPIL/gros.bin")
    assert stored.content == content


@pytest.mark.parametrize(
    "name", ["a:b.docx", "CON", "~$verrou.docx", "x_vti_y.docx", " espace.docx", "desktop.ini", "a|b.docx"]
)
def test_forbidden_file_names(emulator, lib, name):
    ctx = client(emulator, "write")
    folder = ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL")
    with pytest.raises(ClientRequestException) as e:
        folder.upload_file(name, b"x").execute_query()
    assert e.value.response.status_code == 400


def test_path_over_400_characters_is_refused(emulator, lib):
    ctx = client(emulator, "write")
    folder = ctx.web.get_folder_by_server_relative_url("/sites/projets/Rapports COPIL")
    long_dir = "d" * 200
    folder.folders.add(long_dir).execute_query()
    with pytest.raises(ClientRequestException) as e:
        ctx.web.get_folder_by_server_relative_url(f"/sites/projets/Rapports COPIL/{long_dir}").upload_file(
            "r" * 190 + ".docx", b"x"
        ).execute_query()
    assert "PathTooLongException" in e.value.response.json()["error"]["code"]


def test_forms_folder_at_library_root_is_refused(emulator, lib):
    ctx = client(emulator, "write")
    with pytest.raises(ClientRequestException):
        ctx.web.lists.get_by_title("Rapports COPIL").root_folder.folders.add("Forms").execute_query()


def test_library_creation_needs_manage(emulator):
    with pytest.raises(ClientRequestException) as e:
        client(emulator, "write").web.lists.add(ListCreationInformation("Docs", None, 101)).execute_query()
    assert e.value.response.status_code == 403


def test_add_without_overwrite_refuses_an_existing_file(emulator, lib):
    import requests

    url = emulator.site_url() + "/_api/web/GetFolderByServerRelativeUrl('/sites/projets/Rapports COPIL')/Files/add"
    h = {"Authorization": "Bearer write-token", "Accept": "application/json;odata=verbose"}
    assert requests.post(url + "(url='a.docx',overwrite=false)", data=b"1", headers=h).status_code == 200
    r = requests.post(url + "(url='a.docx',overwrite=false)", data=b"2", headers=h)
    assert r.status_code == 400 and "already exists" in r.json()["error"]["message"]["value"]
    assert requests.post(url + "(url='a.docx',overwrite=true)", data=b"3", headers=h).status_code == 200
    assert emulator.backend.site("projets").file("/sites/projets/Rapports COPIL/a.docx").content == b"3"
