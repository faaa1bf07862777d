"""Publish the reports: one per project and the portfolio synthesis, into the report library (or
a local folder). Between meetings each is a living file under a fixed name (« Fiche projet
<code>.docx », « Synthèse du portefeuille.docx »), uploaded over itself so the library's version
history keeps each refresh; a meeting's dossier goes to the meeting's folder (connector.reports
.editions). A report is rendered only when what it is made from changed (connector.reports.inputs)
— the calendar alone refreshes a living file at most every `living_refresh_days` and never a
frozen edition; one failing report never stops the others."""

from __future__ import annotations

import logging
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import cast

from connector import deadline
from connector.errors import ConfigError, TemplateRefused
from connector.portfolio import Portfolio
from connector.reports.config import ReportsConfig
from connector.reports.context import portfolio_context, project_context
from connector.reports.editions import FROZEN, LIVING, Edition, living
from connector.reports.inputs import content_hash, digest, portfolio_inputs, previous_inputs, project_inputs
from connector.sharepoint import SharePointSite

log = logging.getLogger("copil.reports")
MAX_PATH = 400
_FORBIDDEN = re.compile(r'["*:<>?/\\|#%\x00-\x1f]')
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$", re.I)


@dataclass
class ReportSummary:
    uploaded: int = 0
    skipped: int = 0
    # why the reports uploaded were rendered: « données modifiées », « actualisation du calendrier », …
    reasons: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # projects whose write-back failed


def safe_file_name(name: str, max_len: int = 120) -> str:
    """A name SharePoint accepts: forbidden characters replaced, no leading/trailing spaces or
    dots, reserved names avoided, `~$` and `_vti_` defused, length capped (extension kept)."""
    name = unicodedata.normalize("NFC", name)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = _FORBIDDEN.sub("-", stem)
    stem = re.sub(r"\s+", " ", stem).replace("_vti_", "-vti-").strip(" .")
    while stem.startswith("~"):
        stem = stem[1:]
    if _RESERVED.match(stem) or stem.lower() in ("desktop", ".lock", "forms", ""):
        stem = f"_{stem}" if stem else "rapport"
    ext = _FORBIDDEN.sub("", ext)
    keep = max_len - (len(ext) + 1 if ext else 0)
    stem = stem[:keep].rstrip(" .-")
    return f"{stem}.{ext}" if ext else stem


FIELDS_BATCH_MIN = 4  # from this many reports to publish, their metadata goes in $batches
MAX_NAME = 200  # SharePoint allows 255 per name; synced copies on Windows need room to spare


def _fit(folder_url: str, code: str, title: str, day: str, ext: str = "docx") -> str:
    """Shorten the title (never the code) so the name stays within MAX_NAME characters and the
    server-relative path within 400."""
    base = f"COPIL {code} - {{}} - {day}.{ext}"
    limit = min(MAX_NAME, MAX_PATH - len(folder_url) - 1)
    room = limit - len(base.format(""))
    short = title if len(title) <= room else title[: max(room - 1, 0)].rstrip() + "…"
    return safe_file_name(base.format(short), max_len=max(limit, 20))


def _template(cfg: ReportsConfig, name: str, site, kind: str, known=None) -> Path:
    """The library's template wins over the local one when configured and present."""
    if cfg.template_library and site is not None:
        try:
            for f in site.list_files(cfg.template_library):
                if f.name.lower() == name.lower():
                    tmp = Path(tempfile.mkdtemp(prefix="copil-tpl-")) / name
                    tmp.write_bytes(site.download_file(f.server_relative_url))
                    _validated(tmp, kind, f"la bibliothèque « {cfg.template_library} » du site SharePoint", known)
                    return tmp
        except ConfigError:
            raise
        except Exception as e:
            log.warning("modèle %s introuvable dans « %s » (%s) : modèle local utilisé", name, cfg.template_library, e)
    path = Path(cfg.templates_dir) / name
    if not path.exists():
        raise ConfigError(f"modèle de rapport introuvable : {path}")
    _validated(path, kind, f"le dossier local « {Path(cfg.templates_dir).resolve()} »", known)
    return path


def _validated(path: Path, kind: str, origin: str, known=None) -> None:
    from connector.reports.render import (
        validate_template,  # lazy: docxtpl, python-docx, python-pptx: a night with nothing to render never loads them
    )

    try:
        validate_template(path, kind, known)
    except ConfigError as e:
        refused = TemplateRefused(f"{e} ; modèle pris dans {origin}")
        refused.hint = (
            f"Corrigez le modèle « {path.name} » ({origin}) : les listes sont mises à jour, les "
            "rapports attendent un modèle valide. La liste des variables permises est dans "
            "docs/template-variables.md."
        )
        raise refused from None


def prepare_templates(site, reports_cfg: ReportsConfig, known=None) -> tuple[Path, Path]:
    """Find and validate both templates; called at start-up, before anything is written.
    `known`: the state's store, where templates already found valid are remembered."""
    return (
        _template(reports_cfg, reports_cfg.project_template, site, "project", known),
        _template(reports_cfg, reports_cfg.portfolio_template, site, "portfolio", known),
    )


def publish_reports(
    site: SharePointSite | None,
    portfolio: Portfolio,
    *,
    reports_cfg: ReportsConfig,
    collectivite: str,
    copil_date: date,
    previous: dict[str, dict],
    hashes,
    force: bool = False,
    out_dir=None,
    only: list[str] | None = None,
    progress=None,
    templates=None,
    skip: set | frozenset = frozenset(),
    workers: int | None = None,
    edition: Edition | None = None,
    refresh_days: int = 7,
    projects: bool = True,
) -> ReportSummary:
    """`edition`: the living files (default) or a meeting's draft or frozen dossier; `refresh_days`:
    how long a living file whose inputs did not change waits before the calendar refreshes it."""
    if site is None and not out_dir:
        raise ValueError("publish_reports: a site or an output folder")
    remote = cast(SharePointSite, site)  # only used when there is no output folder
    summary = ReportSummary()
    project_tpl, portfolio_tpl = templates or prepare_templates(site, reports_cfg)
    edition = edition or living(copil_date)
    year, day = str(copil_date.year), copil_date.isoformat()
    meeting = edition.meeting
    # a meeting's dossier is published apart from the living files, its draft apart from its
    # frozen edition (which is rendered once, over the draft's file: the library keeps the drafts)
    prefix = f"{meeting.key}:{edition.kind}:" if meeting else ""
    codes = [c for c in portfolio.projects.index if projects and (not only or c in only)]
    library_root = "" if out_dir else remote.list_info(reports_cfg.library).root_url
    if not out_dir and hasattr(hashes, "folders"):  # created on an earlier night: no request again
        remote.known_folders(f for f in hashes.folders() if f.lower().startswith(library_root.lower() + "/"))
    cols = reports_cfg.column_names()
    previous_date = getattr(previous, "as_of", None) if previous else None

    template_bytes = {tpl: Path(tpl).read_bytes() for tpl in (project_tpl, portfolio_tpl)}  # read once, not per report

    # the stored hashes and publications, read once (a night asks for thousands)
    stored_all = hashes.all_hashes() if hasattr(hashes, "all_hashes") else None
    published_all = hashes.all_published() if hasattr(hashes, "all_published") else None

    def stored_of(key: str) -> list[str]:
        value = stored_all.get(key) if stored_all is not None else hashes.get(key)
        return (value or "").split(":")

    def last_of(key: str):
        if published_all is not None:
            return published_all.get(key)
        return hashes.published(key) if hasattr(hashes, "published") else None

    # what every report is also made of: the settings that change how it reads
    settings = [
        collectivite,
        reports_cfg.documents_shown,
        reports_cfg.synthesis_max_rows,
        portfolio.currency,
        portfolio.year,
    ]

    def changed(tpl, key: str, inputs, dest: str, build) -> tuple[str | None, dict | None]:
        """(hash to keep, context) when the report must be rendered, (None, None) when it stays
        as it is. Stored as « inputs:content[:next calendar check] ». Decided from the inputs: the context
        (`build()`, the costly part) is made only when they changed, when a living file's
        calendar check is due, or to render. Inputs unchanged: nothing to do until
        `refresh_days` after its last rendering (and its last check); then the context tells
        whether the calendar alone moved what the reader sees (day counts, an export's age). A
        frozen edition never changes by the calendar."""
        now_inputs = digest(inputs, template_bytes[tpl], edition.key, settings)
        stored = stored_of(key)
        last = last_of(key)
        ctx: dict | None = None
        content: str | None = None

        def built() -> tuple[dict, str]:
            made = build()
            return made, content_hash(made, template_bytes[tpl])[:40]

        if force:
            reason = "demandé"
        elif last and not last[0].lower().endswith("/" + dest.lower()):
            reason = "emplacement modifié"  # the configuration moved it: published there, removed here
        elif len(stored) >= 2 and stored[0] == now_inputs:
            if edition.kind == FROZEN or copil_date < _next_check(last, stored):
                summary.skipped += 1
                return None, None
            ctx, content = built()
            if content == stored[1]:
                quiet[key] = f"{now_inputs}:{stored[1]}:{_after_check(key, stored).isoformat()}"
                summary.skipped += 1
                return None, None
            reason = "actualisation du calendrier"
        else:
            ctx, content = built()
            if len(stored) >= 2 and content == stored[1]:
                # inputs moved that this report does not show: kept, nothing rendered
                quiet[key] = ":".join([now_inputs, *stored[1:]])
                summary.skipped += 1
                return None, None
            reason = "données modifiées" if len(stored) >= 2 else "première publication"
        if ctx is None or content is None:
            ctx, content = built()
        why[key] = reason
        return f"{now_inputs}:{content}", ctx

    def _next_check(last, stored: list[str]) -> date:
        """When the calendar check of a report whose inputs did not move is due: the day stored
        by its last check, else `refresh_days` after its last rendering."""
        if len(stored) == 3:
            return date.fromisoformat(stored[2])
        return date.fromisoformat(last[1]) + timedelta(days=refresh_days) if last else copil_date

    def _after_check(key: str, stored: list[str]) -> date:
        """The next check after one that found nothing to refresh: `refresh_days` later. After
        the first one, a few more days drawn from the report's key, so that the reports of a
        first night, all published together, are not all checked on the same night every week."""
        spread = 0 if len(stored) == 3 else int(digest(key)[:8], 16) % max(refresh_days, 1)
        return copil_date + timedelta(days=refresh_days + spread)

    why: dict[str, str] = {}
    # hashes kept without a publication (a calendar check that found nothing, inputs the reader
    # does not see): written together at the end, one transaction instead of one per report
    quiet: dict[str, str] = {}

    def keep_quiet() -> None:
        if hasattr(hashes, "set_many"):
            hashes.set_many(quiet)
        else:
            for key, value in quiet.items():
                hashes.set(key, value)
        quiet.clear()

    # Metadata of the uploaded files is set at the end in $batches (one read of the library for
    # their ids, then one request per 100 files); a report counts as published, and its hash is
    # kept, only once its metadata is written: an interrupted run publishes it again.
    waiting: list[tuple[str, str, str, dict]] = []  # (key, url, hash, fields)

    def done(key: str, url: str | None, h: str) -> None:
        if url is not None:
            hashes.record(key, url, day)
        hashes.set(key, h)
        summary.uploaded += 1
        reason = why.get(key, "données modifiées")
        summary.reasons[reason] = summary.reasons.get(reason, 0) + 1

    def flush() -> None:
        if not waiting:
            return
        batch = list(waiting)
        waiting.clear()
        try:
            refused = remote.set_file_fields(reports_cfg.library, [(url, fields) for _, url, _, fields in batch])
        except ConfigError:
            raise
        except Exception as e:  # the whole batch: reported per report, published again next night
            refused = {url: f"{type(e).__name__} : {e}" for _, url, _, _ in batch}
        for key, url, h, _ in batch:
            if refused.get(url):
                summary.errors.append(f"métadonnées du rapport {url.rsplit('/', 1)[-1]} : {refused[url]}")
            else:
                done(key, url, h)

    def deliver(folder: str, name: str, data: bytes, h: str, key: str, fields: dict):
        if out_dir:
            dest = Path(out_dir) / folder / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            summary.files.append(str(dest))
            done(key, None, h)
            return
        few = planned + 1 < FIELDS_BATCH_MIN  # a handful: metadata with each upload, no library read
        url = remote.upload_file(reports_cfg.library, folder, name, data, fields if few else None)
        summary.files.append(url)
        before = hashes.published(key)
        if before and before[0].lower() != url.lower() and (before[1] == day or edition.kind == LIVING):
            # one living file per project (its folder moved with the configuration, or a new name
            # the same day): the old one is removed, not left beside the new one
            try:
                remote.delete_file(before[0])
                log.info("rapport remplacé : %s supprimé", before[0])
            except Exception as e:  # already removed by someone: nothing to replace
                log.info("ancien rapport %s non supprimé (%s)", before[0], e)
        if few:
            done(key, url, h)
        else:
            waiting.append((key, url, h, fields))

    # 1. what must be rendered (content hash changed); 2. rendered on every core; 3. delivered
    # one by one in order, each failure reported for its project only
    jobs, plans = [], {}
    inputs_of: dict[str, dict] = {}  # each project's inputs, for its report and the synthesis
    planned = 0  # reports to render (rendered() takes the jobs list)
    for code in codes:
        row = portfolio.project(code)
        if code in skip:
            summary.withheld.append(code)
            log.warning("rapport du projet %s non publié : ses colonnes n'ont pas pu être écrites", code)
            if progress:
                progress(1)
            continue
        try:
            folder = (
                f"{reports_cfg.meetings_folder}/{safe_file_name(meeting.folder_name)}"
                if meeting
                else reports_cfg.folder.format(
                    year=year,
                    code=safe_file_name(code),
                    direction=safe_file_name(str(row["direction"] or "Sans direction")),
                )
            )

            def build(code=code):
                return project_context(
                    portfolio,
                    code,
                    collectivite=collectivite,
                    copil_date=copil_date,
                    previous=previous.get(code),
                    documents_shown=reports_cfg.documents_shown,
                    previous_date=previous_date,
                    edition=edition,
                )

            inputs_of[code] = project_inputs(portfolio, code)
            inputs: tuple = (inputs_of[code], previous_date, previous_inputs(previous.get(code)))
            name = (
                _fit(f"{library_root}/{folder}", code, str(row["title"] or ""), meeting.on.isoformat())
                if meeting
                else safe_file_name(f"Fiche projet {code}.docx")
            )
            h, ctx = changed(project_tpl, f"{prefix}project:{code}", inputs, f"{folder}/{name}", build)
            if h is None or ctx is None:
                if progress:
                    progress(1)
                continue
            plans[code] = (
                folder,
                name,
                h,
                {
                    cols["project_code"]: code,
                    cols["copil_date"]: copil_date,
                    cols["weather"]: row["weather"],
                    cols["report_kind"]: "Rapport COPIL",
                },
            )
            jobs.append((code, ctx))
        except ConfigError:
            raise
        except Exception as e:  # one broken project must not stop the others
            log.exception("rapport %s", code)
            summary.errors.append(f"rapport du projet {code} : {type(e).__name__} : {e}")
            if progress:
                progress(1)
    if not out_dir and len(jobs) >= FIELDS_BATCH_MIN:  # many new reports: their folders in $batches
        try:
            remote.ensure_folders(
                reports_cfg.library,
                [plans[code][0] for code, _ in jobs]
                + [reports_cfg.portfolio_folder.format(year=year, code="", direction="")],
            )
        except ConfigError:
            raise
        except Exception as e:  # created one by one at upload instead
            log.info("dossiers des rapports non créés par lots : %s", e)
    planned = len(jobs)
    from connector.reports.workers import rendered, worker_count  # lazy: the rendering modules (see _validated)

    for code, data, error in rendered(
        jobs,
        portfolio=portfolio,
        template=project_tpl,
        copil_date=copil_date,
        workers=worker_count(workers if workers is not None else reports_cfg.workers),
    ):
        deadline.check()  # between two reports: a night that reaches its deadline stops here
        try:
            if error:
                raise RuntimeError(error)
            folder, name, h, fields = plans[code]
            deliver(folder, name, data, h, f"{prefix}project:{code}", fields)
        except ConfigError:
            raise
        except Exception as e:
            log.warning("rapport %s : %s", code, e)
            summary.errors.append(f"rapport du projet {code} : {e if error else f'{type(e).__name__} : {e}'}")
        if progress:
            progress(1)
    if not only:
        try:
            folder = (
                f"{reports_cfg.meetings_folder}/{safe_file_name(meeting.folder_name)}"
                if meeting
                else reports_cfg.portfolio_folder.format(year=year, code="", direction="")
            )

            def build_synthesis():
                return portfolio_context(
                    portfolio,
                    collectivite=collectivite,
                    copil_date=copil_date,
                    previous=previous,
                    previous_date=previous_date,
                    edition=edition,
                    max_rows=reports_cfg.synthesis_max_rows,
                )

            name = safe_file_name(
                f"Synthèse du portefeuille - {meeting.title} du {meeting.on.isoformat()}.docx"
                if meeting
                else "Synthèse du portefeuille.docx"
            )
            synthesis_inputs = (
                portfolio_inputs(portfolio),
                [inputs_of.get(c) or project_inputs(portfolio, c) for c in portfolio.projects.index],
                previous_date,
                sorted((str(k), previous_inputs(v)) for k, v in (previous or {}).items()),
            )
            h, ctx = changed(portfolio_tpl, f"{prefix}portfolio", synthesis_inputs, f"{folder}/{name}", build_synthesis)
            if h is not None and ctx is not None:
                from connector.reports.render import portfolio_charts, render  # lazy: (see _validated)

                deliver(
                    folder,
                    name,
                    render(portfolio_tpl, ctx, portfolio_charts(portfolio), copil_date),
                    h,
                    f"{prefix}portfolio",
                    {cols["copil_date"]: copil_date, cols["report_kind"]: "Synthèse portefeuille"},
                )
        except Exception as e:
            log.exception("synthèse")
            summary.errors.append(f"synthèse du portefeuille : {type(e).__name__} : {e}")
        if progress:
            progress(1)
    flush()
    keep_quiet()
    return summary
