"""Project reports rendered in worker processes: charts and document assembly are CPU-bound
(a few hundred ms a report), so a first run over thousands of projects uses every core. Uploads
stay in the calling process, one at a time and in order, where throttling is handled.

Workers start from a fork server (no threads inherited from the caller, whose HTTP pool or
emulator may hold locks) with the rendering modules preloaded. Each job carries the few rows
its charts need, never the portfolio: pickling a 10,000-project portfolio into every worker
doubled the night's memory."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date

from connector.reports.render import chart_data, charts_for, render

log = logging.getLogger("copil.reports")
POOL_MIN_JOBS = 50  # below this, starting the workers costs more than it saves
AHEAD_PER_WORKER = 4  # reports rendered ahead of the uploads, per worker
_STATE: dict = {}


def worker_count(configured: int) -> int:
    """`0` means one worker per core."""
    return configured if configured > 0 else (os.cpu_count() or 1)


def _init(template: str, copil_date: date) -> None:
    _STATE.update(template=template, copil_date=copil_date)


def _render_one(job: tuple[str, dict, dict]) -> tuple[str, bytes | None, str | None]:
    code, ctx, data = job
    try:
        images = charts_for(data)
        return code, render(_STATE["template"], ctx, images, _STATE["copil_date"]), None
    except Exception as e:  # reported for this project; the others go on
        log.exception("rapport %s", code)
        return code, None, f"{type(e).__name__} : {e}"


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["connector.reports.render"])
        return ctx
    return mp.get_context("spawn")


def rendered(jobs: list[tuple[str, dict]], *, portfolio, template, copil_date: date, workers: int):
    """Yield (code, docx bytes or None, error or None) for each (code, context), in order.

    Takes the jobs: the list is emptied, each context dropped once its report is yielded. At
    most a few reports per worker are in flight: uploads are slower than rendering when the
    server is far, and pool.map's unbounded read-ahead kept every rendered .docx in memory
    (1.7 GB at 10,000 projects)."""
    queue = deque(jobs)
    jobs.clear()

    def job(code_ctx):
        code, ctx = code_ctx
        return code, ctx, chart_data(portfolio, code)

    if workers <= 1 or len(queue) < POOL_MIN_JOBS:
        _init(str(template), copil_date)
        while queue:
            yield _render_one(job(queue.popleft()))
        return
    ahead = AHEAD_PER_WORKER * workers
    pending: deque = deque()  # (job, future), in order
    try:
        with ProcessPoolExecutor(
            min(workers, len(queue)), mp_context=_context(), initializer=_init, initargs=(str(template), copil_date)
        ) as pool:
            try:
                while queue or pending:
                    while queue and len(pending) < ahead:
                        one = job(queue.popleft())
                        pending.append((one, pool.submit(_render_one, one)))
                    result = pending[0][1].result()
                    pending.popleft()
                    yield result
            except BaseException:
                # SIGTERM, the run's deadline, or the caller stopping: the reports in flight are
                # dropped (none is published half-made), not awaited
                _stop(pool)
                raise
    except BrokenProcessPool as e:  # a worker killed (memory): finish here, one at a time
        rest = [one for one, _ in pending] + [job(j) for j in queue]
        log.warning("processus de rendu interrompus (%s) : %d rapport(s) rendus un par un", e, len(rest))
        _init(str(template), copil_date)
        for one in rest:
            yield _render_one(one)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers now (`terminate_workers()` is public only
    from Python 3.14; until then the pool's own process table)."""
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
