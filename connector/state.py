"""Run state in SQLAlchemy (SQLite file by default, PostgreSQL by URL): runs, one indicator
snapshot per project and run (the base of "trend since last COPIL"), findings, dead letters,
report hashes. The pipeline saves a run's snapshot only after its writes succeeded."""

from __future__ import annotations

import json
import zlib
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from connector.errors import ConfigError
from connector.model import is_missing

metadata = MetaData()


class Previous(dict):
    """Indicators per project at the previous COPIL, and that COPIL's date (`as_of`, None when
    there was none: the first report says so instead of « no change »)."""

    as_of: date | None = None


runs = Table(
    "copil_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, default="running"),
    Column("counts", JSON),
    Column("message", Text),
)
snapshots = Table(
    "copil_snapshots",
    metadata,
    Column("run_id", Integer, ForeignKey("copil_runs.id"), primary_key=True),
    Column("project_code", String(100), primary_key=True),
    Column("indicators", JSON, nullable=False),
)
findings_t = Table(
    "copil_findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("copil_runs.id"), index=True),
    Column("list_title", String(255)),
    Column("item_id", Integer),
    Column("column", String(255)),
    Column("value", Text),
    Column("message", Text),
    Column("link", Text),
    Column("project_code", String(100)),
    Column("severity", String(20)),
)
dead_letters = Table(
    "copil_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("copil_runs.id"), index=True),
    Column("list_title", String(255)),
    Column("item_id", Integer),
    Column("project_code", String(100)),
    Column("payload", JSON),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True)),
)
report_hashes = Table(
    "copil_report_hashes",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("hash", String(128), nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)


# Where each report was last published, so a project renamed the same day replaces its report
# instead of leaving a second one beside it (separate table: no migration of existing states).
report_files = Table(
    "copil_report_files",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("url", Text, nullable=False),
    Column("day", String(10), nullable=False),
)


# Each meeting's dossier: the draft while it is prepared, then the frozen edition, and the run whose
# snapshot is that meeting's figures (« depuis le précédent COPIL » of the next meeting). A new
# table: created beside the others on an existing state, nothing to migrate.
editions_t = Table(
    "copil_editions",
    metadata,
    Column("meeting_key", String(200), primary_key=True),
    Column("kind", String(10), nullable=False),  # "draft" | "frozen"
    Column("meeting_on", String(10), nullable=False),
    Column("title", String(255)),
    Column("run_id", Integer),
    Column("url", Text),
    Column("pdf_url", Text),
    Column("updated_at", DateTime(timezone=True)),
)


# What the lists held at the last read, for the next run to apply the change log to: one
# compressed JSON document per name (« meta », « list:<key> », « documents », « finance »).
# New table only: metadata.create_all adds it to an existing database, no migration needed.
sources_t = Table(
    "copil_sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)


# The weekly digests sent to project managers (connector.notify): one row per address and ISO week,
# so that a digest is never sent twice in a week, and what it described (`seen`), so that the next
# says what is new and is not sent when nothing changed. A new table: nothing to migrate.
digests_t = Table(
    "copil_digests",
    metadata,
    Column("recipient", String(320), primary_key=True),  # casefolded address
    Column("week", String(10), primary_key=True),  # « 2026-W50 »
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("seen", JSON),
    Column("transport", String(20)),
)


def _copil_date(indicators, started) -> date | None:
    """The COPIL date a snapshot was taken for; older snapshots: the day their run started."""
    day = indicators.get("_as_of") if isinstance(indicators, dict) else None
    try:
        return date.fromisoformat(day) if day else (started.date() if started else None)
    except (TypeError, ValueError):
        return started.date() if started else None


def jsonable(v):
    """Indicator values as JSON: dates ISO, NaN/NaT -> None, numpy scalars -> Python."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if is_missing(v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt: datetime) -> datetime:
    """SQLite returns naive datetimes: they were stored in UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


class ReportHashes:
    """The content hash of each published report (key = library path)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, key: str) -> str | None:
        with self.engine.connect() as c:
            return c.execute(select(report_hashes.c.hash).where(report_hashes.c.key == key)).scalar()

    def all_hashes(self) -> dict[str, str]:
        """Every report's stored hash, in one query (a night asks for thousands)."""
        with self.engine.connect() as c:
            return dict(c.execute(select(report_hashes.c.key, report_hashes.c.hash)).all())

    def set(self, key: str, value: str) -> None:
        with self.engine.begin() as c:
            c.execute(delete(report_hashes).where(report_hashes.c.key == key))
            c.execute(insert(report_hashes).values(key=key, hash=value, updated_at=_now()))

    def set_many(self, values: dict[str, str]) -> None:
        """Several hashes in one transaction (a night's calendar checks: thousands on one night)."""
        if not values:
            return
        with self.engine.begin() as c:
            keys = list(values)
            for i in range(0, len(keys), 500):  # bounded IN lists
                c.execute(delete(report_hashes).where(report_hashes.c.key.in_(keys[i : i + 500])))
            now = _now()
            c.execute(insert(report_hashes), [{"key": k, "hash": v, "updated_at": now} for k, v in values.items()])

    def published(self, key: str) -> tuple[str, str] | None:
        """(server-relative URL, COPIL day) of the last published report for `key`."""
        with self.engine.connect() as c:
            row = c.execute(select(report_files.c.url, report_files.c.day).where(report_files.c.key == key)).first()
        return (row[0], row[1]) if row else None

    def all_published(self) -> dict[str, tuple[str, str]]:
        """Every key's (server-relative URL, COPIL day), in one query."""
        with self.engine.connect() as c:
            return {
                k: (u, d)
                for k, u, d in c.execute(select(report_files.c.key, report_files.c.url, report_files.c.day)).all()
            }

    def folders(self) -> set[str]:
        """Folders copil has published into: they exist unless a person removed them."""
        with self.engine.connect() as c:
            return {url.rsplit("/", 1)[0] for (url,) in c.execute(select(report_files.c.url)).all()}

    def record(self, key: str, url: str, day: str) -> None:
        with self.engine.begin() as c:
            c.execute(delete(report_files).where(report_files.c.key == key))
            c.execute(insert(report_files).values(key=key, url=url, day=day))


def state_error(url: str, e: Exception) -> ConfigError:
    """An unreachable or unwritable state database, said in French without the password."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = "(adresse illisible)"
    reason = str(getattr(e, "orig", None) or e).splitlines()[0][:200]
    hint = ""
    if url.startswith("sqlite"):
        hint = " ; vérifiez que le dossier existe et que le compte de copil peut y écrire"
    return ConfigError(f"clé `state.url` : base d'état inaccessible ({shown}) : {reason}{hint}")


class Sources:
    """The rows of the last read, by name, each a zlib-compressed JSON document."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def load(self, names: list[str] | None = None) -> dict[str, object]:
        q = select(sources_t.c.name, sources_t.c.data)
        if names is not None:
            q = q.where(sources_t.c.name.in_(names))
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return {name: json.loads(zlib.decompress(data), object_hook=_decode) for name, data in rows}

    def save(self, documents: dict[str, object], *, drop_others: bool = False) -> None:
        """Write these documents in one transaction (`drop_others`: the others are removed, after
        a full read)."""
        now = _now()
        rows = [
            {
                "name": k,
                "data": zlib.compress(json.dumps(v, default=_encode, ensure_ascii=False).encode(), 1),
                "updated_at": now,
            }
            for k, v in documents.items()
        ]
        with self.engine.begin() as c:
            if drop_others:
                c.execute(delete(sources_t))
            else:
                c.execute(delete(sources_t).where(sources_t.c.name.in_(list(documents))))
            if rows:
                c.execute(insert(sources_t), rows)

    def clear(self) -> None:
        with self.engine.begin() as c:
            c.execute(delete(sources_t))


def _encode(v):
    """Values read from SharePoint and the finance export that JSON has no type for."""
    if isinstance(v, datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, date):
        return {"$d": v.isoformat()}
    if isinstance(v, time):
        return {"$t": v.isoformat()}
    if isinstance(v, Decimal):
        return {"$n": str(v)}
    return str(v)


def _decode(d: dict):
    if len(d) == 1:
        if "$dt" in d:
            return datetime.fromisoformat(d["$dt"])
        if "$d" in d:
            return date.fromisoformat(d["$d"])
        if "$t" in d:
            return time.fromisoformat(d["$t"])
        if "$n" in d:
            return Decimal(d["$n"])
    return d


class State:
    def __init__(self, url: str):
        kwargs = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        try:
            self.engine = create_engine(url, **kwargs)
            metadata.create_all(self.engine)
        except (SQLAlchemyError, ImportError, ValueError) as e:
            raise state_error(url, e) from None
        self.report_hashes = ReportHashes(self.engine)
        self.sources = Sources(self.engine)

    def close(self) -> None:
        """Close the pooled connections: a shared operator's worker runs hundreds of collectivités
        in one process, and PostgreSQL refuses clients past max_connections."""
        self.engine.dispose()

    def check_writable(self) -> None:
        """Insert a run and roll it back: proves the database takes writes, leaves nothing."""
        try:
            with self.engine.connect() as c:
                tx = c.begin()
                c.execute(insert(runs).values(started_at=_now(), status="check"))
                tx.rollback()
        except SQLAlchemyError as e:
            raise state_error(str(self.engine.url), e) from None

    def start_run(self) -> int:
        with self.engine.begin() as c:
            return c.execute(insert(runs).values(started_at=_now(), status="running")).inserted_primary_key[0]

    def finish_run(self, run_id: int, *, status: str, counts: dict, message: str = "") -> None:
        with self.engine.begin() as c:
            c.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(ended_at=_now(), status=status, counts=jsonable(counts), message=message)
            )

    def mark_abandoned(self, keep: int | None = None) -> int:
        """Runs left `running` by a process that died (SIGKILL, power cut): called once the lock
        is ours, so no other run can be in progress on this state."""
        q = update(runs).where(runs.c.status == "running")
        if keep is not None:
            q = q.where(runs.c.id != keep)
        with self.engine.begin() as c:
            return c.execute(
                q.values(
                    status="abandoned",
                    ended_at=_now(),
                    message=(
                        "exécution arrêtée sans fin propre (processus tué) ; aucune donnée n'est perdue : "
                        "la suivante recalcule tout"
                    ),
                )
            ).rowcount

    def save_snapshots(self, run_id: int, by_code: dict[str, dict]) -> None:
        rows = [{"run_id": run_id, "project_code": code, "indicators": jsonable(ind)} for code, ind in by_code.items()]
        with self.engine.begin() as c:
            if rows:
                c.execute(insert(snapshots), rows)

    def previous_snapshots(
        self, before_run_id: int | None = None, copil_on_or_before: date | None = None
    ) -> "Previous":
        """The snapshot of the latest run before `before_run_id` that saved one (dry and failed runs
        save none) and whose COPIL date is `copil_on_or_before` or earlier (the previous COPIL).
        The COPIL date is the one the run computed for (`_as_of`), not the wall clock: a report
        re-run for an earlier date compares with what was before it."""
        q = select(snapshots.c.run_id, func.min(snapshots.c.project_code)).group_by(snapshots.c.run_id)
        if before_run_id is not None:
            q = q.where(snapshots.c.run_id < before_run_id)
        with self.engine.connect() as c:
            for run_id, code in c.execute(q.order_by(snapshots.c.run_id.desc())).all():
                one = c.execute(
                    select(snapshots.c.indicators).where(snapshots.c.run_id == run_id, snapshots.c.project_code == code)
                ).scalar()
                started = c.execute(select(runs.c.started_at).where(runs.c.id == run_id)).scalar()
                day = _copil_date(one, started)
                if copil_on_or_before is not None and (day is None or day > copil_on_or_before):
                    continue
                rows = c.execute(
                    select(snapshots.c.project_code, snapshots.c.indicators).where(snapshots.c.run_id == run_id)
                ).all()
                out = Previous({k: ind for k, ind in rows})
                out.as_of = day
                return out
        return Previous()

    def record_edition(
        self, key: str, *, kind: str, on: date, title: str, run_id: int | None, url: str, pdf_url: str | None = None
    ) -> None:
        with self.engine.begin() as c:
            c.execute(delete(editions_t).where(editions_t.c.meeting_key == key))
            c.execute(
                insert(editions_t).values(
                    meeting_key=key,
                    kind=kind,
                    meeting_on=on.isoformat(),
                    title=title,
                    run_id=run_id,
                    url=url,
                    pdf_url=pdf_url,
                    updated_at=_now(),
                )
            )

    def last_digests(self) -> dict[str, dict]:
        """Each address's latest digest: recipient -> {week, fingerprint, seen, sent_at}."""
        with self.engine.connect() as c:
            rows = c.execute(select(digests_t).order_by(digests_t.c.week)).mappings().all()
        return {r["recipient"]: dict(r) for r in rows}

    def record_digest(self, recipient: str, week: str, fingerprint: str, seen: dict, transport: str) -> None:
        """Recorded once the relay or Graph took the message (state after the data it describes)."""
        with self.engine.begin() as c:
            c.execute(delete(digests_t).where(digests_t.c.recipient == recipient, digests_t.c.week == week))
            c.execute(
                insert(digests_t).values(
                    recipient=recipient,
                    week=week,
                    sent_at=_now(),
                    fingerprint=fingerprint,
                    seen=jsonable(seen),
                    transport=transport,
                )
            )

    def editions(self) -> dict[str, dict]:
        """Every meeting's dossier as recorded: key -> {kind, meeting_on, title, run_id, url, pdf_url}."""
        with self.engine.connect() as c:
            rows = c.execute(select(editions_t)).mappings().all()
        return {r["meeting_key"]: dict(r) for r in rows}

    def snapshots_of_run(self, run_id: int, as_of: date | None = None) -> "Previous":
        """The indicators a given run saved (a frozen dossier's figures), as the previous COPIL."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(snapshots.c.project_code, snapshots.c.indicators).where(snapshots.c.run_id == run_id)
            ).all()
        out = Previous({k: ind for k, ind in rows})
        out.as_of = as_of if rows else None
        return out

    def prune_snapshots(self, keep_days: int, now: datetime | None = None) -> int:
        """Drop nightly snapshots older than `keep_days`, keeping the first of each month (the
        history reports and trends need stays; the table stops growing by one portfolio a night)."""
        cutoff = (now or _now()) - timedelta(days=keep_days)
        with self.engine.begin() as c:
            rows = c.execute(
                select(runs.c.id, runs.c.started_at)
                .where(runs.c.id.in_(select(snapshots.c.run_id).distinct()))
                .order_by(runs.c.id)
            ).all()
            first_of_month: dict[tuple, int] = {}
            for rid, started in rows:
                first_of_month.setdefault((started.year, started.month), rid)
            keep = set(first_of_month.values())
            # a frozen dossier's figures are the next meeting's reference: never pruned
            keep |= {r for (r,) in c.execute(select(editions_t.c.run_id)).all() if r is not None}
            old = [rid for rid, started in rows if _aware(started) < cutoff and rid not in keep]
            if old:
                c.execute(delete(snapshots).where(snapshots.c.run_id.in_(old)))
                c.execute(delete(findings_t).where(findings_t.c.run_id.in_(old)))
            return len(old)

    def save_findings(self, run_id: int, found) -> None:
        rows = [
            {
                "run_id": run_id,
                "list_title": f.list_title,
                "item_id": f.item_id,
                "column": f.column,
                "value": f.value,
                "message": f.message,
                "link": f.link,
                "project_code": f.project_code,
                "severity": f.severity,
            }
            for f in found
        ]
        if rows:
            with self.engine.begin() as c:
                c.execute(insert(findings_t), rows)

    def add_dead_letters(self, run_id: int, items: list[dict]) -> None:
        rows = [
            {
                "run_id": run_id,
                "list_title": d.get("list_title"),
                "item_id": d.get("item_id"),
                "project_code": d.get("code"),
                "payload": jsonable(d.get("payload")),
                "error": d.get("error"),
                "created_at": _now(),
            }
            for d in items
        ]
        if rows:
            with self.engine.begin() as c:
                c.execute(insert(dead_letters), rows)

    def dead_letters(self, run_id: int | None = None) -> list[dict]:
        q = select(dead_letters)
        if run_id is not None:
            q = q.where(dead_letters.c.run_id == run_id)
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q.order_by(dead_letters.c.id))]

    def run(self, run_id: int | None = None) -> dict | None:
        """One run in full (the last one when `run_id` is None): its counts and its detail."""
        with self.engine.connect() as c:
            q = select(runs).where(runs.c.status != "check")
            q = q.where(runs.c.id == run_id) if run_id is not None else q.order_by(runs.c.id.desc()).limit(1)
            row = c.execute(q).first()
        return dict(row._mapping) if row else None

    def findings(self, run_id: int) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(findings_t).where(findings_t.c.run_id == run_id).order_by(findings_t.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def last_success(self) -> dict | None:
        """The last run that ended ok or partial (not a dry run): what `copil health` measures."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(runs).where(runs.c.status.in_(("ok", "partial"))).order_by(runs.c.id.desc()).limit(20)
            ).all()
        for r in rows:
            d = dict(r._mapping)
            counts = d.get("counts") or {}
            # a daytime refresh does not stand for the night: a failed night stays visible
            if not counts.get("dry_run") and counts.get("mode") != "refresh":
                return d
        return None

    def last_runs(self, n: int = 10) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(runs).order_by(runs.c.id.desc()).limit(n)).all()
        out = []
        for r in rows:
            d = dict(r._mapping)
            counts = d.pop("counts") or {}
            started, ended = d["started_at"], d["ended_at"]
            d["duration_s"] = (ended - started).total_seconds() if ended and started else None
            d.update(
                {
                    "written": counts.get("written_items"),
                    "findings": counts.get("findings"),
                    "failed": counts.get("errors"),
                    "projects": counts.get("projects"),
                    "exit_code": counts.get("exit_code"),
                    "requests": counts.get("requests"),
                    "dry_run": counts.get("dry_run"),
                    "reports": counts.get("reports_uploaded"),
                    "mode": counts.get("mode"),
                }
            )
            out.append(d)
        return out

    runs = last_runs  # used by `copil status`


__all__ = ["State", "jsonable", "metadata"]
