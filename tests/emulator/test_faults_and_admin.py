"""Emulator faults and admin endpoint: latency, throttling, drops, injected 500s, counters, log."""

from __future__ import annotations

import time

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from tests.conftest import client


def _admin(srv, method, what, **kw):
    return srv.admin(method, what, **kw)


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
    assert time.monotonic() - t0 >= 1.0  # Retry-After honoured, not the 0 s backoff
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
    assert time.monotonic() - t0 >= 0.3  # contextinfo + web, 150 ms each


def test_admin_api_needs_its_own_token(emulator):
    for method, what in (("POST", "reset"), ("GET", "tokens"), ("POST", "faults"), ("GET", "stats"), ("POST", "sites")):
        r = requests.request(method, f"{emulator.url}/_emulator/{what}", timeout=5, json={})
        assert r.status_code == 401, what
        r = requests.request(
            method,
            f"{emulator.url}/_emulator/{what}",
            timeout=5,
            json={},
            headers={"Authorization": f"Bearer {emulator.tokens['manage']}"},
        )
        assert r.status_code == 401, what  # a SharePoint token is not an admin token
    assert emulator.backend.site("projets") is not None
    assert emulator.admin("GET", "tokens").status_code == 200


def test_unknown_site_answers_404_and_is_not_created(emulator):
    h = {"Authorization": f"Bearer {emulator.tokens['manage']}", "Accept": "application/json;odata=verbose"}
    r = requests.get(emulator.url + "/sites/projetz/_api/web", headers=h, timeout=5)
    assert r.status_code == 404 and emulator.backend.site("projetz") is None
    assert emulator.admin("POST", "sites", json={"name": "projetz", "timezone_id": 41}).json()["timezone_id"] == 41
    assert requests.get(emulator.url + "/sites/projetz/_api/web", headers=h, timeout=5).status_code == 200


def test_a_token_bound_to_one_site_cannot_write_another_through_batch(emulator):
    import json

    from emulator import auth
    from sample.collectivite import seed

    seed(emulator.backend, "autre", 2)
    emulator.auth.grants["only-projets"] = auth.Grant("only-projets", "manage", "projets")
    lst = emulator.backend.site("autre").list_by_title("Projets")
    payload = json.dumps(
        {"formValues": [{"FieldName": "Commentaire", "FieldValue": "intrus"}], "bNewDocumentUpdate": True}
    )
    part = (
        f"POST {emulator.site_url('autre')}/_api/web/lists(guid'{lst.id}')/getItemById(1)/ValidateUpdateListItem "
        f"HTTP/1.1\r\nContent-Type: application/json;odata=verbose\r\n\r\n{payload}\r\n"
    )
    body = (
        f"--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{part}--batch_x--\r\n"
    )
    r = requests.post(
        emulator.site_url("projets") + "/_api/$batch",
        data=body.encode(),
        timeout=5,
        headers={"Authorization": "Bearer only-projets", "Content-Type": "multipart/mixed; boundary=batch_x"},
    )
    assert r.status_code == 200 and "HTTP/1.1 403" in r.text
    assert lst.items[1].values.get(lst.field_by_title("Commentaire").internal_name) != "intrus"
