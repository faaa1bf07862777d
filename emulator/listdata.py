"""Routes: values as a person reads them. `FieldValuesAsText` on an item (each field formatted
in the site's locale and time zone), `RenderListDataAsStream` on a list (the rows of a view or a
CAML `<View>`, values as text, paged with `NextHref`), and the time zone's `utcToLocalTime` /
`localTimeToUTC`."""

from __future__ import annotations

from datetime import datetime, timezone

from emulator import errors
from emulator.fields import entity_property_name
from emulator.items import _field_for_select
from emulator.models import Item, SPList
from emulator.odata import parse_query
from emulator.responses import Response, entity, function_result, iso
from emulator.routing import Target, handler, nav
from emulator.views import caml_rows

_YES = {1036: ("Oui", "Non"), 1033: ("Yes", "No")}


def _number(v, locale_id: int) -> str:
    text = f"{v:,.10f}".rstrip("0").rstrip(".") if isinstance(v, float) else f"{v:,}"
    if locale_id == 1036:  # 1 234,5: narrow no-break space and decimal comma, as SharePoint prints
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _local(dt: datetime, site) -> datetime:
    return dt.astimezone(site.tz) if dt.tzinfo else dt.replace(tzinfo=timezone.utc).astimezone(site.tz)


def _date(v, site) -> str:
    dt = v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    dt = _local(dt, site)
    return (
        dt.strftime("%d/%m/%Y %H:%M")
        if site.locale_id == 1036
        else f"{dt.month}/{dt.day}/{dt.year} {dt.strftime('%I:%M %p').lstrip('0')}"
    )


def as_text(ctx, lst: SPList, item: Item, f) -> str:
    """A field's value as SharePoint shows it ("" when empty)."""
    site, n = ctx.site, f.internal_name
    if n == "Created":
        return _date(item.created, site)
    if n == "Modified":
        return _date(item.modified, site)
    if n in ("Author", "Editor"):
        u = site.user(item.author_id if n == "Author" else item.editor_id)
        return u.title if u else ""
    v = item.values.get(n)
    if v is None or v == "":
        return ""
    if f.kind == "User":
        u = site.user(v)
        return u.title if u else ""
    if f.kind == "Lookup":
        target = site.list_by_id(f.lookup_list_id, missing_ok=True)
        parent = target.items.get(v) if target else None
        return str(parent.values.get(f.lookup_field) or "") if parent else ""
    if f.kind == "DateTime":
        return _date(v, site)
    if f.kind in ("Number", "Currency", "Integer", "Counter"):
        return _number(v, site.locale_id)
    if f.kind == "Boolean":
        return _YES.get(site.locale_id, _YES[1033])[0 if v else 1]
    if f.kind == "MultiChoice":
        return "; ".join(v)
    if f.kind == "URL":
        return f"{v.get('Url')}, {v.get('Description') or v.get('Url')}"
    return str(v)


def _raw(v) -> str:
    if isinstance(v, datetime):
        return iso(v)
    return "" if v is None else str(v)


# -- FieldValuesAsText ------------------------------------------------------------------
@nav("item", "fieldvaluesastext")
def _as_text(t, seg):
    return Target("fieldvaluesastext", t.obj, t)


@handler("fieldvaluesastext", "GET")
def field_values_as_text(ctx, t):
    lst: SPList = t.up("items") or t.up("list")
    item: Item = t.obj
    out = {
        "__metadata": {
            "id": ctx.api(f"Web/Lists(guid'{lst.id}')/Items({item.id})/FieldValuesAsText"),
            "uri": ctx.api(f"Web/Lists(guid'{lst.id}')/Items({item.id})/FieldValuesAsText"),
            "type": "SP.FieldStringValues",
        },
        "ID": str(item.id),
    }
    for f in lst.fields.values():
        if f.internal_name not in ("ID",) and (not f.hidden or f.internal_name in ("FileRef", "FileLeafRef")):
            out[entity_property_name(f)] = as_text(ctx, lst, item, f)
    return entity(out)


# -- RenderListDataAsStream --------------------------------------------------------------------
@nav("list", "renderlistdataasstream")
def _render(t, seg):
    return Target("op:renderlistdata", t.obj, t)


@handler("op:renderlistdata", "POST")
def render_list_data(ctx, t):
    """Plain views only: rows of the `ViewXml` given (or of the default view), values as text,
    numbers and dates also raw under `Name.`; paging by ID with `Paging` / `NextHref`. Grouped
    rendering and the other RenderOptions answer 501."""
    lst: SPList = t.obj
    body = ctx.json() or {}
    params = body.get("parameters") or {}
    options = int(params.get("RenderOptions") or 2)
    if options & ~(2 | 4096 | 1):  # ListData, and the harmless context/schema bits
        raise errors.not_implemented("POST", f"RenderListDataAsStream with RenderOptions={options}")
    xml = params.get("ViewXml")
    if not xml:
        view = next((v for v in lst.views.values() if v.default), None)
        fields = "".join(f'<FieldRef Name="{n}"/>' for n in (view.fields if view else []))
        xml = (
            f"<View><Query>{view.query if view else ''}</Query><ViewFields>{fields}</ViewFields>"
            f"<RowLimit>{view.row_limit if view else 30}</RowLimit></View>"
        )
    rows, query = caml_rows(ctx, lst, xml, limit=False)
    paging = parse_query(str(params.get("Paging") or "").lstrip("?"))
    paging = {k.lower(): v for k, v in paging.items()}
    after = int(paging.get("p_id") or 0)
    if after:
        if query.order:
            raise errors.not_implemented("POST", "RenderListDataAsStream paging of an ordered view")
        rows = [r for r in rows if r.id > after]
    limit = query.row_limit or 30
    page, more = rows[:limit], len(rows) > limit
    names = query.fields or [f.internal_name for f in lst.fields.values() if not f.hidden]
    out_rows = []
    for item in page:
        row = {"ID": str(item.id), "PermMask": "0x7fffffffffffffff", "FSObjType": "1" if item.is_folder else "0"}
        for n in names:
            f = _field_for_select(lst, n)
            if f is None:
                raise errors.field_not_found(n)
            row[f.internal_name] = as_text(ctx, lst, item, f)
            if f.kind in ("Number", "Currency", "DateTime"):
                row[f.internal_name + "."] = _raw(item.values.get(f.internal_name))
        out_rows.append(row)
    first = int(paging.get("pagefirstrow") or 1)
    data = {
        "Row": out_rows,
        "FirstRow": first,
        "LastRow": first + len(out_rows) - 1,
        "RowLimit": limit,
        "FilterLink": "?",
        "ForceNoHierarchy": "1",
        "HierarchyHasIndention": "",
    }
    if more:
        data["NextHref"] = f"?Paged=TRUE&p_ID={page[-1].id}&PageFirstRow={first + len(out_rows)}"
    return Response(200, data, content_type="application/json;charset=utf-8")


# -- time zone conversions ---------------------------------------------------------------------
@nav("timezone", "utctolocaltime", "localtimetoutc")
def _convert(t, seg):
    return Target("op:tzconvert", None, t, {"name": seg.name, "date": seg.arg("date") or seg.arg()})


@handler("op:tzconvert", "GET", "POST")
def tz_convert(ctx, t):
    raw = t.extra["date"]
    if raw is None:  # @date alias: utcToLocalTime(@date)?@date='…'
        raw = ctx.query.get("@date")
    if isinstance(raw, str) and raw.startswith("@"):
        raw = ctx.query.get(raw)
    if not raw:
        raw = (ctx.json() or {}).get("date")
    try:
        dt = datetime.fromisoformat(str(raw).strip("'").replace("Z", "+00:00"))
    except ValueError:
        raise errors.bad_request(f"Cannot convert '{raw}' to a date.")
    tz = ctx.site.tz
    if t.extra["name"].lower() == "utctolocaltime":
        local = (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(tz).replace(tzinfo=None)
        return function_result("UTCToLocalTime", local.isoformat(timespec="seconds"))
    utc = (dt.replace(tzinfo=tz) if not dt.tzinfo else dt).astimezone(timezone.utc)
    return function_result("LocalTimeToUTC", utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
