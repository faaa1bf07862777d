"""`copil` command line (typer + rich). Messages for users are in French."""
from __future__ import annotations

import difflib
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from jobs.nightly import (EXIT_AUTH, EXIT_CONFIG, EXIT_OK, EXIT_SITE, EXIT_UNEXPECTED,
                          exit_code_for, load, run_once)
from jobs.output import mask, register_secret, setup_logging

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="copil : consolidation nocturne du portefeuille de projets et rapports COPIL.")
console = Console()
err = Console(stderr=True)
log = logging.getLogger("copil")
_opts = {"json": False}

ConfigOpt = typer.Option(..., "--config", "-c", help="Fichier de configuration TOML.")


@app.callback()
def main(json_logs: bool = typer.Option(False, "--json", help="Journaux JSON (une ligne par objet)."),
         verbose: bool = typer.Option(False, "--verbose", "-v", help="Journaux détaillés.")):
    _opts["json"] = json_logs
    setup_logging(json_mode=json_logs, verbose=verbose)


def say(msg: str, style: str | None = None) -> None:
    """User-facing line; in --json mode it becomes a log record so stdout stays parseable."""
    if _opts["json"]:
        log.info(msg)
    else:
        console.print(mask(msg), style=style, highlight=False)


def fail(exc: BaseException, what: str) -> "typer.Exit":
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
        err.print(f"[bold red]{what}[/] : {mask(exc)}", highlight=False)
        if code in hints:
            err.print(hints[code], highlight=False)
    return typer.Exit(code)


def _load(config: Path):
    try:
        return load(str(config))
    except Exception as exc:
        raise fail(exc, "Configuration invalide")


# --------------------------------------------------------------------------- sync / report
@app.command()
def sync(config: Path = ConfigOpt,
         dry_run: bool = typer.Option(False, "--dry-run", help="Calcule sans rien écrire."),
         no_reports: bool = typer.Option(False, "--no-reports", help="Sans rapports Word."),
         force_reports: bool = typer.Option(False, "--force-reports",
                                            help="Régénère les rapports même inchangés.")):
    """Lance une synchronisation complète (ce que fait la tâche de nuit)."""
    cfg = _load(config)
    try:
        summary = run_once(cfg, dry_run=dry_run, reports=not no_reports,
                           force_reports=force_reports, json_mode=_opts["json"])
    except Exception as exc:
        raise fail(exc, "Échec de la synchronisation")
    print_summary(summary)
    raise typer.Exit(int(getattr(summary, "exit_code", 0) or 0))


@app.command()
def report(config: Path = ConfigOpt,
           project: Optional[str] = typer.Option(None, "--project", help="Code du projet."),
           out: Optional[Path] = typer.Option(None, "--out", help="Dossier local (sinon publication SharePoint)."),
           force: bool = typer.Option(False, "--force", help="Régénère même si rien n'a changé.")):
    """Génère les rapports COPIL (un projet ou tous), en local ou sur SharePoint."""
    cfg = _load(config)
    try:
        if out is not None:
            files = _reports_locally(cfg, out, [project] if project else None)
            say(f"{len(files)} rapport(s) écrit(s) dans {out}")
            return
        summary = run_once(cfg, reports=True, force_reports=force, json_mode=_opts["json"])
    except Exception as exc:
        raise fail(exc, "Échec de la génération des rapports")
    print_summary(summary)
    raise typer.Exit(int(getattr(summary, "exit_code", 0) or 0))


def _reports_locally(cfg, out: Path, codes):
    from connector import pipeline
    from connector.reports.publish import write_reports_locally
    out.mkdir(parents=True, exist_ok=True)
    build = getattr(pipeline, "build_portfolio", None)
    if build is None:  # fall back: a dry run that renders into `out`
        run_once(cfg, dry_run=True, reports=True, force_reports=True, out_dir=out,
                 json_mode=_opts["json"])
        return sorted(out.rglob("*.docx"))
    portfolio, previous = build(cfg)
    return write_reports_locally(cfg, portfolio, previous, out, codes=codes)


# --------------------------------------------------------------------------- init-site / check
@app.command("init-site")
def init_site_cmd(config: Path = ConfigOpt):
    """Crée les listes, colonnes et bibliothèques manquantes (droit « manage » requis)."""
    cfg = _load(config)
    try:
        from connector.provision import init_site
        result = init_site(cfg)
    except Exception as exc:
        raise fail(exc, "Échec de la préparation du site")
    say(f"Site prêt : {result if result is not None else 'rien à créer'}", "green")


def _open_site(cfg):
    from connector import sp as sp_mod
    for name in ("open_site", "connect", "site_from_config"):
        fn = getattr(sp_mod, name, None)
        if fn:
            return fn(cfg)
    cls = sp_mod.SharePointSite
    if hasattr(cls, "from_config"):
        return cls.from_config(cfg)
    return cls(cfg)


def _items(mapping):
    if mapping is None:
        return []
    if isinstance(mapping, dict):
        return list(mapping.items())
    return list(getattr(mapping, "items", lambda: [])())


@app.command()
def check(config: Path = ConfigOpt):
    """Vérifie qu'une vraie synchronisation fonctionnerait : configuration, authentification,
    site, listes et colonnes."""
    cfg = _load(config)
    say("✔ Configuration valide", "green")
    try:
        site = _open_site(cfg)
        site.list_info(_first_list_title(cfg))  # authenticates and reaches the site
    except Exception as exc:
        raise fail(exc, "Site SharePoint inaccessible")
    say("✔ Authentification et accès au site", "green")
    problems = []
    for key, lst in _items(getattr(cfg, "lists", None)):
        title = getattr(lst, "title", key)
        try:
            info = site.list_info(title)
        except Exception as exc:
            code = exit_code_for(exc)
            if code == EXIT_AUTH:
                raise fail(exc, f"Accès refusé à la liste « {title} »")
            problems.append(f"Liste « {title} » ({key}) introuvable sur le site.")
            continue
        fields = getattr(info, "fields", {}) or {}
        names = list(fields)
        for logical, display in _items(getattr(lst, "columns", None)):
            if not display or display in fields:
                continue
            close = difflib.get_close_matches(display, names, n=3, cutoff=0.5)
            hint = f" Noms proches : {', '.join(f'« {c} »' for c in close)}." if close else ""
            problems.append(f"Colonne « {display} » ({key}.{logical}) absente de la liste "
                            f"« {title} ».{hint} Corrigez [lists.{key}.columns] {logical} = "
                            f"\"...\" dans la configuration.")
    if problems:
        for p in problems:
            if _opts["json"]:
                log.error(p, extra={"exit_code": EXIT_SITE})
            else:
                err.print(f"[red]✘[/] {mask(p)}", highlight=False)
        raise typer.Exit(EXIT_SITE)
    say("✔ Listes et colonnes trouvées : une synchronisation réelle peut tourner.", "green")


def _first_list_title(cfg) -> str:
    for key, lst in _items(getattr(cfg, "lists", None)):
        return getattr(lst, "title", key)
    from connector import schema
    return next(iter(getattr(schema, "LISTS", {"projects": None})))


# --------------------------------------------------------------------------- status
@app.command()
def status(config: Path = ConfigOpt,
           limit: int = typer.Option(10, "--limit", "-n", help="Nombre d'exécutions.")):
    """Affiche les dernières exécutions (date, durée, écritures, anomalies, erreurs)."""
    cfg = _load(config)
    try:
        from connector.state import State
        runs = State(cfg.state.url).runs(limit)
    except Exception as exc:
        raise fail(exc, "Lecture de l'état impossible")
    print_runs(runs)


def _get(obj, *names, default=None):
    for n in names:
        v = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
        if v is not None:
            return v
    return default


def print_runs(runs) -> None:
    if not runs:
        say("Aucune exécution enregistrée.")
        return
    t = Table(title="Dernières exécutions")
    for col in ("Début", "Durée", "Statut", "Projets", "Écrits", "Anomalies", "Erreurs", "Code"):
        t.add_column(col, no_wrap=col in ("Début", "Durée", "Statut"))
    for r in runs:
        started = _get(r, "started_at", "started", "when")
        dur = _get(r, "duration_s", "duration")
        findings = _get(r, "findings", "findings_count", default=0)
        t.add_row(str(started)[:19] if started else "?",
                  f"{float(dur):.1f} s" if dur is not None else "?",
                  str(_get(r, "status", default="?")), str(_get(r, "projects", default="")),
                  str(_get(r, "written", default="")),
                  str(len(findings) if isinstance(findings, (list, tuple)) else findings),
                  str(_get(r, "failed", "errors", "error", default="")),
                  str(_get(r, "exit_code", default="")))
        if _opts["json"]:
            log.info("run", extra={"run": {k: str(v) for k, v in (
                r.items() if isinstance(r, dict) else vars(r).items()) if not k.startswith("_")}})
    if not _opts["json"]:
        console.print(t)


def print_summary(s) -> None:
    if _opts["json"] or s is None:
        return
    t = Table(title=f"Synchronisation {_get(s, 'run_id', default='')} : {_get(s, 'status', default='')}")
    t.add_column("Indicateur")
    t.add_column("Valeur", justify="right")
    t.add_row("Projets", str(_get(s, "projects", default=0)))
    for weather, n in sorted((_get(s, "by_weather", default={}) or {}).items()):
        t.add_row(f"  météo {weather}", str(n))
    findings = _get(s, "findings", default=0)
    for label, val in (("Éléments écrits", _get(s, "written")),
                       ("Inchangés", _get(s, "unchanged")),
                       ("Échecs (lettres mortes)", _get(s, "failed")),
                       ("Anomalies de données", len(findings) if isinstance(findings, (list, tuple)) else findings),
                       ("Rapports publiés", _get(s, "reports_uploaded")),
                       ("Rapports inchangés", _get(s, "reports_skipped")),
                       ("Requêtes SharePoint", _get(s, "requests"))):
        t.add_row(label, str(val if val is not None else 0))
    dur = _get(s, "duration_s")
    t.add_row("Durée", f"{float(dur):.1f} s" if dur is not None else "?")
    console.print(t)


# --------------------------------------------------------------------------- schedule
@app.command()
def schedule(config: Path = ConfigOpt):
    """Démon de planification : lance la synchronisation selon la section « schedule » de la configuration (cron, fuseau)."""
    cfg = _load(config)
    from jobs.scheduler import Daemon
    sched = getattr(cfg, "schedule", None)
    daemon = Daemon(state_url=cfg.state.url,
                    cron=getattr(sched, "cron", "0 2 * * *"),
                    timezone=getattr(sched, "timezone", "Europe/Paris"),
                    misfire_grace_seconds=int(getattr(sched, "misfire_grace_seconds", 3600)),
                    kwargs={"config_path": str(config.resolve())})
    daemon.install_signal_handlers()
    say(f"Planificateur démarré (cron « {getattr(sched, 'cron', '0 2 * * *')} », "
        f"{getattr(sched, 'timezone', 'Europe/Paris')}). Arrêt : Ctrl+C ou SIGTERM.")
    daemon.start()  # blocks until stop
    say("Planificateur arrêté.")


# --------------------------------------------------------------------------- emulator
def _parse_tokens(specs: list[str]) -> dict:
    """--token VALUE:ROLE[:SITE] -> {value: {"role", "site"}} (role -> value kept too)."""
    tokens = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or parts[1] not in ("read", "write", "manage", "fullcontrol"):
            raise typer.BadParameter(f"« {spec} » : attendu VALEUR:ROLE[:SITE], "
                                     "ROLE parmi read, write, manage, fullcontrol")
        tokens[parts[0]] = {"role": parts[1], "site": parts[2] if len(parts) == 3 else None}
    return tokens


@app.command()
def emulator(port: int = typer.Option(8765, "--port"),
             data: Optional[Path] = typer.Option(None, "--data", help="Dossier de persistance SQLite."),
             memory: bool = typer.Option(False, "--memory", help="Sans persistance."),
             token: list[str] = typer.Option([], "--token", help="VALEUR:ROLE[:SITE], répétable."),
             seed_sample: bool = typer.Option(False, "--seed-sample", help="Crée la collectivité exemple."),
             projects: int = typer.Option(40, "--projects")):
    """Lance l'émulateur SharePoint local (pour essais et tests)."""
    if (data is None) == (not memory):
        raise typer.BadParameter("choisir --data DOSSIER ou --memory")
    from emulator import server
    spec = _parse_tokens(token)
    if not spec:
        spec = {secrets.token_urlsafe(24): {"role": r, "site": None}
                for r in ("read", "write", "manage")}
    by_role = {v["role"]: k for k, v in spec.items() if not v["site"]}
    try:
        srv = server.start(port=port, data_dir=str(data) if data else None, tokens=by_role)
    except TypeError:
        srv = server.start(port=port, data_dir=str(data) if data else None)
    if seed_sample:
        from emulator.sample import seed_site
        seed_site(srv.backend, "projets", projects=projects)
    console.print(f"Émulateur SharePoint sur {srv.url} (site exemple : {srv.site_url('projets')})")
    for value, v in spec.items():  # printed once on purpose: the operator needs them
        console.print(f"  jeton {v['role']}{' / ' + v['site'] if v['site'] else ''} : {value}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    srv.stop()


# --------------------------------------------------------------------------- demo
DEMO_CONFIG = """# Configuration générée par « copil demo » (émulateur local)
[collectivite]
name = "Communauté de communes de démonstration"

[sharepoint]
site_url = "{site_url}"
auth = "bearer"
token_env = "COPIL_DEMO_TOKEN"

[state]
url = "sqlite:///{state}"
"""


@app.command()
def demo(out: Path = typer.Option(Path("demo-out"), "--out", help="Dossier des rapports Word."),
         projects: int = typer.Option(40, "--projects", help="Nombre de projets exemple.")):
    """Démonstration complète sans SharePoint : émulateur, données exemple, synchronisation,
    rapports Word dans un dossier local."""
    try:
        from emulator.sample import seed_site
        from emulator.server import start
    except ImportError as exc:
        raise fail(exc, "Émulateur indisponible dans cette installation")
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="copil-demo-"))
    srv = start(port=0)
    try:
        say("Émulateur SharePoint démarré, création de la collectivité exemple…")
        seed_site(srv.backend, "projets", projects=projects)
        token = srv.tokens.get("manage") or srv.tokens.get("write")
        register_secret(token)
        os.environ["COPIL_DEMO_TOKEN"] = token
        cfg_path = work / "copil-demo.toml"
        cfg_path.write_text(DEMO_CONFIG.format(site_url=srv.site_url("projets"),
                                               state=(work / "state.db").as_posix()),
                            encoding="utf-8")
        cfg = _load(cfg_path)
        try:
            from connector.provision import init_site
            init_site(cfg)
        except Exception as exc:  # the sample is already provisioned; report, go on
            log.debug("init-site : %s", exc)
        reports_dir = work / "reports"
        try:
            summary = run_once(cfg, out_dir=reports_dir, json_mode=_opts["json"])
        except Exception as exc:
            raise fail(exc, "Échec de la synchronisation de démonstration")
        print_summary(summary)
        out.mkdir(parents=True, exist_ok=True)
        files = _collect_reports(reports_dir, out) or _download_reports(cfg, out)
    finally:
        srv.stop()
    say(f"{len(files)} rapport(s) Word copié(s) dans {out.resolve()} "
        f"(durée totale {time.monotonic() - t0:.0f} s). Ouvrez-les avec Word ou LibreOffice.", "green")
    shutil.rmtree(work, ignore_errors=True)
    raise typer.Exit(int(getattr(summary, "exit_code", 0) or 0))


def _collect_reports(src: Path, out: Path) -> list[Path]:
    files = []
    for f in sorted(src.rglob("*.docx")) if src.exists() else []:
        dest = out / f.relative_to(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
        files.append(dest)
    return files


def _download_reports(cfg, out: Path) -> list[Path]:
    """Reports only exist in the emulator's library: fetch them over HTTP."""
    try:
        site = _open_site(cfg)
        library = getattr(getattr(cfg, "reports", None), "library", None) or "Rapports COPIL"
        files = []
        for fi in site.list_files(library):
            url = getattr(fi, "server_relative_url", None) or getattr(fi, "url", "")
            name = getattr(fi, "name", None) or url.rsplit("/", 1)[-1]
            if not name.lower().endswith(".docx"):
                continue
            dest = out / name
            dest.write_bytes(site.download(url))
            files.append(dest)
        return files
    except Exception as exc:
        log.warning("Téléchargement des rapports impossible : %s", exc)
        return []


if __name__ == "__main__":  # pragma: no cover
    app()
