"""Bearer tokens with a role (read < write < manage), optionally bound to one site."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

from emulator import errors

ROLES = ("read", "write", "manage")


@dataclass(frozen=True)
class Grant:
    token: str
    role: str
    site: str | None = None  # None: every site

    @property
    def login(self) -> str:
        return f"i:0i.t|ms.sp.ext|copil-{self.role}@emulator"

    def allows(self, needed: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(needed)


def parse_token_spec(spec: str) -> Grant:
    """`VALUE:ROLE` or `VALUE:ROLE:SITE` as given on the command line."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[1] not in ROLES:
        raise ValueError(f"token spec must be VALUE:ROLE[:SITE] with ROLE in {ROLES}: {spec!r}")
    return Grant(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def default_grants(random: bool = False) -> dict[str, Grant]:
    out = {}
    for role in ROLES:
        value = f"{role}-{secrets.token_urlsafe(18)}" if random else f"{role}-token"
        out[value] = Grant(value, role)
    return out


def save_grants(path, grants: dict[str, Grant]) -> None:
    """Keep generated tokens beside the emulator's data (owner-only file), so a restarted
    `copil emulator --data DIR` accepts the tokens a configuration already holds."""
    data = [{"token": g.token, "role": g.role, "site": g.site} for g in grants.values()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


def load_grants(path) -> dict[str, Grant]:
    with open(path, encoding="utf-8") as fh:
        return {d["token"]: Grant(d["token"], d["role"], d.get("site")) for d in json.load(fh)}


class Tokens:
    def __init__(self, grants: dict[str, Grant]):
        self.grants = dict(grants)

    def authenticate(self, header: str | None, site: str) -> Grant:
        if not header or not header.lower().startswith("bearer "):
            raise errors.unauthorized()
        grant = self.grants.get(header[7:].strip())
        if grant is None:
            raise errors.unauthorized("Invalid issuer or signature.")
        return self.authorize_site(grant, site)

    @staticmethod
    def authorize_site(grant: Grant, site: str) -> Grant:
        """A token bound to one site opens that site only: checked on every $batch operation too."""
        if grant.site is not None and grant.site.lower() != site.lower():
            raise errors.forbidden()
        return grant

    def by_role(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for g in self.grants.values():
            out.setdefault(g.role, g.token)
        return out
