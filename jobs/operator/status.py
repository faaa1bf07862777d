"""One view of the service: for every tenant its last run (outcome, exit code, duration,
requests, findings), its next run, its failures in a row and what waits in the queue; and a health
code for monitoring — 0 all well, 1 some tenant's last run failed, 2 some tenant failed three
times in a row (or its file does not load)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, text

from jobs.operator import database
from jobs.operator.queue import QUEUE, next_slot
from jobs.operator.registry import Tenant

OK_CODES = {0, 5}  # a partial night is a night: its findings are the collectivité's business
ALERT_AFTER = 3


def recent_runs(url: str, limit: int = 20) -> dict[str, list[dict]]:
    """Each tenant's last `limit` attempts, newest first, in one query (not one per tenant: a
    thousand collectivités would be a thousand round trips per `status`)."""
    ranked = select(
        database.runs,
        func.row_number().over(partition_by=database.runs.c.tenant, order_by=database.runs.c.id.desc()).label("n"),
    ).subquery()
    out: dict[str, list[dict]] = {}
    with database.engine(url).connect() as c:
        for r in c.execute(select(ranked).where(ranked.c.n <= limit).order_by(ranked.c.id.desc())).mappings():
            out.setdefault(r["tenant"], []).append(dict(r))
    return out


def tenant_status(url: str, tenants: list[Tenant], now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(timezone.utc)
    with database.engine(url).connect() as c:
        queued = dict(
            c.execute(
                text(
                    "SELECT lock, count(*) FROM procrastinate_jobs WHERE queue_name = :q "
                    "AND status IN ('todo', 'doing') GROUP BY lock"
                ),
                {"q": QUEUE},
            ).all()
        )
    recent = recent_runs(url)
    out = []
    for t in tenants:
        runs = [r for r in recent.get(t.id, []) if r["status"] not in ("running", "abandoned")]
        last = runs[0] if runs else None
        in_a_row = 0
        for r in runs:
            if r["exit_code"] in OK_CODES:
                break
            in_a_row += 1
        nxt = next_slot(t, now)
        out.append(
            {
                "tenant": t.id,
                "site": t.config.sharepoint.site_url,
                "timezone": t.timezone,
                "last_status": last["status"] if last else None,
                "last_exit_code": last["exit_code"] if last else None,
                "last_started_at": last["started_at"].isoformat() if last else None,
                "last_duration_s": last["duration_s"] if last else None,
                "last_requests": last["requests"] if last else None,
                "last_findings": last["findings"] if last else None,
                "last_message": (last["message"] or "")[:300] if last else "",
                "failures_in_a_row": in_a_row,
                "next_run": nxt.isoformat() if nxt else None,
                "queued": int(queued.get(t.id, 0)),
            }
        )
    return out


def health(rows: list[dict], problems: list[str]) -> int:
    if problems or any(r["failures_in_a_row"] >= ALERT_AFTER for r in rows):
        return 2
    if any(r["failures_in_a_row"] for r in rows):
        return 1
    return 0
