"""Emulator faults and admin endpoint: latency, throttling, drops, injected 500s, counters, log."""
from __future__ import annotations

import time

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from tests.conftest import client


def _admin(srv, method, what, **kw):
    return requests.request(method, f"{srv.url}/_emulator/{what}", timeout=10, **kw)


def test_stats_log_and_resets(emulator):
    emulator.backend.ensure_site("projets").create_list("Projets")
    ctx = client(emulator, "read")
    ctx.web.lists.get_by_title("Projets").items.get().execute_query()
    stats = _admin(emulator, "GET", "stats").json()
    assert stats["requests"] == 2 and stats["by_route"]["items.GET"] == 1
    log = _admin(emulator, "GET", "log").json()["entries"]
    assert [e["route"] for e in log] == ["contextinfo.POST", "items.GET"]
    assert _admin(emulator, "GET", "log", params={"since": log[0]["seq"]}).json()["entries"][0]["route"] == "items.GET"
    _admin(emulator, "POST", "stats/reset")
    assert _admin(emulator, "GET", "stats").json()["requests"] == 0
    _admin(emulator, "POST", "reset")
    assert emulator.backend.site("projets") is None


def test_injected_500_on_a_path_and_clearing(emulator):
    emulator.backend.ensure_site("projets").create_list("Projets")
    _admin(emulator, "POST", "faults", json={"error_paths": [{"pattern": "/items", "status": 500}]})
    ctx = client(emulator, "read")
    with pytest.raises(ClientRequestException) as e:
        ctx.web.lists.get_by_title("Projets").items.get().execute_query()
    assert e.value.response.status_code == 500
    _admin(emulator, "DELETE", "faults")
    assert len(client(emulator, "read").web.lists.get_by_title("Projets").items.get().execute_query()) == 0


def test_503_throttling_with_retry_after(emulator):
    emulator.backend.ensure_site("projets").create_list("Projets")
    _admin(emulator, "POST", "faults", json={"throttle": {"every_n": 2, "status": 503, "retry_after": 1}})
    ctx = client(emulator, "read")
    t0 = time.monotonic()
    ctx.web.lists.get_by_title("Projets").items.get()
    ctx.execute_query_with_incremental_retry(max_retry=3)
    assert time.monotonic() - t0 >= 1.0   # Retry-After honoured, not the 0 s backoff
    assert [e["status"] for e in _admin(emulator, "GET", "log").json()["entries"]].count(503) == 1


def test_dropped_connection_is_retried_by_the_client(emulator):
    emulator.backend.ensure_site("projets").create_list("Projets")
    _admin(emulator, "POST", "faults", json={"drop_every_n": 2})
    ctx = client(emulator, "read").with_auto_retry(max_retry=3, timeout_secs=0)
    ctx.web.lists.get_by_title("Projets").items.get().execute_query()
    routes = [e["route"] for e in _admin(emulator, "GET", "log").json()["entries"]]
    assert "dropped" in routes and routes[-1] == "items.GET"


def test_fixed_latency(emulator):
    _admin(emulator, "POST", "faults", json={"latency_ms": 150})
    t0 = time.monotonic()
    client(emulator, "read").web.get().execute_query()
    assert time.monotonic() - t0 >= 0.3   # contextinfo + web, 150 ms each
