"""Report generation alone, run by bench/nightly.py in its own process: median time of one
project report (context, charts, document), the portfolio synthesis, and the whole set written
to a local folder with each worker count given.

    python bench/reports.py CONFIG OUT_DIR WORKERS...
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.config import load_config  # noqa: E402
from connector.pipeline import _NoHashes, build_portfolio, consolidate_raw  # noqa: E402
from connector.reports.context import portfolio_context, project_context  # noqa: E402
from connector.reports.publish import prepare_templates, publish_reports  # noqa: E402
from connector.reports.render import portfolio_images, project_images, render  # noqa: E402


def main(cfg_path: str, out: str, workers: list[int]) -> dict:
    cfg = load_config(Path(cfg_path))
    portfolio, raw, _, site = build_portfolio(cfg)
    t0 = time.process_time()   # normalisation, consolidation and rules alone, from the raw lists
    consolidate_raw(cfg, raw, site.timezone(cfg.collectivite.timezone), portfolio.as_of)
    consolidation_cpu = time.process_time() - t0
    project_tpl, portfolio_tpl = prepare_templates(None, cfg.reports)
    day = portfolio.as_of
    codes = list(portfolio.projects.index)[:: max(1, len(portfolio.projects) // 50)][:50]
    each, charts, docs = [], [], []
    for code in codes:
        t0 = time.perf_counter()
        ctx = project_context(portfolio, code, collectivite="Bench", copil_date=day, previous=None)
        images = project_images(portfolio, code)
        t1 = time.perf_counter()
        render(project_tpl, ctx, images, day)
        t2 = time.perf_counter()
        each.append(t2 - t0)
        charts.append(t1 - t0)
        docs.append(t2 - t1)
    t0 = time.perf_counter()
    ctx = portfolio_context(portfolio, collectivite="Bench", copil_date=day, previous={})
    render(portfolio_tpl, ctx, portfolio_images(portfolio), day)
    synthesis = time.perf_counter() - t0
    result = {"consolidation_cpu_s": round(consolidation_cpu, 2),
              "report_median_s": round(statistics.median(each), 3), "report_max_s": round(max(each), 3),
              "report_median_charts_s": round(statistics.median(charts), 3),
              "report_median_document_s": round(statistics.median(docs), 3),
              "reports_timed": len(each), "synthesis_s": round(synthesis, 2), "whole_set_s": {}}
    for n in workers:
        t0 = time.perf_counter()
        rs = publish_reports(None, portfolio, reports_cfg=cfg.reports, collectivite="Bench", copil_date=day,
                             previous={}, hashes=_NoHashes(), out_dir=Path(out) / f"w{n}", force=True,
                             templates=(project_tpl, portfolio_tpl), workers=n)
        assert not rs.errors, rs.errors[:3]
        result["whole_set_s"][str(n)] = round(time.perf_counter() - t0, 1)
        result["reports"] = rs.uploaded
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], [int(w) for w in sys.argv[3:]])))
