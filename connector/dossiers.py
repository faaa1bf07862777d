"""Committees' dossiers: after the living files, each meeting due tonight gets its dossier —
a draft from `[copil] draft_days_before` days before the meeting, refreshed over the same file when
what it shows changes, then frozen on the meeting day (or once a person sets the meeting
« Validé »): rendered a last time, published as PDF too when LibreOffice is there, recorded in the
state as the reference of « depuis le précédent COPIL » for that committee, never rewritten.

The meetings are the items of « Comités de pilotage »; a site without any gets the `[copil]`
cadence's (a portfolio COPIL on the first Tuesday of each quarter by default)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Callable

from connector.consolidate import restrict
from connector.formatting import fr_date
from connector.links import absolute
from connector.model.records import Meeting
from connector.model.vocabulary import Scope
from connector.reports import pdf
from connector.reports.editions import DRAFT, FROZEN, Edition, due, planned, previous_meeting, scope_codes
from connector.sharepoint import ItemUpdate

if TYPE_CHECKING:
    from connector.state import Previous

log = logging.getLogger("copil.dossiers")


@dataclass
class DossierSummary:
    drafts: list[str] = field(default_factory=list)  # meeting labels whose draft was published or kept
    frozen: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said once per run (no LibreOffice, …)


def meetings_of(config, portfolio, as_of: date) -> list[Meeting]:
    """The list's meetings; none typed (or no list): the cadence's."""
    if portfolio.meetings:
        return list(portfolio.meetings)
    return planned(config.copil.cadence, config.copil.cadence_weekday, config.copil.cadence_title, as_of)


def previous_for(
    state,
    run_id: int | None,
    meetings: list[Meeting],
    *,
    before: date,
    committee: str | None = None,
    fallback: Callable[[], Previous],
) -> Previous:
    """« Depuis le précédent COPIL »: the figures of the previous meeting — its frozen dossier's
    run when copil froze one, else the last night on or before that meeting; none when copil was
    not there yet (the reports say it is the first: a reference sliding night after night would
    change every report every night); `fallback` (the snapshot `copil_interval_days` old) only
    when no meeting came before at all."""
    m = previous_meeting(meetings, before=before, committee=committee)
    if m is None:
        return fallback()
    ed = state.editions().get(m.key)
    if ed and ed["kind"] == FROZEN and ed["run_id"]:
        frozen = state.snapshots_of_run(ed["run_id"], m.on)
        if frozen:
            return frozen
    from connector.state import Previous  # lazy: SQLAlchemy: loaded by the run that opens the state

    near = state.previous_snapshots(before_run_id=run_id, copil_on_or_before=m.on)
    return near if near else Previous()


def publish_dossiers(config, site, portfolio, raw, resolved, state, run_id, as_of: date, templates) -> DossierSummary:
    from connector.reports.publish import publish_reports  # lazy: python-docx, docxtpl: when reports are made
    from connector.state import Previous  # lazy: SQLAlchemy: loaded by the run that opens the state

    out = DossierSummary()
    meetings = meetings_of(config, portfolio, as_of)
    recorded = state.editions()
    frozen_keys = {k for k, v in recorded.items() if v["kind"] == FROZEN}
    for ed in due(meetings, as_of=as_of, draft_days=config.copil.draft_days_before, frozen=frozen_keys):
        m = ed.meeting
        assert m is not None
        label = f"{m.title} du {fr_date(m.on)}"
        try:
            codes = scope_codes(m, portfolio.projects)
            pf = portfolio if codes is None else restrict(portfolio, codes)
            previous = previous_for(
                state, run_id, meetings, before=m.on, committee=m.committee, fallback=lambda: Previous()
            )
            project_scope = m.scope == Scope.PROJECTS
            rs = publish_reports(
                site,
                pf,
                reports_cfg=config.reports,
                collectivite=config.collectivite.name,
                copil_date=m.on,
                previous=previous,
                hashes=state.report_hashes,
                templates=templates,
                edition=ed,
                refresh_days=config.copil.living_refresh_days,
                only=codes if project_scope else None,
                projects=project_scope or config.copil.project_reports,
            )
            out.errors += rs.errors
            out.files += rs.files
            main = _main_file(state, m, ed, pf, project_scope)
            if ed.kind == FROZEN:
                pdf_url = _pdf(config, site, state, m, ed, pf, project_scope, out)
                state.record_edition(
                    m.key, kind=FROZEN, on=m.on, title=m.title, run_id=run_id, url=main or "", pdf_url=pdf_url
                )
                out.frozen.append(label)
                _write_item(site, raw, resolved, m, main, f"Dossier figé le {fr_date(as_of)}", out)
            else:
                state.record_edition(m.key, kind=DRAFT, on=m.on, title=m.title, run_id=None, url=main or "")
                out.drafts.append(label)
                if rs.uploaded:
                    _write_item(site, raw, resolved, m, main, f"Projet de dossier, version du {fr_date(as_of)}", out)
        except Exception as e:  # one meeting's dossier never stops the others, nor the run
            log.exception("dossier %s", label)
            out.errors.append(f"dossier de la réunion « {label} » : {type(e).__name__} : {e}")
    return out


def last_frozen(
    state, meetings: list[Meeting], portfolio, published: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """Per operation code, the last frozen edition that covers it: its own report in that dossier
    when there is one, else the dossier's main file (the synthesis) — (server-relative URL,
    « COPIL PPI du 05/01/2027 »). Meetings no longer in the list are left out. `published`: every
    report key's file, read once (a query per project and edition grew with the years)."""
    by_key = {m.key: m for m in meetings}
    out: dict[str, tuple[str, str]] = {}
    eds = [(v["meeting_on"], k, v) for k, v in state.editions().items() if v["kind"] == FROZEN and k in by_key]
    for _, key, ed in sorted(eds):
        m = by_key[key]
        codes = scope_codes(m, portfolio.projects)
        desc = f"{m.title} du {fr_date(m.on)}"
        for code in portfolio.projects.index if codes is None else codes:
            own = published.get(f"{m.key}:{FROZEN}:project:{code}")
            url = own[0] if own else ed["url"]
            if url:
                out[str(code)] = (url, desc)
    return out


def _keys(m: Meeting, ed: Edition, pf, project_scope: bool) -> list[str]:
    prefix = f"{m.key}:{ed.kind}:"
    if project_scope:
        return [f"{prefix}project:{c}" for c in pf.projects.index]
    return [f"{prefix}portfolio"]


def _main_file(state, m: Meeting, ed: Edition, pf, project_scope: bool) -> str | None:
    """The dossier's main file (the synthesis, or the first project's report), as published."""
    for key in _keys(m, ed, pf, project_scope):
        pub = state.report_hashes.published(key)
        if pub:
            return pub[0]
    return None


def _pdf(config, site, state, m: Meeting, ed: Edition, pf, project_scope: bool, out: DossierSummary) -> str | None:
    if not config.copil.pdf:
        return None
    if not pdf.available():
        note = "LibreOffice absent : dossiers figés publiés en .docx seulement (installez libreoffice-writer-nogui)"
        if note not in out.notes:
            out.notes.append(note)
            log.warning(note)
        return None
    urls = [pub[0] for key in _keys(m, ed, pf, project_scope) if (pub := state.report_hashes.published(key))]
    files = {u.rsplit("/", 1)[-1]: site.download_file(u) for u in urls}
    first = None
    for name, data in pdf.to_pdf(files).items():
        folder_url = urls[0].rsplit("/", 1)[0]
        folder = folder_url[len(site.list_info(config.reports.library).root_url) + 1 :]
        url = site.upload_file(config.reports.library, folder, name, data)
        out.files.append(url)
        first = first or url
    return first


def _write_item(site, raw, resolved, m: Meeting, main: str | None, state_text: str, out: DossierSummary) -> None:
    """The meeting item's own two columns: the link to its dossier and where the dossier stands
    (a system update: the person's Modified and Editor stay)."""
    rl = resolved.lists.get("meetings") if resolved is not None else None
    if rl is None or m.item_id is None or main is None:
        return
    cols = {k: rl.columns.get(k) for k in ("dossier", "edition_state")}
    rec = next((r for r in raw.lists.get("meetings", []) if r.get("_id") == m.item_id), {})
    values, logical = {}, {}
    if cols["dossier"] is not None:
        link = f"{absolute(site, main)}, Dossier {m.title} du {fr_date(m.on)}"
        current = rec.get("dossier")
        if not (isinstance(current, dict) and current.get("Url") == link.split(", ")[0]):
            values[cols["dossier"].internal] = link
            url, _, text = link.partition(", ")
            logical["dossier"] = {"Url": url, "Description": text}
    if cols["edition_state"] is not None and rec.get("edition_state") != state_text:
        values[cols["edition_state"].internal] = state_text
        logical["edition_state"] = state_text
    if not values:
        return
    (res,) = site.update_items(
        rl.info.title,
        [ItemUpdate(int(m.item_id), values, modified=rec.get("_modified"), editor=rec.get("_editor"))],
        system=True,
    )
    if res.ok:
        raw.apply_write("meetings", int(m.item_id), logical)
    else:
        out.errors.append(f"réunion « {m.title} du {fr_date(m.on)} » : {res.error}")
