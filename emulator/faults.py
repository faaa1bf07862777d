"""Injected faults (latency, throttling, drops, 500s) and the request counters/log."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from emulator import errors


@dataclass
class FaultConfig:
    latency_ms: float = 0
    throttle_every_n: int = 0  # every Nth request is throttled
    throttle_rps: float = 0  # throttle above this many requests per second
    throttle_status: int = 429
    retry_after: int = 1
    ratelimit_reset: int = 0  # also send RateLimit-Reset (SharePoint's beta headers) when > 0
    drop_every_n: int = 0  # close the connection without answering
    error_paths: list[tuple[str, int]] = field(default_factory=list)  # (regex, status)
    error_rate: float = 0  # share of requests and $batch operations answered 500 (seeded)
    # requests on matching paths (one site, say) throttled every other time: a busy tenant beside calm ones
    throttle_paths: list[str] = field(default_factory=list)
    seed: int = 0

    @classmethod
    def from_json(cls, d: dict) -> "FaultConfig":
        t = d.get("throttle") or {}
        return cls(
            latency_ms=float(d.get("latency_ms", 0)),
            throttle_every_n=int(t.get("every_n", 0)),
            throttle_rps=float(t.get("rps", 0)),
            throttle_status=int(t.get("status", 429)),
            retry_after=int(t.get("retry_after", 1)),
            ratelimit_reset=int(t.get("ratelimit_reset", 0)),
            drop_every_n=int(d.get("drop_every_n", 0)),
            error_paths=[(e["pattern"], int(e.get("status", 500))) for e in d.get("error_paths", [])],
            error_rate=float(d.get("error_rate", 0)),
            throttle_paths=[str(p) for p in d.get("throttle_paths", [])],
            seed=int(d.get("seed", 0)),
        )

    def to_json(self) -> dict:
        return {
            "latency_ms": self.latency_ms,
            "throttle": {
                "every_n": self.throttle_every_n,
                "rps": self.throttle_rps,
                "status": self.throttle_status,
                "retry_after": self.retry_after,
                "ratelimit_reset": self.ratelimit_reset,
            },
            "drop_every_n": self.drop_every_n,
            "error_paths": [{"pattern": p, "status": s} for p, s in self.error_paths],
            "error_rate": self.error_rate,
            "throttle_paths": list(self.throttle_paths),
            "seed": self.seed,
        }


_SITE = re.compile(r"/sites/([^/?]+)", re.IGNORECASE)


class Drop(Exception):
    """Close the connection without a response."""


class Faults:
    def __init__(self, config: FaultConfig | None = None, log_size: int = 100_000):
        self.config = config or FaultConfig()
        self._lock = threading.Lock()
        self._n = 0
        self._window: deque[float] = deque()
        self.log: deque[dict] = deque(maxlen=log_size)
        self._rng = random.Random(self.config.seed)
        # in-process tests may act as a person between two requests (e.g. edit an item mid-run)
        self.hooks: list = []
        self.reset_counters()

    def configure(self, config: FaultConfig) -> None:
        """New faults count from now: 'every Nth request' starts again at the next one."""
        with self._lock:
            self.config = config
            self._n = 0
            self._window.clear()
            self._rng = random.Random(config.seed)

    def reset_counters(self) -> None:
        with self._lock:
            self.seq = 0
            self.requests = 0
            self.throttled = 0
            self.dropped = 0
            self.errors = 0
            self.by_method: Counter = Counter()
            self.by_route: Counter = Counter()
            # requests per site and minute of the wall clock: what a tenant's budget is measured by
            self.by_site_minute: Counter = Counter()
            self._path_hits: Counter = Counter()
            self.log.clear()

    def before(self, method: str, path: str) -> None:
        """Apply faults to an API request; raise SPError/Drop when one fires."""
        for hook in list(self.hooks):
            hook(method, path)
        c = self.config
        with self._lock:
            self._n += 1
            n = self._n
            now = time.monotonic()
            self._window.append(now)
            while self._window and now - self._window[0] > 1.0:
                self._window.popleft()
            rate = len(self._window)
        if c.latency_ms:
            time.sleep(c.latency_ms / 1000)
        if c.drop_every_n and n % c.drop_every_n == 0:
            with self._lock:
                self.dropped += 1
            raise Drop()
        busy = False
        for pattern in c.throttle_paths:
            if re.search(pattern, path):
                with self._lock:
                    self._path_hits[pattern] += 1
                    busy = busy or self._path_hits[pattern] % 2 == 1
        if busy or (c.throttle_every_n and n % c.throttle_every_n == 0) or (c.throttle_rps and rate > c.throttle_rps):
            with self._lock:
                self.throttled += 1
            err = errors.throttled(c.throttle_status, c.retry_after)
            if c.ratelimit_reset:
                err.headers.update(
                    {
                        "RateLimit-Limit": str(int(c.throttle_rps * 60) or 1200),
                        "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(c.ratelimit_reset),
                    }
                )
            raise err
        self.check_error_paths(path)

    def check_error_paths(self, path: str) -> None:
        """Injected 500s (or any status) on matching paths, and at `error_rate`; also applied to
        $batch operations."""
        for pattern, status in self.config.error_paths:
            if re.search(pattern, path):
                with self._lock:
                    self.errors += 1
                raise errors.SPError(
                    status, "-2146232832", "Microsoft.SharePoint.SPException", f"Injected fault on {path}."
                )
        if self.config.error_rate:
            with self._lock:
                hit = self._rng.random() < self.config.error_rate
                self.errors += hit
            if hit:
                raise errors.SPError(
                    500, "-2146232832", "Microsoft.SharePoint.SPException", f"Injected random fault on {path}."
                )

    def record(self, method: str, path: str, route: str, status: int, ms: float, user_agent: str = "") -> None:
        with self._lock:
            self.seq += 1
            self.requests += 1
            self.by_method[method] += 1
            self.by_route[route] += 1
            site = _SITE.match(path)
            self.by_site_minute[(site.group(1).lower() if site else "", int(time.time() // 60))] += 1
            self.log.append(
                {
                    "seq": self.seq,
                    "t": time.time(),
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "ms": round(ms, 2),
                    "user_agent": user_agent,
                }
            )

    def record_op(self, route: str) -> None:
        """A $batch sub-operation: counted by route, not as an HTTP request."""
        with self._lock:
            self.by_route[route] += 1

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": self.requests,
                "by_method": dict(self.by_method),
                "by_route": dict(self.by_route),
                "throttled": self.throttled,
                "dropped": self.dropped,
                "errors": self.errors,
                "injected": self.throttled + self.dropped + self.errors,
                "by_site_minute": {f"{s}@{m}": n for (s, m), n in self.by_site_minute.items()},
                "faults": self.config.to_json(),
            }

    def entries(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [e for e in self.log if e["seq"] > since]
