"""Routes: list views (read, create with `views/add`, MERGE, delete, view fields) and items by
CAML query (`GetItems`, what `View.get_items()` sends). Other view operations answer 501."""

from __future__ import annotations

from datetime import datetime

from emulator import caml, errors
from emulator.items import Projection, _check_threshold, _field_for_select
from emulator.models import SPList, View
from emulator.responses import Response, collection, deferred, entity, meta, string_collection
from emulator.routing import Target, handler, nav


@nav("list", "views")
def _views(t, seg):
    views = Target("views", t.obj, t)
    if seg.args:
        return Target("view", t.obj.view_by_id(str(seg.arg())), views)
    return views


@nav("views", "getbytitle")
def _by_title(t, seg):
    return Target("view", t.obj.view_by_title(str(seg.arg())), t)


@nav("views", "getbyid")
def _by_id(t, seg):
    return Target("view", t.obj.view_by_id(str(seg.arg())), t)


@nav("views", "add")
def _add(t, seg):
    return Target("op:viewadd", t.obj, t)


@nav("list", "defaultview")
def _default(t, seg):
    lst = t.obj
    return Target("view", next(v for v in lst.views.values() if v.default), Target("views", lst, t))


@nav("view", "viewfields")
def _view_fields(t, seg):
    return Target("viewfields", t.obj, t)


@nav("viewfields", "addviewfield", "removeviewfield", "removeallviewfields")
def _view_field_op(t, seg):
    return Target("op:viewfield", t.obj, t, {"op": seg.name.lower(), "name": seg.arg() if seg.args else None})


@nav("list", "getitems")
def _get_items(t, seg):
    return Target("op:getitems", t.obj, t)


def _list(t) -> SPList:
    return t.up("views") or t.up("list")


def _xml_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def list_view_xml(v: View) -> str:
    fields = "".join(f'<FieldRef Name="{_xml_attr(f)}" />' for f in v.fields)
    default = 'DefaultView="TRUE" ' if v.default else ""
    paged = "TRUE" if v.paged else "FALSE"
    return (
        f'<View Name="{{{v.id.upper()}}}" {default}Type="HTML" '
        f'DisplayName="{_xml_attr(v.title)}" Url="{_xml_attr(v.url)}" Level="1" BaseViewID="{v.base_view_id}">'
        f"<Query>{v.query}</Query><ViewFields>{fields}</ViewFields>"
        f'<RowLimit Paged="{paged}">{v.row_limit}</RowLimit></View>'
    )


def view_json(ctx, lst: SPList, v: View) -> dict:
    uri = ctx.api(f"Web/Lists(guid'{lst.id}')/Views(guid'{v.id}')")
    return {
        "__metadata": meta(uri, "SP.View"),
        "Id": v.id,
        "Title": v.title,
        "ViewQuery": v.query,
        "RowLimit": v.row_limit,
        "Paged": v.paged,
        "PersonalView": v.personal,
        "DefaultView": v.default,
        "Hidden": v.hidden,
        "ReadOnlyView": False,
        "ViewType": "HTML",
        "BaseViewId": v.base_view_id,
        "ServerRelativeUrl": v.url,
        "CustomFormatter": v.custom_formatter,
        "ListViewXml": list_view_xml(v),
        "HtmlSchemaXml": list_view_xml(v),
        "ViewFields": deferred(uri + "/ViewFields"),
    }


def _props(d: dict, select: str | None) -> dict:
    if not select:
        return d
    wanted = [s.strip() for s in select.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in d]
    if unknown:
        raise errors.property_not_found(unknown[0], "SP.View")
    return {k: v for k, v in d.items() if k == "__metadata" or k in wanted}


@handler("views", "GET")
def views_get(ctx, t):
    lst = t.obj
    return collection([_props(view_json(ctx, lst, v), ctx.query.get("$select")) for v in lst.views.values()])


@handler("view", "GET")
def view_get(ctx, t):
    return entity(_props(view_json(ctx, _list(t.parent), t.obj), ctx.query.get("$select")))


def _strings(v) -> list[str]:
    if isinstance(v, dict):
        v = v.get("results", v.get("Items", []))
    return [str(x) for x in (v or [])]


@handler("op:viewadd", "POST", role="manage")
def view_add(ctx, t):
    p = ctx.json().get("parameters") or {}
    unsupported = {
        k
        for k in p
        if k
        not in (
            "__metadata",
            "Title",
            "ViewFields",
            "Query",
            "RowLimit",
            "Paged",
            "PersonalView",
            "SetAsDefaultView",
            "ViewTypeKind",
            "baseViewId",
        )
    }
    if unsupported:
        raise errors.not_implemented("POST", "views/add with " + ", ".join(sorted(unsupported)))
    if p.get("ViewTypeKind") not in (None, 0, 1):  # 1 = HTML; calendars, Gantt… are not emulated
        raise errors.not_implemented("POST", f"views/add ViewTypeKind={p.get('ViewTypeKind')}")
    query = p.get("Query") or ""
    caml.parse(query)  # a broken query is refused at creation, as SharePoint does
    v = t.obj.add_view(
        p.get("Title"),
        query=query,
        fields=_strings(p.get("ViewFields")),
        row_limit=p.get("RowLimit"),
        paged=p.get("Paged", True) is not False,
        personal=bool(p.get("PersonalView")),
        default=bool(p.get("SetAsDefaultView")),
    )
    return Response(200, entity(view_json(ctx, t.obj, v)))


# Properties of an SP.View a POST to `views` may set (SharePoint's documented way to create one;
# its fields are then added with viewfields/addviewfield).
VIEW_BODY = {"__metadata", "Title", "ViewQuery", "RowLimit", "Paged", "PersonalView", "DefaultView"}


@handler("views", "POST", role="manage")
def view_create(ctx, t):
    b = ctx.json()
    kind = (b.get("__metadata") or {}).get("type", "SP.View")
    if kind != "SP.View":
        raise errors.bad_request(f"The entity type '{kind}' is not an SP.View.")
    unknown = sorted(set(b) - VIEW_BODY)
    if unknown:
        raise errors.not_implemented("POST", "views with SP.View properties " + ", ".join(unknown))
    if not str(b.get("Title") or "").strip():
        raise errors.bad_request("The view title cannot be empty.")
    query = b.get("ViewQuery") or ""
    caml.parse(query)
    lst = t.obj
    v = lst.add_view(
        b["Title"],
        query=query,
        fields=[],
        row_limit=b.get("RowLimit"),
        paged=b.get("Paged", True) is not False,
        personal=bool(b.get("PersonalView")),
        default=bool(b.get("DefaultView")),
    )
    return Response(201, entity(view_json(ctx, lst, v)))


@handler("view", "MERGE", "PATCH", role="manage")
def view_merge(ctx, t):
    b = {k: v for k, v in ctx.json().items() if k != "__metadata"}
    v, lst = t.obj, _list(t.parent)
    writable = {"Title", "ViewQuery", "RowLimit", "Paged", "DefaultView", "Hidden", "CustomFormatter"}
    unknown = [k for k in b if k not in writable]
    if unknown:
        raise errors.property_not_found(unknown[0], "SP.View")
    if "ViewQuery" in b:
        caml.parse(b["ViewQuery"] or "")
        v.query = b["ViewQuery"] or ""
    if "Title" in b:
        v.title = str(b["Title"])
    if "RowLimit" in b:
        v.row_limit = int(b["RowLimit"])
    for key, attr in (("Paged", "paged"), ("Hidden", "hidden")):
        if key in b:
            setattr(v, attr, bool(b[key]))
    if "CustomFormatter" in b:
        v.custom_formatter = str(b["CustomFormatter"] or "")
    if b.get("DefaultView"):
        lst.set_default_view(v)
    ctx.site.backend.touch()
    return Response(204, None)


@handler("view", "DELETE", role="manage")
def view_delete(ctx, t):
    lst = _list(t.parent)
    if t.obj.default:
        raise errors.bad_request(
            "The default view of a list cannot be deleted.", "-2130575219", "Microsoft.SharePoint.SPException"
        )
    lst.views.pop(t.obj.id, None)
    ctx.site.backend.touch()
    return Response(200, None)


@handler("viewfields", "GET")
def view_fields_get(ctx, t):
    v = t.obj
    uri = ctx.api(f"Web/Lists(guid'{_list(t.parent.parent).id}')/Views(guid'{v.id}')/ViewFields")
    xml = '<FieldRef Name="' + '" /><FieldRef Name="'.join(v.fields) + '" />' if v.fields else ""
    return entity(
        {"__metadata": meta(uri, "SP.ViewFieldCollection"), "SchemaXml": xml, "Items": string_collection(v.fields)}
    )


@handler("op:viewfield", "POST", role="manage")
def view_field_op(ctx, t):
    v, op, name = t.obj, t.extra["op"], t.extra["name"]
    lst = _list(t.parent.parent.parent)
    if op == "removeallviewfields":
        v.fields = []
    elif op == "addviewfield":
        f = lst.field(str(name), missing_ok=True)
        if f is None and name not in ("LinkTitle", "LinkTitleNoMenu", "Edit", "DocIcon", "LinkFilename"):
            raise errors.field_not_found(str(name))
        n = f.internal_name if f else str(name)
        if n not in v.fields:
            v.fields.append(n)
    else:
        v.fields = [f for f in v.fields if f.lower() != str(name).lower()]
    ctx.site.backend.touch()
    return Response(200, None)


@handler("op:getitems", "POST")
def get_items(ctx, t):
    """Items matching a CAML query: the server evaluates Where, OrderBy and GroupBy."""
    lst: SPList = t.obj
    body = ctx.json()
    q = body.get("query") or {}
    if not isinstance(q, dict):
        raise errors.bad_request("The query parameter must be an SP.CamlQuery.")
    if q.get("ListItemCollectionPosition") or q.get("FolderServerRelativeUrl"):
        raise errors.not_implemented("POST", "GetItems with ListItemCollectionPosition or a folder")
    rows, _ = caml_rows(ctx, lst, q.get("ViewXml") or "")
    proj = Projection(lst, None, None)
    return collection([proj.item(ctx, it) for it in rows])


def caml_rows(ctx, lst: SPList, view_xml: str, *, limit: bool = True):
    """The items a CAML `<View>` selects, in its order (RowLimit applied when `limit`), and the
    parsed query; the list view threshold applies as to any query."""
    query = caml.parse(view_xml)
    names = query.referenced()
    for n in names:
        if _field_for_select(lst, n) is None and n.lower() != "id":
            raise errors.field_not_found(n)
    _check_threshold(lst, names, query.row_limit or 0)
    today = datetime.now(ctx.site.tz).date()
    user_id = ctx.user.id

    def context(item):
        def value(name, lookup_id):
            if name.lower() == "id":
                return item.id
            f = _field_for_select(lst, name)
            if f.internal_name == "Created":
                return item.created.isoformat()
            if f.internal_name == "Modified":
                return item.modified.isoformat()
            if f.internal_name == "Author":
                return item.author_id
            if f.internal_name == "Editor":
                return item.editor_id
            return item.values.get(f.internal_name)

        def kind(name):
            return "Counter" if name.lower() == "id" else _field_for_select(lst, name).kind

        return caml.Context(value, kind, user_id, today)

    rows = [it for it in lst.items.values() if caml.matches(query, context(it))]
    rows = caml.sort(rows, query, context)
    if limit and query.row_limit:
        rows = rows[: query.row_limit]
    return rows, query
