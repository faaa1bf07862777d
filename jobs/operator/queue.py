"""The operator's task queue (procrastinate on the operator's PostgreSQL: no other broker).

- `schedule_due` defers each tenant's run at its cron time, in its own time zone (Nouméa and
  Paris side by side); a slot is deferred once whatever the number of schedulers (a row per
  tenant and slot), and never while that tenant already has a run waiting (queueing lock).
- `run_tenant` runs one collectivité's night in a worker: one at a time per tenant (the job's
  lock is the tenant's id), within the tenant's request budget (budget.py), its state in its own
  schema. A transient failure (SharePoint unreachable or silent, the deadline passed, a run
  already in progress) is retried with a growing wait; a configuration or rights problem is not.
- `work` runs a worker process; any number of them, on any number of machines. A worker that dies
  (SIGKILL, power cut) stops sending heartbeats: another worker puts its job back in the queue
  and it runs again from the start — every write of a run is idempotent (copil writes the
  values it computes, compared with what is there), so no item gets two different values.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from datetime import datetime, timedelta, timezone

import procrastinate
from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from connector.errors import ExitCode, RunStopped
from jobs.operator import database
from jobs.operator.budget import Budget
from jobs.operator.registry import Tenant

log = logging.getLogger("copil.operator")

QUEUE = "copil"
TASK = "copil.run_tenant"
WORKER = f"copil-operator:{socket.gethostname()}:{os.getpid()}"
# transient: SharePoint unreachable or silent, the deadline passed, another run holds the tenant
RETRIED = {int(ExitCode.UNEXPECTED), int(ExitCode.SITE), int(ExitCode.BUSY), int(ExitCode.STOPPED)}
ATTEMPTS = 3


class TransientFailure(Exception):
    """The run should be tried again later (procrastinate's retry strategy)."""


def retry_wait() -> float:
    """Seconds before the first retry, doubled at each one (tests set a short one)."""
    try:
        return max(0.5, float(os.environ.get("COPIL_OPERATOR_RETRY_WAIT", "60")))
    except ValueError:
        return 60.0


def make_app(url: str, stalled_after: float = 30.0) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database.libpq_url(url)))
    wait = retry_wait()

    @app.task(
        name=TASK,
        queue=QUEUE,
        pass_context=True,
        retry=procrastinate.RetryStrategy(
            max_attempts=ATTEMPTS - 1, linear_wait=int(wait), wait=int(wait), retry_exceptions={TransientFailure}
        ),
    )
    def run_tenant(context, tenant: str, path: str, slot: str) -> int:
        job = context.job
        return run_one(
            url, tenant, path, slot, job_id=job.id, attempt=(job.attempts or 0) + 1, stalled_after=stalled_after
        )

    return app


def apply_schema(url: str) -> None:
    """procrastinate's tables, once (idempotent: an existing schema is left as it is)."""
    eng = database.engine(url)
    with eng.connect() as c:
        if c.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return
    app = make_app(url)
    with app.open():
        app.schema_manager.apply_schema()


def _beating(url: str, run_id: int, every: float) -> threading.Event:
    """Renew the run's heartbeat until the returned event is set."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            try:
                with database.engine(url).begin() as c:
                    c.execute(
                        update(database.runs)
                        .where(database.runs.c.id == run_id)
                        .values(heartbeat=datetime.now(timezone.utc))
                    )
            except Exception:  # the database restarting: the next beat
                log.debug("battement de cœur non enregistré", exc_info=True)

    threading.Thread(target=beat, name=f"copil-heartbeat-{run_id}", daemon=True).start()
    return done


def run_one(
    url: str,
    tenant: str,
    path: str,
    slot: str,
    *,
    job_id: int | None = None,
    attempt: int = 1,
    stalled_after: float = 30.0,
) -> int:
    """One collectivité's night in this worker. Returns its exit code; raises TransientFailure
    for the queue to retry it."""
    from connector.sharepoint.auth import request_gate  # lazy: the worker's run only
    from jobs.nightly import exit_code_for, load, run_once  # lazy: pandas and the client: the run only
    from jobs.output import mask  # lazy: the run only

    eng = database.engine(url)
    now = datetime.now(timezone.utc)
    with eng.begin() as c:
        # the queue gave this job back while its first worker still lives (a late heartbeat): that
        # run goes on, this one waits its turn
        alive = c.execute(
            select(database.runs.c.worker).where(
                database.runs.c.tenant == tenant,
                database.runs.c.status == "running",
                database.runs.c.heartbeat > now - timedelta(seconds=stalled_after),
            )
        ).first()
        if alive is not None:
            raise TransientFailure(f"{tenant} : une exécution est en cours sur {alive[0]}, nouvel essai plus tard")
        # an earlier attempt whose worker died (no heartbeat): only its data remains, idempotent
        c.execute(
            update(database.runs)
            .where(database.runs.c.tenant == tenant, database.runs.c.status == "running")
            .values(status="abandoned", ended_at=now, message="travailleur arrêté pendant l'exécution ; reprise")
        )
        run_id = c.execute(
            insert(database.runs).values(
                tenant=tenant, slot=slot, job_id=job_id, attempt=attempt, worker=WORKER, started_at=now, heartbeat=now
            )
        ).inserted_primary_key[0]
    beating = _beating(url, run_id, max(0.5, stalled_after / 5))
    code, status, requests, findings, message = int(ExitCode.UNEXPECTED), "failed", 0, 0, ""
    token = None
    try:
        cfg = load(path)
        database.ensure_tenant_schema(url, tenant)
        cfg.state.url = database.tenant_state_url(url, tenant)
        token = request_gate.set(Budget(url, tenant, cfg.tenant.requests_per_minute))
        summary = run_once(cfg, show_progress=False, lock_owner=WORKER, take_over_from="copil-operator:")
        code, status = int(summary.exit_code or 0), summary.status
        requests, findings, message = summary.requests, len(summary.findings), summary.message
    except (Exception, RunStopped) as exc:
        code, message = exit_code_for(exc), mask(exc)
        status = "failed"
        log.error("%s : échec (code %s) : %s", tenant, code, message)
    finally:
        beating.set()
        if token is not None:
            request_gate.reset(token)
        _close_state(url, tenant)
        ended = datetime.now(timezone.utc)
        with eng.begin() as c:
            c.execute(
                update(database.runs)
                .where(database.runs.c.id == run_id)
                .values(
                    ended_at=ended,
                    status=status,
                    exit_code=code,
                    duration_s=round((ended - now).total_seconds(), 2),
                    requests=requests,
                    findings=findings,
                    message=(message or "")[:2000],
                )
            )
    if code in RETRIED:
        raise TransientFailure(f"{tenant} : code {code}, nouvel essai plus tard")
    return code


def _close_state(url: str, tenant: str) -> None:
    """The tenant's lock engine keeps its connections in this long-lived process: closed after
    each run (hundreds of tenants would exceed PostgreSQL's max_connections)."""
    from jobs.lock import make_engine  # lazy: the run's lock only

    try:
        make_engine(database.tenant_state_url(url, tenant)).dispose()
    except Exception:  # never hide the run's outcome behind its clean-up
        log.debug("fermeture des connexions de %s", tenant, exc_info=True)


def last_slot(tenant: Tenant, now: datetime) -> datetime | None:
    """The tenant's latest cron time at or before `now`, within its misfire grace; None when none."""
    from jobs.scheduler import make_trigger  # lazy: APScheduler's triggers only

    trigger = make_trigger(tenant.cron, tenant.timezone)
    grace = timedelta(seconds=max(60, tenant.config.schedule.misfire_grace_seconds))
    t = trigger.get_next_fire_time(None, (now - grace).astimezone(trigger.timezone))
    found = None
    while t is not None and t <= now:
        found = t
        t = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
    return found


def next_slot(tenant: Tenant, now: datetime) -> datetime | None:
    from jobs.scheduler import make_trigger  # lazy: APScheduler's triggers only

    trigger = make_trigger(tenant.cron, tenant.timezone)
    return trigger.get_next_fire_time(None, now.astimezone(trigger.timezone) + timedelta(seconds=1))


def schedule_due(
    url: str, tenants: list[Tenant], now: datetime | None = None, app: procrastinate.App | None = None
) -> list[str]:
    """Defer every tenant whose cron time has come and was not deferred yet. Returns what it did,
    in French, one line per tenant deferred or skipped. `app`: the scheduler's, made once."""
    now = now or datetime.now(timezone.utc)
    eng = database.engine(url)
    app = app or make_app(url)
    said = []
    with app.open():
        task = app.tasks[TASK]
        for t in tenants:
            slot = last_slot(t, now)
            if slot is None:
                continue
            with eng.begin() as c:
                claimed = c.execute(
                    pg_insert(database.slots)
                    .values(tenant=t.id, slot=slot, deferred_at=now)
                    .on_conflict_do_nothing()
                    .returning(database.slots.c.tenant)
                ).first()
            if claimed is None:
                continue  # this slot was deferred already (by this scheduler or another)
            try:
                job_id = task.configure(lock=t.id, queueing_lock=t.id).defer(
                    tenant=t.id, path=str(t.path), slot=slot.isoformat()
                )
            except procrastinate.exceptions.AlreadyEnqueued:
                said.append(f"{t.id} : une exécution attend déjà dans la file, créneau {slot:%d/%m/%Y %H:%M} sauté")
                continue
            with eng.begin() as c:
                c.execute(
                    update(database.slots)
                    .where(database.slots.c.tenant == t.id, database.slots.c.slot == slot)
                    .values(job_id=job_id)
                )
            said.append(f"{t.id} : exécution du {slot:%d/%m/%Y %H:%M} ({t.timezone}) mise en file (tâche {job_id})")
    return said


def pending(url: str) -> int:
    """Jobs of the queue still to do or being done (retries waiting included)."""
    with database.engine(url).connect() as c:
        return int(
            c.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = :q AND status IN ('todo', 'doing')"),
                {"q": QUEUE},
            ).scalar()
            or 0
        )


async def _reap(app: procrastinate.App, stalled_after: float) -> None:
    """Put back in the queue the jobs of workers that stopped sending heartbeats (killed)."""
    while True:
        await asyncio.sleep(max(1.0, stalled_after / 3))
        try:
            for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after):
                log.warning("tâche %s (%s) d'un travailleur disparu : remise en file", job.id, job.lock)
                await app.job_manager.retry_job(job)
        except Exception:  # the database restarting: next round
            log.exception("reprise des tâches abandonnées impossible pour l'instant")


async def _until_drained(url: str) -> None:
    """`--drain`: stop once nothing is left to do or waiting for a retry (tests, one-off catch-up)."""
    idle = 0
    while idle < 3:
        await asyncio.sleep(1.0)
        idle = idle + 1 if await asyncio.to_thread(pending, url) == 0 else 0


def work(url: str, *, concurrency: int = 1, drain: bool = False, stalled_after: float = 30.0) -> None:
    """A worker process: takes the tenants' runs until stopped (SIGTERM: the run in progress
    finishes), or with `drain` until the queue is empty."""
    app = make_app(url, stalled_after)

    async def main() -> None:
        async with app.open_async():
            reaper = asyncio.create_task(_reap(app, stalled_after))
            worker = asyncio.create_task(
                app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    name=WORKER,
                    update_heartbeat_interval=max(0.5, stalled_after / 5),
                    stalled_worker_timeout=stalled_after,
                    install_signal_handlers=True,
                    delete_jobs="never",
                )
            )
            watch = [worker]
            if drain:
                watch.append(asyncio.create_task(_until_drained(url)))
            await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
            for t in (reaper, *watch):
                t.cancel()
            await asyncio.gather(reaper, *watch, return_exceptions=True)

    asyncio.run(main())
