"""« Évolutions depuis le COPIL du … »: what changed in a project between two editions of a
committee, as a reader of the dossier wants it — every change a person made (météo, phase, forecast
end, milestones reached or moved, AP, subsidies, risks, decisions, amendments), the computed météo
that followed, and apart what the calendar alone brought (a milestone whose date passed unreached).

Each night's snapshot keeps a project's `facts`: the values people type, by item. The changes are
the difference of two such facts, so nothing that only moves with the calendar (« ≥ +71 j », an
export growing older) is ever listed as a change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.formatting import fr_amount, fr_date
from connector.model import is_missing
from connector.model.vocabulary import DecisionStatus, RiskStatus

PERSON, COPIL, CALENDAR = "personne", "copil", "calendrier"  # who caused a change


@dataclass(frozen=True)
class Change:
    kind: str  # « météo du chef de projet », « jalon déplacé », …: what a test or a table groups by
    text: str  # the sentence printed
    by: str = PERSON  # PERSON | COPIL (the computed météo) | CALENDAR (a date passed)


def _d(v: Any) -> str | None:
    if is_missing(v):
        return None
    return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)


def _f(v: Any) -> float | None:
    return None if is_missing(v) else round(float(v), 2)


def _s(v: Any) -> str:
    return "" if is_missing(v) else str(v).strip()


def facts(portfolio, code: str) -> dict:
    """The values people typed for one project, by item: what the next edition compares with."""
    p = portfolio.projects.loc[code]
    rec = portfolio.project_records
    return {
        "weather": _s(p.get("weather")),
        "manual_weather": _s(p.get("manual_weather")),
        "phase": _s(p.get("phase")),
        "forecast_end": _d(p.get("forecast_end")),
        "ap_voted": _f(p.get("ap_voted")),
        "milestones": {
            str(m["id"]): [_s(m["title"]), _d(m["baseline"]), _d(m["forecast"]), _d(m["actual"])]
            for m in rec(code, portfolio.milestones)
        },
        "subsidies": {
            str(s["id"]): [_s(s["funder"]) or _s(s["title"]), _f(s["notified"]), _f(s["received"])]
            for s in rec(code, portfolio.subsidies)
        },
        "risks": {str(r["id"]): [_s(r["title"]), _s(r["status"])] for r in rec(code, portfolio.risks)},
        "decisions": {
            str(d["key"]): [_s(d["title"]), _s(d["status"]), _d(d["due"]), _d(d["decided_on"])]
            for d in rec(code, portfolio.decisions)
        },
        "amendments": {
            str(a["id"]): [_s(a["contract_number"]), _f(a["number"]), _f(a["amount"])]
            for a in rec(code, portfolio.amendments)
        },
    }


def _day(iso: str | None) -> str:
    return fr_date(date.fromisoformat(iso)) if iso else "non renseignée"


def changes(
    before: dict | None, after: dict, *, since: date | None, as_of: date, currency: str = "EUR"
) -> list[Change]:
    """What changed from `before` (the facts of the previous edition, taken on `since`) to `after`.
    Empty when there is nothing to compare with."""
    if not before:
        return []
    out: list[Change] = []
    amount = lambda v: fr_amount(v, currency)  # noqa: E731
    if before.get("manual_weather") != after.get("manual_weather"):
        out.append(
            Change(
                "météo du chef de projet",
                f"Météo du chef de projet : {before.get('manual_weather') or 'non renseignée'} → "
                f"{after.get('manual_weather') or 'non renseignée'}",
            )
        )
    if before.get("weather") != after.get("weather"):
        out.append(
            Change("météo calculée", f"Météo calculée : {before.get('weather')} → {after.get('weather')}", COPIL)
        )
    if before.get("phase") != after.get("phase"):
        out.append(Change("phase", f"Phase : {before.get('phase') or '–'} → {after.get('phase') or '–'}"))
    if before.get("forecast_end") != after.get("forecast_end"):
        out.append(
            Change(
                "fin prévisionnelle",
                f"Fin prévisionnelle : {_day(before.get('forecast_end'))} → {_day(after.get('forecast_end'))}",
            )
        )
    if before.get("ap_voted") != after.get("ap_voted"):
        a0, a1 = before.get("ap_voted"), after.get("ap_voted")
        what = "AP votée" if a0 is None else "AP révisée"
        out.append(Change("AP", f"{what} : {amount(a0) if a0 is not None else '–'} → {amount(a1)}"))
    out += _milestones(before.get("milestones", {}), after.get("milestones", {}), since, as_of)
    out += _subsidies(before.get("subsidies", {}), after.get("subsidies", {}), amount)
    out += _risks(before.get("risks", {}), after.get("risks", {}))
    out += _decisions(before.get("decisions", {}), after.get("decisions", {}))
    out += _amendments(before.get("amendments", {}), after.get("amendments", {}), amount)
    return out


def _milestones(b: dict, a: dict, since: date | None, as_of: date) -> list[Change]:
    out = []
    for k, (title, base, fc, actual) in a.items():
        old = b.get(k)
        if old is None:
            out.append(Change("jalon ajouté", f"Jalon ajouté : {title} (prévu le {_day(fc or base)})"))
            continue
        if actual and actual != old[3]:
            out.append(Change("jalon atteint", f"Jalon atteint : {title} le {_day(actual)}"))
        elif fc != old[2] or base != old[1]:
            out.append(
                Change("jalon déplacé", f"Jalon déplacé : {title}, {_day(old[2] or old[1])} → {_day(fc or base)}")
            )
        elif not actual and (fc or base) and since is not None:
            when = date.fromisoformat(fc or base)
            if since < when <= as_of:  # its date came and went with nobody saying it was reached
                out.append(
                    Change("jalon non tenu", f"Jalon non tenu : {title} (prévu le {_day(fc or base)})", CALENDAR)
                )
    for k, (title, *_rest) in b.items():
        if k not in a:
            out.append(Change("jalon retiré", f"Jalon retiré : {title}"))
    return out


def _subsidies(b: dict, a: dict, amount) -> list[Change]:
    out = []
    for k, (funder, notified, received) in a.items():
        old = b.get(k)
        if old is None:
            out.append(Change("subvention ajoutée", f"Subvention ajoutée : {funder}"))
            old = [funder, None, None]
        if notified != old[1] and notified is not None:
            out.append(Change("subvention notifiée", f"Subvention {funder} notifiée : {amount(notified)}"))
        if received != old[2] and received is not None:
            out.append(Change("subvention encaissée", f"Subvention {funder} : {amount(received)} encaissés au total"))
    return out


def _risks(b: dict, a: dict) -> list[Change]:
    out = []
    for k, (title, status) in a.items():
        old = b.get(k)
        now_open = RiskStatus.is_open(status)
        if old is None:
            if now_open:
                out.append(Change("risque ouvert", f"Risque ouvert : {title}"))
        elif RiskStatus.is_open(old[1]) != now_open:
            out.append(
                Change(
                    "risque ouvert" if now_open else "risque clos",
                    f"Risque {'rouvert' if now_open else 'clos'} : {title}",
                )
            )
    return out


def _decisions(b: dict, a: dict) -> list[Change]:
    out = []
    for k, (title, status, due, decided) in a.items():
        old = b.get(k)
        s = DecisionStatus.of(status)
        if old is None:
            out.append(
                Change("décision ajoutée", f"Décision demandée : {title}" + (f" (échéance {_day(due)})" if due else ""))
            )
        elif old[1] != status and s is not DecisionStatus.EXPECTED:
            on = f" le {_day(decided)}" if decided else ""
            out.append(Change(f"décision {s.outcome}", f"Décision {s.outcome}{on} : {title}"))
        elif old[2] != due and s.open:
            out.append(
                Change("décision reportée", f"Échéance de la décision « {title} » : {_day(old[2])} → {_day(due)}")
            )
    for k, (title, *_rest) in b.items():
        if k not in a:
            out.append(Change("décision retirée", f"Décision retirée de la liste : {title}"))
    return out


def _amendments(b: dict, a: dict, amount) -> list[Change]:
    out = []
    for k, (contract, number, value) in a.items():
        old = b.get(k)
        n = f"n°{int(number)} " if number is not None else ""
        if old is None:
            out.append(
                Change(
                    "avenant",
                    f"Avenant {n}au marché {contract or '?'} : {amount(value) if value is not None else '–'} HT",
                )
            )
        elif old[2] != value:
            out.append(
                Change(
                    "avenant",
                    f"Avenant {n}au marché {contract or '?'} : {amount(old[2]) if old[2] is not None else '–'} → "
                    f"{amount(value) if value is not None else '–'} HT",
                )
            )
    return out
