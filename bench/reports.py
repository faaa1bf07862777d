"""Report generation alone, run by bench/nightly.py in its own process: median time of one
project report (context, charts, document), the portfolio synthesis, and the whole set written
to a local folder with each worker count given.

    python bench/reports.py CONFIG OUT_DIR WORKERS...
"""

from __future__ import annotations

import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.config import load_config  # noqa: E402
from connector.pipeline import _NoHashes, build_portfolio, consolidate_raw  # noqa: E402
from connector.reports.context import portfolio_context, project_context  # noqa: E402
from connector.reports.publish import prepare_templates, publish_reports  # noqa: E402
from connector.reports.render import portfolio_charts, project_charts, render  # noqa: E402


def main(cfg_path: str, out: str, workers: list[int]) -> dict:
    cfg = load_config(Path(cfg_path))
    portfolio, raw, _, site = build_portfolio(cfg)
    t0 = time.process_time()  # normalisation, consolidation and rules alone, from the raw lists
    consolidate_raw(cfg, raw, site.timezone(cfg.collectivite.timezone), portfolio.as_of)
    consolidation_cpu = time.process_time() - t0
    project_tpl, portfolio_tpl = prepare_templates(None, cfg.reports)
    day = portfolio.as_of
    codes = list(portfolio.projects.index)[:: max(1, len(portfolio.projects) // 50)][:50]
    each, charts, docs = [], [], []
    for code in codes:
        t0 = time.perf_counter()
        ctx = project_context(portfolio, code, collectivite="Bench", copil_date=day, previous=None)
        images = project_charts(portfolio, code)
        t1 = time.perf_counter()
        render(project_tpl, ctx, images, day)
        t2 = time.perf_counter()
        each.append(t2 - t0)
        charts.append(t1 - t0)
        docs.append(t2 - t1)
    result_profile = profile(portfolio, project_tpl, day, codes[:10])
    t0 = time.perf_counter()
    ctx = portfolio_context(portfolio, collectivite="Bench", copil_date=day, previous={})
    render(portfolio_tpl, ctx, portfolio_charts(portfolio), day)
    synthesis = time.perf_counter() - t0
    result = {
        "consolidation_cpu_s": round(consolidation_cpu, 2),
        "report_median_s": round(statistics.median(each), 3),
        "report_max_s": round(max(each), 3),
        "report_median_charts_s": round(statistics.median(charts), 3),
        "report_median_document_s": round(statistics.median(docs), 3),
        "reports_timed": len(each),
        "synthesis_s": round(synthesis, 2),
        "whole_set_s": {},
        "report_profile": result_profile,
    }
    for n in workers:
        t0 = time.perf_counter()
        rs = publish_reports(
            None,
            portfolio,
            reports_cfg=cfg.reports,
            collectivite="Bench",
            copil_date=day,
            previous={},
            hashes=_NoHashes(),
            out_dir=Path(out) / f"w{n}",
            force=True,
            templates=(project_tpl, portfolio_tpl),
            workers=n,
        )
        assert not rs.errors, rs.errors[:3]
        result["whole_set_s"][str(n)] = round(time.perf_counter() - t0, 1)
        result["reports"] = rs.uploaded
    return result


# Where a project report's time goes: the functions with the most cumulative time, as shares
# of the whole (nested: a share includes its callees), over a few reports.
PROFILED = (
    ("connector/reports/context.py", "project_context", "contexte (textes français)"),
    ("connector/reports/charts.py", "timeline_chart", "graphique des jalons"),
    ("connector/reports/charts.py", "budget_chart", "graphique des CP"),
    ("pptx/chart/data.py", "xlsx_blob", "…dont classeurs des graphiques (XlsxWriter)"),
    ("docxtpl/template.py", "render", "document Word (docxtpl)"),
    ("docxtpl/template.py", "patch_xml", "…dont nettoyage du modèle (mis en cache)"),
    ("connector/reports/document.py", "finish", "…dont finitions (propriétés, langue, lignes)"),
    ("docx/opc/package.py", "save", "…dont écriture du .docx"),
)


def profile(portfolio, template, day, codes) -> list[dict]:
    prof = cProfile.Profile()
    prof.enable()
    for code in codes:
        ctx = project_context(portfolio, code, collectivite="Bench", copil_date=day, previous=None)
        render(template, ctx, project_charts(portfolio, code), day)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(tt for (_, _, _), (_, _, tt, _, _) in stats.items())
    out = []
    for suffix, name, label in PROFILED:
        cum = sum(
            ct
            for (fname, _, fn), (_, _, _, ct, _) in stats.items()
            if fn == name and fname.replace("\\", "/").endswith(suffix)
        )
        out.append(
            {
                "what": label,
                "share": round(cum / total, 3) if total else 0.0,
                "ms_per_report": round(cum / max(len(codes), 1) * 1000, 1),
            }
        )
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], [int(w) for w in sys.argv[3:]])))
