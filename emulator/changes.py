"""Routes: GetChanges on the web and on a list, and the CurrentChangeToken they answer.

A query names the objects it wants (`Item`, `List`, `Field`, `Web`) and the change types
(`Add`, `Update`, `SystemUpdate`, `DeleteObject`, `Restore`); an omitted flag is false, as in
SharePoint. Objects the emulator does not log (users, groups, views, files as such, …) answer
501 when asked for: an empty answer would look like « nothing changed »."""

from __future__ import annotations

from datetime import timedelta

from emulator import changelog, errors
from emulator.changelog import Change
from emulator.responses import collection, iso, now
from emulator.routing import Target, handler, nav

KINDS = {"Item": "item", "List": "list", "Field": "field", "Web": "web"}
TYPES = {
    "Add": changelog.ADD,
    "Update": changelog.UPDATE,
    "SystemUpdate": changelog.SYSTEM_UPDATE,
    "DeleteObject": changelog.DELETE,
    "Restore": changelog.RESTORE,
    "Rename": changelog.RENAME,
}
# flags the emulator accepts and has nothing to log for: role and group changes
IGNORED = {
    "RoleAssignmentAdd",
    "RoleAssignmentDelete",
    "RoleDefinitionAdd",
    "RoleDefinitionDelete",
    "RoleDefinitionUpdate",
    "GroupMembershipAdd",
    "GroupMembershipDelete",
    "Move",
    "RecursiveAll",
    "RequireSecurityTrim",
    "IgnoreStartTokenNotFoundError",
}
UNLOGGED = {
    "Alert",
    "ContentType",
    "Site",
    "Activity",
    "File",
    "Folder",
    "User",
    "Group",
    "View",
    "AppConsentPrincipal",
    "Navigation",
    "SecurityPolicy",
}
BOUNDS = {"__metadata", "ChangeTokenStart", "ChangeTokenEnd", "FetchLimit"}
DEFAULT_FETCH_LIMIT, MAX_FETCH_LIMIT = 1000, 2000


def current_token(site, scope: int, scope_id: str) -> dict:
    log = site.changelog
    moment = log.last_time or now()
    return {
        "__metadata": {"type": "SP.ChangeToken"},
        "StringValue": changelog.token(scope, scope_id, moment, log.last_number),
    }


@nav("web", "getchanges")
def _web_changes(t, seg):
    return Target("op:getchanges", None, t)


@nav("list", "getchanges")
def _list_changes(t, seg):
    return Target("op:getchanges", t.obj, t)


@handler("op:getchanges", "POST")
def get_changes(ctx, t):
    site, lst = ctx.site, t.obj
    query = (ctx.json() or {}).get("query")
    if not isinstance(query, dict):
        raise errors.bad_request("The parameter 'query' is required (an SP.ChangeQuery).")
    wanted = {k for k, v in query.items() if v is True}
    asked = sorted(wanted & UNLOGGED)
    if asked:
        raise errors.not_implemented("POST", "GetChanges for " + ", ".join(asked) + " changes")
    known = KINDS.keys() | TYPES.keys() | IGNORED | UNLOGGED | BOUNDS
    unknown = sorted(k for k, v in query.items() if k not in known and v not in (None, False))
    if unknown:
        raise errors.not_implemented("POST", "GetChanges with " + ", ".join(unknown))
    kinds = {KINDS[k] for k in wanted & KINDS.keys()}
    types = {TYPES[k] for k in wanted & TYPES.keys()}
    scope, scope_id = (changelog.SCOPE_LIST, lst.id) if lst is not None else (changelog.SCOPE_WEB, site.web_id)
    start = _bound(query.get("ChangeTokenStart"), scope, scope_id)
    end = _bound(query.get("ChangeTokenEnd"), scope, scope_id)
    try:
        limit = int(query.get("FetchLimit") or DEFAULT_FETCH_LIMIT)
    except (TypeError, ValueError):
        raise errors.bad_request("FetchLimit must be a number.") from None
    limit = max(1, min(limit, MAX_FETCH_LIMIT))
    log = site.changelog
    if start is not None and start.time < now() - timedelta(days=site.backend.change_retention_days):
        # SharePoint Online's answer to a token older than the log: nothing, and no error
        return collection([])
    out = []
    for c in log.since(start.number if start else 0, end.number if end else None):
        if lst is not None and c.list_id != lst.id:
            continue
        if c.kind not in kinds or c.type not in types:
            continue
        out.append(_change_json(ctx, c, scope, scope_id))
        if len(out) >= limit:
            break
    return collection(out)


def _bound(value, scope: int, scope_id: str):
    if value in (None, ""):
        return None
    tok = changelog.parse_token(value)
    if tok.scope != scope or tok.scope_id != scope_id.lower():
        raise errors.bad_request(
            "The change token refers to a different scope than the object queried.",
            "-2146232832",
            "Microsoft.SharePoint.SPInvalidChangeTokenException",
        )
    return tok


def _change_json(ctx, c: Change, scope: int, scope_id: str) -> dict:
    site = ctx.site
    base = {
        "ChangeToken": {
            "__metadata": {"type": "SP.ChangeToken"},
            "StringValue": changelog.token(scope, scope_id, c.time, c.number),
        },
        "ChangeType": c.type,
        "SiteId": site.id,
        "Time": iso(c.time),
        "WebId": site.web_id,
    }
    if c.kind == "item":
        lst = site.lists.get(c.list_id)
        return {
            "__metadata": {"type": "SP.ChangeItem"},
            **base,
            "ItemId": c.item_id,
            "ListId": c.list_id,
            "UniqueId": c.unique_id,
            "Editor": c.editor or "",
            "EditorLoginName": c.editor or "",
            "ListTemplate": lst.base_template if lst else None,
            "ListTitle": lst.title if lst else "",
            "IsRecycleBinOperation": c.recycle,
            "Hidden": False,
        }
    if c.kind == "field":
        return {"__metadata": {"type": "SP.ChangeField"}, **base, "FieldId": c.field_id}
    return {"__metadata": {"type": "SP.ChangeList"}, **base, "ListId": c.list_id}
