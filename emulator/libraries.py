"""Routes: document libraries - folders, files (add, overwrite, chunked upload, download),
ListItemAllFields and file versions, with SharePoint's name and path rules."""

from __future__ import annotations

from emulator import conditions, errors
from emulator.models import File, Folder
from emulator.responses import Response, collection, deferred, entity, iso, meta
from emulator.routing import Target, handler, nav


def _site(t):
    return t.up("root")


def _abs(site, url: str) -> str:
    """Accept server-relative ('/sites/x/Lib') and site-relative ('Lib/a') URLs."""
    url = str(url or "")
    if not url.startswith("/"):
        url = f"{site.path}/{url}"
    return url.rstrip("/")


@nav(
    "web",
    "getfolderbyserverrelativeurl",
    "getfolderbyserverrelativepath",
    "getfilebyserverrelativeurl",
    "getfilebyserverrelativepath",
)
def _by_server_relative(t, seg):
    """GetFolder/GetFile ByServerRelativeUrl('...') or ByServerRelativePath(decodedurl='...')."""
    site = _site(t)
    url = _abs(site, seg.arg("serverRelativeUrl") or seg.arg("decodedurl") or seg.arg())
    if seg.name.lower().startswith("getfolder"):
        return Target("folder", site.folder(url), t)
    return Target("file", site.file(url), t)


@nav("web", "getfilebyid")
def _file_by_id(t, seg):
    return Target("file", _site(t).file_by_id(str(seg.arg())), t)


@nav("web", "folders")
def _web_folders(t, seg):
    return Target("webfolders", None, t)


@nav("list", "rootfolder")
def _root_folder(t, seg):
    return Target("folder", _site(t).folder(t.obj.root_url), t)


@nav("folder", "files")
def _files(t, seg):
    files = Target("files", t.obj, t)
    if seg.args:
        return Target("file", _site(t).file(f"{t.obj.url}/{seg.arg()}"), files)
    return files


@nav("files", "getbyurl")
def _files_by_url(t, seg):
    site = _site(t)
    url = str(seg.arg())
    return Target("file", site.file(url if url.startswith("/") else f"{t.obj.url}/{url}"), t)


@nav("folders", "getbyurl")
def _folders_by_url(t, seg):
    site = _site(t)
    url = str(seg.arg())
    return Target("folder", site.folder(url if url.startswith("/") else f"{t.obj.url}/{url}"), t)


@nav("folder", "folders")
def _folders(t, seg):
    folders = Target("folders", t.obj, t)
    if seg.args:
        return Target("folder", _site(t).folder(f"{t.obj.url}/{seg.arg()}"), folders)
    return folders


@nav("files", "add")
def _file_add(t, seg):
    return Target(
        "op:fileadd",
        t.obj,
        t,
        {"url": seg.arg("url") or seg.arg(), "overwrite": bool(seg.arg("overwrite", default=False))},
    )


@nav("files", "addusingpath")
def _file_add_using_path(t, seg):
    """PnPjs v4 adds every file (and starts chunked uploads) this way."""
    return Target(
        "op:fileadd",
        t.obj,
        t,
        {"url": seg.arg("decodedurl") or seg.arg(), "overwrite": bool(seg.arg("overwrite", default=False))},
    )


@nav("folders", "add")
def _folder_add(t, seg):
    return Target("op:folderadd", t.obj, t, {"name": seg.arg()})


@nav("folders", "addusingpath")
@nav("webfolders", "addusingpath")
def _folder_add_using_path(t, seg):
    return Target("op:folderadd", t.obj, t, {"name": seg.arg("decodedurl") or seg.arg()})


@nav("folder", "addsubfolderusingpath")
def _sub_folder_add(t, seg):
    return Target("op:subfolderadd", t.obj, t, {"name": seg.arg("decodedurl") or seg.arg()})


def _item_target(t, site, url):
    lst, item = site.item_for_url(url)
    return Target("item", item, Target("items", lst, t))


@nav("folder", "listitemallfields")
def _folder_item(t, seg):
    if t.obj.item_id is None:
        raise errors.not_found("The root folder of a library has no list item.")
    return _item_target(t, _site(t), t.obj.url)


@nav("file", "listitemallfields")
def _file_item(t, seg):
    return _item_target(t, _site(t), t.obj.url)


@nav("item", "file")
def _item_file(t, seg):
    if not t.obj.file_url or t.obj.is_folder:
        raise errors.not_found("This item has no file.")
    return Target("file", _site(t).file(t.obj.file_url), t)


@nav("item", "folder")
def _item_folder(t, seg):
    if not t.obj.is_folder:
        raise errors.not_found("This item is not a folder.")
    return Target("folder", _site(t).folder(t.obj.file_url), t)


@nav("file", "$value")
def _file_value(t, seg):
    return Target("filevalue", t.obj, t)


@nav("file", "versions")
def _file_versions(t, seg):
    return Target("fileversions", t.obj, t)


for _op in ("startupload", "continueupload", "finishupload", "cancelupload"):
    nav("file", _op)(
        lambda t, seg, op=_op: Target(
            f"op:{op}",
            t.obj,
            t,
            {"upload_id": str(seg.arg("uploadId") or seg.arg() or ""), "offset": seg.arg("fileOffset")},
        )
    )


# -- formatting -----------------------------------------------------------------
def file_json(ctx, f: File) -> dict:
    uri = ctx.api(f"Web/GetFileByServerRelativePath(decodedurl='{f.url}')")
    return {
        "__metadata": meta(uri, "SP.File"),
        "Name": f.name,
        "ServerRelativeUrl": f.url,
        "UniqueId": f.unique_id,
        "Length": str(len(f.content)),
        "TimeCreated": iso(f.created),
        "TimeLastModified": iso(f.modified),
        "MajorVersion": f.major,
        "MinorVersion": 0,
        "UIVersionLabel": f"{f.major}.0",
        "Exists": True,
        "CheckOutType": 2,
        "Level": 1,
        "ETag": f'"{{{f.unique_id.upper()}}},{f.major}"',
        "Title": None,
        "ListItemAllFields": deferred(uri + "/ListItemAllFields"),
    }


def folder_json(ctx, fo: Folder) -> dict:
    site = ctx.site
    prefix = fo.url.lower() + "/"
    count = sum(
        1 for k in list(site.files) + list(site.folders) if k.startswith(prefix) and "/" not in k[len(prefix) :]
    )
    uri = ctx.api(f"Web/GetFolderByServerRelativePath(decodedurl='{fo.url}')")
    return {
        "__metadata": meta(uri, "SP.Folder"),
        "Name": fo.name,
        "ServerRelativeUrl": fo.url,
        "UniqueId": fo.unique_id,
        "ItemCount": count,
        "Exists": True,
        "TimeCreated": iso(fo.created),
        "TimeLastModified": iso(fo.created),
        "Files": deferred(uri + "/Files"),
        "Folders": deferred(uri + "/Folders"),
    }


def _children(site, url: str, mapping: dict) -> list:
    prefix = url.lower() + "/"
    return [v for k, v in mapping.items() if k.startswith(prefix) and "/" not in k[len(prefix) :]]


# -- handlers -------------------------------------------------------------------
@handler("folder", "GET")
def folder_get(ctx, t):
    return entity(folder_json(ctx, t.obj))


@handler("folder", "DELETE", role="write")
def folder_delete(ctx, t):
    fo: Folder = t.obj
    if fo.item_id is None:
        raise errors.bad_request("The root folder of a library cannot be deleted.")
    site = ctx.site
    lst = site.lists[fo.list_id]
    prefix = fo.url.lower()
    for it in [
        i
        for i in lst.items.values()
        if i.file_url and (i.file_url.lower() == prefix or i.file_url.lower().startswith(prefix + "/"))
    ]:
        lst.delete_item(it)
    for d in (site.files, site.folders):
        for k in [k for k in d if k == prefix or k.startswith(prefix + "/")]:
            del d[k]
    return Response(200, None)


@handler("files", "GET")
def files_get(ctx, t):
    return collection([file_json(ctx, f) for f in _children(ctx.site, t.obj.url, ctx.site.files)])


@handler("folders", "GET")
def folders_get(ctx, t):
    return collection([folder_json(ctx, f) for f in _children(ctx.site, t.obj.url, ctx.site.folders)])


@handler("op:fileadd", "POST", role="write")
def file_add(ctx, t):
    url = t.extra["url"]
    if not url:
        raise errors.bad_request("The file name is required.")
    name = str(url).rstrip("/").rsplit("/", 1)[-1]
    f = ctx.site.put_file(t.obj.url, name, ctx.body, overwrite=t.extra["overwrite"], author=ctx.user.id)
    return entity(file_json(ctx, f))


def _add_folder_path(ctx, parent_url: str, path: str) -> Folder:
    fo = ctx.site.folder(parent_url)
    for part in [p for p in str(path).strip("/").split("/") if p]:
        fo = ctx.site.add_folder(fo.url, part, ctx.user.id)
    return fo


@handler("op:folderadd", "POST", role="write")
def folder_add(ctx, t):
    name = t.extra["name"]
    if not name:
        raise errors.bad_request("The folder name is required.")
    url = str(name)
    if url.startswith("/") or t.obj is None:  # a full server-relative path (web/folders)
        lib = ctx.site.library_for(url)
        return entity(folder_json(ctx, _add_folder_path(ctx, lib.root_url, url[len(lib.root_url) :])))
    return entity(folder_json(ctx, _add_folder_path(ctx, t.obj.url, url)))


@handler("op:subfolderadd", "POST", role="write")
def sub_folder_add(ctx, t):
    if not t.extra["name"]:  # PnPjs: the path in the body, {"leafPath": {"DecodedUrl": "…"}}
        leaf = (ctx.json() or {}).get("leafPath") or {}
        t.extra["name"] = leaf.get("DecodedUrl") if isinstance(leaf, dict) else None
    folder_add(ctx, t)
    return Response(200, None)  # a void method


@handler("folders", "POST", role="write")
def folders_post(ctx, t):
    url = ctx.json().get("ServerRelativeUrl")
    if not url:
        raise errors.bad_request("ServerRelativeUrl is required.")
    url = _abs(ctx.site, url)
    lib = ctx.site.library_for(url)
    fo = _add_folder_path(ctx, lib.root_url, url[len(lib.root_url) :])
    return Response(201, entity(folder_json(ctx, fo)))


@handler("webfolders", "POST", role="write")
def web_folders_post(ctx, t):
    return folders_post(ctx, t)


@handler("file", "GET")
def file_get(ctx, t):
    return entity(file_json(ctx, t.obj))


@handler("file", "DELETE", role="write")
def file_delete(ctx, t):
    f: File = t.obj
    conditions.check_if_match(ctx.headers, file_json(ctx, f)["ETag"])
    lst, item = ctx.site.item_for_url(f.url)
    lst.delete_item(item)
    ctx.site.files.pop(f.url.lower(), None)
    return Response(200, None)


@handler("filevalue", "GET")
def file_download(ctx, t):
    return Response(200, t.obj.content, content_type="application/octet-stream")


@handler("filevalue", "PUT", "POST", role="write")
def file_save_binary(ctx, t):
    f: File = t.obj
    ctx.site.put_file(f.url.rsplit("/", 1)[0], f.name, ctx.body, overwrite=True, author=ctx.user.id)
    return Response(204, None)


@handler("fileversions", "GET")
def file_versions(ctx, t):
    f: File = t.obj
    out = []
    for v in reversed(f.versions):
        vid = int(v["label"].split(".")[0]) * 512
        out.append(
            {
                "__metadata": meta(ctx.api(f"Web/GetFileById('{f.unique_id}')/Versions({vid})"), "SP.FileVersion"),
                "ID": vid,
                "VersionLabel": v["label"],
                "IsCurrentVersion": False,
                "Created": iso(v["modified"]),
                "Size": len(v["content"]),
                "Url": f"_vti_history/{vid}{f.url[len(ctx.site.path) :]}",
            }
        )
    return collection(out)


@handler("op:startupload", "POST", role="write")
def start_upload(ctx, t):
    f: File = t.obj
    uid = t.extra["upload_id"]
    if not uid:
        raise errors.bad_request("uploadId is required.")
    f.uploads[uid] = bytearray(ctx.body)
    return entity({"StartUpload": str(len(f.uploads[uid]))})


def _session(t) -> bytearray:
    f: File = t.obj
    buf = f.uploads.get(t.extra["upload_id"])
    if buf is None:
        raise errors.bad_request(
            "The upload session does not exist or has expired.",
            "-2130575338",
            "Microsoft.SharePoint.SPFileUploadSessionNotFoundException",
        )
    offset = t.extra["offset"]
    if offset is not None and int(offset) != len(buf):
        raise errors.bad_request(
            f"The file offset {offset} does not match the uploaded size {len(buf)}.",
            "-2130575339",
            "Microsoft.SharePoint.SPInvalidFileOffsetException",
        )
    return buf


@handler("op:continueupload", "POST", role="write")
def continue_upload(ctx, t):
    buf = _session(t)
    buf.extend(ctx.body)
    return entity({"ContinueUpload": str(len(buf))})


@handler("op:finishupload", "POST", role="write")
def finish_upload(ctx, t):
    f: File = t.obj
    buf = _session(t)
    buf.extend(ctx.body)
    del f.uploads[t.extra["upload_id"]]
    if f.content:
        ctx.site.put_file(f.url.rsplit("/", 1)[0], f.name, bytes(buf), overwrite=True, author=ctx.user.id)
    else:  # the empty placeholder created by Files/add becomes the file, without a new version
        f.content = bytes(buf)
        ctx.site.backend.touch()
    return entity(file_json(ctx, f))


@handler("op:cancelupload", "POST", role="write")
def cancel_upload(ctx, t):
    t.obj.uploads.pop(t.extra["upload_id"], None)
    return Response(204, None)
