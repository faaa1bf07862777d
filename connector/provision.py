"""`copil init-site`: create on a site the lists, columns (French display names) and libraries
the configuration expects, the column formatting of the projects list and its views.
Idempotent; needs the `manage` right; never part of the nightly run.

`--upgrade` brings an existing site to the current version without touching any item: new
columns, indexes, copil's column formats (regenerated from [rules]) and copil's five views.
A format or a view a person made is never replaced or removed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connector import list_formats, list_views, schema
from connector.errors import SchemaError


def _specs(config):
    """(list key, title, template, [(logical, display, Column)]) for every list copil uses."""
    keys = list(config.enabled_lists())
    for extra in ("finance_exports", "reports"):
        if extra not in keys:
            keys.append(extra)
    out = []
    for key in keys:
        spec = schema.BY_KEY[key]
        if key == "finance_exports":
            title = config.finance_export.library
            if not config.finance_export.enabled:
                continue
        elif key == "reports":
            title = config.reports.library
        else:
            title = config.list_title(key)
        cols = []
        names = dict(config.columns(key)) if key not in ("finance_exports", "reports") else {}
        if key == "reports":
            names = config.reports.column_names()
        if key in ("projects", "meetings"):
            names.update(config.owned_columns(key))
        for c in spec.columns:
            display = names.get(c.key, c.display)
            cols.append((c.key, display, c))
        if "project_code" in names and all(k != "project_code" for k, _, _ in cols):
            cols.append(
                ("project_code", names["project_code"], schema.Column("project_code", "", "Text", indexed=True))
            )
        out.append((key, title, spec.template, cols))
    return out


def init_site(site, config, *, upgrade: bool = False) -> list[str]:
    lines = []
    titles = {}
    projects = None
    for key, title, template, cols in _specs(config):
        titles[key] = title
        if site.list_exists(title):
            lines.append(f"liste « {title} » : déjà présente")
        else:
            site.create_list(title, template)
            lines.append(f"liste « {title} » : créée")
        info = site.list_info(title, refresh=True)
        for logical, display, col in cols:
            if display == "Title":
                continue
            if logical == "project" and config.link_mode(key) == "code":
                continue
            found = info.find(display)
            if found is not None:
                if upgrade and col.indexed and col.owned and not found.indexed:
                    site.set_field(title, found.internal, Indexed=True)
                    lines.append(f"  colonne « {display} » : indexée")
                continue
            lookup_title = None
            if col.kind == "Lookup":
                lookup_title = titles.get(col.lookup_list) or config.list_title(col.lookup_list)
                if not site.list_exists(lookup_title):
                    raise SchemaError(f"la liste « {lookup_title} » visée par la colonne « {display} » n'existe pas")
            site.create_field(
                title, display, col.kind, choices=col.choices, lookup_list_title=lookup_title, indexed=col.indexed
            )
            lines.append(f"  colonne « {display} » ({col.kind}) : créée dans « {title} »")
        if key == "projects":
            projects = (title, {logical: display for logical, display, _ in cols})
    if projects:
        lines += _formats(site, config, *projects, upgrade=upgrade)
        lines += _views(site, *projects, upgrade=upgrade)
    return lines


def _internal(site, title: str, displays: dict[str, str]) -> dict[str, str]:
    info = site.list_info(title, refresh=True)
    out = {}
    for logical, display in displays.items():
        f = info.find(display)
        if f is not None:
            out[logical] = f.internal
    return out


def _formats(site, config, title: str, displays: dict[str, str], *, upgrade: bool) -> list[str]:
    """copil's formats on its columns; on a column staff type in (the manager's météo) only
    where there is none yet, or copil's own."""
    info = site.list_info(title, refresh=True)
    owned = {c.key for c in schema.PROJECTS.columns if c.owned}
    lines = []
    for logical, text in list_formats.formats(config.rules).items():
        f = info.find(displays.get(logical, ""))
        if f is None:
            continue
        current = f.formatter
        if current == text:
            continue
        label = f"  mise en forme de « {f.display} »"
        if current and not list_formats.is_ours(current) and logical not in owned:
            lines.append(f"{label} : laissée (mise en forme faite par une personne)")
            continue
        if current and not upgrade:
            lines.append(f"{label} : à mettre à jour (copil init-site --upgrade)")
            continue
        site.set_field(title, f.internal, CustomFormatter=text)
        lines.append(f"{label} : {'mise à jour' if current else 'appliquée'}")
    return lines


def _views(site, title: str, displays: dict[str, str], *, upgrade: bool) -> list[str]:
    """copil's views by title; any other view is left as it is."""
    existing = {v["title"].strip().lower(): v for v in site.views(title)}
    lines = []
    for spec in list_views.views(_internal(site, title, displays)):
        v = existing.get(spec.title.lower())
        if v is None:
            site.add_view(title, spec.title, spec.query, spec.fields, spec.row_limit)
            lines.append(f"  vue « {spec.title} » : créée")
            continue
        same_query, same_fields = _same_caml(v["query"], spec.query), v["fields"] == spec.fields
        if same_query and same_fields:
            continue
        if not upgrade:
            lines.append(f"  vue « {spec.title} » : à mettre à jour (copil init-site --upgrade)")
            continue
        site.update_view(
            title, v["id"], query=None if same_query else spec.query, fields=None if same_fields else spec.fields
        )
        lines.append(f"  vue « {spec.title} » : mise à jour")
    return lines


def _same_caml(a: str, b: str) -> bool:
    """Equal queries even when the server rewrote quotes or spacing."""
    try:
        return ET.canonicalize(f"<r>{a}</r>", strip_text=True) == ET.canonicalize(f"<r>{b}</r>", strip_text=True)
    except ET.ParseError:
        return a == b
