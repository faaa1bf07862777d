"""Nightly runs measured side by side with the minimum and with the naive script (issue 13).

The emulator runs in its own process (`copil emulator`, 20 ms added to every request), and so
does each run measured (`copil sync`, or the naive script), so wall time, CPU and peak memory
are the connector's own. For each portfolio size: a first run, a night with nothing changed, a
night with 1 % of the projects edited, the naive script, report generation alone, and the
emulator's own throughput. Figures go to bench/results.json and bench/RESULTS.md.

    python bench/nightly.py                 # 100, 1,000 and 10,000 projects
    python bench/nightly.py --quick         # 100 and 1,000 (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN, READ, WRITE, MANAGE = "bench-admin", "bench-read", "bench-write", "bench-manage"
PAGE, BATCH = 5000, 100  # SharePoint's item page and $batch limits
REPORTS_LIBRARY = "Rapports COPIL"


class Emulator:
    """`copil emulator` in its own process, seeded with the sample collectivité."""

    def __init__(self, projects: int, latency_ms: float, log: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobs.cli",
                "emulator",
                "--memory",
                "--seed-sample",
                "--projects",
                str(projects),
                "--port",
                str(self.port),
                "--latency-ms",
                str(latency_ms),
                "--admin-token",
                ADMIN,
                "--token",
                f"{READ}:read",
                "--token",
                f"{WRITE}:write",
                "--token",
                f"{MANAGE}:manage",
            ],
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        while True:
            try:
                if self.admin("GET", "stats").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"l'émulateur s'est arrêté : voir {log}")
            time.sleep(0.2)
        self.seed_s = time.perf_counter() - t0

    @property
    def site_url(self) -> str:
        return f"{self.url}/sites/projets"

    def admin(self, method: str, what: str, **kw):
        return requests.request(
            method, f"{self.url}/_emulator/{what}", timeout=600, headers={"Authorization": f"Bearer {ADMIN}"}, **kw
        )

    def stats(self) -> dict:
        return self.admin("GET", "stats").json()

    def reset_stats(self) -> None:
        self.admin("POST", "stats/reset")

    def get(self, path: str, token: str = READ) -> dict:
        r = requests.get(
            f"{self.site_url}/_api/{path}",
            timeout=600,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json;odata=verbose"},
        )
        r.raise_for_status()
        return r.json()["d"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def measured(cmd: list[str], env: dict) -> dict:
    """Run a child process; its own wall time, CPU (user + system, workers included) and peak
    memory, and its stdout."""
    out = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": proc.returncode,
        "output": text,
    }


def summary_of(output: str) -> dict:
    for line in reversed(output.splitlines()):
        if line.startswith("{") and '"summary"' in line:
            return json.loads(line)["summary"]
    raise RuntimeError("pas de résumé JSON dans la sortie :\n" + output[-3000:])


def kinds(by_route: dict) -> dict:
    """Requests by kind: what went over the wire ($batch envelopes counted once), and apart,
    the operations carried inside the $batch requests."""
    wire = {r: n for r, n in by_route.items() if not r.startswith("batch:")}
    parts = {r[len("batch:") :]: n for r, n in by_route.items() if r.startswith("batch:")}
    return {"requests": dict(sorted(wire.items())), "inside_batch": dict(sorted(parts.items()))}


def inventory(emu: Emulator) -> dict[str, int]:
    lists = emu.get("web/lists?$select=Title,ItemCount,BaseTemplate")["results"]
    return {x["Title"]: int(x["ItemCount"]) for x in lists}


def minimum(counts: dict[str, int], written: int, uploaded: int) -> int:
    """Pages of 5,000 for every list and library read, one metadata round trip, the finance
    export's download, batches of 100 writes, one upload per changed report."""
    pages = sum(max(1, math.ceil(n / PAGE)) for title, n in counts.items() if title != REPORTS_LIBRARY)
    return pages + 1 + 1 + math.ceil(written / BATCH) + uploaded


def config_file(tmp: Path, emu: Emulator, reports: bool) -> Path:
    # one state per emulator: a state kept from the previous size would take the new, empty site
    # for one holding its report folders
    p = tmp / f"copil-{'reports' if reports else 'sync'}.toml"
    p.write_text(
        f"""[collectivite]
name = "Ville de Belcourt-sur-Loire"
[sharepoint]
site_url = "{emu.site_url}"
auth = "bearer"
token_env = "COPIL_BENCH_TOKEN"
[state]
url = "sqlite:///{(tmp / f"state-{emu.port}-{'reports' if reports else 'sync'}.db").as_posix()}"
[reports]
enabled = {"true" if reports else "false"}
""",
        encoding="utf-8",
    )
    return p


def interpreter_start(env: dict) -> float:
    """Wall time of a process that only imports what a refresh imports: what « beyond the
    interpreter's start » is measured from (median of three)."""
    code = "import jobs.cli, jobs.nightly, connector.pipeline, connector.sources, connector.state, jobs.lock"
    walls = sorted(measured([sys.executable, "-c", code], env)["wall_s"] for _ in range(3))
    return walls[1]


def change_one_percent(emu: Emulator, projects: int, count: int | None = None) -> int:
    """A person edits the progress of 1 % of the projects (or `count` of them) through the
    client; not counted."""
    from office365.sharepoint.client_context import ClientContext

    ctx = ClientContext(emu.site_url).with_access_token(
        lambda: {"access_token": MANAGE, "token_type": "Bearer", "expires_in": 3600}
    )
    lst = ctx.web.lists.get_by_title("Projets")
    fields = lst.fields.get().execute_query()
    internal = next(f.properties["InternalName"] for f in fields if f.properties["Title"].startswith("Avancement"))
    ids = list(range(1, projects + 1, 100))[: count or max(1, projects // 100)]
    for item_id in ids:
        lst.get_item_by_id(item_id).validate_update_list_item({internal: "55 %"})
        ctx.execute_query()  # one by one: the client cannot put ValidateUpdateListItem in its $batch
    return len(ids)


def run_size(n: int, latency_ms: float, workers: int, tmp: Path, first_only: bool = False) -> list[dict]:
    emu = Emulator(n, latency_ms, tmp / f"emulator-{n}.log")
    rows: list[dict] = []
    try:
        counts = inventory(emu)
        env = {**os.environ, "COPIL_BENCH_TOKEN": WRITE, "PYTHONPATH": str(ROOT)}
        base = {
            "projects": n,
            "items_in_site": sum(v for k, v in counts.items() if k != REPORTS_LIBRARY),
            "latency_ms": latency_ms,
            "emulator_seed_s": round(emu.seed_s, 1),
        }
        cfg = config_file(tmp, emu, reports=True)
        copil = [sys.executable, "-m", "jobs.cli", "--json", "sync", "--config", str(cfg), "--workers", str(workers)]

        refresh = [sys.executable, "-m", "jobs.cli", "--json", "refresh", "--config", str(cfg)]
        start_s = interpreter_start(env)

        def scenario(name: str, cmd: list[str] = copil) -> dict:
            emu.reset_stats()
            m = measured(cmd, env)
            if m["exit_code"] not in (0, 5):
                raise RuntimeError(f"{name} : code {m['exit_code']}\n{m['output'][-3000:]}")
            s, st = summary_of(m["output"]), emu.stats()
            row = {
                "scenario": name,
                **base,
                "requests": st["requests"],
                "minimum_requests": minimum(counts, s["written"], s["reports_uploaded"]),
                "written": s["written"],
                "reports_uploaded": s["reports_uploaded"],
                "wall_s": m["wall_s"],
                "cpu_s": m["cpu_s"],
                "peak_rss_mb": m["peak_rss_mb"],
                "requests_by_kind": kinds(st["by_route"]),
                "workers": workers,
                "read": s.get("read") or {},
                "run_s": s.get("duration_s"),
                "interpreter_start_s": start_s,
                "beyond_start_s": round(m["wall_s"] - start_s, 2),
            }
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "requests_by_kind"}, ensure_ascii=False), flush=True)
            return row

        scenario("first run")
        if first_only:  # re-measuring a first night alone (its memory, after a change)
            return rows
        scenario("unchanged night")  # reads past the first night's own writes in the change log
        scenario("unchanged night, again")
        scenario("unchanged refresh", refresh)
        change_one_percent(emu, n, count=1)
        scenario("refresh after 1 edited project", refresh)
        change_one_percent(emu, n)
        scenario("1 % of projects changed")

        # the same work without reports, then the naive script over the same site: copil's
        # ordinary night reads the change log (its state's first night, unmeasured, read in full)
        sync_cfg = config_file(tmp, emu, reports=False)
        sync_cmd = [sys.executable, "-m", "jobs.cli", "--json", "sync", "--config", str(sync_cfg)]
        measured(sync_cmd, env)
        emu.reset_stats()
        m = measured(sync_cmd, env)
        s, st = summary_of(m["output"]), emu.stats()
        emu.reset_stats()
        naive = measured([sys.executable, str(ROOT / "bench" / "naive.py"), emu.site_url], env)
        if naive["exit_code"] != 0:
            raise RuntimeError("script naïf : " + naive["output"][-3000:])
        nst = emu.stats()
        row = {
            "scenario": "lists only, beside the naive script",
            **base,
            "requests": st["requests"],
            "minimum_requests": minimum({k: v for k, v in counts.items()}, s["written"], 0),
            "written": s["written"],
            "wall_s": m["wall_s"],
            "cpu_s": m["cpu_s"],
            "peak_rss_mb": m["peak_rss_mb"],
            "requests_by_kind": kinds(st["by_route"]),
            "naive_requests": nst["requests"],
            "naive_wall_s": naive["wall_s"],
            "naive_cpu_s": naive["cpu_s"],
            "naive_requests_by_kind": kinds(nst["by_route"]),
            "ratio_requests": round(nst["requests"] / max(st["requests"], 1), 1),
            "ratio_wall": round(naive["wall_s"] / max(m["wall_s"], 0.01), 1),
        }
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if "by_kind" not in k}, ensure_ascii=False), flush=True)

        # report generation alone: per report, the synthesis, the whole set with 1 and N workers
        # the whole set: with 1 and N processes on the smallest size, N at 10,000 (the first run
        # above already rendered every report of the other sizes)
        # (at 10,000 the first run above already rendered the whole set on every core: its wall
        # time is the measure, a second full rendering would double a long benchmark)
        whole = [1, workers] if n <= 100 else []
        m = measured(
            [sys.executable, str(ROOT / "bench" / "reports.py"), str(cfg), str(tmp / f"reports-{n}"), *map(str, whole)],
            {**env, "COPIL_BENCH_TOKEN": READ},
        )
        if m["exit_code"] != 0:
            raise RuntimeError("rapports : " + m["output"][-3000:])
        rep = json.loads(m["output"].strip().splitlines()[-1])
        row = {"scenario": "report generation", **base, **rep, "cpu_s": m["cpu_s"], "peak_rss_mb": m["peak_rss_mb"]}
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        emu.stop()
    return rows


def emulator_throughput() -> dict:
    import bench.bench_emulator as be

    r = be.main()
    return {
        "scenario": "emulator throughput",
        "projects": None,
        **r,
        "requests_per_s_5000_item_pages": round(1 / r["page_raw_http_seconds_median"], 1),
    }


def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    versions = {
        p: metadata.version(p)
        for p in ("office365-rest-python-client", "pandas", "docxtpl", "python-docx", "python-pptx", "SQLAlchemy")
    }
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "versions": versions,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 et 1 000 projets seulement")
    ap.add_argument("--sizes", type=int, nargs="*")
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--merge", action="store_true", help="garder les tailles déjà mesurées dans results.json")
    ap.add_argument(
        "--first-run-only",
        action="store_true",
        help="le premier passage seulement, remplacé dans results.json (avec --merge)",
    )
    args = ap.parse_args(argv)
    sizes = args.sizes or ([100, 1000] if args.quick else [100, 1000, 10000])
    rows = []
    with tempfile.TemporaryDirectory(prefix="copil-bench-") as tmp:
        for n in sizes:
            rows += run_size(n, args.latency_ms, args.workers, Path(tmp), args.first_run_only)
    if not args.first_run_only:
        rows.append(emulator_throughput())
    stamp = machine()
    for r in rows:
        r.setdefault("measured_at", stamp["date"])
    old = ROOT / "bench" / "results.json"
    if args.merge and old.exists():  # another size measured earlier (10,000 takes most of an hour)
        before = json.loads(old.read_text(encoding="utf-8"))
        replaced = {(r["scenario"], r.get("projects")) for r in rows}
        kept = [
            r
            for r in before["scenarios"]
            if (r["scenario"], r.get("projects")) not in replaced
            and (args.first_run_only or r.get("projects") not in sizes)
            and (args.first_run_only or r["scenario"] != "emulator throughput")
        ]
        rows = kept + rows
        sizes = sorted(set(sizes) | set(before.get("sizes", [])))
    result = {"machine": stamp, "sizes": sizes, "scenarios": rows}
    (ROOT / "bench" / "results.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    from bench.report import write_markdown

    write_markdown(result, ROOT / "bench" / "RESULTS.md")
    print("résultats : bench/results.json, bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
