"""Helpers for end-to-end tests: a seeded emulator site and a configuration pointing at it."""
from __future__ import annotations

import os
from datetime import date

from connector import schema
from connector.config import from_dict
from emulator.sample import seed

AS_OF = date(2026, 11, 24)


def seeded(emulator, projects: int = 40):
    return seed(emulator.backend, "projets", projects=projects)


def config(emulator, tmp_path, role: str = "write", **sections):
    env = f"COPIL_TEST_TOKEN_{role.upper()}"
    os.environ[env] = emulator.tokens[role]
    data = {"collectivite": {"name": "Ville de Belcourt-sur-Loire"},
            "sharepoint": {"site_url": emulator.site_url("projets"), "auth": "bearer", "token_env": env,
                           "organisation": "Belcourt"},
            "state": {"url": f"sqlite:///{(tmp_path / 'state.db').as_posix()}"},
            "reports": {"enabled": False}}
    for k, v in sections.items():
        data[k] = {**data.get(k, {}), **v}
    return from_dict(data)


def item_state(site_model, title: str = "Projets") -> dict:
    """Per item: staff values, Modified, Editor, UI version count, as the emulator holds them."""
    lst = site_model.list_by_title(title)
    owned = {f.internal_name for f in lst.fields.values() if f.title in OWNED_TITLES}
    return {i: ({k: v for k, v in it.values.items() if k not in owned}, it.modified, it.editor_id,
                it.ui_version, len(it.versions)) for i, it in lst.items.items()}


def owned(site_model, item_id: int, title: str = "Projets") -> dict:
    lst = site_model.list_by_title(title)
    it = lst.items[item_id]
    return {f.title: it.values.get(f.internal_name) for f in lst.fields.values() if f.title in OWNED_TITLES}


OWNED_TITLES = {c.display for c in schema.PROJECTS.columns if c.owned}


def writes(routes) -> list[str]:
    """Emulator routes that change something: anything but a read (a $batch envelope of reads
    and the request digest are not writes)."""
    verbs = ("POST", "PUT", "PATCH", "MERGE", "DELETE")
    return [r for r in routes if r.rsplit(".", 1)[-1] in verbs and r not in ("batch.POST", "contextinfo.POST")]
