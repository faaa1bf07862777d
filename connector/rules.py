"""The météo of a project and its alerts, from thresholds in the configuration, with the
reasons spelled out in French so a project director can check them by hand."""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from connector.formatting import fr_amount, fr_date, fr_points, points

SOLEIL, NUAGEUX, ORAGE, INDETERMINE = "Soleil", "Nuageux", "Orage", "Indéterminé"
CLOSED = "Clos"   # the last phase: no more delay or risk alerts
_RANK = {SOLEIL: 0, NUAGEUX: 1, ORAGE: 2}


class RulesConfig(BaseModel):
    """Thresholds of the météo ([rules] section). Fractions are 0..1 (0.25 = 25 %)."""
    model_config = ConfigDict(extra="forbid")

    slippage_cloudy_days: int = Field(30, ge=0, description="Forecast end later than baseline by this many days: Nuageux.")
    slippage_storm_days: int = Field(90, ge=0, description="Forecast end later than baseline by this many days: Orage.")
    overdue_milestones_cloudy: int = Field(1, ge=1, description="Milestones past due without actual date: Nuageux.")
    overdue_milestones_storm: int = Field(3, ge=1, description="Milestones past due without actual date: Orage.")
    execution_gap_cloudy: float = Field(0.25, ge=0, description="Gap between the year's CP execution rate and "
                                        "physical progress (either way): Nuageux.")
    execution_gap_storm: float = Field(0.5, ge=0, description="Same gap: Orage.")
    self_funding_min: float = Field(0.20, ge=0, le=1, description="Minimum share of the owner's own funding "
                                    "(20 %, 30 % in some areas); below it: Nuageux and an alert.")
    amendment_limit_services: float = Field(0.10, ge=0, description="Cumulated amendments allowed on services "
                                            "and supplies contracts; above: Orage.")
    amendment_limit_works: float = Field(0.15, ge=0, description="Cumulated amendments allowed on works contracts; above: Orage.")
    amendment_commission: float = Field(0.05, ge=0, description="An amendment above this share of the initial "
                                        "amount needs the commission d'appel d'offres (alert).")
    risk_critical: int = Field(9, ge=1, le=16, description="Criticality (probability × impact, 1..4 each) from "
                               "which an open risk is critical.")
    critical_risks_storm: int = Field(2, ge=1, description="Open critical risks: one gives Nuageux, this many Orage.")
    subsidy_deadline_warning_days: int = Field(180, ge=0, description="Alert this many days before a DETR/DSIL "
                                               "start or completion deadline.")
    ap_overrun_storm: float = Field(1.0, gt=0, description="AP consumption (paid / AP voted) above this: Orage.")


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and str(v) not in ("NaT", "nan")


def exceeds(share, limit) -> bool:
    """`share > limit` at the printed precision (percentage points, one decimal)."""
    return _ok(share) and _ok(limit) and points(share) > points(limit)


def _ap_overrun(row: dict, rules: RulesConfig) -> str:
    cons = row.get("ap_consumption")
    if _ok(cons) and points(cons) > points(rules.ap_overrun_storm):
        return f"AP dépassée : {fr_points(points(cons))} de l'AP votée déjà mandatés"
    return ""


def _closed(row: dict, rules: RulesConfig, basis: str, missing: list[str],
            unreadable: list[str]) -> tuple[str, list[str], list[str]]:
    if missing or unreadable:
        return INDETERMINE, ([f"données manquantes : {', '.join(missing)}"] if missing else []) + unreadable, []
    overrun = _ap_overrun(row, rules)
    if overrun:
        return ORAGE, [overrun + basis], []
    return SOLEIL, ["opération close : seul le solde de l'AP est suivi"], []


def _days(n) -> str:
    n = int(n)
    return f"{n} jour{'s' if abs(n) > 1 else ''}"


def assess(row: dict, *, year: int, rules: RulesConfig, currency: str = "EUR") -> tuple[str, list[str], list[str]]:
    """(météo, reasons, alerts) for one consolidated project row.

    Uses the indicator columns of `connector.portfolio` plus `_contracts` (list of dicts with
    number, rate, limit, commission) and `_subsidies` (list of dicts with funder, kind
    'start'|'completion', deadline, lapsed, soon)."""
    flags = row.get("input_flags") if isinstance(row.get("input_flags"), dict) else {}
    closed = row.get("phase") == CLOSED
    needed = (("ap_voted", "AP votée"),) if closed else (
        ("baseline_end", "fin prévue initiale"), ("forecast_end", "fin prévisionnelle"), ("ap_voted", "AP votée"))
    missing = [label for key, label in needed if not _ok(row.get(key)) and key not in flags]
    unreadable = [f"{label} illisible (« {flags[key][1]} »)" for key, label in needed
                  if not _ok(row.get(key)) and flags.get(key, ("",))[0] == "invalid"]
    # a figure computed on an AP copil had to interpret says so where it is read
    basis = (f" (calculé sur une AP interprétée d'après la saisie « {flags['ap_voted'][1]} »)"
             if flags.get("ap_voted", ("",))[0] == "estimated" else "")
    storms, clouds, alerts = [], [], []

    if closed:   # a closed operation is followed for its AP balance only: past delays are history
        return _closed(row, rules, basis, missing, unreadable)

    slip = row.get("slippage_days")
    if _ok(slip) and slip >= rules.slippage_storm_days:
        storms.append(f"retard de {_days(slip)} (seuil {rules.slippage_storm_days})")
    elif _ok(slip) and slip >= rules.slippage_cloudy_days:
        clouds.append(f"retard de {_days(slip)} (seuil {rules.slippage_cloudy_days})")

    overdue = row.get("overdue_milestones") or 0
    if overdue >= rules.overdue_milestones_storm:
        storms.append(f"{overdue} jalons en retard (seuil {rules.overdue_milestones_storm})")
    elif overdue >= rules.overdue_milestones_cloudy:
        clouds.append(f"{overdue} jalon{'s' if overdue > 1 else ''} en retard")

    # Shares are compared in percentage points at the precision they are printed with (one
    # decimal, half-up): what the reader sees and what the rule judged always agree.
    rate, progress = row.get("cp_execution_rate"), row.get("progress")
    if _ok(rate) and _ok(progress):
        r, p = points(rate), points(progress)
        gap = abs(r - p)
        text = f"CP {year} exécutés à {fr_points(r)} pour {fr_points(p)} d'avancement"
        for limit, bucket in ((rules.execution_gap_storm, storms), (rules.execution_gap_cloudy, clouds)):
            if gap >= points(limit):
                bucket.append(f"{text} (écart de {fr_points(gap, 'points')}, seuil {fr_points(points(limit), 'points')})")
                break

    overrun = _ap_overrun(row, rules)
    if overrun:
        storms.append(overrun + basis)

    share = row.get("self_funding_share")
    minimum = fr_points(points(rules.self_funding_min))
    if _ok(share) and share < 0:
        clouds.append(f"subventions notifiées supérieures à l'AP votée{basis}")
        alerts.append(f"Subventions notifiées ({fr_amount(row.get('subsidies_notified'), currency)}) supérieures à "
                      f"l'AP votée ({fr_amount(row.get('ap_voted'), currency)}){basis} : vérifier l'AP ou les "
                      "montants notifiés.")
    elif _ok(share) and points(share) < points(rules.self_funding_min):
        clouds.append(f"autofinancement de {fr_points(points(share))} (minimum {minimum}){basis}")
        alerts.append(f"Part d'autofinancement insuffisante : {fr_points(points(share))} pour un minimum légal de "
                      f"{minimum} des financements publics{basis}.")

    for c in row.get("_contracts") or []:
        if exceeds(c["rate"], c["limit"]):
            storms.append(f"avenants cumulés {fr_points(points(c['rate']))} sur le marché {c['number']} "
                          f"(limite {fr_points(points(c['limit']))})")
        if c["commission"]:
            alerts.append(f"Marché {c['number']} : un avenant dépasse {fr_points(points(rules.amendment_commission))} "
                          "du montant initial, avis de la commission d'appel d'offres requis.")

    critical = row.get("open_critical_risks") or 0
    if critical >= rules.critical_risks_storm:
        storms.append(f"{critical} risques critiques ouverts")
    elif critical >= 1:
        clouds.append("1 risque critique ouvert")

    for s in row.get("_subsidies") or []:
        what = "démarrage des travaux" if s["kind"] == "start" else "achèvement de l'opération"
        if s["lapsed"]:
            storms.append(f"subvention {s['funder']} caduque : {what} requis avant le {fr_date(s['deadline'])}")
            alerts.append(f"Subvention {s['funder']} ({fr_amount(s.get('amount'), currency)}) : échéance de "
                          f"{what} dépassée le {fr_date(s['deadline'])} ; demander une prorogation.")
        elif s["soon"]:
            clouds.append(f"subvention {s['funder']} : {what} requis avant le {fr_date(s['deadline'])}")
            alerts.append(f"Subvention {s['funder']} : {what} requis avant le {fr_date(s['deadline'])}.")

    if missing or unreadable:
        weather = INDETERMINE
        reasons = ([f"données manquantes : {', '.join(missing)}"] if missing else []) + unreadable + storms + clouds
    elif storms:
        weather, reasons = ORAGE, storms + clouds
    elif clouds:
        weather, reasons = NUAGEUX, clouds
    else:
        weather, reasons = SOLEIL, ["aucun écart au-delà des seuils"]

    manual = row.get("manual_weather")
    if _ok(manual) and manual in _RANK and weather in _RANK and _RANK[manual] < _RANK[weather]:
        alerts.append(f"Météo du chef de projet ({manual}) plus optimiste que la météo calculée ({weather}).")
    return weather, reasons, alerts
