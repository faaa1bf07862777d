"""One nightly run: logging, progress and exit codes around pipeline.run_sync."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from connector.errors import ExitCode, RunInterrupted, RunStopped
from jobs.output import ProgressReporter, count, mask, register_secret, seconds, status_label

log = logging.getLogger("copil.nightly")

# Defined once in connector.errors.ExitCode; these names are kept for the command line's reading.
EXIT_OK, EXIT_UNEXPECTED, EXIT_CONFIG, EXIT_AUTH, EXIT_SITE, EXIT_PARTIAL, EXIT_BUSY = (
    ExitCode.OK,
    ExitCode.UNEXPECTED,
    ExitCode.CONFIG,
    ExitCode.AUTH,
    ExitCode.SITE,
    ExitCode.PARTIAL,
    ExitCode.BUSY,
)


class RunInProgress(Exception):
    exit_code = EXIT_BUSY


def exit_code_for(exc: BaseException) -> int:
    """Map an exception from the connector to a copil exit code."""
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {"ConfigError", "ValidationError", "TOMLDecodeError"}:
        return EXIT_CONFIG
    if any("Auth" in n or "Access" in n or "Permission" in n for n in names):
        return EXIT_AUTH
    if names & {"SchemaError", "FatalError", "ConnectionError", "ClientRequestException"}:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return EXIT_AUTH
        return EXIT_SITE
    return EXIT_UNEXPECTED


def load(config_path: str):
    from connector.config import load_config  # lazy: pydantic: `copil --help` starts without it

    config = load_config(config_path)
    register_config_secrets(config)
    return config


def register_config_secrets(config) -> None:
    """Mask the values of the secrets the config points to (env vars, token files)."""
    sp = getattr(config, "sharepoint", None)
    for attr in ("token_env", "passphrase_env", "password_env"):
        env = getattr(sp, attr, None)
        if env:
            register_secret(os.environ.get(env))
    # the digests' and Teams' secrets: an SMTP password, a Graph token, the webhook's URL
    notify, teams = getattr(config, "notify", None), getattr(config, "teams", None)
    for section, env_attr, file_attr in (
        (getattr(notify, "smtp", None), "password_env", "password_file"),
        (getattr(notify, "graph", None), "token_env", "token_file"),
        (teams, "webhook_env", "webhook_file"),
    ):
        env = getattr(section, env_attr, None)
        if env:
            register_secret(os.environ.get(env))
        path = getattr(section, file_attr, None)
        if path:
            try:
                register_secret(open(path, encoding="utf-8").read().strip())
            except OSError:
                pass
    for attr in ("token", "passphrase", "password"):
        val = getattr(sp, attr, None)
        if val is not None:
            register_secret(val.get_secret_value() if hasattr(val, "get_secret_value") else str(val))
    tf = getattr(sp, "token_file", None)
    if tf:
        try:
            register_secret(open(tf, encoding="utf-8").read().strip())
        except OSError:
            pass


def run_once(
    config,
    *,
    dry_run=False,
    reports=True,
    force_reports=False,
    as_of=None,
    out_dir=None,
    json_mode=False,
    show_progress=None,
    refresh=False,
    lock_owner: str | None = None,
    take_over_from: str | None = None,
):
    """Run the pipeline once (with `refresh`, the daytime refresh); returns RunSummary
    (exceptions propagate to the caller). `take_over_from`: a lock held by an owner with this
    prefix is taken over — a shared operator's worker, whose queue lock already guarantees that
    no other of its runs for this tenant is alive (jobs.operator.queue)."""
    from connector.pipeline import run_sync  # lazy: pandas and the client: `copil --help` starts without them
    from connector.state import State  # lazy: SQLAlchemy: `copil --help` starts without it
    from jobs.lock import RunLock, make_engine  # lazy: SQLAlchemy: `copil --help` starts without it

    # One run at a time per state database: a manual `copil sync` during the nightly run (or two
    # daemons) must not write the same items twice. A killed run's lock is taken over when its
    # process is gone from this host, expires after 6 h otherwise, and `copil unlock` frees it.
    lock = RunLock(make_engine(config.state.url), owner=lock_owner)
    if not dry_run:
        held = lock.holder("copil:sync") if take_over_from else None
        if held and str(held.get("owner", "")).startswith(take_over_from or "\0") and not held.get("done"):
            log.warning("verrou d'un travailleur disparu repris (%s)", held.get("owner"))
            lock.force_release("copil:sync")
        if not lock.acquire("copil:sync"):
            held = lock.holder("copil:sync") or {}
            # the collectivité's time, as `copil status` shows it (a server's clock is often UTC)
            since = datetime.fromtimestamp(
                held.get("acquired_at", time.time()), ZoneInfo(config.collectivite.timezone)
            ).strftime("%d/%m/%Y %H:%M")
            raise RunInProgress(
                f"une synchronisation est déjà en cours sur cet état depuis le {since} "
                f"({held.get('owner', '?')}) ; réessayez après sa fin, ou « copil unlock » si "
                "ce processus n'existe plus"
            )
        if lock.took_over:
            log.warning(
                "verrou d'une synchronisation arrêtée brutalement repris (%s, processus disparu)",
                lock.took_over.get("owner"),
            )
        st = State(config.state.url)
        abandoned = st.mark_abandoned()
        st.close()
        if abandoned:
            log.warning("%d exécution(s) interrompue(s) sans fin propre marquée(s) « abandonnée »", abandoned)
    try:
        with _interrupt_on_signals():
            return _run(
                config, run_sync, dry_run, reports, force_reports, as_of, out_dir, json_mode, show_progress, refresh
            )
    finally:
        if not dry_run:
            lock.release("copil:sync", done=False)


@contextlib.contextmanager
def _interrupt_on_signals():
    """SIGTERM (systemctl stop, the Windows scheduler) ends a `copil sync` cleanly: the run is
    recorded as interrupted and its lock released by the caller's `finally`. Writes already made
    stay (each is idempotent); state is committed only after the data it describes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame):
        raise RunInterrupted(f"exécution interrompue par le signal {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM,)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(config, run_sync, dry_run, reports, force_reports, as_of, out_dir, json_mode, show_progress, refresh=False):
    started = time.monotonic()
    what = "du rafraîchissement" if refresh else "de la synchronisation"
    log.info("Début %s%s", what, " (simulation)" if dry_run else "")
    with ProgressReporter(enabled=show_progress, json_mode=json_mode) as progress:
        summary = run_sync(
            config,
            dry_run=dry_run,
            reports=reports,
            force_reports=force_reports,
            as_of=as_of,
            progress=progress,
            out_dir=out_dir,
            refresh=refresh,
        )
    if refresh and (getattr(summary, "read", None) or {}).get("unchanged"):
        log.info(
            "Rafraîchissement terminé en %s : rien n'a changé depuis la dernière lecture, code de sortie %s",
            seconds(time.monotonic() - started),
            getattr(summary, "exit_code", "?"),
            extra={"run_id": getattr(summary, "run_id", None)},
        )
        return summary
    log.info(
        "%s terminé%s en %s : %s, %s, %s, %s, code de sortie %s",
        "Rafraîchissement" if refresh else "Synchronisation",
        "" if refresh else "e",
        seconds(time.monotonic() - started),
        status_label(getattr(summary, "status", "?")),
        count(getattr(summary, "projects", "?"), "projet"),
        count(getattr(summary, "written", "?"), "élément écrit", "éléments écrits"),
        count(_n(getattr(summary, "findings", None)), "anomalie"),
        getattr(summary, "exit_code", "?"),
        extra={"run_id": getattr(summary, "run_id", None)},
    )
    return summary


def _n(v):
    return len(v) if isinstance(v, (list, tuple, dict)) else v


def scheduled_run(config_path: str) -> int:
    """Job body for `copil schedule` (referenced by name in the jobstore)."""
    try:
        config = load(config_path)
        summary = run_once(config, show_progress=False)
        return int(getattr(summary, "exit_code", 0) or 0)
    except (Exception, RunStopped) as exc:  # the daemon must survive a failed or stopped night
        code = exit_code_for(exc)
        log.error("Échec de la synchronisation planifiée (code %s) : %s", code, mask(exc))
        return code


def scheduled_refresh(config_path: str) -> int:
    """Job body of the daytime refresh in `copil schedule` (`[schedule] refresh`)."""
    try:
        config = load(config_path)
        summary = run_once(config, show_progress=False, refresh=True)
        return int(getattr(summary, "exit_code", 0) or 0)
    except (Exception, RunStopped) as exc:  # the daemon must survive a failed refresh
        code = exit_code_for(exc)
        log.error("Échec du rafraîchissement planifié (code %s) : %s", code, mask(exc))
        return code


class NotifyInProgress(Exception):
    exit_code = EXIT_BUSY


def notify_once(config, *, out_dir=None, as_of=None):
    """The week's digests (`copil notify`, the scheduler's job). Returns the NotifySummary. One
    sending at a time per state: two daemons, or a hand-run beside the scheduled one, never send
    the same week twice (the state's record is taken after each send)."""
    from connector.notify.digests import send_digests  # lazy: pandas and the client: `copil --help` stays fast
    from jobs.lock import RunLock, make_engine  # lazy: SQLAlchemy: `copil --help` starts without it

    if not config.notify.enabled and out_dir is None:
        from connector.errors import ConfigError  # lazy: only this refusal needs it

        e = ConfigError("les récapitulatifs sont désactivés (section notify, enabled = false)")
        e.hint = "Activez-les (enabled = true, sender = …) ou relisez-les d'abord avec --dry-run --out DOSSIER."
        raise e
    lock = RunLock(make_engine(config.state.url))
    dry = out_dir is not None
    if not dry and not lock.acquire("copil:notify"):
        raise NotifyInProgress("un envoi des récapitulatifs est déjà en cours sur cet état")
    try:
        summary = send_digests(config, out_dir=out_dir, as_of=as_of)
    finally:
        if not dry:
            lock.release("copil:notify", done=False)
    log.info(
        "Récapitulatifs de la semaine %s : %s, %s, %s, code de sortie %s",
        summary.week,
        count(len(summary.sent), "écrit" if dry else "envoyé", "écrits" if dry else "envoyés"),
        count(len(summary.skipped), "sans envoi", "sans envoi"),
        count(len(summary.failed), "échec"),
        summary.exit_code,
    )
    return summary


def scheduled_notify(config_path: str) -> int:
    """Job body of the digests in `copil schedule` (`[notify] digest`)."""
    try:
        config = load(config_path)
        return int(notify_once(config).exit_code)
    except (Exception, RunStopped) as exc:  # the daemon must survive a failed sending
        code = exit_code_for(exc)
        log.error("Échec de l'envoi planifié des récapitulatifs (code %s) : %s", code, mask(exc))
        return code
