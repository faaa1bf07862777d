"""Nightly sync throughput on the sample collectivité, through the real client and the emulator:
wall time per stage, HTTP requests, peak memory, for a first run (everything written) and a
second run (nothing to write). Also the time to render reports. Writes bench/results/sync.json.

    python bench/bench_sync.py [N ...]      (default: 40 1000 10000)
"""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector import pipeline  # noqa: E402
from connector.config import from_dict  # noqa: E402
from emulator.sample import seed  # noqa: E402
from emulator.server import start  # noqa: E402

AS_OF = date(2026, 11, 24)


def timed_stages():
    """Wrap the pipeline's stage functions to record their wall time."""
    times: dict[str, float] = {}
    for name in ("extract", "normalize", "consolidate", "write_back"):
        mod = pipeline if name != "extract" else pipeline.extract_mod
        fn = getattr(mod, name)

        def wrapper(*a, __fn=fn, __name=name, **kw):
            t0 = time.perf_counter()
            try:
                return __fn(*a, **kw)
            finally:
                times[__name] = times.get(__name, 0.0) + time.perf_counter() - t0
        setattr(mod, name, wrapper)
    return times


def run(n: int, times: dict) -> dict:
    srv = start()
    tmp = tempfile.mkdtemp()
    try:
        t0 = time.perf_counter()
        seed(srv.backend, "bench", projects=n)
        seeding = time.perf_counter() - t0
        items = sum(len(lst.items) for lst in srv.backend.site("bench").lists.values())
        os.environ["COPIL_BENCH_TOKEN"] = srv.tokens["write"]
        cfg = from_dict({"sharepoint": {"site_url": srv.site_url("bench"), "auth": "bearer",
                                        "token_env": "COPIL_BENCH_TOKEN"},
                         "state": {"url": f"sqlite:///{tmp}/state.db"}, "reports": {"enabled": False}})
        out = {"projects": n, "items_in_site": items, "seed_seconds": round(seeding, 2)}
        for label in ("first_run", "second_run"):
            times.clear()
            t0 = time.perf_counter()
            s = pipeline.run_sync(cfg, as_of=AS_OF)
            out[label] = {"seconds": round(time.perf_counter() - t0, 2), "written": s.written,
                          "requests": s.requests, "findings": len(s.findings),
                          "stages": {k: round(v, 2) for k, v in times.items()}}
        if n <= 1000:
            from connector.reports.publish import publish_reports
            pf, *_ = pipeline.build_portfolio(cfg, as_of=AS_OF)

            class H(dict):
                def set(self, k, v):
                    self[k] = v
            t0 = time.perf_counter()
            rs = publish_reports(None, pf, reports_cfg=cfg.reports, collectivite="Bench", copil_date=AS_OF,
                                 previous={}, hashes=H(), out_dir=Path(tmp) / "reports", only=list(pf.projects.index[:20]))
            out["report_seconds_each"] = round((time.perf_counter() - t0) / max(rs.uploaded, 1), 3)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return out
    finally:
        srv.stop()


def main(sizes: list[int]) -> None:
    times = timed_stages()
    results = {"cpu_count": os.cpu_count(), "runs": []}
    for n in sizes:
        r = run(n, times)
        print(json.dumps(r, ensure_ascii=False), flush=True)
        results["runs"].append(r)
    dest = Path(__file__).parent / "results"
    dest.mkdir(exist_ok=True)
    (dest / "sync.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [40, 1000, 10000])
