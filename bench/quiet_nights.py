"""Thirty nights of the 40-project sample with nobody editing anything (issue 24): how many files
the report library holds afterwards, how many uploads each night made and why, and the versions
kept. Before living files there were about 20 new dated files a night (268 files after 12 nights).

    python bench/quiet_nights.py [--nights 30]     # figures to bench/results/quiet_nights.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from connector.pipeline import run_sync
    from emulator.server import start
    from tests.support.sync_helpers import AS_OF, config, seeded

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nights", type=int, default=30)
    args = ap.parse_args(argv)
    srv = start()
    try:
        site = seeded(srv)
        cfg = config(srv, Path(tempfile.mkdtemp(prefix="copil-quiet-")), reports={"enabled": True})
        nights = []
        for n in range(args.nights):
            t0 = time.monotonic()
            s = run_sync(cfg, as_of=AS_OF + timedelta(days=n))
            nights.append(
                {
                    "night": (AS_OF + timedelta(days=n)).isoformat(),
                    "uploaded": s.reports_uploaded,
                    "reasons": s.report_reasons,
                    "dossiers": {"draft": s.dossiers_draft, "frozen": s.dossiers_frozen},
                    "items_written": s.written,
                    "seconds": round(time.monotonic() - t0, 2),
                }
            )
        lib = site.list_by_title("Rapports COPIL")
        files = [f for f in site.files.values() if f.list_id == lib.id]
        out = {
            "nights": args.nights,
            "files_in_library": len(files),
            "living_files": sum(1 for f in files if "/Comités/" not in f.url),
            "dossier_files": sum(1 for f in files if "/Comités/" in f.url),
            "uploads": sum(n["uploaded"] for n in nights),
            "versions_kept": sum(len(f.versions) for f in files),
            "items_written_after_first_night": sum(n["items_written"] for n in nights[1:]),
            "per_night": nights,
        }
    finally:
        srv.stop()
    dest = ROOT / "bench" / "results" / "quiet_nights.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        f"nights: {out['nights']}, files: {out['files_in_library']} ({out['living_files']} living, "
        f"{out['dossier_files']} dossier), uploads: {out['uploads']}, versions kept: {out['versions_kept']}, "
        f"items written after the first night: {out['items_written_after_first_night']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
