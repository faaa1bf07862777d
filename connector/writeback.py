"""Write-back: compute copil's own columns per project, diff them against what SharePoint holds,
and write only the items whose values changed, as system updates.

Only the connector's columns are ever written. `Dernière synchro copil` is the time copil last
*changed* the item's indicators (writing it on every run would defeat "no change, no write")."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from connector.config import Config
from connector.errors import AuthError, FatalError
from connector.extract import Resolved
from connector.formatting import milestone_when
from connector.model import Weather, number, present
from connector.portfolio import Portfolio
from connector.raw import Progress, RawData
from connector.sharepoint import ItemStatus, ItemUpdate, SharePointSite

log = logging.getLogger("copil.writeback")

TEXT_LIMIT = 255
NOTE_LIMIT = 10_000


@dataclass
class Change:
    item_id: int
    code: str
    values: dict  # logical owned column -> new value
    before: dict  # logical owned column -> current value


@dataclass
class WriteSummary:
    planned: list[Change] = field(default_factory=list)
    written: int = 0
    written_items: list[list] = field(default_factory=list)  # [code, item id, [columns]] (status --run)
    unchanged: int = 0
    failed: list[dict] = field(default_factory=list)  # dead letters
    conflicts: list[int] = field(default_factory=list)  # items a person edited during the run (412)
    dry_run: bool = False


def _rounded(v: object, digits: int) -> float | None:
    """A figure as copil writes it: rounded, None (an empty cell) when missing."""
    n = number(v)
    return None if n is None else round(n, digits)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def owned_values(row, findings_by_code: dict[str, list], now: datetime) -> dict:
    """The values copil writes for one project (logical owned column -> value)."""
    reasons = row.get("weather_reasons") or []
    alerts = row.get("alerts") or []
    label, when = row.get("next_milestone_label"), row.get("next_milestone_date")
    nxt = None
    if label and isinstance(label, str):
        on = milestone_when(when, row.get("next_milestone_late_days"))
        nxt = _clip(f"{label} – {on}" if present(when) else label, TEXT_LIMIT)
    found = findings_by_code.get(row.get("code"), [])
    if found:
        lines = [f"{f.column} : « {f.value} » – {f.message}" for f in found[:20]]
        more = f"\n… et {len(found) - 20} autre(s)" if len(found) > 20 else ""
        quality = _clip(f"{len(found)} valeur(s) à corriger :\n" + "\n".join(lines) + more, NOTE_LIMIT)
    else:  # empty: the « Données à corriger » view lists the items where it is not
        quality = ""
    slip = _rounded(row.get("slippage_days"), 0)
    return {
        "computed_weather": str(row.get("weather") or Weather.INDETERMINE),
        "weather_reasons": _clip("\n".join(reasons), NOTE_LIMIT) if reasons else "",
        "slippage_days": int(slip) if slip is not None else None,
        "cp_execution_rate": _rounded(row.get("cp_execution_rate"), 4),
        "commitment_rate": _rounded(row.get("commitment_rate"), 4),
        "ap_consumption": _rounded(row.get("ap_consumption"), 4),
        "next_milestone": nxt,
        "alerts": _clip("\n".join(alerts), NOTE_LIMIT) if alerts else "",
        "data_quality": quality,
        "last_sync": now,
    }


def _same(a, b) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        try:
            return abs(float(a) - float(b)) < 1e-6
        except (TypeError, ValueError):
            return False
    return str(a).strip().replace("\r\n", "\n") == str(b).strip().replace("\r\n", "\n")


def plan(portfolio, raw, now: datetime | None = None) -> tuple[list[Change], int]:
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    current = {r.get("_id"): r for r in raw.lists.get("projects", [])}
    by_code: dict[str, list] = {}
    for f in portfolio.findings:
        if f.project_code:
            by_code.setdefault(f.project_code, []).append(f)
    changes, unchanged = [], 0
    # Items that could not be consolidated (no or duplicate operation code): tell staff on the item.
    consolidated = set(portfolio.projects["id"].tolist()) if not portfolio.projects.empty else set()
    title = raw.titles.get("projects")
    orphans: dict[int, list] = {}
    for f in portfolio.findings:
        if f.list_title == title and f.item_id is not None and f.item_id not in consolidated:
            orphans.setdefault(int(f.item_id), []).append(f)
    for rec in raw.lists.get("projects", []):
        found = orphans.get(rec.get("_id"))
        if not found:
            continue
        # indicators of an earlier run are cleared: stale figures beside an undetermined météo mislead
        new = {
            "computed_weather": str(Weather.INDETERMINE),
            "weather_reasons": "projet non consolidé : " + found[0].message,
            "data_quality": "\n".join(f"{f.column} : « {f.value} » – {f.message}" for f in found),
            "slippage_days": None,
            "cp_execution_rate": None,
            "commitment_rate": None,
            "ap_consumption": None,
            "next_milestone": None,
            "alerts": "",
        }
        before = {k: rec.get(k) for k in new}
        diff = {k: v for k, v in new.items() if not _same(v, before[k])}
        if diff:
            diff["last_sync"] = now
            changes.append(Change(int(rec["_id"]), rec.get("code") or "", diff, before))
        else:
            unchanged += 1
    for code, row in portfolio.projects.iterrows():
        rec = current.get(row["id"])  # by item id: a duplicate code must not redirect the write
        if rec is None or rec.get("_id") is None:
            continue
        d = row.to_dict()
        d.setdefault("code", code)
        new = owned_values(d, by_code, now)
        before = {k: rec.get(k) for k in new}
        diff = {k: v for k, v in new.items() if k != "last_sync" and not _same(v, before.get(k))}
        if diff:
            diff["last_sync"] = now
            changes.append(Change(int(rec["_id"]), code, diff, before))
        else:
            unchanged += 1
    return changes, unchanged


def write_back(
    site: SharePointSite,
    config: Config,
    portfolio: Portfolio,
    raw: RawData,
    resolved: Resolved,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    only: set | None = None,
) -> WriteSummary:
    rl = resolved.lists["projects"]
    owned = config.owned_columns()
    inputs = {f.internal for k, f in rl.columns.items() if k not in owned}
    fields = {k: rl.columns[k] for k in owned if k in rl.columns}
    clash = [f.display for f in fields.values() if f.internal in inputs]
    if clash:  # never write into a column a person types in
        raise FatalError("colonnes calculées confondues avec des colonnes saisies : " + ", ".join(clash))
    changes, unchanged = plan(portfolio, raw)
    if only is not None:  # a second pass over the items re-read after a conflict
        changes = [c for c in changes if c.item_id in only]
    summary = WriteSummary(planned=changes, unchanged=unchanged, dry_run=dry_run)
    if dry_run or not changes:
        return summary
    records = {r["_id"]: r for r in raw.lists["projects"]}
    updates = []
    for c in changes:
        rec = records[c.item_id]
        updates.append(
            ItemUpdate(
                c.item_id,
                {fields[k].internal: v for k, v in c.values.items() if k in fields},
                modified=rec.get("_modified"),
                editor=rec.get("_editor"),
                etag=rec.get("_etag"),
            )
        )
    done = {"n": 0}

    def advance(n: int) -> None:
        done["n"] += n
        if progress:
            progress("Écriture des colonnes calculées", done["n"], len(updates))

    results = site.update_items(rl.info.title, updates, system=True, progress=advance)
    if results and all(r.status is ItemStatus.FORBIDDEN for r in results):
        raise AuthError(
            f"écriture refusée sur « {rl.info.title} » (403) : le compte de copil a besoin du droit "
            "« write » sur le site."
        )
    by_id = {c.item_id: c for c in changes}
    for res in results:
        if res.ok:
            summary.written += 1
            c = by_id[res.item_id]
            summary.written_items.append([c.code, res.item_id, sorted(c.values)])
            raw.apply_write("projects", res.item_id, {k: v for k, v in c.values.items() if k in fields})
        elif res.status is ItemStatus.CONFLICT:
            summary.conflicts.append(res.item_id)  # re-read, recomputed and written by the caller
        else:
            c = by_id[res.item_id]
            summary.failed.append(
                {
                    "list_title": rl.info.title,
                    "item_id": res.item_id,
                    "code": c.code,
                    "payload": {k: _jsonable(v) for k, v in c.values.items()},
                    "error": res.error,
                }
            )
    return summary


def _jsonable(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v
