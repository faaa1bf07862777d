"""Emulator throughput: how long a 5,000-item page takes to serve, raw HTTP and through the
Office365 client, and a 12,000-item paged read. Writes bench/results/emulator.json."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from office365.sharepoint.client_context import ClientContext  # noqa: E402

from emulator.server import start  # noqa: E402


def seed(srv, n: int):
    site = srv.backend.ensure_site("bench")
    lst = site.create_list("Projets")
    cols = (
        [lst.add_field(f"Texte {i}", "Text") for i in range(6)]
        + [lst.add_field(f"Montant {i}", "Currency") for i in range(4)]
        + [lst.add_field(f"Date {i}", "DateTime") for i in range(3)]
    )
    for i in range(n):
        vals = {"Title": f"Projet {i}"}
        for c in cols:
            vals[c.internal_name] = (
                f"valeur {i}" if c.kind == "Text" else 1234.5 * i if c.kind == "Currency" else "2026-03-31T22:00:00Z"
            )
        lst.add_item(vals)
    return lst


def main() -> dict:
    srv = start()
    try:
        seed(srv, 12000)
        url = srv.site_url("bench") + "/_api/web/lists/getbytitle('Projets')/items?$top=5000"
        headers = {"Authorization": "Bearer read-token", "Accept": "application/json;odata=verbose"}
        raw = []
        for _ in range(5):
            t0 = time.perf_counter()
            r = requests.get(url, headers=headers, timeout=60)
            raw.append(time.perf_counter() - t0)
            assert len(r.json()["d"]["results"]) == 5000
        ctx = ClientContext(srv.site_url("bench")).with_access_token(
            lambda: {"access_token": "read-token", "token_type": "Bearer"}
        )
        t0 = time.perf_counter()
        items = ctx.web.lists.get_by_title("Projets").items.top(5000).get_all().execute_query()
        client_all = time.perf_counter() - t0
        assert len(items) == 12000
        result = {
            "items_per_page": 5000,
            "page_raw_http_seconds_median": round(statistics.median(raw), 3),
            "page_raw_http_seconds_max": round(max(raw), 3),
            "page_bytes": len(r.content),
            "client_get_all_12000_seconds": round(client_all, 3),
            "cpu_count": os.cpu_count(),
        }
    finally:
        srv.stop()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "emulator.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
