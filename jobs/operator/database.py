"""The operator's PostgreSQL: one database for the queue (procrastinate's tables), the operator's
own tables (schema `copil_operator`: slots deferred, runs, request budget) and every tenant's state
in its own schema (`copil_t_<id>`: runs, snapshots, hashes, change tokens), so one tenant's
data is never in another's tables and a tenant can be exported or dropped alone."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    text,
)
from sqlalchemy.engine import Engine, make_url

from connector.errors import ConfigError

SCHEMA = "copil_operator"
metadata = MetaData(schema=SCHEMA)

# A tenant's slot (its cron time) deferred once, whatever the number of schedulers.
slots = Table(
    "slots",
    metadata,
    Column("tenant", String(60), primary_key=True),
    Column("slot", DateTime(timezone=True), primary_key=True),
    Column("job_id", Integer),
    Column("deferred_at", DateTime(timezone=True)),
)
# Each attempt of a run, as a worker saw it: the service's view (`copil operator status`).
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(60), nullable=False, index=True),
    Column("slot", String(40)),
    Column("job_id", Integer),
    Column("attempt", Integer),
    Column("worker", String(200)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, default="running"),
    Column("exit_code", Integer),
    Column("duration_s", Float),
    Column("requests", Integer),
    Column("findings", Integer),
    Column("message", Text),
    # renewed every few seconds while the run lives: a run whose heartbeat stopped is dead, whatever
    # the queue thinks (a worker only slow to answer is never taken over)
    Column("heartbeat", DateTime(timezone=True)),
)
# Requests taken by each tenant in each minute of the database's clock, across every worker.
budget = Table(
    "budget",
    metadata,
    Column("tenant", String(60), primary_key=True),
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("requests", Integer, nullable=False),
)


def sqlalchemy_url(url: str) -> str:
    if not url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        raise ConfigError(
            "la base de l'opérateur doit être PostgreSQL (postgresql://…) : la file de tâches y vit avec l'état"
        )
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def libpq_url(url: str) -> str:
    """The same database as a libpq connection string (procrastinate's connector)."""
    return "postgresql://" + url.split("://", 1)[1]


def schema_of(tenant: str) -> str:
    return "copil_t_" + tenant.replace("-", "_")


def tenant_state_url(url: str, tenant: str) -> str:
    """The tenant's state: the operator's database with the tenant's schema first on its path."""
    u = make_url(sqlalchemy_url(url))
    return u.update_query_dict({"options": f"-csearch_path={schema_of(tenant)}"}).render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def engine(url: str) -> Engine:
    e = create_engine(sqlalchemy_url(url), pool_pre_ping=True, future=True)
    with e.begin() as c:
        c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    metadata.create_all(e)
    return e


def ensure_tenant_schema(url: str, tenant: str) -> None:
    with engine(url).begin() as c:
        c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema_of(tenant)}"'))
