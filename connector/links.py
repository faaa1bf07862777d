"""On each project item, « Fiche projet » links to its living file and « Dernier rapport COPIL » to
the last frozen edition that covers it (its living file before any), written after the reports (a link never points at a file not yet uploaded), as a system update
of copil's own column, and only when it changed: an unchanged night writes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from connector.sharepoint import ItemUpdate, SharePointSite

log = logging.getLogger("copil.links")


@dataclass
class LinkSummary:
    written: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def absolute(site: SharePointSite, server_relative: str) -> str:
    host = site.site_url[: len(site.site_url) - len(site.server_relative)]
    return host + quote(server_relative, safe="/")  # commas and spaces encoded: "url, description" stays unambiguous


def _current(value) -> tuple[str, str]:
    if isinstance(value, dict):
        return value.get("Url") or "", value.get("Description") or ""
    return (str(value), "") if value else ("", "")


def write_links(
    site: SharePointSite,
    portfolio,
    raw,
    resolved,
    published: dict[str, tuple[str, str]],
    frozen: dict[str, tuple[str, str]] | None = None,
    progress=None,
) -> LinkSummary:
    """`published`: report key -> (server-relative URL, COPIL day), as the state holds them;
    `frozen`: code -> (server-relative URL, description) of the last frozen edition covering the
    project (connector.dossiers.last_frozen). « Fiche projet » links to the living file;
    « Dernier rapport COPIL » to the last frozen edition, or the living file before any."""
    out = LinkSummary()
    rl = resolved.lists["projects"]
    col = rl.columns.get("report_link")
    living_col = rl.columns.get("living_link")
    if col is None and living_col is None:  # a site provisioned before the columns existed (warned)
        return out
    records = {r.get("_id"): r for r in raw.lists.get("projects", [])}
    updates, codes, written = [], {}, {}
    for code, row in portfolio.projects.iterrows():
        pub = published.get(f"project:{code}")
        rec = records.get(row["id"])
        if rec is None:
            continue
        # the living file keeps its name whatever the night: a description without a date is not
        # rewritten each time the file is refreshed
        living = (absolute(site, pub[0]), f"Fiche projet {code}") if pub else None
        last = (absolute(site, frozen[code][0]), frozen[code][1]) if frozen and code in frozen else living
        values, logical = {}, {}
        for c, want, key in ((living_col, living, "living_link"), (col, last, "report_link")):
            if c is not None and want is not None and _current(rec.get(key)) != want:
                values[c.internal] = f"{want[0]}, {want[1]}"
                logical[key] = {"Url": want[0], "Description": want[1]}  # as SharePoint answers a link
        if not values:
            out.unchanged += 1
            continue
        # the ETag is not checked: copil's own columns only, and its own write-back moved it
        updates.append(ItemUpdate(int(row["id"]), values, modified=rec.get("_modified"), editor=rec.get("_editor")))
        codes[int(row["id"])] = code
        written[int(row["id"])] = logical
    if not updates:
        return out
    for res in site.update_items(rl.info.title, updates, system=True, progress=progress):
        if res.ok:
            out.written += 1
            raw.apply_write("projects", res.item_id, written[res.item_id])
        else:
            out.errors.append(f"lien vers le rapport du projet {codes[res.item_id]} : {res.error}")
    log.info("liens vers les rapports : %d écrit(s), %d inchangé(s)", out.written, out.unchanged)
    return out
