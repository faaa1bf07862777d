"""Normalize: raw SharePoint values -> typed pandas frames, and a finding for every value a
person typed that cannot be used. Never raises on bad data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from connector import parse, schema
from connector.model.records import Meeting
from connector.model.vocabulary import MeetingStatus, Scope
from connector.portfolio import Finding
from connector.raw import RawData

# How each logical column is parsed, whatever its SharePoint type (a renamed list may keep
# AP votée as Currency, another as free text imported from Excel).
PARSERS = {
    "projects": {
        "start": "date",
        "baseline_end": "date",
        "forecast_end": "date",
        "progress": "percent",
        "ap_voted": "amount",
        "ap_deliberation": "date",
        "manual_weather": "choice",
        "phase": "choice",
        "decision_deadline": "date",
        "urban_policy": "choice",
    },
    "milestones": {"baseline": "date", "forecast": "date", "actual": "date"},
    "budget": {"year": "year", "cp_planned": "amount", "engaged": "amount", "paid": "amount"},
    "subsidies": {"requested": "amount", "notified": "amount", "received": "amount", "notified_on": "date"},
    "contracts": {"initial_amount": "amount", "notified_on": "date", "kind": "choice"},
    "amendments": {"number": "number", "amount": "signed_amount", "signed_on": "date"},  # a reduction is negative
    "risks": {"probability": "level", "impact": "level", "status": "choice", "due": "date"},
    "meetings": {"date": "date", "instance": "choice", "scope": "choice", "status": "choice"},
    "decisions": {"due": "date", "status": "choice", "decided_on": "date"},
}
FINANCE_PARSERS = {"year": "year", "ap_affected": "amount", "engaged": "amount", "paid": "amount"}
CHILD_LISTS = ("milestones", "budget", "subsidies", "contracts", "risks", "decisions")


@dataclass
class Frames:
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    milestones: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget: pd.DataFrame = field(default_factory=pd.DataFrame)
    subsidies: pd.DataFrame = field(default_factory=pd.DataFrame)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    amendments: pd.DataFrame = field(default_factory=pd.DataFrame)
    risks: pd.DataFrame = field(default_factory=pd.DataFrame)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)  # empty: no « Décisions » list
    finance: pd.DataFrame = field(default_factory=pd.DataFrame)
    finance_source: dict | None = None  # {"file", "modified"} of the export read
    meetings: list[Meeting] | None = None  # None: no « Comités de pilotage » list on the site
    titles: dict[str, str] = field(default_factory=dict)  # logical key -> list title, for findings
    duplicates: dict[str, list] = field(default_factory=dict)  # code typed on several items -> their ids


class _Parser:
    def __init__(self, raw: RawData, tz: str, findings: list[Finding], currency: str = "EUR"):
        self.raw, self.tz, self.findings, self.currency = raw, tz, findings, currency
        # project code -> {column key: ("estimated" | "invalid", value as typed)}: a figure built
        # on a guessed value says so where it is shown, an unreadable one is not "missing"
        self.flags: dict[str, dict[str, tuple[str, str]]] = {}
        # the same typed values come back thousands of times (dates, « 50 % », a phase): each
        # is parsed once; findings are still made per item
        self._parsed: dict[tuple, tuple[Any, str | None]] = {}
        self._texts: dict[str, str] = {}

    def value(self, key: str, rec: dict, logical: str, how: str | None, code: str | None) -> Any:
        v = rec.get(logical)
        if how is None:
            if isinstance(v, (int, float, list)):
                return v
            text = self._texts.get(v) if type(v) is str else None
            if text is None:
                text = parse.parse_text(v)
                if type(v) is str and len(self._texts) < 200_000:
                    self._texts[v] = text or ""
            return text or None
        try:
            memo = (how, key, logical, type(v), v)
            hit = self._parsed.get(memo)
        except TypeError:  # a list or dict value: not kept
            memo, hit = None, None
        if hit is None:
            hit = self._parse(key, logical, how, v)
            if memo is not None and len(self._parsed) < 200_000:
                self._parsed[memo] = hit
        out, msg = hit
        if msg:
            self.finding(key, rec, logical, v, msg, code, severity="erreur" if out is None else "avertissement")
            if key == "projects" and code and str(v).strip().lower() not in parse.UNKNOWN:  # « à définir » is missing
                self.flags.setdefault(code, {})[logical] = ("invalid" if out is None else "estimated", str(v))
        return out

    def _parse(self, key: str, logical: str, how: str, v: Any) -> tuple[Any, str | None]:
        out: Any
        if how == "date":
            out, msg = parse.parse_date(v, self.tz)
        elif how in ("amount", "signed_amount"):
            out, msg = parse.parse_amount(v, self.currency, negative=how == "signed_amount")
        elif how == "percent":
            out, msg = parse.parse_percent(v)
        elif how == "choice":  # choices the rules read (météo, phase, contract kind, risk status)
            out, msg = parse.parse_choice(v, schema.BY_KEY[key].column(logical).choices)
        elif how in ("number", "year", "level"):
            out, msg = parse.parse_number(v)
            if out is not None and how == "year" and not (1990 <= out <= 2100):
                out, msg = None, f"exercice invalide : « {v} »"
            if out is not None and how == "level" and not (1 <= out <= 4):
                out, msg = None, f"niveau hors échelle 1 à 4 : « {v} »"
            if out is not None and how in ("year", "level"):
                out = int(out)
        else:
            raise ValueError(how)
        return out, msg

    def finding(self, key, rec, logical, value, msg, code, severity="erreur"):
        cols = self.raw.columns.get(key, {})
        self.findings.append(
            Finding(
                list_title=self.raw.titles.get(key, key),
                item_id=rec.get("_id"),
                column=cols.get(logical, logical),
                value=_as_typed(value),
                message=msg,
                link=rec.get("_url", ""),
                project_code=code,
                severity=severity,
            )
        )


def _as_typed(value) -> str:
    """A value as a person reads it in the list: a number in French (« -500 000 », never
    « -500000.0 »; an absurd one in scientific notation, never 300 digits)."""
    if value is None:
        return ""
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        from babel.numbers import format_decimal, format_scientific  # lazy: numbers in findings only

        if abs(value) >= 1e15:
            return format_scientific(value, format="0.###E0", locale="fr_FR")
        return format_decimal(value, format="#,##0.####", locale="fr_FR")
    return str(value)


def _email(value) -> str:
    """A person's e-mail as SharePoint gave it, or "" (no person, an account without mailbox,
    anything that is not one address)."""
    text = value.strip() if isinstance(value, str) else ""
    return text if re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+", text) else ""


def _records(raw: RawData, key: str) -> list[dict]:
    return raw.lists.get(key) or []


def normalize(raw: RawData, *, tz: str = "Europe/Paris", currency: str = "EUR") -> tuple[Frames, list[Finding]]:
    findings: list[Finding] = []
    p = _Parser(raw, tz, findings, currency)
    frames = Frames()

    # Projects: keyed by operation code, which must be present and unique. Every item of a code
    # typed twice is left out (a mistyped code must not take the real project's children,
    # finance rows or report folder) and told on each item until the duplicate is fixed.
    rows, seen, code_by_id = [], set(), {}
    records = _records(raw, "projects")
    ids_by_code: dict[str, list] = {}
    for rec in records:
        code = parse.parse_text(rec.get("code"))
        if code:
            ids_by_code.setdefault(code.casefold(), []).append(rec.get("_id"))
    for rec in records:
        code = parse.parse_text(rec.get("code"))
        if not code:
            p.finding("projects", rec, "code", rec.get("code"), "projet sans code opération : ignoré", None)
            continue
        same = ids_by_code[code.casefold()]
        if len(same) > 1:
            others = ", ".join(str(i) for i in same if i != rec.get("_id"))
            p.finding(
                "projects",
                rec,
                "code",
                code,
                f"code opération « {code} » en double (aussi sur l'élément "
                f"{others}) : aucun des deux n'est consolidé ni publié tant que le doublon existe",
                None,
            )
            continue
        seen.add(code)
        code_by_id[rec.get("_id")] = code
        row = {"id": rec.get("_id"), "url": rec.get("_url", ""), "code": code}
        for c in schema.PROJECTS.columns:
            if c.owned or c.key == "code":
                continue
            row[c.key] = p.value("projects", rec, c.key, PARSERS["projects"].get(c.key), code)
        row["manager_email"] = _email(rec.get("manager_email"))
        row["input_flags"] = p.flags.get(code, {})
        rows.append(row)
    dup_ids = {i for ids in ids_by_code.values() if len(ids) > 1 for i in ids}
    dup_codes = {k for k, ids in ids_by_code.items() if len(ids) > 1}
    frames.duplicates = {k: ids for k, ids in ids_by_code.items() if len(ids) > 1}
    cols = (
        ["id", "url", "code"]
        + [c.key for c in schema.PROJECTS.columns if not c.owned and c.key != "code"]
        + ["manager_email", "input_flags"]
    )
    frames.projects = pd.DataFrame(rows, columns=cols)

    # Children: attach each row to its project by lookup id or by code.
    for key in CHILD_LISTS:
        frames.__setattr__(key, _children(p, raw, key, code_by_id, seen, dup_ids, dup_codes))

    # Amendments hang off contracts.
    contract_code = {}
    if not frames.contracts.empty:
        contract_code = dict(zip(frames.contracts["id"], frames.contracts["project_code"]))
    # contracts set aside because their project's code is duplicated: their amendments say so,
    # not « no known contract »
    on_duplicate = {
        rec.get("_id")
        for rec in _records(raw, "contracts")
        if rec.get("project") in dup_ids or str(rec.get("project_code") or "").casefold() in dup_codes
    }
    rows = []
    spec = schema.AMENDMENTS
    for rec in _records(raw, "amendments"):
        cid = rec.get("contract")
        code = contract_code.get(cid)
        if code is None:
            p.finding(
                "amendments",
                rec,
                "contract",
                cid,
                "avenant rattaché à un marché d'un projet dont le code opération est en double : ignoré "
                "jusqu'à correction"
                if cid in on_duplicate
                else "avenant rattaché à aucun marché connu : ignoré",
                None,
            )
            continue
        row = {"id": rec.get("_id"), "contract_id": cid, "project_code": code}
        for c in spec.columns:
            if c.key != "contract":
                row[c.key] = p.value("amendments", rec, c.key, PARSERS["amendments"].get(c.key), code)
        rows.append(row)
    frames.amendments = pd.DataFrame(
        rows, columns=["id", "contract_id", "project_code"] + [c.key for c in spec.columns if c.key != "contract"]
    )

    # Finance export rows: keyed by code and year.
    rows = []
    for rec in raw.finance_rows:
        code = parse.parse_text(rec.get("code"))
        fake = {"_id": rec.get("_row"), "_url": ""}
        if not code:
            continue
        if code not in seen:
            why = (
                "porté par plusieurs projets : ligne ignorée"
                if code.casefold() in dup_codes
                else "inconnu dans les projets"
            )
            findings.append(
                Finding(
                    rec.get("_file", "export"),
                    rec.get("_row"),
                    "Code opération",
                    code,
                    f"code opération « {code} » de l'export financier {why}",
                    project_code=None,
                    severity="avertissement",
                )
            )
            continue
        row = {"project_code": code}
        for k, how in FINANCE_PARSERS.items():
            v = rec.get(k)
            out: Any
            out, msg = parse.parse_number(v) if how == "year" else parse.parse_amount(v, currency)
            if how == "year" and out is not None:
                out = int(out)
            if msg:
                findings.append(
                    Finding(
                        rec.get("_file", "export"),
                        rec.get("_row"),
                        k,
                        str(v),
                        msg,
                        str(fake["_url"]),
                        code,
                        "erreur" if out is None else "avertissement",
                    )
                )
            row[k] = out
        rows.append(row)
    frames.finance = pd.DataFrame(rows, columns=["project_code", "year", "ap_affected", "engaged", "paid"])
    frames.finance_source = raw.finance_source if rows else None
    frames.titles = dict(raw.titles)
    frames.meetings = _meetings(raw, p) if "meetings" in raw.lists else None
    return frames, findings


def _meetings(raw: RawData, p: _Parser) -> list[Meeting]:
    """The meetings of « Comités de pilotage »: a meeting without a readable date is a finding
    and is left out; a scope nobody typed is the whole portfolio (with codes typed: those
    projects)."""
    out = []
    for rec in _records(raw, "meetings"):
        on = p.value("meetings", rec, "date", "date", None)
        if on is None:
            p.finding("meetings", rec, "date", rec.get("date"), "réunion sans date lisible : ignorée", None)
            continue
        instance = p.value("meetings", rec, "instance", "choice", None) or "COPIL PPI"
        codes = tuple(c.strip() for c in re.split(r"[;,\n]", str(rec.get("projects") or "")) if c.strip())
        scope = p.value("meetings", rec, "scope", "choice", None) or (Scope.PROJECTS if codes else Scope.PORTFOLIO)
        status = p.value("meetings", rec, "status", "choice", None) or MeetingStatus.PLANNED
        title = parse.parse_text(rec.get("title")) or instance
        out.append(
            Meeting(
                key=f"item:{rec.get('_id')}",
                title=str(title),
                on=on.date() if isinstance(on, datetime) else on,
                instance=str(instance),
                scope=str(scope),
                scope_value=parse.parse_text(rec.get("scope_value")) or "",
                projects=codes,
                status=str(status),
                item_id=rec.get("_id"),
            )
        )
    return out


def _children(
    p: _Parser, raw: RawData, key: str, code_by_id: dict, codes: set, dup_ids=frozenset(), dup_codes=frozenset()
) -> pd.DataFrame:
    spec = schema.BY_KEY[key]
    keys = [c.key for c in spec.columns if c.key != "project"]
    rows = []
    for rec in _records(raw, key):
        if "project_code" in rec and "project" not in rec:
            code = parse.parse_text(rec.get("project_code"))
            bad = code not in codes
            raw_link = code
        else:
            raw_link = rec.get("project")
            code = code_by_id.get(raw_link)
            bad = code is None
        if bad:
            dup = raw_link in dup_ids if "project_code" not in rec else str(raw_link or "").casefold() in dup_codes
            msg = (
                "élément rattaché à aucun projet : ignoré"
                if raw_link in (None, "")
                else "élément rattaché à un projet dont le code opération est en double : ignoré jusqu'à correction"
                if dup
                else f"élément rattaché à un projet inconnu « {raw_link} » : ignoré"
            )
            logical = "project_code" if "project_code" in rec else "project"
            p.finding(key, rec, logical, raw_link, msg, None)
            continue
        row = {"id": rec.get("_id"), "url": rec.get("_url", ""), "project_code": code}
        for k in keys:
            row[k] = p.value(key, rec, k, PARSERS.get(key, {}).get(k), code)
        rows.append(row)
    return pd.DataFrame(rows, columns=["id", "url", "project_code"] + keys)
