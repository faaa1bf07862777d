"""Routes: service root, contextinfo, web, regional settings, lists (read, create, delete)."""

from __future__ import annotations

import secrets
from datetime import datetime as _dt

from emulator import changelog, errors, timezones
from emulator.changes import current_token
from emulator.models import SPList
from emulator.responses import Response, collection, deferred, entity, iso, meta, now
from emulator.routing import Target, handler, nav


# -- root -----------------------------------------------------------------------
@nav("root", "web")
def _web(t, seg):
    return Target("web", None, t)


@nav("root", "contextinfo")
def _contextinfo(t, seg):
    return Target("contextinfo", None, t)


@nav("root", "site")
def _site(t, seg):
    return Target("sitecoll", None, t)


@handler("contextinfo", "POST")
def contextinfo(ctx, t):
    digest = f"0x{secrets.token_hex(64).upper()},{now().strftime('%d %b %Y %H:%M:%S')} -0000"
    return entity(
        {
            "GetContextWebInformation": {
                "__metadata": {"type": "SP.ContextWebInformation"},
                "FormDigestTimeoutSeconds": 1800,
                "FormDigestValue": digest,
                "LibraryVersion": "16.0.0.0",
                "SiteFullUrl": ctx.base_url,
                "WebFullUrl": ctx.base_url,
                "SupportedSchemaVersions": {
                    "__metadata": {"type": "Collection(Edm.String)"},
                    "results": ["14.0.0.0", "15.0.0.0"],
                },
            }
        }
    )


@handler("sitecoll", "GET")
def site_get(ctx, t):
    return entity(
        {
            "__metadata": meta(ctx.api("site"), "SP.Site"),
            "Id": ctx.site.id,
            "Url": ctx.base_url,
            "ServerRelativeUrl": ctx.site.path,
            "CurrentChangeToken": current_token(ctx.site, changelog.SCOPE_SITE, ctx.site.id),
        }
    )


def web_json(ctx) -> dict:
    s = ctx.site
    return {
        "__metadata": meta(ctx.api("Web"), "SP.Web"),
        "Id": s.web_id,
        "Title": s.name,
        "Url": ctx.base_url,
        "ServerRelativeUrl": s.path,
        "Language": 1036,
        "Created": "2024-01-15T08:00:00Z",
        "WebTemplate": "STS",
        "CurrentChangeToken": current_token(s, changelog.SCOPE_WEB, s.web_id),
        "Lists": deferred(ctx.api("Web/Lists")),
        "SiteUsers": deferred(ctx.api("Web/SiteUsers")),
    }


@handler("web", "GET")
def web_get(ctx, t):
    return entity(select_props(web_json(ctx), ctx.query.get("$select")))


# -- regional settings ------------------------------------------------------------
@nav("web", "regionalsettings")
def _regional(t, seg):
    return Target("regional", None, t)


@nav("regional", "timezone")
def _tz(t, seg):
    return Target("timezone", None, t)


@nav("regional", "timezones")
def _tzs(t, seg):
    return Target("timezones", None, t)


def _tz_info(zone) -> dict:
    """SharePoint's TimeZoneInformation: UTC = local + Bias (+ DaylightBias in summer), minutes."""
    offsets = [zone.utcoffset(_dt(2026, m, 15)) for m in (1, 7)]
    dsts = [zone.dst(_dt(2026, m, 15)) for m in (1, 7)]
    std = next((o for o, d in zip(offsets, dsts) if not d), offsets[0])
    summer = max(offsets) if any(dsts) else std
    bias = -int(std.total_seconds() // 60)
    return {
        "__metadata": {"type": "SP.TimeZoneInformation"},
        "Bias": bias,
        "DaylightBias": -int((summer - std).total_seconds() // 60),
        "StandardBias": 0,
    }


def timezone_json(ctx, tz_id: int) -> dict:
    tz = timezones.by_id(tz_id)
    return {
        "__metadata": meta(ctx.api(f"Web/RegionalSettings/TimeZones/GetById({tz.id})"), "SP.TimeZone"),
        "Description": tz.description,
        "Id": tz.id,
        "Information": _tz_info(tz.zone),
    }


@handler("regional", "GET")
def regional_get(ctx, t):
    site = ctx.site
    us = site.locale_id == 1033
    d = {
        "__metadata": meta(ctx.api("Web/RegionalSettings"), "SP.RegionalSettings"),
        "LocaleId": site.locale_id,
        "TimeZone": deferred(ctx.api("Web/RegionalSettings/TimeZone")),
        "DecimalSeparator": "." if us else ",",
        "ThousandSeparator": "," if us else "\u00a0",
        "DateSeparator": "/",
        "DateFormat": 0 if us else 1,
        "Time24": not us,
        "TimeZones": deferred(ctx.api("Web/RegionalSettings/TimeZones")),
    }
    expand = {e.strip().lower() for e in (ctx.query.get("$expand") or "").split(",") if e.strip()}
    if expand - {"timezone"}:
        raise errors.not_implemented("GET", "/_api/" + ctx.path + "?$expand=" + ctx.query["$expand"])
    if "timezone" in expand:
        d["TimeZone"] = timezone_json(ctx, getattr(site, "timezone_id", 3))
    return entity(d)


@handler("timezone", "GET")
def timezone_get(ctx, t):
    return entity(timezone_json(ctx, getattr(ctx.site, "timezone_id", 3)))


@handler("timezones", "GET")
def timezones_get(ctx, t):
    return collection([timezone_json(ctx, i) for i in timezones.BY_ID])


# -- lists ----------------------------------------------------------------------
@nav("web", "lists")
def _lists(t, seg):
    lists = Target("lists", None, t)
    if seg.args:  # lists(guid'...')
        return _list_by_id(lists, seg)
    return lists


@nav("web", "getlist")
def _getlist(t, seg):
    url = str(seg.arg("strUrl") or seg.arg())
    for lst in site_of(t).lists.values():
        if lst.root_url.lower() == url.rstrip("/").lower():
            return Target("list", lst, t)
    raise errors.file_not_found(url)


@nav("lists", "getbytitle")
def _list_by_title(t, seg):
    title = seg.arg()
    return Target("list", site_of(t).list_by_title(str(title)), t)


@nav("web", "getlistbytitle")
def _web_list_by_title(t, seg):
    return Target("list", site_of(t).list_by_title(str(seg.arg())), t)


@nav("lists", "getbyid")
def _list_by_id(t, seg):
    return Target("list", site_of(t).list_by_id(str(seg.arg())), t)


def entity_type_name(lst: SPList) -> str:
    """SP.Data.ProjetsListItem -> ProjetsList; SP.Data.Shared_x0020_DocumentsItem -> Shared_x0020_Documents."""
    name = lst.entity_type[len("SP.Data.") :]
    return name[: -len("Item")] if name.endswith("Item") else name


def site_of(t):
    return t.up("root")


def list_json(ctx, lst: SPList) -> dict:
    uri = ctx.api(f"Web/Lists(guid'{lst.id}')")
    return {
        "__metadata": meta(uri, "SP.List", etag=f'"{len(lst.fields)}"'),
        "Id": lst.id,
        "Title": lst.title,
        "BaseTemplate": lst.base_template,
        "BaseType": 1 if lst.is_library else 0,
        "ItemCount": len(lst.items),
        "Description": lst.description,
        "ListItemEntityTypeFullName": lst.entity_type,
        "EntityTypeName": entity_type_name(lst),
        "Created": iso(lst.created),
        "Hidden": False,
        "EnableVersioning": True,
        "ParentWebUrl": ctx.site.path,
        "CurrentChangeToken": current_token(ctx.site, changelog.SCOPE_LIST, lst.id),
        "RootFolder": deferred(uri + "/RootFolder"),
        "Fields": deferred(uri + "/Fields"),
        "Items": deferred(uri + "/Items"),
    }


def select_props(d: dict, select: str | None) -> dict:
    """Apply a $select to an entity (not items: those have their own rules), `Nav/Prop` on an
    expanded property included. A property the type does not have is a 400, as in SharePoint,
    never an empty entity."""
    if not select:
        return d
    names = [s.strip() for s in select.split(",") if s.strip()]
    known = {k.lower(): k for k in d}
    keep, inner = set(), {}
    for name in names:
        head, _, rest = name.partition("/")
        if head == "*":
            keep |= set(known)
            continue
        if head.lower() not in known:
            raise errors.bad_request(
                f"The property '{head}' does not exist on type "
                f"'{d.get('__metadata', {}).get('type', 'SP.Entity')}'. Make sure to only use "
                "property names that are defined by the type."
            )
        keep.add(head.lower())
        if rest:
            inner.setdefault(head.lower(), []).append(rest)
    out = {}
    for k, v in d.items():
        if k == "__metadata" or k.lower() in keep:
            sub = inner.get(k.lower())
            out[k] = select_props(v, ",".join(sub)) if sub and isinstance(v, dict) and "__metadata" in v else v
    return out


def expanded_list(ctx, lst: SPList) -> dict:
    """A list as GET returns it, with `$expand=RootFolder` (and `$select`) applied."""
    d = list_json(ctx, lst)
    expand = {e.strip().lower() for e in (ctx.query.get("$expand") or "").split(",") if e.strip()}
    if "rootfolder" in expand:
        from emulator.libraries import folder_json  # lazy: the route modules are imported by the server in its order

        d["RootFolder"] = folder_json(ctx, ctx.site.folder(lst.root_url))
    for name in expand - {"rootfolder"}:
        raise errors.not_implemented("GET", f"$expand={name} on a list")
    return select_props(d, ctx.query.get("$select"))


@handler("lists", "GET")
def lists_get(ctx, t):
    return collection([expanded_list(ctx, lst) for lst in ctx.site.lists.values()])


def _unkept(body: dict, kept: tuple[str, ...]) -> list[str]:
    """Properties of a list body the emulator would not keep. Content types are not emulated:
    « disabled », which PnPjs' lists.add and lists.ensure send by default, is what a list already
    is; asking for them is a 501."""
    return sorted(
        k
        for k, v in body.items()
        if k not in kept and not (k in ("AllowContentTypes", "ContentTypesEnabled") and v in (False, None))
    )


@handler("lists", "POST", role="manage")
def lists_add(ctx, t):
    body = ctx.json()
    # what PnPjs' lists.add/ensure send; content types are not emulated: asking for them is a 501
    unknown = _unkept(body, ("__metadata", "Title", "Description", "BaseTemplate"))
    if unknown:
        raise errors.not_implemented("POST", "lists with SP.List properties " + ", ".join(unknown))
    title = body.get("Title")
    if not title:
        raise errors.bad_request("The list title is required.")
    lst = ctx.site.create_list(str(title), int(body.get("BaseTemplate", 100)))
    lst.description = str(body.get("Description") or "")
    return Response(201, entity(list_json(ctx, lst)))


@handler("list", "GET")
def list_get(ctx, t):
    return entity(expanded_list(ctx, t.obj))


@handler("list", "DELETE", role="manage")
def list_delete(ctx, t):
    ctx.site.delete_list(t.obj)
    return Response(200, None)


@handler("list", "MERGE", role="manage")
def list_merge(ctx, t):
    body = ctx.json()
    unknown = _unkept(body, ("__metadata", "Title", "Description"))
    if unknown:  # never look saved while dropping it
        raise errors.not_implemented("MERGE", f"list properties {', '.join(unknown)}")
    if "Title" in body:
        t.obj.title = str(body["Title"])
    if "Description" in body:
        t.obj.description = str(body["Description"] or "")
    ctx.site.log_change("list", changelog.UPDATE, t.obj.id, editor=ctx.user.id)
    ctx.site.backend.touch()
    return Response(204, None)


# -- permissions ----------------------------------------------------------------
# SP.BasePermissions low bits: ViewListItems 0x1, AddListItems 0x2, EditListItems 0x4,
# DeleteListItems 0x8, ManageLists 0x800, Open 0x10000, ViewPages 0x20000.
_PERMS = {"read": 0x1 | 0x10000 | 0x20000}
_PERMS["write"] = _PERMS["read"] | 0x2 | 0x4 | 0x8
_PERMS["manage"] = _PERMS["write"] | 0x800


@nav("list", "effectivebasepermissions")
@nav("web", "effectivebasepermissions")
def _perms(t, seg):
    return Target("permissions", None, t)


@handler("permissions", "GET")
def permissions_get(ctx, t):
    return entity(
        {
            "EffectiveBasePermissions": {
                "__metadata": {"type": "SP.BasePermissions"},
                "High": "0",
                "Low": str(_PERMS[ctx.grant.role]),
            }
        }
    )
