"""Routes: the recycle bin. `item.recycle()` and `file.recycle()` move the item (or the file
and its item) to the site's recycle bin and answer the bin entry's id; `web/RecycleBin` lists
the entries; `RecycleBin('<id>')/restore()` puts them back, `deleteObject()` removes them."""

from __future__ import annotations

from emulator import errors
from emulator.models import new_guid
from emulator.responses import Response, collection, entity, iso, meta, now
from emulator.routing import Target, handler, nav


def _bin(site) -> list[dict]:
    return site.__dict__.setdefault("recycle_bin", [])  # sites saved before the bin existed


@nav("item", "recycle")
def _item_recycle(t, seg):
    return Target("op:recycleitem", t.obj, t)


@nav("file", "recycle")
def _file_recycle(t, seg):
    return Target("op:recyclefile", t.obj, t)


@handler("op:recycleitem", "POST", role="write")
def recycle_item(ctx, t):
    lst = t.up("items") or t.up("list")
    item = t.obj
    if item.is_folder:  # a folder goes with everything under it: not emulated
        raise errors.not_implemented("POST", f"/_api/…/items({item.id})/recycle (folder)")
    if item.file_url:  # an item of a library: its file goes too
        return _recycle_file(ctx, ctx.site.file(item.file_url))
    entry = {
        "id": new_guid(),
        "list_id": lst.id,
        "item": item,
        "file": None,
        "deleted": now(),
        "title": str(item.values.get("Title") or ""),
        "dir": lst.root_url,
        "type": 1,
        "by": ctx.user.id,
    }
    lst.delete_item(item, editor=ctx.user.id, recycle=True)
    _bin(ctx.site).append(entry)
    return entity({"Recycle": entry["id"]})


@handler("op:recyclefile", "POST", role="write")
def recycle_file(ctx, t):
    return _recycle_file(ctx, t.obj)


def _recycle_file(ctx, f):
    lst, item = ctx.site.item_for_url(f.url)
    entry = {
        "id": new_guid(),
        "list_id": lst.id,
        "item": item,
        "file": f,
        "deleted": now(),
        "title": f.name,
        "dir": f.url.rsplit("/", 1)[0],
        "type": 0,
        "by": ctx.user.id,
    }
    lst.delete_item(item, editor=ctx.user.id, recycle=True)
    ctx.site.files.pop(f.url.lower(), None)
    _bin(ctx.site).append(entry)
    return entity({"Recycle": entry["id"]})


@nav("web", "recyclebin")
@nav("sitecoll", "recyclebin")
def _recycle_bin(t, seg):
    entries = Target("recyclebin", None, t)
    if seg.args:
        wanted = str(seg.arg()).strip("{}").lower()
        for e in _bin(t.up("root")):
            if e["id"].lower() == wanted:
                return Target("recyclebinitem", e, entries)
        raise errors.not_found(f"Recycle bin item {seg.arg()} does not exist.")
    return entries


@nav("recyclebin", "getbyid")
def _recycle_by_id(t, seg):
    return _recycle_bin(t.parent, seg)


def _json(ctx, e: dict) -> dict:
    return {
        "__metadata": meta(ctx.api(f"Web/RecycleBin('{e['id']}')"), "SP.RecycleBinItem"),
        "Id": e["id"],
        "Title": e["title"],
        "LeafName": e["file"].name if e["file"] else f"{e['item'].id}_.000",
        "DirName": e["dir"].lstrip("/"),
        "ItemType": e["type"],
        "ItemState": 1,
        "DeletedDate": iso(e["deleted"]),
        "DeletedByName": "",
        "Size": str(len(e["file"].content)) if e["file"] else "0",
    }


@handler("recyclebin", "GET")
def recycle_bin_get(ctx, t):
    return collection([_json(ctx, e) for e in _bin(ctx.site)])


@handler("recyclebinitem", "GET")
def recycle_bin_item_get(ctx, t):
    return entity(_json(ctx, t.obj))


@nav("recyclebinitem", "restore")
def _restore(t, seg):
    return Target("op:restore", t.obj, t)


@nav("recyclebinitem", "deleteobject")
def _purge(t, seg):
    return Target("op:purge", t.obj, t)


@handler("op:restore", "POST", role="write")
def restore(ctx, t):
    e = t.obj
    lst = ctx.site.lists.get(e["list_id"])
    if lst is None:
        raise errors.not_found("The list of this recycle bin item no longer exists.")
    if e["file"] is not None and e["file"].url.lower() in ctx.site.files:
        # a file added since at the same place: SharePoint refuses rather than replace it
        raise errors.file_exists(e["file"].url)
    lst.restore_item(e["item"], editor=ctx.user.id)
    if e["file"] is not None:
        ctx.site.files[e["file"].url.lower()] = e["file"]
    _bin(ctx.site).remove(e)
    ctx.site.backend.touch()
    return Response(200, None)


@handler("op:purge", "POST", role="write")
def purge(ctx, t):
    _bin(ctx.site).remove(t.obj)
    ctx.site.backend.touch()
    return Response(200, None)
