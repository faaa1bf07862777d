"""One nightly run: extract -> normalize -> consolidate -> write back -> reports -> state.

State is committed after the writes it describes: a run that dies half-way leaves the previous
snapshot as "last COPIL" and the next run recomputes everything from SharePoint."""

from __future__ import annotations

import difflib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from connector import deadline, dossiers
from connector import extract as extract_mod
from connector.config import Config
from connector.consolidate import consolidate
from connector.errors import CopilError, ExitCode, RunInterrupted, RunStopped, RunTimedOut, SchemaError, TemplateRefused
from connector.evolutions import facts
from connector.extract import Resolved
from connector.links import write_links
from connector.normalize import normalize
from connector.portfolio import PROJECT_INDICATOR_COLUMNS, Portfolio
from connector.raw import Progress, RawData
from connector.sharepoint import SharePointSite
from connector.writeback import write_back

if TYPE_CHECKING:  # the state module pulls SQLAlchemy in; imported where a run opens it
    from connector.state import State  # lazy: SQLAlchemy: loaded by the run that opens the state

log = logging.getLogger("copil.pipeline")


@dataclass
class RunSummary:
    run_id: int | None = None
    status: str = "ok"  # ok | partial | failed
    dry_run: bool = False
    projects: int = 0
    by_weather: dict = field(default_factory=dict)
    read_items: int = 0
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    planned: list = field(default_factory=list)  # dry run: what would be written
    findings: list = field(default_factory=list)
    dead_letters: list = field(default_factory=list)
    reports_uploaded: int = 0
    reports_skipped: int = 0
    report_reasons: dict = field(default_factory=dict)  # why reports were rendered: reason -> count
    dossiers_draft: list = field(default_factory=list)  # meetings whose draft dossier is being prepared
    dossiers_frozen: list = field(default_factory=list)  # meetings whose dossier was frozen tonight
    notes: list = field(default_factory=list)  # said once per run (LibreOffice absent, …)
    links_written: int = 0
    report_errors: list = field(default_factory=list)
    written_items: list = field(default_factory=list)  # [code, item id, [columns]] written tonight
    source_errors: list = field(default_factory=list)  # a source read only in part (export columns missing)
    report_files: list = field(default_factory=list)
    workbook: str = ""  # the portfolio's workbook, when written tonight (connector.workbook)
    requests: int = 0
    mode: str = "sync"  # "sync" (the night) | "refresh" (daytime: computed columns only)
    read: dict = field(default_factory=dict)  # how the lists were read (connector.sources.ReadOutcome)
    read_text: str = ""  # the same, said in French
    duration_s: float = 0.0
    exit_code: int = 0
    message: str = ""


def _notify(progress, step: str, done: int | None = None, total: int | None = None) -> None:
    """`progress(step, done, total)`: bars on a terminal, plain lines otherwise (jobs.output)."""
    if progress is not None:
        progress(step, done, total)


def _counter(progress, step: str, total: int):
    state = {"done": 0}

    def advance(n: int) -> None:
        state["done"] += n
        _notify(progress, step, state["done"], total)

    return advance


def today(tz: str) -> date:
    """The collectivité's date, not the server's: a run at 00:30 in Nouméa is already tomorrow
    there while a UTC server still says today. `tz` is the site's zone (`site.timezone`)."""
    return datetime.now(ZoneInfo(tz)).date()


def build_portfolio(
    config: Config,
    site: SharePointSite | None = None,
    *,
    as_of: date | None = None,
    progress: Progress | None = None,
    reports: bool = False,
) -> tuple[Portfolio, RawData, Resolved, SharePointSite]:
    """Read and consolidate without writing anything. Returns (portfolio, raw, resolved, site).
    With `reports`, the report library and its columns are checked with the lists."""
    site = site or SharePointSite.from_config(config)
    extract_mod.prefetch(site, config, reports=reports)  # metadata and zone in two round trips
    tz = site.timezone(config.collectivite.timezone)
    as_of = as_of or today(tz)
    resolved = _resolved(config, site, progress, reports)
    raw, more = extract_mod.extract(site, config, resolved)
    raw.extra_findings = more
    _notify(progress, "Consolidation du portefeuille")
    return consolidate_raw(config, raw, tz, as_of), raw, resolved, site


def _resolved(config: Config, site: SharePointSite, progress, reports: bool) -> Resolved:
    """Every configured list and column resolved, or the run stopped naming all that is wrong."""
    _notify(progress, "Vérification des listes et colonnes")
    resolved = extract_mod.resolve(site, config, reports=reports)
    if resolved.problems:
        raise SchemaError("configuration incompatible avec le site :\n- " + "\n- ".join(resolved.problems))
    _notify(progress, "Lecture des listes et bibliothèques")
    return resolved


def read_portfolio(
    config: Config, site: SharePointSite, state, *, as_of: date, progress=None, reports=False, refresh=False
):
    """A run's reading: the lists through the change log when the state allows it (connector.sources),
    then the whole portfolio consolidated. Returns (portfolio or None, raw or None, resolved, reader):
    None when `refresh` and nothing changed since the last run."""
    from connector.sources import SourceReader  # lazy: the run's reading only (check and report read in full)

    tz = site.timezone(config.collectivite.timezone)
    resolved = _resolved(config, site, progress, reports)
    reader = SourceReader(site, config, state, resolved)
    raw, more = reader.read(rows_if_unchanged=not refresh)
    if raw is None:
        return None, None, resolved, reader
    raw.extra_findings = more
    _notify(progress, "Consolidation du portefeuille")
    return consolidate_raw(config, raw, tz, as_of), raw, resolved, reader


def consolidate_raw(config: Config, raw: RawData, tz: str, as_of: date) -> Portfolio:
    frames, findings = normalize(raw, tz=tz, currency=config.collectivite.currency)
    return consolidate(
        frames,
        as_of=as_of,
        rules=config.rules,
        findings=findings + raw.extra_findings,
        currency=config.collectivite.currency,
        documents=raw.documents,
    )


def _resolve_conflicts(config, site, portfolio, raw, resolved, wb, as_of, progress, reader=None):
    """Items a person edited while copil was writing (412 on their ETag): read again, the whole
    portfolio recomputed from the fresh values, and written with the new ETag. Twice at most;
    an item still moving is left for the next night, never overwritten blindly."""
    for _ in range(2):
        if not wb.conflicts:
            break
        if reader is not None:
            reader.mark("projects")
        ids = list(wb.conflicts)
        log.info("%d élément(s) modifié(s) pendant la synchronisation : relus et recalculés", len(ids))
        extract_mod.reread_projects(site, raw, resolved, ids)
        portfolio = consolidate_raw(config, raw, site.timezone(config.collectivite.timezone), as_of)
        again = write_back(site, config, portfolio, raw, resolved, progress=progress, only=set(ids))
        wb.written += again.written
        wb.written_items += again.written_items
        wb.failed += again.failed
        wb.conflicts = again.conflicts
    codes = {rec.get("_id"): rec.get("code") for rec in raw.lists.get("projects", [])}
    for item in wb.conflicts:
        wb.failed.append(
            {
                "list_title": resolved.lists["projects"].info.title,
                "item_id": item,
                "code": codes.get(item) or "",
                "payload": {},
                "error": "élément modifié pendant la synchronisation à chaque essai : repris à la prochaine",
            }
        )
    wb.conflicts = []
    return portfolio


def run_sync(
    config: Config,
    *,
    dry_run: bool = False,
    reports: bool = True,
    force_reports: bool = False,
    as_of: date | None = None,
    progress: Progress | None = None,
    out_dir: Path | str | None = None,
    site: SharePointSite | None = None,
    state: State | None = None,
    refresh: bool = False,
) -> RunSummary:
    """The nightly run, or with `refresh` the daytime one: what changed since the last run is read
    and copil's columns of the projects it moves are written; no report, no dossier, no snapshot."""
    from connector.state import State  # lazy: SQLAlchemy: loaded by the run that opens the state

    t0 = time.monotonic()
    if state is None:
        state = State(config.state.url)
        try:
            return _run_sync(
                config, state, dry_run, reports, force_reports, as_of, progress, out_dir, site, refresh, t0
            )
        finally:
            state.close()  # its connections: hundreds of runs share a shared operator's worker process
    return _run_sync(config, state, dry_run, reports, force_reports, as_of, progress, out_dir, site, refresh, t0)


def _run_sync(config, state, dry_run, reports, force_reports, as_of, progress, out_dir, site, refresh, t0):
    summary = RunSummary(dry_run=dry_run, mode="refresh" if refresh else "sync")
    if refresh:
        reports = False
    summary.run_id = state.start_run()
    try:
        with deadline.running(config.run.deadline_minutes * 60):
            deadline.stage("lecture des listes")
            site = site or SharePointSite.from_config(config)
            _run_stages(config, state, summary, site, dry_run, reports, force_reports, as_of, progress, out_dir)
    except (CopilError, RunStopped, KeyboardInterrupt) as e:
        if isinstance(e, KeyboardInterrupt):
            e = RunInterrupted("exécution interrompue (Ctrl+C)")
        summary.status = (
            "interrupted" if isinstance(e, RunInterrupted) else "timed_out" if isinstance(e, RunTimedOut) else "failed"
        )
        summary.exit_code, summary.message = e.exit_code, str(e)
        _finish(state, summary, site, t0, config)
        raise e from None
    except Exception as e:
        summary.status, summary.exit_code, summary.message = "failed", 1, f"{type(e).__name__}: {e}"
        _finish(state, summary, site, t0, config)
        raise
    _finish(state, summary, site, t0, config)
    return summary


def _announce(config, state, summary: RunSummary, site) -> None:
    """The Teams message of a night that failed, ended partial or froze an edition. A channel that
    refuses it makes the night partial (exit 5), never a crash; a failed night keeps its own code."""
    if summary.dry_run or summary.mode != "sync" or not config.teams.enabled:
        return
    try:
        _post_teams(config, state, summary, site)
    except Exception:  # never hide the night's own outcome behind the message about it
        log.exception("message Teams non envoyé")
        summary.report_errors.append("message Teams non envoyé : erreur inattendue (voir le journal)")


def _post_teams(config, state, summary: RunSummary, site) -> None:
    from connector.links import absolute  # lazy: only with a Teams channel configured
    from connector.notify import teams  # lazy: only with a Teams channel configured

    frozen = []
    if summary.dossiers_frozen and site is not None:
        for ed in state.editions().values():
            if ed["kind"] == "frozen" and ed["run_id"] == summary.run_id:
                label = f"{ed['title']} du {date.fromisoformat(ed['meeting_on']):%d/%m/%Y}"
                pdf = absolute(site, ed["pdf_url"]) if ed.get("pdf_url") else ""
                frozen.append((label, absolute(site, ed["url"]) if ed.get("url") else "", pdf))
    if not teams.wanted(config.teams, summary, frozen):
        return
    payload = teams.night_card(summary, config.collectivite.name, frozen)
    if payload is None:
        return
    try:
        teams.post(config.teams, payload)
        log.info("message Teams envoyé")
    except (teams.TeamsFailed, CopilError) as e:
        log.error("message Teams non envoyé : %s", e)
        if summary.status == "ok":
            summary.status, summary.exit_code = "partial", ExitCode.PARTIAL
        summary.report_errors.append(f"message Teams non envoyé : {e}")


def _run_stages(config, state, summary, site, dry_run, reports, force_reports, as_of, progress, out_dir):
    """The run's stages in order, each named for the deadline's message."""
    from connector.sources import remembered_list_ids  # lazy: the run's reading only

    refresh = summary.mode == "refresh"
    publishing = reports and config.reports.enabled and (out_dir or not dry_run)  # a dry run publishes nothing
    if config.change_log.enabled:
        site.remember_list_ids(remembered_list_ids(state))
    extract_mod.prefetch(site, config, reports=bool(publishing and not out_dir))
    as_of = as_of or today(site.timezone(config.collectivite.timezone))
    templates = None
    if publishing:  # a refused template stops the reports, not the night: the lists are updated
        from connector.reports.publish import (
            prepare_templates,  # lazy: python-docx, docxtpl, python-pptx: only when reports are made
        )

        try:
            templates = prepare_templates(site, config.reports, known=state.report_hashes if state else None)
        except TemplateRefused as e:
            log.error("rapports non produits : %s", e)
            summary.report_errors.append(f"rapports non produits : {e}")
            summary.notes.append(e.hint or "")
            summary.message = str(e)
            publishing = False
    portfolio, raw, resolved, reader = read_portfolio(
        config, site, state, as_of=as_of, progress=progress, reports=bool(publishing and not out_dir), refresh=refresh
    )
    outcome = reader.outcome
    summary.read, summary.read_text = outcome.as_json(), outcome.describe()
    if portfolio is None:  # a refresh with nothing changed: nothing to compute or write
        if outcome.ignored_own and not dry_run:
            reader.save(None)  # the tokens move past copil's own writes of the last run
        return
    summary.projects = len(portfolio.projects)
    summary.read_items = (
        sum(len(v) for v in raw.lists.values()) if outcome.mode == "full" else sum(outcome.reread.values())
    )
    meetings = dossiers.meetings_of(config, portfolio, as_of)
    previous = dossiers.previous_for(
        state,
        summary.run_id,
        meetings,
        before=as_of,
        fallback=lambda: previous_copil(config, state, summary.run_id, as_of),
    )
    summary.findings = list(portfolio.findings)
    summary.source_errors = list(raw.finance_missing)
    for problem in raw.finance_missing:
        log.error("%s", problem)
    if not portfolio.projects.empty:
        summary.by_weather = portfolio.projects["weather"].value_counts().to_dict()
    deadline.stage("écriture des colonnes de copil")
    wb = write_back(site, config, portfolio, raw, resolved, dry_run=dry_run, progress=progress)
    portfolio = _resolve_conflicts(config, site, portfolio, raw, resolved, wb, as_of, progress, reader)
    summary.planned = wb.planned if dry_run else []
    summary.written, summary.unchanged = wb.written, wb.unchanged
    summary.written_items = wb.written_items
    summary.failed, summary.dead_letters = len(wb.failed), wb.failed
    if publishing:
        deadline.stage("rendu et dépôt des rapports")
        _reports(config, site, portfolio, previous, state, summary, force_reports, out_dir, as_of, progress, templates)
        if config.reports.workbook:
            deadline.stage("classeur du portefeuille")
            _workbook(config, site, portfolio, state, summary, out_dir, as_of)
        if not out_dir:
            deadline.stage("dossiers des comités")
            ds = dossiers.publish_dossiers(
                config, site, portfolio, raw, resolved, state, summary.run_id, as_of, templates
            )
            summary.dossiers_draft, summary.dossiers_frozen = ds.drafts, ds.frozen
            summary.report_errors += ds.errors
            summary.report_files += ds.files
            summary.notes += ds.notes
            # after the dossiers: « Dernier rapport COPIL » may be the edition frozen tonight
            published = state.report_hashes.all_published()
            frozen = dossiers.last_frozen(state, meetings, portfolio, published)
            links = write_links(site, portfolio, raw, resolved, published, frozen)
            summary.links_written = links.written
            summary.report_errors += links.errors
    summary.status = "partial" if (summary.failed or summary.report_errors or summary.source_errors) else "ok"
    summary.exit_code = ExitCode.PARTIAL if summary.status == "partial" else ExitCode.OK
    state.save_findings(summary.run_id, portfolio.findings)  # a dry run's too: `copil findings --run N`
    if not dry_run:  # state after the writes it describes
        reader.catch_up(raw)  # past copil's own writes when they are many (one page next time)
        reader.save(raw)  # the rows and the change tokens the next run starts from
        if not refresh:  # a daytime refresh is not a COPIL figure: « depuis » compares nights
            state.save_snapshots(summary.run_id, snapshot(portfolio))
            state.prune_snapshots(config.state.snapshot_days)
        if wb.failed:
            state.add_dead_letters(summary.run_id, wb.failed)
            _dead_letter_file(config, summary.run_id, wb.failed)


def reports_only(
    config,
    *,
    only: list[str] | None = None,
    force: bool = False,
    out_dir=None,
    as_of: date | None = None,
    progress=None,
    meeting: int | None = None,
):
    """`copil report`: render (and publish, unless `out_dir`) reports from live data without
    writing anything into the lists — or, with `meeting` (an item of « Comités de pilotage »), that
    meeting's dossier as a draft dated today, never a frozen one. Returns the ReportSummary."""
    from connector.reports.publish import (  # lazy: python-docx, docxtpl, python-pptx: only when reports are made
        prepare_templates,
        publish_reports,
    )
    from connector.state import State  # lazy: SQLAlchemy: loaded by the run that opens the state

    state = State(config.state.url)
    site = SharePointSite.from_config(config)
    templates = prepare_templates(site, config.reports)
    as_of = as_of or today(site.timezone(config.collectivite.timezone))
    portfolio, *_ = build_portfolio(config, site, as_of=as_of, progress=progress, reports=out_dir is None)
    unknown = [c for c in only or [] if c not in portfolio.projects.index]
    doubled = portfolio.duplicates
    for c in unknown:
        if c.casefold() in doubled:
            e = SchemaError(
                f"code opération « {c} » en double dans la liste des projets (éléments "
                + " et ".join(str(i) for i in sorted(doubled[c.casefold()]))
                + ") : aucun rapport tant que le doublon existe"
            )
            e.hint = "Corrigez le code opération de l'un des éléments (colonne « Code opération »)."
            raise e
    if unknown:
        near = difflib.get_close_matches(unknown[0], [str(c) for c in portfolio.projects.index], n=3, cutoff=0.6)
        e = SchemaError(
            "code(s) opération inconnu(s) dans la liste des projets : "
            + ", ".join(unknown)
            + (" ; codes proches : " + ", ".join(near) if near else "")
        )
        e.hint = "Vérifiez le code opération (colonne « Code opération » de la liste des projets)."
        raise e
    if meeting is not None:
        return _meeting_dossier(config, site, state, portfolio, meeting, as_of, out_dir, templates)
    return publish_reports(
        None if out_dir else site,
        portfolio,
        reports_cfg=config.reports,
        collectivite=config.collectivite.name,
        copil_date=as_of,
        previous=previous_copil(config, state, None, as_of),
        hashes=_NoHashes() if out_dir else state.report_hashes,
        force=force or bool(out_dir),
        out_dir=out_dir,
        only=only,
        templates=templates,
        progress=_counter(progress, "Rapports Word", len(only) if only else len(portfolio.projects) + 1),
    )


def _meeting_dossier(config, site, state, portfolio, item_id: int, as_of: date, out_dir, templates):
    from connector.consolidate import restrict  # lazy: `copil report --meeting` only
    from connector.model.vocabulary import Scope  # lazy: `copil report --meeting` only
    from connector.reports.editions import DRAFT, Edition, scope_codes  # lazy: `copil report --meeting` only
    from connector.reports.publish import (
        publish_reports,  # lazy: python-docx, docxtpl, python-pptx: only when reports are made
    )
    from connector.state import Previous  # lazy: SQLAlchemy: loaded by the run that opens the state

    found = [m for m in portfolio.meetings or [] if m.item_id == item_id]
    if not found:
        known = ", ".join(f"{m.item_id} ({m.title} du {m.on:%d/%m/%Y})" for m in portfolio.meetings or [])
        e = SchemaError(f"réunion n° {item_id} absente de la liste « Comités de pilotage »")
        e.hint = f"Réunions connues : {known}." if known else "La liste « Comités de pilotage » est vide ou absente."
        raise e
    m = found[0]
    frozen = state.editions().get(m.key)
    if frozen and frozen["kind"] == "frozen" and not out_dir:  # a frozen dossier is never rewritten
        e = SchemaError(f"le dossier de « {m.title} » du {m.on:%d/%m/%Y} est figé ({frozen['url']})")
        e.hint = "Pour une copie à jour, utilisez --out DOSSIER (rien n'est publié dans SharePoint)."
        raise e
    codes = scope_codes(m, portfolio.projects)
    pf = portfolio if codes is None else restrict(portfolio, codes)
    meetings = dossiers.meetings_of(config, portfolio, as_of)
    previous = dossiers.previous_for(state, None, meetings, before=m.on, committee=m.committee, fallback=Previous)
    project_scope = m.scope == Scope.PROJECTS
    return publish_reports(
        None if out_dir else site,
        pf,
        reports_cfg=config.reports,
        collectivite=config.collectivite.name,
        copil_date=m.on,
        previous=previous,
        hashes=_NoHashes() if out_dir else state.report_hashes,
        force=True,
        out_dir=out_dir,
        templates=templates,
        edition=Edition(DRAFT, as_of, m),
        only=codes if project_scope else None,
        projects=project_scope or config.copil.project_reports,
    )


def previous_copil(config, state, run_id, as_of: date):
    """Indicators at the previous COPIL: the last snapshot taken for a date at least
    `copil_interval_days` before this one (0: the last run)."""
    days = config.reports.copil_interval_days
    return state.previous_snapshots(
        before_run_id=run_id, copil_on_or_before=as_of - timedelta(days=days) if days else None
    )


def _reports(config, site, portfolio, previous, state, summary, force, out_dir, as_of, progress, templates):
    from connector.reports.publish import (
        publish_reports,  # lazy: python-docx, docxtpl, python-pptx: only when reports are made
    )

    local = bool(out_dir)
    # a project whose columns could not be written gets no report this night: list and report
    # would disagree; the next run retries both
    failed = {d.get("code") for d in summary.dead_letters}
    rs = publish_reports(
        None if local else site,
        portfolio,
        reports_cfg=config.reports,
        collectivite=config.collectivite.name,
        copil_date=as_of,
        previous=previous,
        hashes=_NoHashes() if local else state.report_hashes,
        force=force,
        out_dir=out_dir,
        templates=templates,
        skip=failed,
        progress=_counter(progress, "Rapports Word", len(portfolio.projects) + 1),
        refresh_days=config.copil.living_refresh_days,
    )
    summary.reports_uploaded, summary.reports_skipped = rs.uploaded, rs.skipped
    summary.report_reasons = dict(rs.reasons)
    summary.report_errors, summary.report_files = list(rs.errors), list(rs.files)


def _workbook(config, site, portfolio, state, summary, out_dir, as_of: date) -> None:
    """« Portefeuille copil.xlsx »; a failure is the night's report error, never its end."""
    from connector import workbook  # lazy: openpyxl: only when reports are made

    try:
        done = workbook.publish(
            None if out_dir else site,
            portfolio,
            config.reports,
            _NoHashes() if out_dir else state.report_hashes,
            as_of=as_of,
            refresh_days=config.copil.living_refresh_days,
            out_dir=out_dir,
            collectivite=config.collectivite.name,
        )
    except CopilError as e:
        log.error("classeur du portefeuille non déposé : %s", e)
        summary.report_errors.append(f"classeur « {config.reports.workbook_name} » non déposé : {e}")
        return
    if done.url:
        summary.workbook = done.url
        summary.report_files.append(done.url)
        log.info("classeur du portefeuille déposé (%s) : %s", done.reason, done.url)


def _dead_letter_file(config, run_id, failed: list[dict]) -> None:
    """Optionally also drop the run's dead letters as a JSON file for the IT team's tooling."""
    folder = config.state.dead_letter_dir
    if not folder:
        return
    path = Path(folder) / f"copil-dead-letters-run-{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(failed, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


class _NoHashes:
    """Local/dry-run rendering always renders and never touches the published hashes."""

    def get(self, key):
        return None

    def all_hashes(self):
        return {}

    def set(self, key, value):
        pass

    def published(self, key):
        return None

    def record(self, key, url, day):
        pass


def snapshot(portfolio: Portfolio) -> dict[str, dict]:
    out = {}
    # the decisions asked: the next report shows them with their follow-up
    cols = [c for c in PROJECT_INDICATOR_COLUMNS + ["decisions"] if c in portfolio.projects.columns]
    for code in portfolio.projects.index:
        row = portfolio.project(code)
        # the values people typed, by item: « Évolutions » of the next edition are their difference
        out[str(code)] = {
            **{c: row[c] for c in cols},
            "_as_of": portfolio.as_of.isoformat(),
            "_facts": facts(portfolio, str(code)),
        }
    return out


def _finish(state, summary: RunSummary, site, t0: float, config=None) -> None:
    summary.duration_s = round(time.monotonic() - t0, 2)
    summary.requests = site.requests if site is not None else 0
    if config is not None:  # the night's Teams message, with its duration; its failure recorded below
        _announce(config, state, summary, site)
    counts = {
        "read_items": summary.read_items,
        "written_items": summary.written,
        "findings": len(summary.findings),
        "errors": summary.failed + len(summary.report_errors),
        "dead_letters": summary.failed,
        "reports_uploaded": summary.reports_uploaded,
        "projects": summary.projects,
        "requests": summary.requests,
        "exit_code": summary.exit_code,
        "duration_s": summary.duration_s,
        "dry_run": summary.dry_run,
        "mode": summary.mode,
        "read": summary.read,
        # what the night did, item by item, for `copil status --run N` (kept with the run)
        "detail": {
            "written": summary.written_items,
            "reports": list(summary.report_files),
            "errors": [str(e) for e in summary.source_errors + summary.report_errors],
            "dossiers_draft": list(summary.dossiers_draft),
            "dossiers_frozen": list(summary.dossiers_frozen),
        },
    }
    try:
        state.finish_run(summary.run_id, status=summary.status, counts=counts, message=summary.message[:2000])
    except Exception:  # never hide the run's own error behind a state error
        log.exception("enregistrement de l'état impossible")
    log.debug("run %s finished at %s", summary.run_id, datetime.now(timezone.utc).isoformat())
