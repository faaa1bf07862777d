"""`copil schedule`: APScheduler 3.x daemon around the nightly job.

- cron + time zone from config, SQLAlchemyJobStore in the state database,
  max_instances=1, coalesce=True, misfire grace;
- every firing claims its run slot in the database (jobs.lock) so a second daemon on the
  same state never runs the same firing again;
- SIGTERM/SIGINT: no new firing starts, the running one finishes, then exit.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from datetime import datetime, timedelta
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import SQLAlchemyError

from connector import deadline
from jobs.lock import RunLock, default_owner, make_engine

log = logging.getLogger("copil.scheduler")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d/%m/%Y à %H:%M (%Z)") if moment else "aucune"


def _said_in_french(event) -> None:
    """APScheduler's own lines are English (and silenced in jobs.output): what matters to the
    person reading the log is said here, in French."""
    when = _when(getattr(event, "scheduled_run_time", None))
    if event.code == EVENT_JOB_MISSED:
        log.warning("Exécution prévue le %s manquée (machine arrêtée ou occupée au-delà du délai de grâce)", when)
    elif event.code == EVENT_JOB_MAX_INSTANCES:
        log.warning("Exécution prévue le %s sautée : la précédente n'est pas terminée", when)
    elif event.code == EVENT_JOB_ERROR:
        log.error("Exécution prévue le %s en échec : %s", when, getattr(event, "exception", "?"))


JOB_ID = "copil-nightly"
REFRESH_ID = "copil-refresh"
NOTIFY_ID = "copil-notify"
# a daytime refresh missed by more than this is not caught up: the next one comes soon
REFRESH_GRACE_S = 300
NOTIFY_GRACE_S = 12 * 3600
JOBS_TABLE = "copil_apscheduler_jobs"


def make_trigger(cron: str, timezone: str) -> CronTrigger:
    """Five-field cron ("0 2 * * *") or six fields with seconds first ("*/2 * * * * *")."""
    fields = cron.split()
    if len(fields) == 6:
        sec, minute, hour, day, month, dow = fields
        return CronTrigger(
            second=sec, minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=timezone
        )
    return CronTrigger.from_crontab(cron, timezone=timezone)


def current_slot(trigger: CronTrigger, now: datetime, lookback: timedelta) -> datetime:
    """The firing this run belongs to: the latest cron time <= now.

    APScheduler 3 does not hand the scheduled time to the job, and both daemons must
    compute the same key for the same firing, so derive it from the trigger."""
    t = trigger.get_next_fire_time(None, now - lookback)
    slot = t
    while t is not None and t <= now:
        slot = t
        t = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
    return slot or now.replace(microsecond=0)


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


_OWNER = default_owner()


def fire(
    func_ref: str, state_url: str, cron: str, timezone: str, grace_s: int, kwargs: dict, job_id: str = JOB_ID
) -> Any:
    """Job body stored in the jobstore (must be importable by reference)."""
    trigger = make_trigger(cron, timezone)
    now = datetime.now(trigger.timezone)
    slot = current_slot(trigger, now, timedelta(seconds=max(grace_s, 60) + 60))
    name = f"{job_id}@{slot.isoformat()}"
    lock = RunLock(make_engine(state_url), owner=_OWNER)
    if not lock.acquire(name):
        log.info("Exécution %s déjà prise par un autre démon, ignorée", slot.isoformat())
        return None
    ok = False
    try:
        result = _resolve(func_ref)(**kwargs)
        ok = True
        return result
    finally:
        # A failed run keeps its claim too: retrying the same slot would write twice.
        lock.release(name, done=True)
        log.info("Exécution %s terminée (%s)", slot.isoformat(), "ok" if ok else "erreur")


class Daemon:
    def __init__(
        self,
        *,
        state_url: str,
        cron: str = "0 2 * * *",
        timezone: str = "Europe/Paris",
        misfire_grace_seconds: int = 3600,
        func_ref: str = "jobs.nightly:scheduled_run",
        kwargs: dict | None = None,
        blocking: bool = True,
        refresh_cron: str | None = None,
        refresh_func_ref: str = "jobs.nightly:scheduled_refresh",
        notify_cron: str | None = None,
        notify_func_ref: str = "jobs.nightly:scheduled_notify",
    ):
        cls = BlockingScheduler if blocking else BackgroundScheduler
        self._store = SQLAlchemyJobStore(engine=make_engine(state_url), tablename=JOBS_TABLE)
        self.scheduler = cls(
            jobstores={"default": self._store},
            executors={"default": {"type": "threadpool", "max_workers": 1}},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": misfire_grace_seconds},
            timezone=timezone,
        )

        def add(job_id: str, name: str, when: str, ref: str, grace_s: int) -> None:
            self.scheduler.add_job(
                fire,
                trigger=make_trigger(when, timezone),
                id=job_id,
                name=name,
                replace_existing=True,
                misfire_grace_time=grace_s,
                kwargs={
                    "func_ref": ref,
                    "state_url": state_url,
                    "cron": when,
                    "timezone": timezone,
                    "grace_s": grace_s,
                    "kwargs": kwargs or {},
                    "job_id": job_id,
                },
            )

        add(JOB_ID, "copil nightly", cron, func_ref, misfire_grace_seconds)
        # one executor thread: a refresh or the digests never run beside the night in this daemon,
        # and the run lock keeps a refresh apart from a night started elsewhere (it then exits 6)
        for job_id, name, when, ref, grace in (
            (REFRESH_ID, "copil refresh", refresh_cron, refresh_func_ref, REFRESH_GRACE_S),
            # a digest missed (machine down on Monday morning) still goes the same day
            (NOTIFY_ID, "copil notify", notify_cron, notify_func_ref, NOTIFY_GRACE_S),
        ):
            if when:
                add(job_id, name, when, ref, grace)
            else:  # a job kept in the job store from an earlier configuration stops here
                try:
                    self._store.remove_job(job_id)
                except (JobLookupError, SQLAlchemyError):  # none kept, or no job table yet
                    pass
        self._stopping = threading.Event()
        self.scheduler.add_listener(_said_in_french, EVENT_JOB_MISSED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)

    def next_run(self) -> datetime | None:
        job = self.scheduler.get_job(JOB_ID)
        return getattr(job, "next_run_time", None) if job else None

    def install_signal_handlers(self) -> None:
        def handler(signum, _frame):
            name = signal.Signals(signum).name
            log.info("Signal %s reçu : arrêt de la planification ; l'exécution en cours s'arrête proprement", name)
            deadline.ask_stop(name)  # the run in its thread stops at its next request or report
            threading.Thread(target=self.stop, daemon=True).start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def start(self) -> None:
        if isinstance(self.scheduler, BlockingScheduler):  # start() blocks: said before
            log.info("Planification démarrée (%s)", self._cron_text())
        self.scheduler.start()
        if not isinstance(self.scheduler, BlockingScheduler):
            log.info(
                "Planification démarrée (%s) ; prochaine exécution : %s", self._cron_text(), _when(self.next_run())
            )

    def _cron_text(self) -> str:
        job = self.scheduler.get_job(JOB_ID)
        kw = getattr(job, "kwargs", {}) or {}
        text = f"cron « {kw.get('cron', '?')} », fuseau {kw.get('timezone', '?')}"
        refresh = self.scheduler.get_job(REFRESH_ID)
        if refresh is not None:
            text += f", rafraîchissement « {(refresh.kwargs or {}).get('cron', '?')} »"
        digests = self.scheduler.get_job(NOTIFY_ID)
        if digests is not None:
            text += f", récapitulatifs « {(digests.kwargs or {}).get('cron', '?')} »"
        return text

    def stop(self, wait: bool = True) -> None:
        """No new firing; the running one (if any) completes before this returns."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
