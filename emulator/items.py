"""Routes: list items (query with $select/$filter/$orderby/$top/$expand and paging, get, add,
MERGE, DELETE), versions, and ValidateUpdateListItem."""

from __future__ import annotations

import re
from urllib.parse import quote

from emulator import conditions, errors, odata, values
from emulator.fields import entity_property_name, wire_name
from emulator.models import THRESHOLD, Item, SPList
from emulator.responses import Response, collection, deferred, entity, iso, meta
from emulator.routing import Target, handler, nav

DEFAULT_PAGE = 100
MAX_PAGE = 5000


@nav("list", "items")
def _items(t, seg):
    items = Target("items", t.obj, t)
    if seg.args:
        return Target("item", t.obj.get_item(int(seg.arg())), items)
    return items


@nav("list", "getitembyid")
def _item_by_id(t, seg):
    return Target("item", t.obj.get_item(int(seg.arg())), Target("items", t.obj, t))


@nav("item", "parentlist")
def _parent_list(t, seg):
    return Target("list", t.up("items"), t)


@nav("item", "versions")
def _versions(t, seg):
    v = Target("versions", t.obj, t)
    if seg.args:
        vid = int(seg.arg())
        for snap in t.obj.versions:
            if _version_id(snap) == vid:
                return Target("version", snap, v)
        raise errors.not_found("Version does not exist.")
    return v


@nav("item", "validateupdatelistitem")
def _validate(t, seg):
    return Target("op:validate", t.obj, t)


def _version_id(snap: dict) -> int:
    return int(snap["label"].split(".")[0]) * 512


# -- reading ------------------------------------------------------------------
class Projection:
    """What a GET returns for each item: the $select / $expand rules of SharePoint."""

    def __init__(self, lst: SPList, select: str | None, expand: str | None):
        self.lst = lst
        self.expand = set()
        for e in odata.split_list(expand):
            f = _field_for_select(lst, e)
            if f is None or f.kind not in ("Lookup", "User"):
                raise errors.bad_request(f"The field or property '{e}' does not exist or cannot be expanded.")
            self.expand.add(f.internal_name.lower())
        names = odata.split_list(select)
        self.all = not names or "*" in names
        self.plain: list = []  # fields
        self.nested: dict[str, list[str]] = {}
        self.builtins: set[str] = set()
        for n in names:
            if n == "*":
                continue
            if "/" in n:
                root, sub = n.split("/", 1)
                f = _field_for_select(lst, root)
                if f is None or f.kind not in ("Lookup", "User"):
                    raise errors.field_not_found(n)
                if f.internal_name.lower() not in self.expand:
                    raise errors.bad_request(
                        f"The query to field '{n}' is not valid. The $select query string must specify the "
                        f"target fields and the $expand query string must contains {root}."
                    )
                self.nested.setdefault(f.internal_name, []).append(sub)
                continue
            low = n.lower()
            if low in ("id", "filesystemobjecttype", "contenttypeid", "odata__uiversionstring"):
                self.builtins.add(low)
                continue
            f = _field_for_select(lst, n)
            if f is None:
                raise errors.field_not_found(n)
            self.plain.append(f)

    def item(self, ctx, item: Item) -> dict:
        lst = self.lst
        uri = ctx.api(f"Web/Lists(guid'{lst.id}')/Items({item.id})")
        d = {
            "__metadata": meta(uri, lst.entity_type, etag=item.etag),
            "FileSystemObjectType": 1 if item.is_folder else 0,
            "Id": item.id,
            "ID": item.id,
        }
        if self.all:
            fields = [f for f in lst.fields.values() if not f.hidden or f.internal_name == "GUID"]
            d["ContentTypeId"] = "0x0100" if not lst.is_library else "0x0101"
            d["OData__UIVersionString"] = f"{item.ui_version}.0"
        else:
            fields = self.plain
            if "odata__uiversionstring" in self.builtins:
                d["OData__UIVersionString"] = f"{item.ui_version}.0"
        for f in fields:
            self._put(ctx, d, f, item)
        for name, subs in self.nested.items():
            f = lst.fields[name]
            d[entity_property_name(f)] = self._expanded(ctx, f, item, subs)
        return d

    def _put(self, ctx, d, f, item):
        n = f.internal_name
        if n in ("ID",):
            return
        if n == "Created":
            d["Created"] = iso(item.created)
        elif n == "Modified":
            d["Modified"] = iso(item.modified)
        elif n in ("Author", "Editor"):
            d[n + "Id"] = item.author_id if n == "Author" else item.editor_id
            if n.lower() in self.expand and self.all:
                d[n] = self._expanded(ctx, f, item, ["Title"])
        elif n == "GUID":
            d["GUID"] = item.guid
        elif n == "Attachments":
            d["Attachments"] = False
        elif n == "_UIVersionString":
            d["OData__UIVersionString"] = f"{item.ui_version}.0"
        elif n == "owshiddenversion":
            d["owshiddenversion"] = item.hidden_version
        elif n == "FileRef":
            d["FileRef"] = item.file_url
        elif n == "FileDirRef":
            d["FileDirRef"] = item.file_url.rsplit("/", 1)[0] if item.file_url else None
        elif n == "FSObjType":
            d["FSObjType"] = 1 if item.is_folder else 0
        elif f.kind in ("Lookup", "User"):
            v = item.values.get(n)
            d[wire_name(f)] = v
            if f.kind == "User":
                d[wire_name(f)[:-2] + "StringId"] = str(v) if v is not None else None
        else:
            d[entity_property_name(f)] = values.to_rest(f, item.values.get(n))

    def _expanded(self, ctx, f, item, subs) -> dict:
        if f.internal_name == "Author":
            ref = item.author_id
        elif f.internal_name == "Editor":
            ref = item.editor_id
        else:
            ref = item.values.get(f.internal_name)
        if f.kind == "User":
            u = ctx.site.user(ref) if ref else None
            out = {"__metadata": {"id": ctx.api(f"Web/SiteUsers/GetById({ref})"), "type": "SP.Data.UserInfoItem"}}
            props = {
                "Id": ref if u else None,
                "ID": ref if u else None,
                "Title": u.title if u else None,
                "EMail": u.email if u else None,
                "Name": u.login if u else None,
                "UserName": u.email if u else None,
            }
            for s in subs:
                if s not in props:
                    raise errors.field_not_found(f"{f.internal_name}/{s}")
                out[s] = props[s]
            return out
        target = ctx.site.list_by_id(f.lookup_list_id, missing_ok=True)
        parent = target.items.get(ref) if (target and ref) else None
        out = {
            "__metadata": {
                "id": ctx.api(f"Web/Lists(guid'{f.lookup_list_id}')/Items({ref})"),
                "type": target.entity_type if target else "SP.ListItem",
            }
        }
        for s in subs:
            if s.lower() == "id":
                out[s] = parent.id if parent else None
                continue
            sf = target.field(s, missing_ok=True) if target else None
            if sf is None:
                raise errors.field_not_found(f"{f.internal_name}/{s}")
            out[s] = parent.values.get(sf.internal_name) if parent else None
        return out


def _field_for_select(lst: SPList, name: str):
    low = name.lower()
    for f in lst.fields.values():
        if low in (f.internal_name.lower(), entity_property_name(f).lower()):
            return f
        if f.kind in ("Lookup", "User") and low == wire_name(f).lower():
            return f
    return None


def _resolver(ctx, lst: SPList, item: Item):
    def resolve(path: str):
        low = path.lower()
        if low in ("id",):
            return item.id
        if low == "created":
            return iso(item.created)
        if low == "modified":
            return iso(item.modified)
        if low in ("authorid", "author/id"):
            return item.author_id
        if low in ("editorid", "editor/id"):
            return item.editor_id
        root, _, sub = path.partition("/")
        f = _field_for_select(lst, root)
        if f is None:
            raise errors.field_not_found(path)
        v = item.values.get(f.internal_name)
        if f.kind in ("Lookup", "User"):
            if not sub or sub.lower() == "id" or low == wire_name(f).lower():
                return v
            if f.kind == "User":
                u = ctx.site.user(v) if v else None
                return {"title": u and u.title, "email": u and u.email, "name": u and u.login}.get(sub.lower())
            target = ctx.site.list_by_id(f.lookup_list_id, missing_ok=True)
            parent = target.items.get(v) if (target and v) else None
            sf = target.field(sub, missing_ok=True) if target else None
            return parent.values.get(sf.internal_name) if (parent and sf) else None
        if sub:
            raise errors.field_not_found(path)
        return v

    return resolve


def _check_threshold(lst: SPList, names: set[str], top: int) -> None:
    """SharePoint Online refuses a query that must scan more than 5,000 items."""
    if len(lst.items) <= THRESHOLD:
        return
    if top > MAX_PAGE:
        raise errors.query_throttled()
    for n in names:
        root = n.split("/")[0]  # Projet/Id -> Projet; ProjetId resolves to the lookup too
        if root.lower() == "id":
            continue
        f = _field_for_select(lst, root)
        if f is None or not f.indexed:
            raise errors.query_throttled()


@handler("items", "GET")
def items_get(ctx, t):
    lst: SPList = t.obj
    q = ctx.query
    proj = Projection(lst, q.get("$select"), q.get("$expand"))
    try:
        top = int(q.get("$top", DEFAULT_PAGE))
        skip = int(q.get("$skip", 0))
    except ValueError:
        raise errors.bad_request("Invalid $top or $skip.")
    flt = odata.parse_filter(q["$filter"]) if q.get("$filter") else None
    order = odata.parse_orderby(q.get("$orderby", ""))
    used = (odata.referenced_fields(flt) if flt else set()) | {o[0] for o in order}
    _check_threshold(lst, used, top)
    rows = list(lst.items.values())  # insertion order = ID order
    if flt is not None:
        rows = [it for it in rows if odata.evaluate(flt, _resolver(ctx, lst, it))]
    for name, desc in reversed(order):
        if name.lower() == "id":
            rows.sort(key=lambda it: it.id, reverse=desc)
            continue
        res = {it.id: _resolver(ctx, lst, it)(name) for it in rows}
        present = [it for it in rows if res[it.id] is not None]
        empty = [it for it in rows if res[it.id] is None]
        present.sort(key=lambda it: odata._norm(res[it.id]), reverse=desc)
        rows = (empty + present) if not desc else (present + empty)  # nulls sort first ascending
    start = skip
    token = q.get("$skiptoken")
    if token:
        m = re.search(r"p_ID=(\d+)", token)
        if m:
            last = int(m.group(1))
            pos = next((i for i, it in enumerate(rows) if it.id == last), None)
            start = (pos + 1) if pos is not None else next((i for i, it in enumerate(rows) if it.id > last), len(rows))
    page = rows[start : start + top]
    next_url = None
    if start + top < len(rows) and page:
        params = [(k, v) for k, v in q.items() if k not in ("$skiptoken", "$skip")]
        params.append(("$skiptoken", f"Paged=TRUE&p_ID={page[-1].id}"))
        qs = "&".join(f"{quote(k, safe='$@')}={quote(v, safe='')}" for k, v in params)
        next_url = f"{ctx.base_url}/_api/{ctx.path}?{qs}"
    return collection([proj.item(ctx, it) for it in page], next_url)


@handler("item", "GET")
def item_get(ctx, t):
    lst = t.up("items")
    proj = Projection(lst, ctx.query.get("$select"), ctx.query.get("$expand"))
    return entity(proj.item(ctx, t.obj))


# -- writing ------------------------------------------------------------------
def rest_values(ctx, lst: SPList, body: dict) -> dict:
    out = {}
    for key, v in body.items():
        if key == "__metadata":
            continue
        f = None
        for cand in lst.fields.values():
            if key in (wire_name(cand), entity_property_name(cand)) and not (
                cand.kind in ("Lookup", "User") and key == entity_property_name(cand)
            ):
                f = cand
                break
        if f is None:
            raise errors.property_not_found(key, lst.entity_type)
        if f.read_only:
            raise errors.bad_request(f"The property '{key}' is read-only and cannot be set.")
        out[f.internal_name] = values.from_rest(f, v, ctx.site)
    return out


def _check_type(lst: SPList, body: dict) -> None:
    t = (body.get("__metadata") or {}).get("type")
    if t and t != lst.entity_type:
        raise errors.bad_request(
            f"A type named '{t}' could not be resolved by the model. When a model is "
            "available, each type name must resolve to a valid type."
        )


@handler("items", "POST", role="write")
def items_add(ctx, t):
    lst: SPList = t.obj
    if lst.is_library:
        raise errors.bad_request("To add an item to a document library, use SPFileCollection.Add()")
    body = ctx.json()
    _check_type(lst, body)
    vals = rest_values(ctx, lst, body)
    item = lst.add_item(vals, ctx.user.id)
    proj = Projection(lst, None, None)
    return Response(201, entity(proj.item(ctx, item)))


@handler("item", "MERGE", "PATCH", "PUT", role="write")
def item_merge(ctx, t):
    lst: SPList = t.up("items")
    item: Item = t.obj
    conditions.check_if_match(ctx.headers, item.etag)
    body = ctx.json()
    _check_type(lst, body)
    lst.update_item(item, rest_values(ctx, lst, body), ctx.user.id)
    return Response(204, None, {"ETag": item.etag})


@handler("item", "DELETE", role="write")
def item_delete(ctx, t):
    lst: SPList = t.up("items")
    conditions.check_if_match(ctx.headers, t.obj.etag)
    if t.obj.file_url:
        ctx.site.files.pop(t.obj.file_url.lower(), None)
        ctx.site.folders.pop(t.obj.file_url.lower(), None)
    lst.delete_item(t.obj, editor=ctx.user.id)
    return Response(200, None)


@handler("op:validate", "POST", role="write")
def validate_update(ctx, t):
    lst: SPList = t.up("items") or t.up("list")
    item: Item = t.obj
    conditions.check_if_match(ctx.headers, item.etag)  # an edit since the caller read it: 412
    body = ctx.json()
    results, new_values, modified, editor, failed = _form(ctx, lst, body, item.id)
    if not failed:
        lst.update_item(
            item,
            new_values,
            ctx.user.id,
            new_version=not bool(body.get("bNewDocumentUpdate")),
            modified=modified,
            editor_override=editor,
        )
    return entity(
        {
            "ValidateUpdateListItem": {
                "__metadata": {"type": "Collection(SP.ListItemFormUpdateValue)"},
                "results": results,
            }
        }
    )


def _form(ctx, lst: SPList, body: dict, item_id: int | None):
    """formValues of ValidateUpdateListItem / AddValidateUpdateItemUsingPath: one result per
    field, SharePoint's French messages, and the values to store when none failed."""
    form = body.get("formValues")
    if isinstance(form, dict):
        form = form.get("results", [])
    if not isinstance(form, list):
        raise errors.bad_request("formValues is required.")
    utc = bool(body.get("datesInUTC"))
    results, new_values = [], {}
    modified = editor = None
    failed = False
    for fv in form:
        name, raw = fv.get("FieldName"), fv.get("FieldValue")
        res = {
            "__metadata": {"type": "SP.ListItemFormUpdateValue"},
            "ErrorCode": 0,
            "ErrorMessage": None,
            "FieldName": name,
            "FieldValue": raw,
            "HasException": False,
            "ItemId": item_id or 0,
        }
        f = lst.field(str(name), missing_ok=True) if name else None
        try:
            if f is None:
                raise values.FormError(f"Le champ « {name} » n'existe pas.")
            if f.internal_name == "Modified":
                modified = values.parse_form_datetime(str(raw), utc, ctx.site.locale_id, ctx.site.tz)
            elif f.internal_name == "Editor":
                editor = values.from_form(f, raw, ctx.site)
            elif f.read_only:
                raise values.FormError("Ce champ est en lecture seule.")
            else:
                new_values[f.internal_name] = values.from_form(f, raw, ctx.site, utc)
        except values.FormError as e:
            failed = True
            res.update(HasException=True, ErrorCode=-2146232832, ErrorMessage=str(e))
        results.append(res)
    return results, new_values, modified, editor, failed


@nav("list", "addvalidateupdateitemusingpath")
def _add_validate(t, seg):
    return Target("op:addvalidate", t.obj, t)


@handler("op:addvalidate", "POST", role="write")
def add_validate_update(ctx, t):
    """Create an item from form values (PnPjs `items.addValidateUpdateItemUsingPath`): nothing
    is created when a value is refused; on success the results end with the new item's Id."""
    lst: SPList = t.obj
    if lst.is_library:
        raise errors.not_implemented("POST", "AddValidateUpdateItemUsingPath on a document library")
    body = ctx.json()
    results, new_values, _, _, failed = _form(ctx, lst, body, None)
    if not failed:
        item = lst.add_item(new_values, ctx.user.id)
        for r in results:
            r["ItemId"] = item.id
        results.append(
            {
                "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                "ErrorCode": 0,
                "ErrorMessage": None,
                "FieldName": "Id",
                "FieldValue": str(item.id),
                "HasException": False,
                "ItemId": item.id,
            }
        )
    return entity(
        {
            "AddValidateUpdateItemUsingPath": {
                "__metadata": {"type": "Collection(SP.ListItemFormUpdateValue)"},
                "results": results,
            }
        }
    )


# -- versions -----------------------------------------------------------------
def _version_json(ctx, lst, item, snap, current: bool) -> dict:
    vid = _version_id(snap)
    d = {
        "__metadata": meta(
            ctx.api(f"Web/Lists(guid'{lst.id}')/Items({item.id})/versions({vid})"), "SP.ListItemVersion"
        ),
        "VersionId": vid,
        "VersionLabel": snap["label"],
        "IsCurrentVersion": current,
        "Created": iso(snap["modified"]),
        "Modified": iso(snap["modified"]),
        "EditorId": snap["editor_id"],
        "CreatedBy": deferred(ctx.api("Web/SiteUsers")),
    }
    for name, v in snap["values"].items():
        f = lst.fields.get(name)
        if f is not None:
            d[wire_name(f)] = values.to_rest(f, v) if f.kind not in ("Lookup", "User") else v
    return d


@handler("versions", "GET")
def versions_get(ctx, t):
    item: Item = t.obj
    lst = t.parent.up("items")
    snaps = list(reversed(item.versions))  # newest first, as SharePoint lists them
    return collection([_version_json(ctx, lst, item, s, i == 0) for i, s in enumerate(snaps)])


@handler("version", "GET")
def version_get(ctx, t):
    item = t.parent.obj
    lst = t.parent.parent.up("items")
    return entity(_version_json(ctx, lst, item, t.obj, t.obj is item.versions[-1]))
