"""A shared operator's night (issue 29): N emulated sites of P projects each, one tenant file per
site, `copil operator schedule --once` then W `copil operator worker --drain` processes on a real
PostgreSQL (pgserver). Every request to the emulator waits `--latency-ms` (20 ms, as bench/nightly).

    python bench/operator.py [--sites 200] [--projects 40] [--workers 2]

Prints `tenants: N, runs ok: N, duplicate runs: 0, max requests/min per tenant: N, wall: N s,
p95 per tenant: N s`, writes bench/results/operator.json and the « Shared operator » section of
bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BEGIN, END = "<!-- operator:begin -->", "<!-- operator:end -->"


def main(argv=None) -> int:
    import pgserver
    from sqlalchemy import select, text

    from emulator.faults import FaultConfig
    from emulator.server import start
    from jobs.operator import database
    from sample.collectivite import seed

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--projects", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--latency-ms", type=float, default=20)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="copil-operator-bench-"))
    pg = pgserver.get_server(str(work / "pg"), cleanup_mode="stop")
    pg.psql("CREATE DATABASE copil_bench;")
    url = pg.get_uri().replace("/postgres?", "/copil_bench?")
    srv = start()
    try:
        t0 = time.monotonic()
        folder = work / "collectivites"
        folder.mkdir()
        for i in range(args.sites):
            name = f"c{i:04d}"
            seed(srv.backend, name, projects=args.projects)
            tz = "Pacific/Noumea" if i % 10 == 0 else "Europe/Paris"
            (folder / f"{name}.toml").write_text(
                f'[sharepoint]\nsite_url = "{srv.site_url(name)}"\nauth = "bearer"\ntoken_env = "COPIL_BENCH_TOKEN"\n'
                f'[reports]\nenabled = false\n[schedule]\ncron = "* * * * *"\ntimezone = "{tz}"\n',
                encoding="utf-8",
            )
        seeded_s = time.monotonic() - t0
        srv.faults.configure(FaultConfig(latency_ms=args.latency_ms))
        srv.faults.reset_counters()
        env = {
            **os.environ,
            "COPIL_OPERATOR_DATABASE": url,
            "COPIL_BENCH_TOKEN": srv.tokens["write"],
            "PYTHONPATH": str(ROOT),
        }
        cli = [sys.executable, "-m", "jobs.cli", "operator"]
        subprocess.run(cli + ["schedule", "--tenants", str(folder), "--once"], env=env, check=True, capture_output=True)
        with database.engine(url).connect() as c:
            tx0 = c.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            ).scalar()
        t1 = time.monotonic()
        logs = [open(work / f"worker-{n}.log", "w", encoding="utf-8") for n in range(args.workers)]  # noqa: SIM115
        procs = [
            subprocess.Popen(cli + ["worker", "--drain"], env=env, stdout=subprocess.DEVNULL, stderr=log)
            for log in logs
        ]
        for p in procs:
            p.wait()
        wall = time.monotonic() - t1
        with database.engine(url).connect() as c:
            tx1 = c.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            ).scalar()
            runs = [dict(r) for r in c.execute(select(database.runs)).mappings()]
        by_tenant: dict[str, list] = {}
        for r in runs:
            by_tenant.setdefault(r["tenant"], []).append(r)
        ok = sum(1 for rs in by_tenant.values() if any(r["exit_code"] in (0, 5) for r in rs))
        duplicates = sum(1 for rs in by_tenant.values() if sum(1 for r in rs if r["exit_code"] in (0, 5)) > 1)
        per_minute: dict[str, int] = {}
        for key, n in srv.faults.stats()["by_site_minute"].items():
            site, _ = key.rsplit("@", 1)
            per_minute[site] = max(per_minute.get(site, 0), n)
        durations = sorted(r["duration_s"] for r in runs if r["duration_s"] is not None)
        p95 = durations[int(0.95 * (len(durations) - 1))] if durations else 0
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "sites": args.sites,
            "projects_per_site": args.projects,
            "workers": args.workers,
            "latency_ms": args.latency_ms,
            "cores": os.cpu_count(),
            "seeding_s": round(seeded_s, 1),
            "tenants": len(by_tenant),
            "runs_ok": ok,
            "duplicate_runs": duplicates,
            "max_requests_per_min_per_tenant": max(per_minute.values(), default=0),
            "requests_per_run_median": statistics.median(r["requests"] for r in runs if r["requests"]),
            "wall_s": round(wall, 1),
            "p95_per_tenant_s": round(p95, 2),
            "median_per_tenant_s": round(statistics.median(durations), 2) if durations else 0,
            "runs_per_minute": round(len(runs) / wall * 60, 1),
            "postgres_transactions": int(tx1 - tx0),
            "postgres_transactions_per_s": round((tx1 - tx0) / wall, 1),
        }
    finally:
        srv.stop()
        pg.cleanup()
    print(
        f"tenants: {result['tenants']}, runs ok: {result['runs_ok']}, duplicate runs: {result['duplicate_runs']}, "
        f"max requests/min per tenant: {result['max_requests_per_min_per_tenant']}, wall: {result['wall_s']:.0f} s, "
        f"p95 per tenant: {result['p95_per_tenant_s']:.1f} s"
    )
    (ROOT / "bench" / "results" / "operator.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    _write_section(result)
    return 0 if result["runs_ok"] == result["tenants"] == args.sites and not result["duplicate_runs"] else 1


def _write_section(r: dict) -> None:
    lines = [
        BEGIN,
        "## Opérateur mutualisé (issue 29, `make operator-bench`)",
        "",
        f"Mesuré le {r['date']} sur cette machine ({r['cores']} cœurs) : {r['sites']} sites émulés de "
        f"{r['projects_per_site']} projets, {r['workers']} processus travailleurs, {r['latency_ms']:.0f} ms ajoutées à "
        "chaque requête, la première nuit de chaque site (toutes les listes lues, tous les projets écrits), "
        "PostgreSQL de pgserver.",
        "",
        "| | |",
        "|---|---:|",
        f"| collectivités / exécutions réussies / exécutions en double | {r['tenants']} / {r['runs_ok']} / "
        f"{r['duplicate_runs']} |",
        f"| durée de la nuit | {r['wall_s']:.0f} s ({r['runs_per_minute']:.1f} exécutions par minute) |",
        f"| par collectivité : médiane / p95 | {r['median_per_tenant_s']:.1f} s / {r['p95_per_tenant_s']:.1f} s |",
        f"| requêtes par exécution (médiane) | {r['requests_per_run_median']:.0f} |",
        f"| requêtes au plus en une minute pour une collectivité | {r['max_requests_per_min_per_tenant']} "
        "(budget 300) |",
        f"| transactions PostgreSQL | {r['postgres_transactions']} ({r['postgres_transactions_per_s']:.0f}/s) |",
        "",
        "La capacité qui s'en déduit pour 1 000 communes : docs/capacity.md.",
        END,
    ]
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + "\n".join(lines) + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
