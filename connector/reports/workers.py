"""Project reports rendered in worker processes: charts and document assembly are CPU-bound
(a few hundred ms a report), so a first run over thousands of projects uses every core. Uploads
stay in the calling process, one at a time and in order, where throttling is handled.

Workers start from a fork server (no threads inherited from the caller, whose HTTP pool or
emulator may hold locks) with the rendering modules preloaded, and get the portfolio once."""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date

from connector.reports.render import project_images, render

log = logging.getLogger("copil.reports")
POOL_MIN_JOBS = 50    # below this, starting the workers costs more than it saves
_STATE: dict = {}


def worker_count(configured: int) -> int:
    """`0` means one worker per core."""
    return configured if configured > 0 else (os.cpu_count() or 1)


def _init(portfolio, template: str, copil_date: date) -> None:
    _STATE.update(portfolio=portfolio, template=template, copil_date=copil_date)


def _render_one(job: tuple[str, dict]) -> tuple[str, bytes | None, str | None]:
    code, ctx = job
    try:
        images = project_images(_STATE["portfolio"], code)
        return code, render(_STATE["template"], ctx, images, _STATE["copil_date"]), None
    except Exception as e:   # reported for this project; the others go on
        log.exception("rapport %s", code)
        return code, None, f"{type(e).__name__} : {e}"


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["connector.reports.render"])
        return ctx
    return mp.get_context("spawn")


def rendered(jobs: list[tuple[str, dict]], *, portfolio, template, copil_date: date, workers: int):
    """Yield (code, docx bytes or None, error or None) for each (code, context), in order."""
    if workers <= 1 or len(jobs) < POOL_MIN_JOBS:
        _init(portfolio, str(template), copil_date)
        for job in jobs:
            yield _render_one(job)
        return
    done = 0
    try:
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=_context(), initializer=_init,
                                 initargs=(portfolio, str(template), copil_date)) as pool:
            for result in pool.map(_render_one, jobs, chunksize=4):
                done += 1
                yield result
    except BrokenProcessPool as e:   # a worker killed (memory): finish here, one at a time
        log.warning("processus de rendu interrompus (%s) : %d rapport(s) rendus un par un", e, len(jobs) - done)
        _init(portfolio, str(template), copil_date)
        for job in jobs[done:]:
            yield _render_one(job)
