"""Helpers for end-to-end tests: a seeded emulator site and a configuration pointing at it."""

from __future__ import annotations

import os
from datetime import date

from connector import schema
from connector.config import from_dict
from sample.collectivite import seed

AS_OF = date(2026, 11, 24)


def seeded(emulator, projects: int = 40):
    return seed(emulator.backend, "projets", projects=projects)


def config(emulator, tmp_path, role: str = "write", **sections):
    env = f"COPIL_TEST_TOKEN_{role.upper()}"
    os.environ[env] = emulator.tokens[role]
    data = {
        "collectivite": {"name": "Ville de Belcourt-sur-Loire"},
        "sharepoint": {
            "site_url": emulator.site_url("projets"),
            "auth": "bearer",
            "token_env": env,
            "organisation": "Belcourt",
        },
        "state": {"url": f"sqlite:///{(tmp_path / 'state.db').as_posix()}"},
        "reports": {"enabled": False},
    }
    for k, v in sections.items():
        data[k] = {**data.get(k, {}), **v}
    return from_dict(data)


def item_state(site_model, title: str = "Projets") -> dict:
    """Per item: staff values, Modified, Editor, UI version count, as the emulator holds them."""
    lst = site_model.list_by_title(title)
    owned = {f.internal_name for f in lst.fields.values() if f.title in OWNED_TITLES}
    return {
        i: (
            {k: v for k, v in it.values.items() if k not in owned},
            it.modified,
            it.editor_id,
            it.ui_version,
            len(it.versions),
        )
        for i, it in lst.items.items()
    }


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


def overrun(code: str, projects: int = 40) -> float:
    """Paid beyond the AP for a sample project, computed from the generated lists and finance
    export the way the reports take them (export first), not read from copil's output."""
    import io

    from openpyxl import load_workbook

    from connector.parse import parse_amount

    s = seed_sample(projects)
    idx = next(i for i, p in enumerate(s.lists["projects"]) if p["code"] == code)
    ap = parse_amount(s.lists["projects"][idx]["ap_voted"])[0]
    ws = load_workbook(io.BytesIO(s.finance_export)).active
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r and "Code opération" in r)  # title lines above
    head = list(rows[start])
    paid = sum(
        float(r[head.index("Mandaté")] or 0) for r in rows[start + 1 :] if r[head.index("Code opération")] == code
    )
    return paid - ap if ap else 0.0


def seed_sample(projects: int):
    from sample.collectivite import generate

    return generate(projects)
