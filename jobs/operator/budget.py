"""A tenant's requests per minute, honoured across every worker: each worker reserves requests in
small blocks in PostgreSQL (one row per tenant and minute of the database's clock) before sending
them, and waits for the next minute when the block does not fit. SharePoint throttles per tenant
and per application: the operator stays under it instead of being throttled into retries.

A reserved block is never given back: a run may use fewer requests than it reserved, never more."""

from __future__ import annotations

import logging
import time

from sqlalchemy import text

from jobs.operator import database

log = logging.getLogger("copil.operator")

BLOCK = 5  # requests reserved per round trip to the database


class Budget:
    def __init__(self, url: str, tenant: str, per_minute: int, sleep=time.sleep) -> None:
        self.engine = database.engine(url)
        self.tenant = tenant
        self.per_minute = per_minute
        self.block = max(1, min(BLOCK, per_minute // 10))
        self._left = 0
        self._minute = None
        self._local_minute = -1  # a block is used in the minute it was reserved in, never the next
        self._sleep = sleep
        self.waited_s = 0.0

    def _reserve(self) -> tuple[bool, object, float]:
        """(granted, minute, seconds to the next minute) for one block."""
        with self.engine.begin() as c:
            row = c.execute(
                text(
                    f"""
                    INSERT INTO {database.SCHEMA}.budget (tenant, minute, requests)
                    VALUES (:t, date_trunc('minute', clock_timestamp()), :n)
                    ON CONFLICT (tenant, minute) DO UPDATE
                      SET requests = {database.SCHEMA}.budget.requests + :n
                      WHERE {database.SCHEMA}.budget.requests + :n <= :limit
                    RETURNING minute
                    """
                ),
                {"t": self.tenant, "n": self.block, "limit": self.per_minute},
            ).first()
            if row is not None:
                return True, row[0], 0.0
            # refused: how long until the database's next minute (asked only then, not per block)
            wait = c.execute(
                text("SELECT 60 - extract(epoch FROM clock_timestamp() - date_trunc('minute', clock_timestamp()))")
            ).scalar()
        return False, None, float(wait or 1)

    def __call__(self) -> None:
        """Before each request: take one from the reserved block, reserving another when empty."""
        if int(time.time() // 60) != self._local_minute:
            self._left = 0
        while self._left <= 0:
            before = int(time.time() // 60)
            ok, minute, wait = self._reserve()
            after = int(time.time() // 60)
            if ok and before != after:  # reserved across a minute's turn: counted in the wrong one
                continue
            if ok:
                self._left, self._minute, self._local_minute = self.block, minute, after
                break
            log.info(
                "budget de %s requêtes par minute atteint pour %s : attente %.0f s", self.per_minute, self.tenant, wait
            )
            self._sleep(wait + 0.05)
            self.waited_s += wait
        self._left -= 1
