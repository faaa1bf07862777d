"""`copil init-site`: create on a site the lists, columns (French display names) and libraries
the configuration expects. Idempotent; needs the `manage` right; never part of the nightly run."""
from __future__ import annotations

from connector import schema
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
        if key == "projects":
            names.update(config.owned_columns())
        for c in spec.columns:
            display = names.get(c.key, c.display)
            cols.append((c.key, display, c))
        if "project_code" in names and all(k != "project_code" for k, _, _ in cols):
            cols.append(("project_code", names["project_code"], schema.Column("project_code", "", "Text", indexed=True)))
        out.append((key, title, spec.template, cols))
    return out


def init_site(site, config) -> list[str]:
    lines = []
    titles = {}
    for key, title, template, cols in _specs(config):
        titles[key] = title
        if site.list_exists(title):
            lines.append(f"liste « {title} » : déjà présente")
        else:
            site.create_list(title, template)
            lines.append(f"liste « {title} » : créée")
        info = site.list_info(title, refresh=True)
        for logical, display, col in cols:
            if display == "Title" or info.find(display) is not None:
                continue
            if logical == "project" and config.link_mode(key) == "code":
                continue
            lookup_title = None
            if col.kind == "Lookup":
                lookup_title = titles.get(col.lookup_list) or config.list_title(col.lookup_list)
                if not site.list_exists(lookup_title):
                    raise SchemaError(f"la liste « {lookup_title} » visée par la colonne « {display} » n'existe pas")
            site.create_field(title, display, col.kind, choices=col.choices, lookup_list_title=lookup_title,
                              indexed=col.indexed)
            lines.append(f"  colonne « {display} » ({col.kind}) : créée dans « {title} »")
    return lines
