"""Routes: site users (siteusers, getuserbyid, ensureuser, currentuser) for person fields."""

from __future__ import annotations

from emulator import errors
from emulator.responses import collection, entity, meta
from emulator.routing import Target, handler, nav


def user_json(ctx, u) -> dict:
    return {
        "__metadata": meta(ctx.api(f"Web/GetUserById({u.id})"), "SP.User"),
        "Id": u.id,
        "Title": u.title,
        "Email": u.email,
        "LoginName": u.login,
        "UserPrincipalName": u.email or None,
        "IsSiteAdmin": False,
        "PrincipalType": 1,
        "IsHiddenInUI": False,
    }


@nav("web", "siteusers")
def _users(t, seg):
    users = Target("users", None, t)
    if seg.args:
        return _by_id(users, seg)
    return users


@nav("users", "getbyid")
@nav("web", "getuserbyid")
def _by_id(t, seg):
    u = t.up("root").user(int(seg.arg()))
    if u is None:
        raise errors.not_found("User cannot be found.")
    return Target("user", u, t)


@nav("users", "getbyemail")
def _by_email(t, seg):
    key = str(seg.arg()).lower()
    for u in t.up("root").users.values():
        if u.email.lower() == key:
            return Target("user", u, t)
    raise errors.not_found("User cannot be found.")


@nav("users", "getbyloginname")
def _by_login(t, seg):
    key = str(seg.arg()).lower()
    for u in t.up("root").users.values():
        if u.login.lower() == key:
            return Target("user", u, t)
    raise errors.not_found("User cannot be found.")


@nav("web", "currentuser")
def _current(t, seg):
    return Target("currentuser", None, t)


@nav("web", "ensureuser")
def _ensure(t, seg):
    return Target("op:ensureuser", seg.arg(), t)


@handler("users", "GET")
def users_get(ctx, t):
    return collection([user_json(ctx, u) for u in ctx.site.users.values()])


@handler("user", "GET")
def user_get(ctx, t):
    return entity(user_json(ctx, t.obj))


@handler("currentuser", "GET")
def current_get(ctx, t):
    return entity(user_json(ctx, ctx.user))


@handler("op:ensureuser", "POST", role="write")
def ensure_user(ctx, t):
    login = t.obj or ctx.json().get("logonName")
    if not login:
        raise errors.bad_request("logonName is required.")
    return entity(user_json(ctx, ctx.site.ensure_user(login)))
