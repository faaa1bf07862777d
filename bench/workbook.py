"""« Portefeuille copil.xlsx » at scale (issue 28): the time to build the tables and write the
workbook, its size, and the process's peak memory, for the 40-project sample replicated to
1,000 and 10,000 projects (the rows of every table multiplied alike).

    python bench/workbook.py [--sizes 1000 10000]     # figures to bench/results/workbook.json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def replicated(pf, n: int):
    """The sample's portfolio with `n` projects: each project and its rows copied under new codes."""
    from dataclasses import replace

    k = -(-n // len(pf.projects))
    codes = list(pf.projects.index)

    def grow(frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
        if frame is None or frame.empty:
            return frame
        parts = []
        for i in range(k):
            f = frame.copy()
            if key == "index":
                f["code"] = [f"{c}-{i}" for c in f["code"]]
                f.index = f["code"]
            elif key:
                f[key] = [f"{c}-{i}" for c in f[key]]
            parts.append(f)
        out = pd.concat(parts)
        return out.iloc[:n] if key == "index" else out

    projects = grow(pf.projects, "index")
    kept = set(projects.index)
    frames = {}
    for name in ("milestones", "budget", "subsidies", "contracts", "amendments", "risks", "decisions"):
        f = grow(getattr(pf, name), "project_code")
        frames[name] = f[f["project_code"].isin(kept)] if f is not None and not f.empty else f
    del codes
    return replace(pf, projects=projects, findings=pf.findings * k, _groups={}, **frames)


def main(argv=None) -> int:
    from connector import workbook
    from connector.pipeline import build_portfolio
    from emulator.server import start
    from tests.support.sync_helpers import AS_OF, config, seeded

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = ap.parse_args(argv)
    srv = start()
    try:
        seeded(srv)
        cfg = config(srv, Path(tempfile.mkdtemp(prefix="copil-workbook-")))
        base, *_ = build_portfolio(cfg, as_of=AS_OF)
    finally:
        srv.stop()
    rows = []
    for n in args.sizes:
        pf = replicated(base, n)
        t0 = time.monotonic()
        workbook.hashes(pf)  # what every night pays
        t1 = time.monotonic()
        data = workbook.tables(pf)
        t2 = time.monotonic()
        content = workbook.build(pf, data)
        t3 = time.monotonic()
        rows.append(
            {
                "projects": len(pf.projects),
                "rows": sum(len(v) for v in data.values()),
                "cells": sum(len(v) * len(v[0]) for v in data.values() if v),
                "hash_s": round(t1 - t0, 2),  # every night
                "tables_s": round(t2 - t1, 2),  # the nights it is due
                "write_s": round(t3 - t2, 2),
                "bytes": len(content),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
        print(json.dumps(rows[-1]))
    out = ROOT / "bench" / "results" / "workbook.json"
    out.write_text(json.dumps({"sizes": rows}, indent=2), encoding="utf-8")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
