"""`copil check`: every step a nightly run takes, tried without changing anything a person sees,
so that exit 0 really means a run will work.

Reads what a run reads (state database, site, regional settings, templates, every list and
column, the finance export library) and goes through each write path a run uses: a `$batch`
holding a no-op system update of one project item (its own value written back, `Modified` and
`Editor` kept, no new version), and a probe file uploaded to the report library with its
metadata, then removed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Iterator

from connector.errors import AuthError, CopilError, ExitCode, SchemaError, TemplateRefused
from connector.extract import finance_export_problems, resolve
from connector.model import Weather
from connector.sharepoint import ItemStatus, ItemUpdate, SharePointSite


@dataclass
class Step:
    ok: bool
    message: str  # French, for the person running the check
    exit_code: int = 0  # when not ok: what `copil check` exits with
    warning: bool = False
    hint: str | None = None  # what to do, when it is not the default for the exit code


def _fail(e: Exception, what: str) -> Step:
    code = e.exit_code if isinstance(e, CopilError) else 1
    return Step(False, f"{what} : {e}", code, hint=getattr(e, "hint", None))


def run_checks(config, site: SharePointSite | None = None) -> Iterator[Step]:
    """Yield one Step per check, in the order a run needs them; stop after the first failure
    that makes the next checks meaningless."""
    from connector.state import State  # lazy: SQLAlchemy: loaded when the state is checked

    try:
        State(config.state.url).check_writable()
        yield Step(True, "Base d'état accessible en écriture")
    except CopilError as e:
        yield _fail(e, "Base d'état")
        return

    try:
        site = site or SharePointSite.from_config(config)
        title = site.ping()
    except Exception as e:
        yield _fail(e, "Site SharePoint inaccessible")
        return
    yield Step(True, f"Authentification et accès au site « {title} »")

    tz = site.timezone(config.collectivite.timezone)
    label = site.timezone_label
    if label:
        yield Step(True, f"Paramètres régionaux du site : {site.locale.name}, fuseau {label} ({tz})")
    else:
        yield Step(
            True, f"Fuseau horaire du site illisible : celui de la configuration est utilisé ({tz})", warning=True
        )

    if config.reports.enabled:
        from connector.reports.publish import (
            prepare_templates,  # lazy: python-docx, docxtpl, python-pptx: only when reports are enabled
        )

        try:
            prepare_templates(site, config.reports)
            yield Step(True, "Modèles de rapport valides")
        except TemplateRefused as e:  # the run would update the lists and stop the reports (exit 5)
            yield _fail(e, "Modèle de rapport refusé")
        except Exception as e:
            yield _fail(e, "Modèles de rapport")
            return

    try:
        resolved = resolve(site, config, reports=config.reports.enabled)
    except Exception as e:
        yield _fail(e, "Lecture des listes impossible")
        return
    if resolved.problems:
        for p in resolved.problems:
            yield Step(False, p, SchemaError.exit_code)
        return
    for rl in resolved.lists.values():
        yield Step(True, f"« {rl.info.title} » : {len(rl.columns)} colonne(s) trouvée(s)")
    for line in resolved.skipped:
        yield Step(True, line, warning=True)

    yield from _finance_export(site, config)
    yield from _rights(site, config)
    yield from _probe_batch(site, config, resolved)
    if config.reports.enabled:
        yield from _probe_upload(site, config)
    yield from _reaching_people(config)


def _reaching_people(config) -> Iterator[Step]:
    """The digests' relay or Graph token, and the Teams webhook's address: tried without sending
    anything (a test card would be a message in the channel)."""
    if config.notify.enabled:
        from connector.notify.send import SendFailed, sender_for  # lazy: only with digests enabled

        sender = sender_for(config, None)
        try:
            yield Step(True, sender.check())
        except (SendFailed, CopilError) as e:
            yield Step(False, f"Récapitulatifs : {e}", ExitCode.PARTIAL)
        finally:
            sender.close()
    if config.teams.enabled:
        from connector.notify.teams import webhook_url  # lazy: only with a Teams channel

        try:
            url = webhook_url(config.teams)
        except CopilError as e:
            yield Step(False, f"Teams : {e}", ExitCode.PARTIAL)
            return
        if not url.startswith("https://"):
            yield Step(True, "Teams : l'adresse du webhook n'est pas une adresse https", warning=True)
        else:
            yield Step(True, "Adresse du webhook Teams lue (non affichée) ; aucun message envoyé par la vérification")


def _finance_export(site, config) -> Iterator[Step]:
    """The newest export against the configured headers: a column it lacks would make the run
    take the lists' figures instead, silently; the run says it and exits 5, so does check."""
    try:
        missing, name = finance_export_problems(site, config)
    except Exception as e:
        yield _fail(e, "Lecture de l'export financier impossible")
        return
    for problem in missing:
        yield Step(
            False,
            problem,
            ExitCode.PARTIAL,
            hint="Corrigez `[finance_export.columns]` (le texte exact de l'en-tête) ou l'export lui-même.",
        )
    if name and not missing:
        yield Step(True, f"Export financier « {name} » : toutes les colonnes configurées sont présentes")


def _rights(site, config) -> Iterator[Step]:
    targets = [config.list_title("projects")] + ([config.reports.library] if config.reports.enabled else [])
    for title in targets:
        try:
            ok = site.can_edit_items(title)
        except Exception as e:
            yield _fail(e, f"Lecture des droits sur « {title} » impossible")
            return
        if not ok:
            yield Step(
                False,
                f"Le compte de copil ne peut pas modifier les éléments de « {title} » : accordez-lui "
                "le droit « write » sur le site (Sites.Selected) ou « Collaboration » (SharePoint Server).",
                AuthError.exit_code,
            )
            return


def _probe_batch(site, config, resolved) -> Iterator[Step]:
    """One project item's own value written back in a $batch, as the run writes."""
    rl = resolved.lists["projects"]
    field = rl.columns.get("data_quality") or next(
        (rl.columns[k] for k in config.owned_columns() if k in rl.columns), None
    )
    if field is None:
        return
    rows = site.read_items(rl.info.title, [field], limit=1)
    if not rows:
        yield Step(True, f"« {rl.info.title} » est vide : l'écriture par lot n'a pas pu être essayée", warning=True)
        return
    row = rows[0]
    try:
        results = site.update_items(
            rl.info.title,
            [
                ItemUpdate(
                    row["_id"],
                    {field.internal: row.get(field.internal)},
                    modified=row["_modified"],
                    editor=row["_editor"],
                    etag=row.get("_etag"),
                )
            ],
        )
    except Exception as e:
        yield _fail(e, f"Écriture par lot dans « {rl.info.title} »")
        return
    bad = [r for r in results if not r.ok]
    if bad or not results:
        error = bad[0].error if bad else "aucune réponse"
        code = AuthError.exit_code if bad and bad[0].status is ItemStatus.FORBIDDEN else SchemaError.exit_code
        yield Step(
            False, f"Écriture par lot ($batch) refusée dans « {rl.info.title} » (élément {row['_id']}) : {error}", code
        )
        return
    yield Step(
        True, f"Écriture par lot ($batch) dans « {rl.info.title} » : essai sans changement sur l'élément {row['_id']}"
    )


def _probe_upload(site, config) -> Iterator[Step]:
    """A probe file with the report metadata, uploaded then removed."""
    lib = config.reports.library
    cols = config.reports.column_names()
    name = f"copil-verification-{uuid.uuid4().hex[:8]}.txt"
    fields = {
        cols["project_code"]: "copil-verification",
        cols["copil_date"]: date.today(),
        cols["weather"]: str(Weather.INDETERMINE),
        cols["report_kind"]: "Rapport COPIL",
    }
    try:
        url = site.upload_file(lib, "", name, "Fichier de vérification de copil, supprimé aussitôt.\n".encode(), fields)
    except Exception as e:
        yield _fail(e, f"Dépôt d'un fichier d'essai dans « {lib} »")
        return
    try:
        site.delete_file(url)
    except Exception as e:
        yield Step(
            True, f"Fichier d'essai déposé dans « {lib} » mais non supprimé ({e}) : supprimez {url}", warning=True
        )
        return
    yield Step(True, f"Dépôt d'un rapport et de ses métadonnées dans « {lib} » : essai réussi (fichier retiré)")
