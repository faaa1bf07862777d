"""The météo of a project and its alerts, from thresholds in the configuration, with the
reasons spelled out in French so a project director can check them by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connector.formatting import delay, fr_amount, fr_date, fr_points, of, points, rounded
from connector.model import Weather, present
from connector.model.records import GrantDeadline
from connector.model.vocabulary import EXTENSION_YEARS


class RulesConfig(BaseModel):
    """Thresholds of the météo ([rules] section). Fractions are 0..1 (0.25 = 25 %)."""

    model_config = ConfigDict(extra="forbid")

    slippage_cloudy_days: int = Field(
        30, ge=0, description="Forecast end later than baseline by this many days: Nuageux."
    )
    slippage_storm_days: int = Field(90, ge=0, description="Forecast end later than baseline by this many days: Orage.")
    overdue_milestones_cloudy: int = Field(1, ge=1, description="Milestones past due without actual date: Nuageux.")
    overdue_milestones_storm: int = Field(3, ge=1, description="Milestones past due without actual date: Orage.")
    execution_gap_cloudy: float = Field(
        0.25,
        ge=0,
        description="Gap between financial progress (paid since the start ÷ AP voted) and physical progress, "
        "either way, once works are under way: Nuageux. Cumulative against cumulative: the year's CP are judged "
        "against the share of the year elapsed (cp_projection_from_month), never against physical progress.",
    )
    execution_gap_storm: float = Field(0.5, ge=0, description="Same gap: Orage.")
    self_funding_min: float = Field(
        0.20,
        ge=0,
        le=1,
        description="Minimum share of the owner's own funding "
        "(20 %, 30 % in some areas); below it: Nuageux and an alert.",
    )
    amendment_limit_services: float = Field(
        0.10, ge=0, description="Cumulated amendments allowed on services and supplies contracts; above: Orage."
    )
    amendment_limit_works: float = Field(
        0.15, ge=0, description="Cumulated amendments allowed on works contracts; above: Orage."
    )
    amendment_commission: float = Field(
        0.05,
        ge=0,
        description="An amendment above this share of the initial "
        "amount needs the commission d'appel d'offres (alert).",
    )
    risk_critical: int = Field(
        9, ge=1, le=16, description="Criticality (probability × impact, 1..4 each) from which an open risk is critical."
    )
    critical_risks_storm: int = Field(2, ge=1, description="Open critical risks: one gives Nuageux, this many Orage.")
    subsidy_deadline_warning_days: int = Field(
        180, ge=0, description="Alert this many days before a DETR/DSIL start or completion deadline."
    )
    ap_overrun_storm: float = Field(1.0, gt=0, description="AP consumption (paid / AP voted) above this: Orage.")
    # Forward-looking alerts: they warn before the problem shows in the figures; they do not
    # change the météo (a forecast is not yet a fact), they rank the projects at risk.
    ap_projection_min_progress: float = Field(
        0.20,
        ge=0,
        le=1,
        description="Physical progress from which the cost "
        "at completion is projected from what was paid (earlier: too soon).",
    )
    ap_shortfall_margin: float = Field(
        0.10,
        ge=0,
        description="AP likely insufficient when the projected cost at "
        "completion (paid / progress) exceeds the AP by more than this share.",
    )
    cp_projection_from_month: int = Field(
        7,
        ge=1,
        le=12,
        description="Month from which the year's CP still "
        "unpaid at 31 December is projected at the pace of the year so far.",
    )
    cp_unspent_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of the year's CP likely unspent at year end from which copil alerts (at least this share).",
    )
    grant_start_from: Literal["first", "works_contract", "works_order"] = Field(
        "first",
        description="What starts a DETR/DSIL-funded operation (commencement d'exécution): the first works "
        "contract notified (« works_contract »), the first works order given (« works_order »), or whichever "
        "comes first (« first »). Studies and land purchases never do.",
    )
    finance_max_age_days: int = Field(
        30,
        ge=0,
        description="A finance export older than this many days (dated by its file name, else by its upload) "
        "is a finding, and every figure taken from it says so: its amounts may no longer be the year's.",
    )
    closing_view_until: str = Field(
        "04-15",
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="« MM-JJ »: the last day of the year the reports carry the closing of the previous year "
        "(CP voted, paid, not paid, restes à réaliser, CP to vote again), from 1 January — unless the finance "
        "export already carries payments of the new year. 15 April: the budget primitif is voted by then.",
    )
    cp_plan_gap: float = Field(
        0.01,
        ge=0,
        description="CP planned over all years differing from the AP by more than this share of the AP: alert.",
    )


def soon_alert(g: GrantDeadline) -> str:
    return f"Subvention {g.funder} : {g.what} requis avant le {fr_date(g.deadline)}."


def exceeds(share: Any, limit: Any) -> bool:
    """`share > limit` at the printed precision (percentage points, one decimal)."""
    return present(share) and present(limit) and points(share) > points(limit)


def _ap_overrun(row: dict, rules: RulesConfig) -> str:
    cons = row.get("ap_consumption")
    if present(cons) and points(cons) > points(rules.ap_overrun_storm):
        return f"AP dépassée : {fr_points(points(cons))} de l'AP votée déjà mandatés"
    return ""


def _judge_overrun(row: dict, rules: RulesConfig, basis: str, currency: str) -> tuple[str, str]:
    """(storm reason, cloud reason) for an AP overrun. An AP copil had to interpret (« env. 3M »)
    is never the basis of a storm when the finance export's AP affectée covers what was paid: the
    figure to confirm is the AP typed, said as a cloud with both amounts."""
    overrun = _ap_overrun(row, rules)
    if not overrun:
        return "", ""
    affected, paid = row.get("ap_affected"), row.get("paid_total")
    if basis and present(affected) and present(paid) and paid <= affected:
        return "", (
            f"{overrun}{basis}, mais le mandaté ({fr_amount(paid, currency)}) reste dans l'AP affectée de l'export "
            f"financier ({fr_amount(affected, currency)}) : AP votée à confirmer"
        )
    return overrun + basis, ""


def _ap_chain_alerts(row: dict, currency: str) -> list[str]:
    """AP voted → AP affectée → engaged → paid: an AP affectée above the AP voted is a fact to check."""
    ap, affected = row.get("ap_voted"), row.get("ap_affected")
    if present(ap) and present(affected) and affected > ap:
        return [
            f"AP affectée dans l'export financier ({fr_amount(affected, currency)}) supérieure à l'AP votée "
            f"({fr_amount(ap, currency)}) : vérifier l'AP votée ou l'affectation."
        ]
    return []


def _closed(
    row: dict, rules: RulesConfig, basis: str, missing: list[str], unreadable: list[str], currency: str = "EUR"
) -> tuple[Weather, list[str], list[str]]:
    if missing or unreadable:
        return Weather.INDETERMINE, ([f"données manquantes : {', '.join(missing)}"] if missing else []) + unreadable, []
    alerts = _ap_chain_alerts(row, currency)
    storm, cloud = _judge_overrun(row, rules, basis, currency)
    if storm:
        return Weather.ORAGE, [storm], alerts
    if cloud:
        return Weather.NUAGEUX, [cloud], alerts
    return Weather.SOLEIL, ["opération close : seul le solde de l'AP est suivi"], alerts


def _slip_text(row: dict, slip: Any) -> str:
    be, fe = row.get("baseline_end"), row.get("forecast_end")
    span = f" ({fr_date(be)} → {fr_date(fe)})" if isinstance(be, date) and isinstance(fe, date) else ""
    return f"livraison repoussée de {delay(slip)}{span}"


def assess(row: dict, *, year: int, rules: RulesConfig, currency: str = "EUR") -> tuple[Weather, list[str], list[str]]:
    """(météo, reasons, alerts) for one consolidated project row.

    Reads the indicator columns of `connector.portfolio` (`running` among them) plus `_contracts`
    (ContractCheck records) and `_deadlines` (GrantDeadline records), all computed by
    consolidation."""
    flags: dict[str, tuple[str, str]] = row["input_flags"] if isinstance(row.get("input_flags"), dict) else {}
    closed = not row["running"]
    needed = (
        (("ap_voted", "AP votée"),)
        if closed
        else (("baseline_end", "fin prévue initiale"), ("forecast_end", "fin prévisionnelle"), ("ap_voted", "AP votée"))
    )
    missing = [label for key, label in needed if not present(row.get(key)) and key not in flags]
    unreadable = [
        f"{label} illisible (« {flags[key][1]} »)"
        for key, label in needed
        if not present(row.get(key)) and flags.get(key, ("",))[0] == "invalid"
    ]
    # a figure computed on an AP copil had to interpret says so where it is read
    basis = (
        f" (calculé sur une AP interprétée d'après la saisie « {flags['ap_voted'][1]} »)"
        if flags.get("ap_voted", ("",))[0] == "estimated"
        else ""
    )
    storms: list[str] = []
    clouds: list[str] = []
    alerts: list[str] = []

    if closed:  # a closed operation is followed for its AP balance only: past delays are history
        return _closed(row, rules, basis, missing, unreadable, currency)

    slip = row.get("slippage_days")
    if present(slip) and slip >= rules.slippage_storm_days:
        storms.append(_slip_text(row, slip))
    elif present(slip) and slip >= rules.slippage_cloudy_days:
        clouds.append(_slip_text(row, slip))

    overdue = row.get("overdue_milestones") or 0
    if overdue >= rules.overdue_milestones_storm:
        storms.append(f"{overdue} jalons dépassés sans être atteints")
    elif overdue >= rules.overdue_milestones_cloudy:
        clouds.append(
            f"{overdue} jalon{'s' if overdue > 1 else ''} dépassé{'s' if overdue > 1 else ''} sans être "
            f"atteint{'s' if overdue > 1 else ''}"
        )

    # Like with like: paid since the start against the AP, beside physical progress since the
    # start (a year's CP execution against cumulative progress says nothing in January). Shares
    # are compared in percentage points at the precision they are printed with (one decimal,
    # half-up): what the reader sees and what the rule judged always agree.
    spent, progress = row.get("ap_consumption"), row.get("progress")
    if row.get("in_works", True) and present(spent) and present(progress):
        r, p = points(spent), points(progress)
        gap = abs(r - p)
        text = f"{fr_points(r)} de l'AP mandatés depuis le début pour {fr_points(p)} d'avancement physique{basis}"
        for limit, bucket in ((rules.execution_gap_storm, storms), (rules.execution_gap_cloudy, clouds)):
            if gap >= points(limit):
                bucket.append(f"{text} (écart de {fr_points(gap, 'points')})")
                break

    storm, cloud = _judge_overrun(row, rules, basis, currency)
    storms += [storm] if storm else []
    clouds += [cloud] if cloud else []
    alerts += _ap_chain_alerts(row, currency)

    share = row.get("self_funding_share")
    minimum = fr_points(points(rules.self_funding_min))
    if present(share) and share < 0:
        clouds.append(f"subventions notifiées supérieures à l'AP votée{basis}")
        alerts.append(
            f"Subventions notifiées ({fr_amount(row.get('subsidies_notified'), currency)}) supérieures à "
            f"l'AP votée ({fr_amount(row.get('ap_voted'), currency)}){basis} : vérifier l'AP ou les "
            "montants notifiés."
        )
    elif present(share) and points(share) < points(rules.self_funding_min):
        clouds.append(f"autofinancement de {fr_points(points(share))} (minimum {minimum}){basis}")
        alerts.append(
            f"Part d'autofinancement insuffisante : {fr_points(points(share))} pour un minimum légal de "
            f"{minimum} des financements publics{basis}."
        )

    for c in row.get("_contracts") or []:
        if exceeds(c.rate, c.limit):
            storms.append(
                f"avenants cumulés {fr_points(points(c.rate))} sur le marché {c.number} "
                f"(limite {fr_points(points(c.limit))})"
            )
        if c.commission:
            share = fr_points(points(rules.amendment_commission))
            alerts.append(
                f"Marché {c.number} : un avenant dépasse {share} du montant initial, avis de la commission "
                "d'appel d'offres requis."
                if c.commission == 1
                else f"Marché {c.number} : {c.commission} avenants dépassent chacun {share} du montant initial, "
                "avis de la commission d'appel d'offres requis pour chacun."
            )

    critical = row.get("open_critical_risks") or 0
    if critical >= rules.critical_risks_storm:
        storms.append(f"{critical} risques critiques ouverts")
    elif critical >= 1:
        clouds.append("1 risque critique ouvert")

    for g in row.get("_deadlines") or []:
        if g.lapsed:
            storms.append(f"subvention {g.funder} caduque : {g.what} requis avant le {fr_date(g.deadline)}")
            alerts.append(
                f"Subvention {g.funder} ({fr_amount(g.notified, currency)}) : échéance {of(g.what)} "
                f"dépassée le {fr_date(g.deadline)} ; demander une prorogation."
            )
        elif g.soon:
            clouds.append(f"subvention {g.funder} : {g.what} requis avant le {fr_date(g.deadline)}")
            alerts.append(soon_alert(g))

    weather: Weather
    if missing or unreadable:
        weather = Weather.INDETERMINE
        reasons = ([f"données manquantes : {', '.join(missing)}"] if missing else []) + unreadable + storms + clouds
    elif storms:
        weather, reasons = Weather.ORAGE, storms + clouds
    elif clouds:
        weather, reasons = Weather.NUAGEUX, clouds
    else:
        weather, reasons = Weather.SOLEIL, ["aucun écart au-delà des seuils"]

    manual = Weather.of(row.get("manual_weather"))
    if manual is not None and manual.judged and weather.judged and manual.severity < weather.severity:
        alerts.append(f"Météo du chef de projet ({manual}) plus optimiste que la météo calculée ({weather}).")
    return weather, reasons, alerts


# --- Forward-looking alerts -------------------------------------------------------------
# Each is (kind, French message, amount at stake): the message names the figures it was
# computed from so a project director can redo the sum; the amount ranks the projects at risk.
AP_SHORTFALL, CP_UNSPENT, CP_PLAN_GAP, CP_MISSING, SUBSIDY_DEADLINE = (
    "ap_insuffisante",
    "cp_non_consommes",
    "cp_different_ap",
    "cp_absents",
    "subvention_echeance",
)


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _thousand(v: float) -> float:
    return float(rounded(v, -3))


def _fraction_of_year(on: date, year: int) -> float:
    """Share of `year` elapsed on `on` (at least one day: figures from before 1 January say
    nothing of the year's pace)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    return max((on - start).days + 1, 1) / ((end - start).days + 1)


def forecasts(
    row: dict,
    *,
    as_of: date,
    rules: RulesConfig,
    currency: str = "EUR",
    budget: Sequence[dict] = (),
    deadlines: Sequence[GrantDeadline] = (),
) -> list[tuple]:
    """What the figures announce if nothing changes: (kind, message, amount at stake, and for a
    subsidy the plain alert it replaces). `budget`: the project's rows (year, cp_planned, paid);
    `deadlines`: its DETR/DSIL deadlines (consolidate.grant_deadlines)."""
    if not row["running"]:
        return []
    out: list[tuple] = []
    amount = lambda v: fr_amount(v, currency)  # noqa: E731
    ap, progress, paid = row.get("ap_voted"), row.get("progress"), row.get("paid_total")
    year = as_of.year

    # AP: the cost at completion if the rest costs what the done part cost
    if (
        present(ap)
        and ap > 0
        and present(progress)
        and present(paid)
        and paid > 0
        and points(rules.ap_projection_min_progress) <= points(progress) < 100
    ):
        projected = _thousand(paid / progress)  # an estimate: to the thousand
        if exceeds(projected / ap - 1, rules.ap_shortfall_margin):
            out.append(
                (
                    AP_SHORTFALL,
                    f"AP probablement insuffisante : {amount(paid)} mandatés pour {fr_points(points(progress))} "
                    f"d'avancement physique, soit environ {amount(projected)} à l'achèvement pour une AP de "
                    f"{amount(ap)} (manque estimé : {amount(projected - ap)}) ; prévoir une révision de l'AP.",
                    projected - ap,
                )
            )

    # CP of the year: what is left at 31 December at the pace of the year so far — the pace at
    # the date of the figures (the finance export's date for payments taken from it, the run's
    # for payments typed in the lists), never the run's date for figures weeks older
    cp_year, paid_year = row.get("cp_year"), row.get("paid_year")
    figures_on = row.get("paid_year_as_of") or as_of
    if as_of.month >= rules.cp_projection_from_month and present(cp_year) and cp_year > 0 and present(paid_year):
        projected = paid_year / _fraction_of_year(min(figures_on, as_of), year)
        unspent = _thousand(cp_year - projected)
        if unspent > 0 and points((cp_year - projected) / cp_year) >= points(rules.cp_unspent_share):
            out.append(
                (
                    CP_UNSPENT,
                    f"CP {year} probablement non consommés : {amount(paid_year)} mandatés sur {amount(cp_year)} "
                    f"au {fr_date(min(figures_on, as_of))}"
                    f"{' (export financier)' if figures_on != as_of else ''} ; au rythme actuel, environ "
                    f"{amount(unspent)} resteront non mandatés "
                    f"au 31/12/{year} (à reporter ou à redéployer).",
                    unspent,
                )
            )

    years = sorted((int(b["year"]), b.get("cp_planned")) for b in budget if present(b.get("year")))
    planned = [(y, cp) for y, cp in years if present(cp) and cp > 0]
    cp_total = sum(cp for _, cp in planned)
    if present(ap) and ap > 0 and planned and exceeds(abs(cp_total - ap) / ap, rules.cp_plan_gap):
        span = f"{planned[0][0]}–{planned[-1][0]}" if planned[0][0] != planned[-1][0] else str(planned[0][0])
        if cp_total < ap:
            text = (
                f"CP prévus sur {span} ({amount(cp_total)}) inférieurs à l'AP votée ({amount(ap)}) : "
                f"{amount(ap - cp_total)} à inscrire dans l'échéancier des CP."
            )
        else:
            text = (
                f"CP prévus sur {span} ({amount(cp_total)}) supérieurs à l'AP votée ({amount(ap)}) de "
                f"{amount(cp_total - ap)} : réviser l'AP ou l'échéancier des CP."
            )
        out.append((CP_PLAN_GAP, text, abs(cp_total - ap)))

    fe = row.get("forecast_end")
    remaining = (ap - (paid if present(paid) else 0.0)) if present(ap) else None
    if present(fe) and fe.year >= year and remaining is not None and remaining > 0:
        last = planned[-1][0] if planned else None
        if last is None or last < fe.year:
            gap_years = list(range(max(year, (last or year - 1) + 1), fe.year + 1))
            which = ", ".join(str(y) for y in gap_years)
            out.append(
                (
                    CP_MISSING,
                    f"Aucun CP prévu en {which} alors que la fin prévisionnelle est le {fr_date(fe)} : "
                    f"{amount(remaining)} restent à mandater sur l'AP ; inscrire les CP correspondants.",
                    remaining,
                )
            )

    for g in deadlines:
        if not g.missed_by_plan:
            continue  # a lapsed deadline is already an Orage reason; none before the date: fine
        assert g.planned_on is not None  # missed_by_plan says so
        extended = add_years(g.deadline, EXTENSION_YEARS[g.kind])
        length = "d'un an" if EXTENSION_YEARS[g.kind] == 1 else "de 2 ans"
        ask = (
            f"demander la prorogation {length} (jusqu'au {fr_date(extended)})"
            if g.planned_on <= extended
            else f"même prorogée ({fr_date(extended)}), l'échéance tombe avant : revoir le calendrier ou le "
            "plan de financement"
        )
        what, planned_word = (
            ("achèvement", "fin prévisionnelle") if g.kind == "completion" else ("démarrage", "démarrage prévu")
        )
        out.append(
            (
                SUBSIDY_DEADLINE,
                f"Subvention {g.funder} : {what} exigé avant le {fr_date(g.deadline)}, {planned_word} "
                f"le {fr_date(g.planned_on)} ; {amount(g.to_receive)} restant à percevoir menacés : {ask}.",
                g.to_receive,
                soon_alert(g),
            )
        )
    return out
