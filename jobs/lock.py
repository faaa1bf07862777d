"""Run-slot lock in the state database.

Two daemons may share one state database (fail-over pair, or a mistake). APScheduler 3
jobstores are not safe to share, so each firing first *claims its slot* here: a row keyed
by job name + scheduled time, inserted atomically (primary key). The loser of the race
skips the firing. A claim that is still unfinished after its expiry (crashed owner) can
be taken over; a finished claim never runs again. Plain INSERT/UPDATE with a WHERE clause
works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from functools import lru_cache

from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, create_engine, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

metadata = MetaData()
locks = Table(
    "copil_run_locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("done", Boolean, nullable=False, default=False),
)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when the owner is a process of this host that no longer exists (killed, crashed).
    A holder on another host is never judged dead here: only its expiry frees it."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    return False


@lru_cache(maxsize=None)
def make_engine(url: str) -> Engine:
    kwargs = {}
    if url.startswith("sqlite"):
        # Wait on the other daemon's write lock instead of failing at once.
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(url, **kwargs)
        metadata.create_all(engine)
    except Exception as e:  # unreachable or unwritable: a configuration error, said in French
        from connector.state import state_error  # lazy: SQLAlchemy: loaded by the command that opens the state

        raise state_error(url, e) from None
    return engine


class RunLock:
    def __init__(self, engine: Engine, owner: str | None = None, ttl_s: float = 6 * 3600):
        self.engine = engine
        self.owner = owner or default_owner()
        self.ttl_s = ttl_s
        self.took_over: dict | None = None  # the dead holder whose claim acquire() took over
        metadata.create_all(engine)

    def acquire(self, name: str, now: float | None = None) -> bool:
        """Claim `name`; True only for the single winner."""
        now = time.time() if now is None else now
        row = {"name": name, "owner": self.owner, "acquired_at": now, "expires_at": now + self.ttl_s, "done": False}
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(locks).values(**row))
                return True
            except IntegrityError:
                break
            except OperationalError as e:
                if "locked" not in str(e.orig).lower() and "busy" not in str(e.orig).lower():
                    # a database nobody can write (read-only file or folder, full disk): a
                    # configuration error naming it, not « a run is already in progress »
                    from connector.state import state_error  # lazy: SQLAlchemy's error wording

                    raise state_error(str(self.engine.url), e) from None
                time.sleep(0.1 * (attempt + 1))  # "database is locked" under contention
        else:
            return False
        # Row exists: take it over only if its owner died without finishing (expired, or a
        # process of this host that no longer exists).
        held = self.holder(name)
        dead = bool(held and not held["done"] and owner_is_dead(held["owner"]))
        with self.engine.begin() as conn:
            cond = locks.c.expires_at < now
            if dead:
                cond = cond | (locks.c.owner == held["owner"])
            res = conn.execute(
                update(locks)
                .where(locks.c.name == name, locks.c.done.is_(False), cond)
                .values(owner=self.owner, acquired_at=now, expires_at=now + self.ttl_s)
            )
            if res.rowcount == 1 and held:
                self.took_over = held
            return res.rowcount == 1

    def force_release(self, name: str) -> dict | None:
        """`copil unlock`: drop whatever claim holds `name`; returns it."""
        held = self.holder(name)
        with self.engine.begin() as conn:
            conn.execute(locks.delete().where(locks.c.name == name))
        return held

    def release(self, name: str, *, done: bool = True) -> None:
        """Mark our claim finished (kept, so the same slot is never run again),
        or drop it (done=False) to let a later attempt retry it."""
        with self.engine.begin() as conn:
            if done:
                conn.execute(update(locks).where(locks.c.name == name, locks.c.owner == self.owner).values(done=True))
            else:
                conn.execute(locks.delete().where(locks.c.name == name, locks.c.owner == self.owner))

    def holder(self, name: str) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(locks).where(locks.c.name == name)).mappings().first()
            return dict(r) if r else None
