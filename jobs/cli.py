"""`copil` command line (typer + rich). Messages for users are in French."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from datetime import timezone as _utc
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from connector.errors import ConfigError, RunStopped
from jobs.french import install as _french_command_line
from jobs.nightly import EXIT_AUTH, EXIT_BUSY, EXIT_CONFIG, EXIT_PARTIAL, EXIT_SITE, exit_code_for, load, run_once
from jobs.output import (
    ProgressReporter,
    add_log_file,
    count,
    guillemets,
    mask,
    register_secret,
    seconds,
    setup_logging,
    status_label,
)

_french_command_line()

app = typer.Typer(
    add_completion=False,
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
    no_args_is_help=True,
    help="copil : consolidation nocturne du portefeuille de projets et rapports COPIL.",
)
console = Console(soft_wrap=True)  # no hard wrapping: lines are copied into tickets and logs
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("copil")
_opts: dict = {"json": False, "log_file": None}

ConfigOpt = typer.Option(..., "--config", "-c", help="Fichier de configuration TOML.")


def _version(value: bool) -> None:
    if value:
        from connector import __version__  # lazy: this option only

        console.print(f"copil {__version__}", highlight=False, markup=False)
        raise typer.Exit(0)


@app.callback()
def main(
    json_logs: bool = typer.Option(False, "--json", help="Journaux JSON (une ligne par objet)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Journaux détaillés."),
    log_file: Optional[Path] = typer.Option(
        None,
        "--log-file",
        help="Journal écrit aussi dans ce fichier, avec rotation (sinon `file` de la section `logging` "
        "de la configuration).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Affiche la version de copil et quitte."
    ),
):
    _opts["json"] = json_logs
    _opts["log_file"] = str(log_file) if log_file else None
    setup_logging(json_mode=json_logs, verbose=verbose, log_file=_opts["log_file"])


def say(msg: str, style: str | None = None) -> None:
    """User-facing line; in --json mode it becomes a log record so stdout stays parseable."""
    if _opts["json"]:
        log.info(msg)
    else:
        console.print(mask(msg), style=style, highlight=False, markup=False)


def fail(exc: BaseException, what: str, hint: str | None = None) -> "typer.Exit":
    """Print a failure in French (masked) with what to do next; `hint` overrides the default."""
    code = exit_code_for(exc)
    hints = {
        EXIT_CONFIG: "Corrigez le fichier de configuration puis relancez « copil check ».",
        EXIT_AUTH: "Vérifiez l'identité de l'application (certificat, jeton) et ses droits "
        "sur le site (Sites.Selected + droit « write »).",
        EXIT_SITE: "Vérifiez l'adresse du site et les noms des listes et colonnes "
        "(« copil check » détaille les écarts).",
    }
    log.debug("détail", exc_info=exc)
    if _opts["json"]:
        log.error("%s : %s", what, exc, extra={"exit_code": code})
    else:
        err.print(f"{what} : {mask(exc)}", style="bold red", highlight=False, markup=False)
        hint = getattr(exc, "hint", None) if hint is None else hint
        hint = hints.get(code) if hint is None else hint
        if hint:
            err.print(hint, highlight=False, markup=False)
    return typer.Exit(code)


def _load(config: Path):
    try:
        cfg = load(str(config))
    except Exception as exc:
        raise fail(exc, "Configuration invalide")
    if cfg.logging.file and not _opts["log_file"]:  # the configuration's log file, once it is known
        add_log_file(cfg.logging.file, cfg.logging.max_megabytes, cfg.logging.keep, json_mode=_opts["json"])
    return cfg


# --------------------------------------------------------------------------- sync / report
WorkersOpt = typer.Option(
    None,
    "--workers",
    min=0,
    help="Processus de rendu des rapports en parallèle (défaut : clé `workers` de la section `reports`, 0 = un par cœur).",
)


@app.command()
def sync(
    config: Path = ConfigOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Calcule sans rien écrire."),
    no_reports: bool = typer.Option(False, "--no-reports", help="Sans rapports Word."),
    force_reports: bool = typer.Option(False, "--force-reports", help="Régénère les rapports même inchangés."),
    workers: Optional[int] = WorkersOpt,
):
    """Lance une synchronisation complète (ce que fait la tâche de nuit)."""
    cfg = _load(config)
    if workers is not None:
        cfg.reports.workers = workers
    try:
        summary = run_once(
            cfg, dry_run=dry_run, reports=not no_reports, force_reports=force_reports, json_mode=_opts["json"]
        )
    except (Exception, RunStopped) as exc:
        raise fail(exc, "Échec de la synchronisation")
    print_summary(summary, columns=cfg.owned_columns())
    raise typer.Exit(int(getattr(summary, "exit_code", 0) or 0))


@app.command()
def refresh(
    config: Path = ConfigOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Calcule sans rien écrire."),
):
    """Rafraîchissement de journée : relit ce qui a changé depuis la dernière exécution (journal des
    modifications de SharePoint) et met à jour les colonnes calculées, sans rapports. Jamais en même
    temps qu'une synchronisation : si l'une est en cours, sort aussitôt avec le code 6."""
    cfg = _load(config)
    try:
        summary = run_once(cfg, dry_run=dry_run, refresh=True, json_mode=_opts["json"])
    except (Exception, RunStopped) as exc:
        raise fail(exc, "Échec du rafraîchissement")
    print_summary(summary, columns=cfg.owned_columns())
    raise typer.Exit(int(getattr(summary, "exit_code", 0) or 0))


@app.command()
def notify(
    config: Path = ConfigOpt,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="N'envoie rien : écrit les courriels en fichiers .eml dans le dossier --out."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Dossier des fichiers .eml d'une simulation (défaut : courriels-copil)."
    ),
    le: Optional[str] = typer.Option(None, "--le", help="Date simulée (JJ/MM/AAAA), pour relire une semaine."),
):
    """Récapitulatif hebdomadaire à chaque chef de projet : nouvelles alertes, données à corriger,
    échéances avant le prochain comité, dossiers à relire. Un seul envoi par semaine et par
    personne, aucun quand rien n'a changé."""
    cfg = _load(config)
    from jobs.nightly import notify_once  # lazy: this command only (`copil --help` starts in a fraction of a second)

    folder = (out or Path("courriels-copil")) if (dry_run or out is not None) else None
    try:
        summary = notify_once(cfg, out_dir=folder, as_of=_night(le) if le else None)
    except (Exception, RunStopped) as exc:
        raise fail(exc, "Échec de l'envoi des récapitulatifs")
    print_notify(summary)
    raise typer.Exit(int(summary.exit_code))


def print_notify(s) -> None:
    if _opts["json"]:
        return
    verb = "écrit" if s.dry_run else "envoyé"
    table = Table(title=f"Récapitulatifs de la semaine {s.week}" + (" (simulation)" if s.dry_run else ""))
    table.add_column("Destinataire")
    table.add_column("Résultat")
    for a in s.sent:
        table.add_row(a, verb)
    for a, why in s.skipped.items():
        table.add_row(a, f"non envoyé : {why}")
    for a, why in s.failed.items():
        table.add_row(a, Text(f"échec : {why}", style="red"))
    if s.sent or s.skipped or s.failed:
        console.print(table)
    say(
        f"{count(len(s.sent), 'récapitulatif ' + verb, 'récapitulatifs ' + verb + 's')}, "
        f"{count(len(s.skipped), 'sans envoi', 'sans envoi')}, {count(len(s.failed), 'échec')} "
        f"({count(s.requests, 'requête SharePoint', 'requêtes SharePoint')})."
    )
    if s.no_address:
        shown = ", ".join(s.no_address[:10]) + (" …" if len(s.no_address) > 10 else "")
        say(
            f"{count(len(s.no_address), 'projet', 'projets')} sans adresse de chef de projet (colonne « Chef de "
            f"projet » vide ou compte sans messagerie) : {shown}."
        )
    if s.opted_out:
        say(f"{count(s.opted_out, 'personne retirée', 'personnes retirées')} de la diffusion (notify.opt_out).")
    if s.files:
        say(f"Courriels écrits dans {Path(s.files[0]).parent.resolve()} : ouvrez-les avec votre messagerie.")


@app.command()
def report(
    config: Path = ConfigOpt,
    project: Optional[str] = typer.Option(None, "--project", help="Code du projet."),
    out: Optional[Path] = typer.Option(None, "--out", help="Dossier local (sinon publication SharePoint)."),
    force: bool = typer.Option(False, "--force", help="Régénère même si rien n'a changé."),
    workers: Optional[int] = WorkersOpt,
    meeting: Optional[int] = typer.Option(
        None,
        "--meeting",
        help="Numéro de la réunion dans « Comités de pilotage » : son dossier, en projet de dossier daté "
        "d'aujourd'hui (jamais un dossier figé), dans son dossier de la bibliothèque ou dans --out.",
    ),
):
    """Génère les rapports COPIL (un projet ou tous, ou le dossier d'une réunion), en local ou sur
    SharePoint, sans rien écrire dans les listes."""
    from connector.pipeline import (
        reports_only,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )

    cfg = _load(config)
    if workers is not None:
        cfg.reports.workers = workers
    try:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        with ProgressReporter(json_mode=_opts["json"]) as progress:
            rs = reports_only(
                cfg, only=[project] if project else None, force=force, out_dir=out, progress=progress, meeting=meeting
            )
    except (Exception, RunStopped) as exc:
        raise fail(exc, "Échec de la génération des rapports")
    for e in rs.errors:
        err.print(f"✘ {mask(e)}", style="red", highlight=False, markup=False)
    where = f"dans {out}" if out is not None else f"dans la bibliothèque « {cfg.reports.library} »"
    say(f"{rs.uploaded} rapport(s) écrit(s) {where}, {rs.skipped} inchangé(s).", "green")
    raise typer.Exit(5 if rs.errors else 0)


# --------------------------------------------------------------------------- init-site / check
@app.command("init-site")
def init_site_cmd(
    config: Path = ConfigOpt,
    upgrade: bool = typer.Option(
        False,
        "--upgrade",
        help="Met à jour un site existant (colonnes nouvelles, index, mises en "
        "forme et vues de copil) sans toucher aux éléments.",
    ),
):
    """Crée les listes, colonnes, bibliothèques, mises en forme et vues manquantes (droit « manage » requis)."""
    cfg = _load(config)
    try:
        from connector.provision import (
            init_site,  # lazy: this command only (`copil --help` starts in a fraction of a second)
        )

        lines = init_site(_open_site(cfg), cfg, upgrade=upgrade)
    except Exception as exc:
        raise fail(
            exc,
            "Échec de la préparation du site",
            hint="La préparation du site crée des listes et des colonnes : elle demande le droit « manage » "
            "(Sites.Selected) ou « Conception » (SharePoint Server), à retirer ensuite."
            if exit_code_for(exc) == EXIT_AUTH
            else None,
        )
    for line in lines or []:
        say(line)
    say("Site prêt.", "green")


def _open_site(cfg):
    from connector.sharepoint import (
        SharePointSite,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )

    return SharePointSite.from_config(cfg)


@app.command()
def check(config: Path = ConfigOpt):
    """Vérifie qu'une vraie synchronisation fonctionnerait : configuration, base d'état,
    authentification, fuseau, modèles, listes et colonnes, droits, et chaque chemin d'écriture
    (essai sans changement visible)."""
    from connector.check import run_checks  # lazy: this command only (`copil --help` starts in a fraction of a second)

    cfg = _load(config)
    say("✔ Configuration valide", "green")
    code, hint = 0, None
    steps = run_checks(cfg)  # the checks stop by themselves after a blocking failure
    while True:
        try:
            step = next(steps)
        except StopIteration:
            break
        except (Exception, RunStopped) as exc:  # SharePoint gone in the middle of the checks: said like any failure
            raise fail(exc, "Vérification interrompue")
        if step.ok:
            say(("⚠ " if step.warning else "✔ ") + step.message, "yellow" if step.warning else "green")
        elif _opts["json"]:
            log.error(mask(step.message), extra={"exit_code": step.exit_code})
        else:
            err.print(f"✘ {mask(step.message)}", style="red", highlight=False, markup=False)
        if not step.ok and (not code or code == EXIT_PARTIAL):  # what stops a run wins over exit 5
            code, hint = step.exit_code, step.hint or CHECK_HINTS.get(step.exit_code)
    if code:
        if not _opts["json"] and hint:
            err.print(hint, highlight=False, markup=False)
        raise typer.Exit(code)
    say("✔ Une synchronisation réelle peut tourner.", "green")


CHECK_HINTS = {
    EXIT_CONFIG: "Corrigez le fichier de configuration (clé indiquée) puis relancez « copil check ».",
    EXIT_AUTH: "Vérifiez l'identité de l'application (certificat, jeton) et ses droits sur le site "
    "(Sites.Selected + droit « write »).",
    EXIT_SITE: "Corrigez les noms dans la section [lists.<clé>] de la configuration (noms affichés dans "
    "SharePoint), ou lancez « copil init-site » sur un site neuf.",
}


# --------------------------------------------------------------------------- status
@app.command()
def status(
    config: Path = ConfigOpt,
    limit: int = typer.Option(10, "--limit", "-n", help="Nombre d'exécutions."),
    run: Optional[int] = typer.Option(
        None, "--run", help="Le détail d'une exécution : éléments écrits, rapports publiés, anomalies, erreurs."
    ),
):
    """Affiche les dernières exécutions (date, durée, écritures, anomalies, erreurs, motif)."""
    cfg = _load(config)
    try:
        from connector.state import State  # lazy: this command only (`copil --help` starts in a fraction of a second)

        state = State(cfg.state.url)
        if run is not None:
            detail, found, dead = state.run(run), state.findings(run), state.dead_letters(run)
        else:
            runs = state.runs(limit)
            editions = state.editions()
    except Exception as exc:
        raise fail(exc, "Lecture de l'état impossible")
    if run is not None:
        if detail is None:
            raise fail(ConfigError(f"aucune exécution n° {run} dans la base d'état"), "Exécution inconnue")
        print_run_detail(detail, found, dead, cfg.collectivite.timezone, cfg.owned_columns())
        return
    print_runs(runs, cfg.collectivite.timezone)
    print_meetings(editions)


def print_run_detail(run: dict, found: list[dict], dead: list[dict], tz: str, names: dict | None = None) -> None:
    """What one night did, from the state alone: `status --run N` reads no SharePoint."""
    counts = run.get("counts") or {}
    detail = counts.get("detail") or {}
    started = run.get("started_at")
    if started is not None and getattr(started, "tzinfo", 1) is None:
        started = started.replace(tzinfo=_utc.utc)
    when = started.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M") if started else "?"
    say(
        f"Exécution n° {run['id']} du {when} : {status_label(run.get('status'))}"
        + (" (simulation)" if counts.get("dry_run") else "")
        + (" (rafraîchissement de journée)" if counts.get("mode") == "refresh" else "")
        + f", code de sortie {counts.get('exit_code', '?')}, durée {seconds(counts.get('duration_s'))}"
    )
    if run.get("message"):
        say(f"Motif : {run['message']}")
    read = counts.get("read") or {}
    if read.get("mode") == "full":
        say(f"Lecture complète des listes : {read.get('reason') or '?'}")
    elif read.get("mode") == "incremental":
        moved = sum((read.get("reread") or {}).values()) + sum((read.get("deleted") or {}).values())
        say(f"Lecture par le journal des modifications : {moved} élément(s) relu(s) ou supprimé(s)")
    written = detail.get("written") or []
    names = names or {}
    say(
        f"{count(len(written), 'élément écrit', 'éléments écrits')} dans la liste des projets"
        + (" :" if written else ".")
    )
    for code, item_id, cols in written[:200]:  # the columns as the list shows them
        say(f"  {code} (élément {item_id}) : {', '.join(names.get(c, c) for c in cols)}")
    if len(written) > 200:
        say(f"  … et {len(written) - 200} autre(s)")
    reports = detail.get("reports") or []
    say(f"{count(len(reports), 'rapport publié', 'rapports publiés')}" + (" :" if reports else "."))
    for url in reports[:200]:
        say(f"  {url}")
    for label, meetings in (
        ("Dossiers en préparation", detail.get("dossiers_draft")),
        ("Dossiers figés", detail.get("dossiers_frozen")),
    ):
        if meetings:
            say(f"{label} : {' ; '.join(meetings)}")
    say(
        f"{count(len(found), 'anomalie de données', 'anomalies de données')}"
        + (f" (copil findings --run {run['id']}) :" if found else ".")
    )
    for f in found[:50]:
        say(f"  {f['list_title']}, élément {f['item_id'] or '–'}, « {f['column']} » : {f['message']}")
    errors = (detail.get("errors") or []) + [f"élément {d['item_id']} : {d['error']}" for d in dead]
    say(f"{count(len(errors), 'erreur')}" + (" :" if errors else "."))
    for e in errors:
        say(f"  {e}")


@app.command()
def findings(
    config: Path = ConfigOpt,
    run: Optional[int] = typer.Option(None, "--run", help="Numéro de l'exécution (défaut : la dernière)."),
    csv_out: Optional[Path] = typer.Option(
        None,
        "--csv",
        help="Fichier CSV à écrire (séparateur « ; », UTF-8 avec BOM : s'ouvre dans Excel) ; « - » pour la sortie.",
    ),
):
    """Liste les anomalies de données d'une exécution (liste, élément, colonne, valeur, problème, lien)."""
    import csv  # lazy: this command only
    import io  # lazy: this command only

    cfg = _load(config)
    try:
        from connector.state import State  # lazy: this command only (`copil --help` starts in a fraction of a second)

        state = State(cfg.state.url)
        chosen = state.run(run)
        rows = state.findings(chosen["id"]) if chosen else []
    except Exception as exc:
        raise fail(exc, "Lecture de l'état impossible")
    if chosen is None:
        raise fail(
            ConfigError(f"aucune exécution n° {run} dans la base d'état" if run else "aucune exécution enregistrée"),
            "Anomalies",
        )
    header = ["Exécution", "Liste", "Élément", "Colonne", "Valeur saisie", "Problème", "Projet", "Gravité", "Lien"]
    lines = [
        [
            chosen["id"],
            f["list_title"],
            f["item_id"] or "",
            f["column"],
            f["value"],
            f["message"],
            f["project_code"] or "",
            f["severity"],
            f["link"],
        ]
        for f in rows
    ]
    if csv_out is None:
        say(f"Exécution n° {chosen['id']} : {count(len(rows), 'anomalie')}")
        for line in lines:
            say(f"  {line[1]}, élément {line[2] or '–'}, « {line[3]} » = « {line[4]} » : {line[5]}")
        return
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(lines)
    if str(csv_out) == "-":
        console.file.write(buf.getvalue())
        return
    csv_out.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
    say(f"{count(len(rows), 'anomalie écrite', 'anomalies écrites')} dans {csv_out}")


@app.command()
def health(
    config: Path = ConfigOpt,
    max_age: str = typer.Option(
        "26h", "--max-age", help="Âge maximal de la dernière synchronisation réussie (ex. 26h, 90m, 2d)."
    ),
):
    """Pour la supervision (Nagios, Zabbix, systemd) : 0 si la dernière synchronisation réussie est
    assez récente et la dernière s'est bien terminée, 1 (avertissement) si la dernière est partielle,
    2 (critique) si aucune réussite récente."""
    cfg = _load(config)
    limit = _duration(max_age)
    try:
        from connector.state import State  # lazy: this command only (`copil --help` starts in a fraction of a second)

        state = State(cfg.state.url)
        ok, last = state.last_success(), state.run(None)
    except Exception as exc:
        console.print(f"CRITIQUE - base d'état illisible : {mask(exc)}", highlight=False, markup=False)
        raise typer.Exit(2)
    now = datetime.now(_utc.utc)

    def age(r) -> float:
        t = r.get("ended_at") or r.get("started_at")
        if t is not None and t.tzinfo is None:
            t = t.replace(tzinfo=_utc.utc)
        return (now - t).total_seconds() if t else float("inf")

    if ok is None or age(ok) > limit:
        when = f"il y a {_hours(age(ok))}" if ok else "jamais"
        console.print(
            f"CRITIQUE - dernière synchronisation réussie : {when} (limite {max_age})", highlight=False, markup=False
        )
        raise typer.Exit(2)
    if last is not None and last.get("status") not in ("ok", "running"):
        console.print(
            f"AVERTISSEMENT - dernière exécution n° {last['id']} : {status_label(last.get('status'))} ; "
            f"dernière réussite il y a {_hours(age(ok))}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1)
    console.print(f"OK - dernière synchronisation réussie il y a {_hours(age(ok))}", highlight=False, markup=False)


def _duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*([smhdj]?)\s*", text or "")
    if not m:
        raise fail(ConfigError(f"durée illisible « {text} » (exemples : 26h, 90m, 2d)"), "Option --max-age")
    value = float(m[1].replace(",", "."))
    return value * {"s": 1, "m": 60, "h": 3600, "d": 86400, "j": 86400, "": 3600}[m[2]]


def _hours(secs: float) -> str:
    if secs == float("inf"):
        return "?"
    if secs < 3600:
        return f"{int(secs // 60)} min"
    return f"{secs / 3600:.1f} h".replace(".", ",")


def print_meetings(editions: dict) -> None:
    """The next meeting whose dossier is being prepared, and the last frozen one (from the state:
    `status` reads no SharePoint)."""

    if not editions:
        say("Aucun dossier de réunion préparé par copil pour l'instant.")
        return
    by_day = sorted(editions.values(), key=lambda e: e["meeting_on"])
    drafts = [e for e in by_day if e["kind"] == "draft" and e["meeting_on"] >= date.today().isoformat()]
    frozen = [e for e in by_day if e["kind"] == "frozen"]
    for e in drafts[:1]:
        on = date.fromisoformat(e["meeting_on"]).strftime("%d/%m/%Y")
        say(f"Prochaine réunion : {e['title']} du {on} — projet de dossier en préparation ({e['url']})")
    for e in frozen[-1:]:
        on = date.fromisoformat(e["meeting_on"]).strftime("%d/%m/%Y")
        pdf = f", PDF : {e['pdf_url']}" if e.get("pdf_url") else ""
        say(f"Dernière réunion : {e['title']} du {on} — dossier figé ({e['url']}{pdf})")


@app.command()
def unlock(
    config: Path = ConfigOpt,
    force: bool = typer.Option(
        False,
        "--force",
        help="Libère même un verrou dont le processus semble vivant (sur un autre serveur, par exemple).",
    ),
):
    """Libère le verrou laissé par une synchronisation arrêtée brutalement et marque ses
    exécutions « abandonnée »."""
    from connector.state import State  # lazy: this command only (`copil --help` starts in a fraction of a second)
    from jobs.lock import (  # lazy: this command only (`copil --help` starts in a fraction of a second)
        RunLock,
        make_engine,
        owner_is_dead,
    )

    cfg = _load(config)
    try:
        lock = RunLock(make_engine(cfg.state.url))
        held = lock.holder("copil:sync")
        if held is None:
            say("Aucun verrou posé : rien à libérer.")
            return
        if not force and not owner_is_dead(held["owner"]):
            err.print(
                f"✘ Le verrou est tenu par {held['owner']}, qui semble toujours actif : attendez la fin de "
                "la synchronisation, ou « copil unlock --force » si vous êtes sûr qu'elle est arrêtée.",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(EXIT_BUSY)
        lock.force_release("copil:sync")
        n = State(cfg.state.url).mark_abandoned()
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(exc, "Libération du verrou impossible")
    say(f"Verrou de {held['owner']} libéré ; {n} exécution(s) marquée(s) « abandonnée ».", "green")


def _get(obj, *names, default=None):
    for n in names:
        v = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
        if v is not None:
            return v
    return default


def print_runs(runs, tz: str = "Europe/Paris") -> None:
    if not runs:
        say("Aucune exécution enregistrée.")
        return
    zone = ZoneInfo(tz)
    t = Table(title=f"Dernières exécutions (heures de {tz})")
    for col in ("Début", "Durée", "Statut", "Projets", "Écrits", "Anomalies", "Erreurs", "Code", "Motif"):
        t.add_column(col, no_wrap=col != "Motif", min_width=len(col), overflow="fold")
    for r in runs:
        started = _get(r, "started_at", "started", "when")
        if started is not None and getattr(started, "tzinfo", 1) is None:
            started = started.replace(tzinfo=_utc.utc)
        dur = _get(r, "duration_s", "duration")
        findings = _get(r, "findings", "findings_count", default=0)
        state = status_label(_get(r, "status", default="?"))
        if _get(r, "dry_run"):
            state += " (simulation)"
        if _get(r, "mode") == "refresh":
            state += " (rafraîchissement)"
        reason = _get(r, "message", default="") if str(_get(r, "status")) not in ("ok",) else ""
        t.add_row(
            started.astimezone(zone).strftime("%d/%m/%Y %H:%M") if hasattr(started, "astimezone") else "?",
            seconds(dur) if dur is not None else "–",
            state,
            str(_get(r, "projects", default="")),
            str(_get(r, "written", default="")),
            str(len(findings) if isinstance(findings, (list, tuple)) else findings),
            str(_get(r, "failed", "errors", "error", default="")),
            str(_get(r, "exit_code", default="")),
            guillemets(mask(str(reason or ""))[:300]),
        )
        if _opts["json"]:
            log.info(
                "run",
                extra={
                    "run": {
                        k: str(v)
                        for k, v in (r.items() if isinstance(r, dict) else vars(r).items())
                        if not k.startswith("_")
                    }
                },
            )
    if not _opts["json"]:
        Console(soft_wrap=True, width=max(console.width, 160) if not console.is_terminal else None).print(t)


def _shown(v) -> str:
    """A column value as a person reads it in the list: French decimals, the whole text (the
    table wraps it: a value cut on both sides of « → » hid the change it was meant to show)."""
    from babel.numbers import (
        format_decimal,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )

    if v is None or v == "" or (isinstance(v, float) and v != v):
        return "(vide)"
    if isinstance(v, bool):
        return "oui" if v else "non"
    if isinstance(v, (int, float)):
        return format_decimal(v, format="#,##0.####", locale="fr_FR")
    return " ".join(str(v).split())


def _item(x):
    """The item number as a terminal hyperlink to its form (addresses are listed under the
    table when the output is not a terminal: a log file, a ticket)."""
    number = str(x.item_id or "")
    if not x.link:
        return Text(number)
    return Text(number, style=Style(link=x.link)) if console.is_terminal else Text(number)


def print_summary(s, columns: dict[str, str] | None = None, links: bool = True) -> None:
    if s is None:
        return
    if _opts["json"]:  # one record per finding and per failure, for the log collector
        for f in _get(s, "findings", default=[]) or []:
            log.warning(
                "anomalie de saisie : %s",
                f.message,
                extra={
                    "finding": {
                        "list": f.list_title,
                        "item_id": f.item_id,
                        "column": f.column,
                        "value": f.value,
                        "project": f.project_code,
                        "link": f.link,
                        "severity": f.severity,
                    }
                },
            )
        for d in _get(s, "dead_letters", default=[]) or []:
            log.error("écriture en échec : %s", d.get("error"), extra={"dead_letter": d})
        log.info(
            "résumé",
            extra={
                "summary": {
                    k: _get(s, k)
                    for k in (
                        "run_id",
                        "status",
                        "projects",
                        "by_weather",
                        "written",
                        "unchanged",
                        "failed",
                        "reports_uploaded",
                        "reports_skipped",
                        "links_written",
                        "requests",
                        "duration_s",
                        "exit_code",
                        "mode",
                        "read",
                    )
                }
            },
        )
        return
    refresh = _get(s, "mode", default="sync") == "refresh"
    kind = "Rafraîchissement" if refresh else "Synchronisation"
    if refresh and (_get(s, "read", default={}) or {}).get("unchanged"):
        dur = _get(s, "duration_s")
        say(
            f"{kind} n° {_get(s, 'run_id', default='')} : rien n'a changé depuis la dernière lecture "
            f"({_get(s, 'requests', default=0)} requêtes SharePoint, {seconds(dur) if dur is not None else '?'})."
        )
        return
    t = Table(title=f"{kind} n° {_get(s, 'run_id', default='')} : {status_label(_get(s, 'status', default=''))}")
    t.add_column("Indicateur")
    t.add_column("Valeur", justify="right")
    t.add_row("Projets", str(_get(s, "projects", default=0)))
    for weather, n in sorted((_get(s, "by_weather", default={}) or {}).items()):
        t.add_row(f"  météo {weather}", str(n))
    findings = _get(s, "findings", default=0)
    for label, val in (
        ("Éléments écrits", _get(s, "written")),
        ("Inchangés", _get(s, "unchanged")),
        ("Échecs d'écriture", _get(s, "failed")),
        ("Anomalies de données", len(findings) if isinstance(findings, (list, tuple)) else findings),
        ("Rapports publiés", _get(s, "reports_uploaded")),
        ("Rapports inchangés", _get(s, "reports_skipped")),
        ("Liens vers les rapports écrits", _get(s, "links_written")),
        ("Requêtes SharePoint", _get(s, "requests")),
    ):
        if refresh and label.startswith(("Rapports", "Liens")):
            continue  # a refresh makes no report
        t.add_row(label, str(val if val is not None else 0))
        if label == "Rapports publiés":  # why they were rendered, under their count
            for reason, n in sorted((_get(s, "report_reasons", default={}) or {}).items()):
                t.add_row(f"  dont {reason}", str(n))
    for label, meetings in (
        ("Dossiers en préparation", _get(s, "dossiers_draft", default=[]) or []),
        ("Dossiers figés cette nuit", _get(s, "dossiers_frozen", default=[]) or []),
    ):
        if meetings:
            t.add_row(label, " ; ".join(meetings))
    dur = _get(s, "duration_s")
    t.add_row("Durée", seconds(dur) if dur is not None else "?")
    console.print(t)
    read_text = _get(s, "read_text", default="")
    if read_text:  # how the lists were read: what changed, or why they were read in full
        say(f"Lecture : {read_text}.")
    for note in _get(s, "notes", default=[]) or []:
        say(f"Note : {note}", "yellow")
    planned = _get(s, "planned", default=[]) or []
    if planned:  # dry run: what would be written
        p = Table(title=f"Simulation : {len(planned)} projet(s) seraient mis à jour")
        for col in ("Projet", "Élément", "Colonne", "Valeur actuelle → nouvelle valeur"):
            p.add_column(col, overflow="fold")
        names = columns or {}
        for c in planned[:30]:
            keys = [k for k in c.values if k != "last_sync"]
            for i, k in enumerate(keys):
                p.add_row(
                    c.code if i == 0 else "",
                    str(c.item_id) if i == 0 else "",
                    names.get(k, k),
                    f"{_shown((c.before or {}).get(k))} → {_shown(c.values[k])}",
                )
        console.print(p)
        if len(planned) > 30:
            say(f"… et {len(planned) - 30} autre(s).")
    found = findings if isinstance(findings, (list, tuple)) else []
    if found:
        f = Table(title=f"Anomalies de saisie ({len(found)}) : à corriger dans SharePoint")
        for col in ("Liste", "Élément", "Colonne", "Valeur saisie", "Problème"):
            f.add_column(col)
        for x in found[:15]:
            f.add_row(
                x.list_title, _item(x) if links else str(x.item_id or ""), x.column, x.value, guillemets(x.message)
            )
        console.print(f)
        if links and not console.is_terminal:  # whole addresses, never wrapped inside a cell
            for x in found[:15]:
                if x.link:
                    console.print(f"  {x.list_title}, élément {x.item_id} : {x.link}", highlight=False, markup=False)
        if len(found) > 15:
            say(f"… et {len(found) - 15} autre(s) : voir « Qualité des données » dans la liste des projets.")
    for e in (
        (_get(s, "source_errors", default=[]) or [])
        + (_get(s, "report_errors", default=[]) or [])
        + [f"{d.get('code')} : {d.get('error')}" for d in (_get(s, "dead_letters", default=[]) or [])]
    ):
        err.print(f"✘ {mask(e)}", style="red", highlight=False, markup=False)


# --------------------------------------------------------------------------- schedule
@app.command()
def schedule(config: Path = ConfigOpt):
    """Démon de planification : lance la synchronisation selon la section « schedule » de la configuration (cron, fuseau)."""
    cfg = _load(config)
    from jobs.scheduler import Daemon  # lazy: this command only (`copil --help` starts in a fraction of a second)

    sched = cfg.schedule
    daemon = Daemon(
        state_url=cfg.state.url,
        cron=sched.cron,
        timezone=sched.timezone,
        misfire_grace_seconds=int(sched.misfire_grace_seconds),
        kwargs={"config_path": str(config.resolve())},
        refresh_cron=sched.refresh,
        notify_cron=cfg.notify.digest if cfg.notify.enabled else None,
    )
    daemon.install_signal_handlers()
    also = f", rafraîchissement « {sched.refresh} »" if sched.refresh else ""
    also += f", récapitulatifs « {cfg.notify.digest} »" if cfg.notify.enabled else ""
    say(f"Planificateur démarré (cron « {sched.cron} »{also}, {sched.timezone}). Arrêt : Ctrl+C ou SIGTERM.")
    daemon.start()  # blocks until stop
    say("Planificateur arrêté.")


# --------------------------------------------------------------------------- shared operators
operator_app = typer.Typer(
    no_args_is_help=True,
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
    help="Opérateur mutualisé : les synchronisations de nombreuses collectivités sur une file de tâches PostgreSQL.",
)
app.add_typer(operator_app, name="operator")
DatabaseOpt = typer.Option(
    ...,
    "--database",
    envvar="COPIL_OPERATOR_DATABASE",
    show_envvar=True,
    help="Base PostgreSQL de l'opérateur (postgresql://…) : la file de tâches et l'état de chaque collectivité.",
)
TenantsOpt = typer.Option(..., "--tenants", help="Dossier des configurations, un fichier TOML par collectivité.")


def _tenants(folder: Path):
    from jobs.operator import registry  # lazy: `copil operator` only

    try:
        tenants, problems = registry.load(folder)
    except Exception as exc:
        raise fail(exc, "Collectivités illisibles")
    for p in problems:
        err.print(f"✘ {p}", style="red", highlight=False, markup=False)
    return tenants, problems


@operator_app.command("schedule")
def operator_schedule(
    tenants_dir: Path = TenantsOpt,
    database: str = DatabaseOpt,
    tick: float = typer.Option(30, "--tick", min=1, help="Secondes entre deux passages."),
    once: bool = typer.Option(False, "--once", help="Un seul passage (met en file ce qui est dû), puis s'arrête."),
):
    """Met en file la synchronisation de chaque collectivité à son heure (cron de sa section schedule, dans son
    fuseau) ; le dossier est relu à chaque passage. Plusieurs planificateurs ne mettent jamais deux fois en file
    le même créneau."""
    from jobs.operator import queue  # lazy: procrastinate: `copil operator` only

    register_secret(database)
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    try:
        queue.apply_schema(database)
        if not once:
            say(f"Planificateur de l'opérateur démarré ({tenants_dir}).")
        app = queue.make_app(database)
        while True:
            tenants, _ = _tenants(tenants_dir)
            for line in queue.schedule_due(database, tenants, app=app):
                say(line)
            if once or stop.wait(tick):
                break
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(exc, "Planification impossible")


@operator_app.command("worker")
def operator_worker(
    database: str = DatabaseOpt,
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, max=16, help="Exécutions en parallèle dans ce processus."
    ),
    drain: bool = typer.Option(False, "--drain", help="S'arrête quand la file est vide (rattrapage ponctuel, essais)."),
    stalled_after: float = typer.Option(
        30,
        "--stalled-after",
        min=1,
        help="Secondes sans signe de vie après lesquelles la tâche d'un travailleur est reprise.",
    ),
):
    """Travailleur : prend les synchronisations en file, une seule à la fois par collectivité, dans son budget de
    requêtes ; autant de processus et de machines que voulu. SIGTERM : l'exécution en cours se termine."""
    import faulthandler  # lazy: this command only (a stuck run's stacks on SIGUSR1)

    from jobs.operator import queue  # lazy: procrastinate: `copil operator` only

    register_secret(database)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack, when a run seems stuck
    try:
        queue.apply_schema(database)
        queue.work(database, concurrency=concurrency, drain=drain, stalled_after=stalled_after)
    except Exception as exc:
        raise fail(exc, "Travailleur arrêté")


@operator_app.command("status")
def operator_status(
    tenants_dir: Path = TenantsOpt,
    database: str = DatabaseOpt,
    as_json: bool = typer.Option(False, "--json", help="Une ligne JSON par collectivité."),
):
    """État du service : pour chaque collectivité, la dernière exécution (résultat, code, durée, requêtes,
    anomalies), la prochaine, les échecs d'affilée et la file. Code de sortie pour la supervision : 0 tout va bien,
    1 une collectivité en échec, 2 trois échecs d'affilée ou un fichier illisible."""
    import json  # lazy: this command only (`--json`)

    from jobs.operator import queue, status  # lazy: procrastinate: `copil operator` only

    register_secret(database)
    tenants, problems = _tenants(tenants_dir)
    try:
        queue.apply_schema(database)
        rows = status.tenant_status(database, tenants)
    except Exception as exc:
        raise fail(exc, "État du service illisible")
    if as_json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False, default=str))
    else:
        table = Table(title=f"Opérateur : {count(len(rows), 'collectivité', 'collectivités')}")
        for col in (
            "Collectivité",
            "Dernière",
            "Code",
            "Durée",
            "Requêtes",
            "Anomalies",
            "Échecs d'affilée",
            "Prochaine",
            "En file",
        ):
            table.add_column(col)
        for r in rows:
            tz = ZoneInfo(next(t.timezone for t in tenants if t.id == r["tenant"]))
            last = (
                datetime.fromisoformat(r["last_started_at"]).astimezone(tz).strftime("%d/%m/%Y %H:%M")
                if r["last_started_at"]
                else "jamais"
            )
            nxt = (
                datetime.fromisoformat(r["next_run"]).astimezone(tz).strftime("%d/%m/%Y %H:%M")
                if r["next_run"]
                else "—"
            )
            table.add_row(
                r["tenant"],
                f"{last} ({status_label(r['last_status'])})" if r["last_status"] else last,
                "" if r["last_exit_code"] is None else str(r["last_exit_code"]),
                seconds(r["last_duration_s"]) if r["last_duration_s"] is not None else "",
                "" if r["last_requests"] is None else str(r["last_requests"]),
                "" if r["last_findings"] is None else str(r["last_findings"]),
                Text(str(r["failures_in_a_row"]), style="red") if r["failures_in_a_row"] else "0",
                f"{nxt} ({r['timezone']})",
                str(r["queued"]),
            )
        console.print(table)
    raise typer.Exit(status.health(rows, problems))


# --------------------------------------------------------------------------- emulator
@app.command()
def emulator(
    port: int = typer.Option(8765, "--port"),
    data: Optional[Path] = typer.Option(None, "--data", help="Dossier de persistance SQLite."),
    memory: bool = typer.Option(False, "--memory", help="Sans persistance."),
    token: list[str] = typer.Option([], "--token", help="VALEUR:ROLE[:SITE], répétable (ROLE : read, write, manage)."),
    seed_sample: bool = typer.Option(False, "--seed-sample", help="Crée la collectivité exemple (site « projets »)."),
    projects: int = typer.Option(40, "--projects", help="Taille de la collectivité exemple."),
    site: list[str] = typer.Option(
        [], "--site", help="Site vide à créer (répétable) ; sans --site ni --seed-sample, le site « projets » est créé."
    ),
    timezone_id: int = typer.Option(
        3,
        "--timezone",
        help="Fuseau des sites créés, identifiant "
        "SharePoint (3 Paris, 41 Nouméa, 15 Papeete, 32 Cayenne, 89 La Réunion).",
    ),
    locale_id: int = typer.Option(
        1036, "--locale", help="Paramètres régionaux des sites créés (1036 fr-FR, 1033 en-US)."
    ),
    latency_ms: float = typer.Option(0, "--latency-ms", help="Latence ajoutée à chaque requête."),
    throttle_every: int = typer.Option(0, "--throttle-every", help="Une requête sur N limitée (429)."),
    throttle_rps: float = typer.Option(0, "--throttle-rps", help="Limitation au-delà de R requêtes/s."),
    throttle_status: int = typer.Option(429, "--throttle-status", help="429 ou 503."),
    retry_after: int = typer.Option(1, "--retry-after", help="Valeur de Retry-After (s)."),
    drop_every: int = typer.Option(0, "--drop-every", help="Coupe une connexion sur N."),
    error_path: list[str] = typer.Option([], "--error-path", help="MOTIF:STATUT, répétable."),
    admin_token: Optional[str] = typer.Option(
        None, "--admin-token", help="Jeton de l'API d'administration /_emulator (aléatoire par défaut)."
    ),
):
    """Lance l'émulateur SharePoint local (pour essais et tests). Les pannes se règlent aussi
    pendant l'exécution : POST /_emulator/faults."""
    if (data is None) == (not memory):
        raise typer.BadParameter("choisir --data DOSSIER ou --memory")
    from emulator import auth  # lazy: this command only (`copil --help` starts in a fraction of a second)
    from emulator.server import (
        EmulatorServer,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )

    try:
        grants = {g.token: g for g in (auth.parse_token_spec(t) for t in token)}
    except ValueError as exc:
        raise typer.BadParameter(str(exc))
    if not grants and data is not None and (data / "tokens.json").exists():
        grants = auth.load_grants(data / "tokens.json")  # the tokens a kept configuration holds
    if not grants:
        grants = auth.default_grants(random=True)
        if data is not None:
            data.mkdir(parents=True, exist_ok=True)
            auth.save_grants(data / "tokens.json", grants)
    from emulator.faults import FaultConfig  # lazy: this command only (`copil --help` starts in a fraction of a second)

    faults = FaultConfig(
        latency_ms=latency_ms,
        throttle_every_n=throttle_every,
        throttle_rps=throttle_rps,
        throttle_status=throttle_status,
        retry_after=retry_after,
        drop_every_n=drop_every,
        error_paths=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in error_path],
    )
    from connector.sharepoint.timezones import (
        by_id,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )

    if by_id(timezone_id) is None or locale_id not in (1033, 1036):
        raise typer.BadParameter("--timezone : identifiant SharePoint inconnu, ou --locale autre que 1036/1033")
    srv = EmulatorServer(
        port, data_dir=str(data) if data else None, tokens=grants, faults=faults, admin_token=admin_token
    )
    from sample.collectivite import (  # lazy: this command only (`copil --help` starts in a fraction of a second)
        Layout,
        seed,
    )

    if seed_sample and srv.backend.site("projets") is None:  # seeded before the first request
        seed(srv.backend, "projets", projects=projects, layout=Layout(timezone_id=timezone_id, locale_id=locale_id))
    for name in site or ([] if (seed_sample or srv.backend.sites) else ["projets"]):
        if srv.backend.site(name) is None:
            srv.backend.ensure_site(name).set_regional(timezone_id=timezone_id, locale_id=locale_id)
    srv.start()
    console.print(
        f"Émulateur SharePoint sur {srv.url} ; sites : "
        + ", ".join(srv.site_url(x.name) for x in srv.backend.sites.values())
    )
    for g in grants.values():  # printed once on purpose: the operator needs them
        console.print(f"  jeton {g.role}{' / site ' + g.site if g.site else ''} : {g.token}")
    console.print(f"  jeton d'administration (/_emulator) : {srv.admin_token}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    srv.stop()


# --------------------------------------------------------------------------- demo
DEMO_CONFIG = """# Configuration générée par « copil demo » pour l'émulateur local.
# Démarrer l'émulateur : copil emulator --data {emulator_dir} --port {port}
[collectivite]
name = "{name}"
currency = "EUR"
timezone = "Europe/Paris"        # seulement si le fuseau du site est illisible

[sharepoint]
site_url = "{site_url}"
auth = "bearer"                  # l'émulateur ; sur un vrai tenant : auth = "certificate"
{token_line}
organisation = "Demo"

[state]
url = "sqlite:///{state}"
"""


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Dossier des rapports Word."),
    projects: int = typer.Option(40, "--projects", help="Nombre de projets exemple."),
    keep: Optional[Path] = typer.Option(
        None,
        "--keep",
        help="Garde dans ce dossier une configuration, "
        "les données de l'émulateur et la base d'état, pour continuer "
        "à la main.",
    ),
    port: int = typer.Option(8765, "--port", help="Port de l'émulateur dans la configuration gardée."),
    nights: Optional[list[str]] = typer.Option(
        None,
        "--le",
        help="Date simulée d'une nuit (JJ/MM/AAAA), répétable : les nuits s'enchaînent sur le même site et le "
        "même état, dans l'ordre donné (ex. --le 06/12/2026 --le 07/01/2027 : décembre puis janvier).",
    ),
):
    """Démonstration complète sans SharePoint : émulateur, collectivité exemple, préparation du
    site, une synchronisation nocturne (ou une par date --le) et ses rapports Word, copiés dans un
    dossier local."""
    from emulator import auth  # lazy: this command only (`copil --help` starts in a fraction of a second)
    from emulator.server import (
        EmulatorServer,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )
    from sample.collectivite import (  # lazy: this command only (`copil --help` starts in a fraction of a second)
        COLLECTIVITE,
        seed,
    )

    dates = [_night(d) for d in nights or []]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise fail(ConfigError("les dates --le doivent se suivre, sans doublon"), "Démonstration impossible")
    t0 = time.monotonic()
    work = keep.resolve() if keep else Path(tempfile.mkdtemp(prefix="copil-demo-"))
    if keep and (work / "emulator").exists():
        raise fail(
            ConfigError(f"{work} contient déjà une démonstration ; choisissez un autre dossier"),
            "Démonstration impossible",
        )
    work.mkdir(parents=True, exist_ok=True)
    grants = auth.default_grants(random=True)
    srv = EmulatorServer(0, data_dir=str(work / "emulator") if keep else None, tokens=grants).start()
    token = srv.tokens["manage"]
    register_secret(token)
    try:
        say(f"Émulateur SharePoint démarré sur {srv.url} ; création de la collectivité exemple ({projects} projets)…")
        seed(srv.backend, "projets", projects=projects)
        os.environ["COPIL_DEMO_TOKEN"] = token
        state = (work / "state.db").as_posix()
        cfg_path = work / "copil-demo-run.toml"
        cfg_path.write_text(
            DEMO_CONFIG.format(
                name=COLLECTIVITE,
                site_url=srv.site_url("projets"),
                state=state,
                token_line='token_env = "COPIL_DEMO_TOKEN"',
                emulator_dir=work / "emulator",
                port=port,
            ),
            encoding="utf-8",
        )
        cfg = _load(cfg_path)
        try:
            from connector.provision import (
                init_site,  # lazy: this command only (`copil --help` starts in a fraction of a second)
            )

            for line in init_site(_open_site(cfg), cfg) or []:
                log.debug(line)
            say("Site préparé (listes, colonnes calculées, bibliothèques).")
            for day in dates or [None]:
                if day:
                    say(f"Nuit du {day:%d/%m/%Y}", "bold")
                summary = run_once(cfg, json_mode=_opts["json"], as_of=day)
                # without --keep the emulator stops with the demo: its addresses would lead nowhere
                print_summary(summary, columns=cfg.owned_columns(), links=keep is not None)
        except (Exception, RunStopped) as exc:
            raise fail(exc, "Échec de la synchronisation de démonstration")
        out.mkdir(parents=True, exist_ok=True)
        files = _download_reports(cfg, out)
        # the week's digests as project managers would receive them, to read (nothing is sent)
        from connector.notify.digests import send_digests  # lazy: this command only

        mails = send_digests(cfg, out_dir=out / "courriels", as_of=dates[-1] if dates else None)
    finally:
        srv.stop()
        cfg_path.unlink(missing_ok=True)
    say(
        f"{sum(1 for f in files if f.suffix == '.docx')} rapport(s) Word copié(s) dans {out.resolve()} "
        f"(durée totale {time.monotonic() - t0:.0f} s). Ouvrez-les avec Word ou LibreOffice.",
        "green",
    )
    say(
        f"Classeur du portefeuille (Excel, Power BI) : {out.resolve() / cfg.reports.portfolio_folder / cfg.reports.workbook_name} ; "
        f"{count(len(mails.files), 'récapitulatif', 'récapitulatifs')} de chef de projet (non envoyés) dans "
        f"{(out / 'courriels').resolve()}."
    )
    if keep:
        _keep_demo(work, grants, port, state)
    else:
        shutil.rmtree(work, ignore_errors=True)
        say(
            f"Pour garder le site d'essai et continuer à la main : {copil_command()} demo --keep ~/copil-essai "
            "(l'émulateur de cette démonstration est arrêté : ses adresses ne mènent plus nulle part)."
        )
    raise typer.Exit(int(summary.exit_code or 0))


def copil_command() -> str:
    """How to call copil from here: `copil` when it is on the PATH, else the script of this
    environment (`make demo` installs into .venv without activating it: « copil: command not
    found » was the first thing a newcomer saw)."""
    script = Path(sys.argv[0])
    on_path = shutil.which("copil")
    if script.name == "copil" and script.exists():
        if on_path and Path(on_path).resolve() == script.resolve():
            return "copil"
        try:
            return str(script.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(script.resolve())
    if on_path:
        return "copil"
    return f"{sys.executable} -m jobs.cli"


def _night(text: str) -> date:
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise typer.BadParameter(f"« {text} » n'est pas une date JJ/MM/AAAA", param_hint="--le") from None


def _keep_demo(work: Path, grants, port: int, state: str) -> None:
    """Leave a configuration that works against `copil emulator --data` and say what to run next."""
    from emulator import auth  # lazy: this command only (`copil --help` starts in a fraction of a second)
    from sample.collectivite import (
        COLLECTIVITE,  # lazy: this command only (`copil --help` starts in a fraction of a second)
    )

    auth.save_grants(work / "emulator" / "tokens.json", grants)
    token_file = work / "jeton.txt"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(next(g.token for g in grants.values() if g.role == "manage"))
    cfg = work / "copil.toml"
    cfg.write_text(
        DEMO_CONFIG.format(
            name=COLLECTIVITE,
            site_url=f"http://127.0.0.1:{port}/sites/projets",
            state=state,
            token_line='token_file = "jeton.txt"   # relatif à ce fichier',
            emulator_dir=work / "emulator",
            port=port,
        ),
        encoding="utf-8",
    )
    say(f"Démonstration gardée dans {work} : configuration copil.toml, données de l'émulateur, base d'état.")
    say("Pour continuer (l'émulateur dans un terminal, les commandes dans un autre) :")
    copil = copil_command()
    for line in (
        f"{copil} emulator --data {work / 'emulator'} --port {port}",
        f"{copil} check --config {cfg}",
        f"{copil} sync --config {cfg}",
        f"{copil} refresh --config {cfg}",
        f"{copil} status --config {cfg}",
        f"{copil} report --config {cfg} --out rapports",
        f"{copil} notify --config {cfg} --dry-run --out courriels",
    ):
        say(f"  {line}")


def _download_reports(cfg, out: Path) -> list[Path]:
    """Copy the reports and the workbook the run published in SharePoint into `out`, keeping the folders."""
    site = _open_site(cfg)
    info = site.list_info(cfg.reports.library)
    files = []
    for fi in site.list_files(cfg.reports.library):
        if not fi.name.lower().endswith((".docx", ".xlsx")):
            continue
        dest = out / fi.server_relative_url[len(info.root_url) + 1 :]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(site.download_file(fi.server_relative_url))
        files.append(dest)
    return files


if __name__ == "__main__":  # pragma: no cover
    app()
